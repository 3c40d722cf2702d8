"""The search: trials on the training history only, pruning, resuming after kill -9."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from rnnforecast.baselines import BASELINES
from rnnforecast.cli import app
from rnnforecast.config_file import load_config
from rnnforecast.data import synthetic_dataset
from rnnforecast.errors import ConfigError, RunError
from rnnforecast.run import (
    BEST_CONFIG_FILE,
    CONFIG_FILE,
    IMPORTANCE_PLOT_FILE,
    STUDY_FILE,
    TRIALS_FILE,
    TRIALS_PLOT_FILE,
    TUNE_SUMMARY_FILE,
)
from rnnforecast.space import Dimension
from rnnforecast.tuning import (
    TrialItem,
    _exclusive,
    journal_storage,
    key_importance,
    open_study,
    score_trial,
    study_path,
    training_history,
    tune,
)
from tests.conftest import REPO, TUNE_OVERRIDES

runner = CliRunner()


def test_the_search_never_sees_the_test_part():
    config = load_config(None, TUNE_OVERRIDES)
    dataset = synthetic_dataset(config.data)
    history = training_history(dataset, config)
    assert len(history.series[0]) == 240 - 48, "split.test (0.2) is cut off first"
    assert (history.series[0].values == dataset.series[0].values[:192]).all()


def test_a_search_writes_its_folder_and_leaves_nothing_beside_it(tiny_tune):
    folder = tiny_tune.folder
    assert {path.name for path in folder.iterdir()} == {
        TRIALS_FILE,
        TUNE_SUMMARY_FILE,
        BEST_CONFIG_FILE,
        TRIALS_PLOT_FILE,
        IMPORTANCE_PLOT_FILE,
        STUDY_FILE,
        CONFIG_FILE,
    }
    best_run = tiny_tune.run.path
    assert sorted(path.name for path in folder.parent.iterdir()) == [best_run.name, folder.name]
    assert best_run.name.startswith("default-best-"), "--train-best trained the best config"
    assert tiny_tune.run.config.model.units == tiny_tune.best_config.model.units
    for name in (TRIALS_PLOT_FILE, IMPORTANCE_PLOT_FILE):
        assert (folder / name).read_bytes()[:4] == b"\x89PNG"
    trials = pd.read_csv(folder / TRIALS_FILE)
    assert trials["number"].tolist() == [0, 1, 2]
    assert trials["defaults"].tolist() == [True, False, False]
    assert trials["state"].tolist() == ["complete"] * 3
    assert trials[["fold_1", "fold_2"]].notna().all().all(), "every trial on the same folds"
    assert pd.isna(trials.loc[0, "model.units"]), "the defaults are the config as given"
    assert set(trials.loc[1:, "model.units"]) <= {4, 8}


def test_the_summary_compares_the_best_with_the_defaults_on_the_same_folds(tiny_tune):
    summary, trials = tiny_tune.summary, tiny_tune.trials
    assert summary["history_end"] == {"synthetic series": "191"}
    assert summary["defaults"]["score"] == pytest.approx(trials.loc[0, "mase"])
    assert set(summary["defaults"]["baselines"]) == set(BASELINES)
    best = trials.loc[trials["mase"].idxmin()]
    assert summary["best"]["trial"] == best["number"]
    assert summary["improvement"] == pytest.approx(1 - best["mase"] / trials.loc[0, "mase"])
    assert summary["beats_defaults"] == (best["number"] != 0)
    assert summary["trials"] == {"complete": 2, "pruned": 0, "failed": 0}


def test_best_yaml_is_a_complete_config_to_train_with(tiny_tune):
    path = tiny_tune.folder / BEST_CONFIG_FILE
    best = load_config(path)
    assert best == tiny_tune.best_config.model_copy(update={"output": best.output})
    values = tiny_tune.summary["best"]["values"]
    if values:
        assert best.model.units == [values["model.units"]]
    raw = yaml.safe_load(path.read_text())
    assert raw["window"]["horizon"] == 4 and raw["training"]["refit"] is False


def test_a_hopeless_trial_is_stopped_after_its_first_fold(tmp_path: Path):
    import optuna

    config = load_config(None, TUNE_OVERRIDES)
    journal = tmp_path / "s.study.journal"
    study = open_study(journal, "fingerprint", config)
    for _ in range(3):  # earlier trials that were far better at every fold
        study.add_trial(
            optuna.trial.create_trial(value=0.001, intermediate_values={1: 0.001, 2: 0.001})
        )
    trial = study.ask()
    item = TrialItem(
        number=trial.number,
        trial_id=trial._trial_id,
        config=config.model_dump(mode="json"),
        history=training_history(synthetic_dataset(config.data), config),
        folds=2,
        step=None,
        metric="mase",
        journal=str(journal),
        pruning=True,
        prunable=True,
    )
    outcome = score_trial(item)
    assert outcome.state == "pruned"
    assert len(outcome.fold_scores) == 1, "stopped before training the second fold"


def test_a_study_started_for_another_config_is_refused(tmp_path: Path):
    config = load_config(None, TUNE_OVERRIDES)
    open_study(tmp_path / "s.study.journal", "one", config)
    with pytest.raises(ConfigError, match="started with another config, space or data"):
        open_study(tmp_path / "s.study.journal", "two", config)


def test_a_second_search_of_the_same_study_is_refused(tmp_path: Path):
    journal = tmp_path / "s.study.journal"
    refused = pytest.raises(RunError, match="another `tune` is running")
    with _exclusive(journal), refused, _exclusive(journal):
        pass


def test_an_existing_folder_or_too_many_folds_stop_before_any_trial(tmp_path: Path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("")
    config = load_config(None, TUNE_OVERRIDES)
    with pytest.raises(RunError, match="already exists"):
        tune(config, tmp_path / "out")
    deep = load_config(None, [*TUNE_OVERRIDES, "tune.folds=100"])
    with pytest.raises(ConfigError, match="Lower --folds or --step"):
        tune(deep, tmp_path / "deep")
    assert not study_path(tmp_path / "deep").exists()


def test_defaults_that_cannot_be_backtested_are_a_config_error(tmp_path: Path):
    config = load_config(None, [*TUNE_OVERRIDES, "window.lookback=180"])
    with pytest.raises(ConfigError, match=r"the config as given .* cannot be backtested"):
        tune(config, tmp_path / "out")


def test_optuna_missing_says_how_to_install_it(tmp_path: Path, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ConfigError, match=r"pip install 'rnnforecast\[tune\]'"):
        tune(load_config(None, TUNE_OVERRIDES), tmp_path / "out")


def test_importance_is_the_share_of_variance_each_key_explains():
    trials = pd.DataFrame(
        {
            "number": range(5),
            "state": ["complete"] * 5,
            "defaults": [True, False, False, False, False],
            "mase": [9.0, 1.0, 1.0, 3.0, 3.0],
            "model.cell": [None, "gru", "gru", "lstm", "lstm"],
            "model.units": [None, 8, 16, 8, 16],
        }
    )
    dims = [Dimension("model.cell", ("gru", "lstm"), ("gru", "lstm")), Dimension("model.units")]
    importance = key_importance(trials, dims, "mase")
    assert importance == {"model.cell": pytest.approx(1.0), "model.units": pytest.approx(0.0)}
    assert key_importance(trials.head(3), dims, "mase") == {}, "too few trials to tell"


def tune_command(folder: Path, *extra: str) -> list[str]:
    sets = [part for override in TUNE_OVERRIDES for part in ("--set", override)]
    return ["tune", *sets, "--output-dir", str(folder), *extra]


def wait_for_a_running_trial(journal: Path, seconds: float = 120) -> None:
    import optuna

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        study = optuna.load_study(study_name="rnnforecast", storage=journal_storage(journal))
        running = study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
        if running and len(running[0].params) == 2:  # its values are chosen: it is training
            return
        time.sleep(0.2)
    raise AssertionError("trial 1 never started")


def test_a_search_killed_outright_continues_without_repeating_finished_trials(tmp_path: Path):
    folder = tmp_path / "search"
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnforecast", *tune_command(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    for line in process.stdout:  # the defaults are scored and stored
        if line.startswith("trial 0 (defaults)"):
            break
    journal = study_path(folder)
    wait_for_a_running_trial(journal)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert journal.is_file() and not folder.exists()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracking = f"tracking.mlflow={{uri: '{uri}', experiment: search}}"
    result = runner.invoke(app, tune_command(folder, "--mlflow", "--set", tracking))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "trial 0 (defaults)" not in result.stdout, "the defaults are not scored again"
    assert "defaults (trial 0):" in result.stdout and "Backtest MASE" in result.stdout
    trials = pd.read_csv(folder / TRIALS_FILE)
    assert trials["defaults"].sum() == 1
    interrupted = trials[trials["state"] == "interrupted"]
    assert len(interrupted) == 1, "the trial that was running when the search was killed"
    complete = trials[(trials["state"] == "complete") & ~trials["defaults"]]
    assert len(complete) == 2
    rerun = trials[trials["number"] == interrupted["number"].iloc[0] + 1].iloc[0]
    assert rerun["model.units"] == interrupted["model.units"].iloc[0], "its values run again"
    assert not journal.exists() and (folder / STUDY_FILE).is_file()
    assert_tune_logged_to_mlflow(uri, trials)


def assert_tune_logged_to_mlflow(uri: str, trials: pd.DataFrame) -> None:
    """One run for the command, a nested run per trial this command scored."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("search").experiment_id])
    [parent] = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    assert parent.info.run_name == "search" and parent.data.tags["rnnforecast.command"] == "tune"
    assert parent.data.params["tune.folds"] == "2"
    nested = {run.info.run_name: run for run in runs if run is not parent}
    scored_here = trials[trials["number"] >= 2]
    assert set(nested) == {f"trial-{number}" for number in scored_here["number"]}
    for _, row in scored_here.iterrows():
        run = nested[f"trial-{row['number']}"]
        assert float(run.data.params["model.units"]) == row["model.units"]
        assert run.data.metrics["mase"] == pytest.approx(row["mase"])
    artifacts = {item.path for item in client.list_artifacts(parent.info.run_id)}
    assert {"trials.csv", "best.yaml", "study.journal"} <= artifacts


def test_tune_help_has_an_example_and_bad_spaces_exit_3():
    result = runner.invoke(app, ["tune", "--help"])
    assert result.exit_code == 0 and "Example: rnnforecast tune" in result.stdout
    result = runner.invoke(app, ["tune", "--set", "tune.space.model.unit=[3]"])
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: <default config>: tune.space: `model.unit`")


@pytest.mark.parametrize("backend", ["processes", "ray"])
def test_trials_run_side_by_side_on_the_execution_backends(tmp_path: Path, backend: str):
    """After the defaults, trials run two at a time (on a real local Ray cluster of 2 CPUs for
    `ray`); each is told to the study, and the folder is the same as a serial search's."""
    folder = tmp_path / "search"
    command = tune_command(folder, "--set", "tune.trials=3", "--executor", backend)
    result = runner.invoke(app, [*command, "--workers", "2"])
    assert result.exit_code == 0, result.output
    trials = pd.read_csv(folder / TRIALS_FILE)
    assert len(trials) == 4 and trials["defaults"].sum() == 1
    assert set(trials["state"]) <= {"complete", "pruned"}
    assert trials["mase"].notna().sum() >= 2
    assert (folder / BEST_CONFIG_FILE).is_file() and not study_path(folder).exists()
    for number in trials["number"]:
        assert f"trial {number}" in result.stdout
