"""The command line end to end: CliRunner for each command, subprocesses for the entry point."""

import errno
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
import yaml
from typer.testing import CliRunner

from rnnforecast.cli import app
from rnnforecast.staging import LOCK_SUFFIX, MARKER_FILE, STAGING_SUFFIX
from tests.conftest import REPO, TINY_OVERRIDES, reseal, write_long_config, write_long_csv

runner = CliRunner()
TINY = [item for override in TINY_OVERRIDES for item in ("--set", override)]
REFIT = ["--set", "training.refit=true"]
# The tiny network and training for a config that gives only the data and the horizon.
TINY_NETWORK = [
    "--set",
    "model.units=4",
    "--set",
    "training.epochs=1",
    "--set",
    "training.ensemble=1",
]


def invoke(*args: str):
    return runner.invoke(app, [str(arg) for arg in args])


def test_train_prints_the_run_and_the_comparison(tmp_path: Path):
    result = invoke("train", "--run-dir", tmp_path / "run", *TINY)
    assert result.exit_code == 0, result.output
    assert f"Run directory: {tmp_path / 'run'}" in result.stdout
    assert "seasonal_naive" in result.stdout and "skill vs" in result.stdout
    assert "Chosen from the data: frequency steps, season 24, lookback 12" in result.stdout
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_train_quiet_prints_only_the_run_directory(tmp_path: Path):
    config = tmp_path / "tiny.yaml"
    config.write_text(f"output: {{dir: {tmp_path / 'runs'}}}\n")
    result = invoke("train", config, "--quiet", *TINY)
    assert result.exit_code == 0, result.output
    [run] = list((tmp_path / "runs").iterdir())
    assert run.name.startswith("tiny-")
    assert result.stdout.strip() == str(run)


def test_predict_to_stdout_and_to_a_file(tiny_run, tmp_path: Path):
    result = invoke("predict", tiny_run.path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == ("step,forecast,lower_80,upper_80,lower_95,upper_95")
    assert len(result.stdout.splitlines()) == 1 + 4
    output = tmp_path / "forecast.parquet"
    result = invoke("predict", tiny_run.path, "--output", output)
    assert result.exit_code == 0, result.output
    assert pd.read_parquet(output)["step"].tolist() == [240, 241, 242, 243]


def test_evaluate_and_plot_on_new_long_format_data(long_run, tmp_path: Path):
    run, _, _ = long_run
    newer = write_long_csv(tmp_path / "newer.csv", length=80)
    result = invoke("evaluate", run.path, "--input", newer, "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert {"model", "naive", "seasonal_naive", "skill"} <= set(metrics)
    result = invoke("evaluate", run.path, "--last", "6")
    assert result.exit_code == 0 and "skill vs" in result.stdout
    result = invoke("plot", run.path, "--input", newer, "--output", tmp_path / "p.png")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_validate_prints_the_resolved_config():
    result = invoke("validate", REPO / "configs/a10.yaml")
    assert result.exit_code == 0, result.output
    assert "lookback: 24" in result.stdout and "season_length: 12" in result.stdout


def assert_clean_error(result, code: int, message: str, progress: bool = False) -> None:
    """Exit code, one `Error: ...` naming the problem, and no exception escaping the CLI;
    with `progress`, after the lines of the epochs trained before it failed."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    stderr = result.stderr
    if progress:
        lines = stderr.splitlines(keepends=True)
        stderr = "".join(line for line in lines if not line.startswith(("member ", "fold ")))
    assert stderr.startswith("Error: ") or code == 2
    assert message in stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["validate", "missing.yaml"], 3, "missing.yaml: config file not found"),
        (["validate", "--set", "model.unit=3"], 3, "model.unit: unknown key; did you mean `units`"),
        (["validate", "--set", "split=3"], 3, "split: input should be a valid dictionary"),
        (["predict", "no-such-run"], 5, "no-such-run: run directory not found"),
        (["train", "--bogus"], 2, "No such option"),
    ],
)
def test_errors_exit_with_their_code_and_no_traceback(args, code, message):
    assert_clean_error(invoke(*args), code, message)


BAD_FILES = {
    "missing column": ("month,sale\n2020-01-01,1\n", 4, "column 'sales' (`data.target`) not found"),
    "non-numeric": ("month,sales\n2020-01-01,1\n2020-02-01,many\n", 4, "must be numeric"),
    "missing value": (
        "month,sales\n2020-01-01,1\n2020-02-01,\n2020-03-01,1\n",
        4,
        "1 missing value(s), first at row 3 of the file, and `data.missing` is `error`",
    ),
    "duplicated": ("month,sales\n2020-01-01,1\n2020-01-01,2\n", 4, "duplicated timestamp"),
    "unsorted": ("month,sales\n2020-02-01,1\n2020-01-01,2\n", 4, "are not sorted"),
    "gap": (
        "month,sales\n2020-01-01,1\n2020-02-01,1\n2020-03-01,1\n2020-05-01,1\n",
        4,
        "1 missing timestamp(s), first 2020-04-01",
    ),
    "empty": ("month,sales\n", 4, "no data rows"),
    "too short": (
        "month,sales\n" + "".join(f"2020-{m:02d}-01,{m}\n" for m in range(1, 9)),
        3,
        "`window.lookback` + `window.horizon`",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_data_exits_with_its_code_and_writes_nothing(case: str, tmp_path: Path):
    text, code, message = BAD_FILES[case]
    (tmp_path / "sales.csv").write_text(text)
    config = tmp_path / "bad.yaml"
    config.write_text(
        "data: {path: sales.csv, time_column: month, target: sales, missing: error}\n"
        f"window: {{lookback: 6, horizon: 3}}\noutput: {{dir: {tmp_path / 'runs'}}}\n"
    )
    assert_clean_error(invoke("train", config), code, message)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def staging_left(folder: Path) -> Path:
    """The one staging folder left in `folder` (by a run stopped before it was complete), with
    its marker, and no lock file."""
    [staging] = list(folder.iterdir())
    assert staging.name == f".run{STAGING_SUFFIX}" and (staging / MARKER_FILE).is_file()
    assert not (folder / f".run{LOCK_SUFFIX}").exists()
    return staging


def test_a_disk_full_while_writing_keeps_the_training_for_the_next_run(tmp_path: Path, monkeypatch):
    import rnnforecast.plots

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(rnnforecast.plots, "save_figure", disk_full)
        result = invoke("train", "--run-dir", tmp_path / "run", *TINY, *REFIT)
    assert_clean_error(result, 6, "cannot write the run directory", progress=True)
    staging = staging_left(tmp_path)
    assert f"; what was done so far is kept in {staging}: the same command resumes" in result.stderr
    assert {path.name for path in (staging / "state").iterdir()} == {
        "holdout-member-1.done.npz",
        "refit-member-1.done.npz",
    }
    result = invoke("train", "--run-dir", tmp_path / "run", *TINY, *REFIT)
    assert result.exit_code == 0, result.output
    assert f"Note: resuming the unfinished run directory staged in {staging}" in result.stderr
    assert " epoch " not in result.stderr, "nothing is trained again"
    assert [path.name for path in tmp_path.iterdir()] == ["run"]


def test_predict_error_writes_no_output_file(long_run, tmp_path: Path):
    run, _, _ = long_run
    bad = write_long_csv(tmp_path / "bad.csv", ids=("west",))
    output = tmp_path / "forecast.csv"
    result = invoke("predict", run.path, "--input", bad, "--output", output)
    assert_clean_error(result, 4, "'west'")
    assert list(tmp_path.iterdir()) == [bad]


def test_output_errors_exit_6(tiny_run, tmp_path: Path):
    result = invoke("predict", tiny_run.path, "--output", tmp_path / "missing" / "f.csv")
    assert_clean_error(result, 6, "does not exist. Create it first")
    assert_clean_error(invoke("plot", tiny_run.path, "--output", tmp_path), 6, "is a folder")


def test_predict_notes_a_data_file_changed_since_training(tmp_path: Path):
    data = write_long_csv(tmp_path / "sales.csv")
    config = write_long_config(tmp_path, data)
    assert invoke("train", config, "--run-dir", tmp_path / "run", "--quiet").exit_code == 0
    assert "changed since training" not in invoke("predict", tmp_path / "run").stderr
    write_long_csv(data, length=61)
    result = invoke("predict", tmp_path / "run")
    assert result.exit_code == 0
    assert f"Note: {data} changed since training" in result.stderr
    assert result.stdout.splitlines()[1].startswith("north,2020-02-01")


def test_a_time_column_found_once_is_stored_so_predict_writes_dates_without_finding_it_again(
    tmp_path: Path,
):
    config = tmp_path / "minimal.yaml"
    config.write_text(
        f"data: {{path: {REPO / 'tests/data/monthly.csv.gz'}}}\nwindow: {{horizon: 3}}\n"
    )
    result = invoke("train", config, "--run-dir", tmp_path / "run", *TINY_NETWORK)
    assert result.exit_code == 0, result.output
    assert "Note: " in result.stderr and "using column 'month' as the time column" in (
        result.stderr
    )
    stored = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["data"]
    assert (stored["time_column"], stored["id_column"], stored["target"]) == (
        "month",
        None,
        "passengers",
    )
    result = invoke("predict", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("month,forecast,lower_80")
    assert result.stdout.splitlines()[1].startswith("2022-01-01,")
    assert "time column" not in result.stderr
    result = invoke("validate", REPO / "configs/a10.yaml", "--set", "data.missing=zero")
    assert "missing: zero" in result.stdout and "csv:" in result.stdout


def test_predict_output_is_compressed_and_separated_as_its_name_says(tiny_run, tmp_path: Path):
    expected = read_stdout_table(invoke("predict", tiny_run.path))
    for name, separator, start in [
        ("f.csv.gz", ",", b"\x1f\x8b"),
        ("f.csv.bz2", ",", b"BZh"),
        ("f.csv.zip", ",", b"PK"),
        ("f.tsv", "\t", b"step\tforecast"),
        ("f.tsv.xz", "\t", b"\xfd7zXZ"),
    ]:
        result = invoke("predict", tiny_run.path, "-o", tmp_path / name)
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).read_bytes().startswith(start), name
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / name, sep=separator), expected)


def test_input_with_any_suffix_is_read_as_csv(long_run, tmp_path: Path):
    run, _, data_file = long_run
    text_file = tmp_path / "sales.txt"
    text_file.write_text(data_file.read_text())
    result = invoke("predict", run.path, "--input", text_file)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("region,month,forecast")


def copy_run(run_path: Path, destination: Path) -> Path:
    destination.mkdir()
    shutil.copytree(run_path, destination, dirs_exist_ok=True)
    return destination


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda run: (run / "models/member-1.keras").write_bytes(b"garbage"),
            "member-1.keras: 7 bytes, but manifest.json records",
        ),
        (
            lambda run: reseal(run, (run / "models/member-1.keras").write_bytes(b"garbage")),
            "member-1.keras: the model file is damaged, or was written by an incompatible Keras",
        ),
        (lambda run: (run / "scaler.json").unlink(), "not a complete run directory (missing"),
        (
            lambda run: reseal(run, (run / "scaler.json").write_text('{"method": "standard"}')),
            "malformed",
        ),
        (
            lambda run: (run / "manifest.json").write_text('{"format_version": 0}'),
            "run format version 0 is not supported",
        ),
        (
            lambda run: (run / "manifest.json").write_text('{"format_version": 3}'),
            "run format version 3 is not supported by this rnnforecast (expects 4)",
        ),
        (
            lambda run: (run / "config.yaml").write_text(
                (run / "config.yaml").read_text().replace("horizon: 4", "horizon: 5")
            ),
            "config.yaml: damaged, edited, or from another run: its SHA-256 is not the one",
        ),
        (
            lambda run: reseal(
                run,
                (run / "config.yaml").write_text(
                    (run / "config.yaml").read_text().replace("horizon: 4", "horizon: 5")
                ),
            ),
            "horizon 5. The run directory was edited or mixed up",
        ),
    ],
    ids=[
        "model",
        "resealed model",
        "missing scaler",
        "resealed scaler",
        "version",
        "format 3",
        "edited config",
        "resealed config",
    ],
)
def test_damaged_run_directory_is_a_run_error(tiny_run, tmp_path: Path, damage, message):
    damaged = copy_run(tiny_run.path, tmp_path / "damaged")
    damage(damaged)
    assert_clean_error(invoke("predict", damaged), 5, message)


def test_constant_series_trains_and_reports_an_exact_baseline(tmp_path: Path):
    months = pd.date_range("2020-01-01", periods=40, freq="MS").strftime("%Y-%m-%d")
    (tmp_path / "flat.csv").write_text("month,y\n" + "".join(f"{m},5\n" for m in months))
    config = tmp_path / "flat.yaml"
    config.write_text(
        "data: {path: flat.csv, time_column: month}\nwindow: {horizon: 3}\n"
        "model: {units: 4}\ntraining: {epochs: 1}\n"
    )
    result = invoke("train", config, "--run-dir", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert "n/a (that baseline is exact" in result.stdout
    result = invoke("evaluate", tmp_path / "run", "--json", "--last", "6")
    assert json.loads(result.stdout)["skill"] is None


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rnnforecast", *args], capture_output=True, text=True, **kwargs
    )


def test_help_and_validate_do_not_import_tensorflow_or_the_extras():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from rnnforecast.cli import app\n"
        "runner = CliRunner()\n"
        "assert runner.invoke(app, ['--help']).exit_code == 0\n"
        "for command in ('train', 'tune', 'report', 'backtest'):\n"
        "    assert runner.invoke(app, [command, '--help']).exit_code == 0\n"
        "assert runner.invoke(app, ['validate', 'configs/sine.yaml']).exit_code == 0\n"
        "heavy = ('tensorflow', 'keras', 'optuna', 'mlflow', 'ray', 'tensorboard')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]"


def test_module_entry_point_and_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("rnnforecast ")


def test_installed_console_script_runs_without_tensorflow_noise(tmp_path: Path):
    script = Path(sys.executable).with_name("rnnforecast")
    result = subprocess.run(
        [str(script), "train", "--run-dir", str(tmp_path / "run"), *TINY],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "oneDNN" not in result.stderr and "cuda" not in result.stderr.lower()
    assert "member 1/1 holdout epoch 1/2 " in result.stderr, "a line per epoch off a terminal"
    assert "Epoch 1/2" not in result.stdout, "and no Keras lines"


def test_sigterm_during_training_leaves_no_run_directory(tmp_path: Path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rnnforecast",
            "train",
            "--run-dir",
            str(tmp_path / "run"),
            *TINY,
            "--set",
            "training.epochs=500",
            "--set",
            "training.early_stopping=0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stderr is not None
    for line in process.stderr:  # wait until training has started writing into its staging
        if line.startswith("member 1/1 holdout epoch 2/"):
            break
    assert any(tmp_path.iterdir()), "the run is being staged"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Error: interrupted; the result was not written" in stderr
    assert "the same command resumes it (--restart starts over)" in stderr
    staging = staging_left(tmp_path)
    assert (staging / "state" / "holdout-member-1.epoch.npz").is_file()


def test_backtest_command_prints_folds_and_writes_the_pairs(tmp_path: Path):
    result = invoke(
        "backtest",
        *[part for override in TINY_OVERRIDES for part in ("--set", override)],
        "--folds",
        "2",
        "--step",
        "6",
        "--no-refit",
        "--output-dir",
        tmp_path / "bt",
    )
    assert result.exit_code == 0, result.output
    assert "fold  origin" in result.stdout and "All folds together:" in result.stdout
    assert "drift" in result.stdout
    assert len(pd.read_csv(tmp_path / "bt" / "backtest.csv")) == 2 * 4


def test_predict_with_future_covariates_and_more_steps(future_run, tmp_path: Path):
    from tests.conftest import write_future_file

    future = write_future_file(tmp_path / "future.csv", months=6)
    result = invoke("predict", future_run.path, "--future", future, "--steps", "6")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1 + 2 * 6
    assert_clean_error(invoke("predict", future_run.path), 4, "--future FILE")
    gappy = write_future_file(tmp_path / "gappy.csv", drop=2)
    assert_clean_error(
        invoke("predict", future_run.path, "--future", gappy), 4, "no future covariates (price) at"
    )


def test_validate_checks_what_the_transforms_need(tmp_path: Path):
    (tmp_path / "d.csv").write_text("t,y\n" + "".join(f"{t},{t % 7 - 1}\n" for t in range(60)))
    config = tmp_path / "c.yaml"
    config.write_text("data: {path: d.csv, time_column: t}\ntransform: {log: true}\n")
    assert_clean_error(invoke("validate", config), 4, "`transform.log` needs positive values")
    config.write_text("data: {path: d.csv, time_column: t, calendar: [month]}\n")
    assert_clean_error(invoke("validate", config), 4, "integer steps, not dates")


def test_plot_ignores_future_for_a_run_without_future_covariates(tiny_run, tmp_path: Path):
    (tmp_path / "future.csv").write_text("step,x\n240,1\n")
    output = tmp_path / "p.png"
    result = invoke("plot", tiny_run.path, "--future", tmp_path / "future.csv", "-o", output)
    assert result.exit_code == 0, result.output
    assert output.read_bytes()[:4] == b"\x89PNG"


def read_stdout_table(result) -> pd.DataFrame:
    import io

    assert result.exit_code == 0, result.output
    return pd.read_csv(io.StringIO(result.stdout))


def test_predict_gives_ordered_bounds_at_the_levels_asked(tiny_run):
    table = read_stdout_table(invoke("predict", tiny_run.path))
    assert (table["lower_95"] <= table["lower_80"]).all()
    assert (table["lower_80"] <= table["forecast"]).all()
    assert (table["forecast"] <= table["upper_80"]).all()
    assert (table["upper_80"] <= table["upper_95"]).all()
    table = read_stdout_table(invoke("predict", tiny_run.path, "--level", "99", "--level", "90"))
    assert table.columns.tolist() == [
        "step",
        "forecast",
        "lower_90",
        "upper_90",
        "lower_99",
        "upper_99",
    ]
    table = read_stdout_table(invoke("predict", tiny_run.path, "--no-intervals"))
    assert table.columns.tolist() == ["step", "forecast"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--level", "100"], "--level must be strictly between 0 and 100. Received: level=100"),
        (["--level", "0"], "Received: level=0"),
        (["--level", "80", "--level", "80"], "--level lists 80 more than once"),
        (["--level", "80", "--no-intervals"], "--level and --no-intervals contradict"),
    ],
)
def test_bad_levels_are_config_errors(tiny_run, tmp_path: Path, args, message):
    output = tmp_path / "f.csv"
    assert_clean_error(invoke("predict", tiny_run.path, *args, "-o", output), 3, message)
    assert not output.exists()


def test_a_run_without_intervals_refuses_a_level(tmp_path: Path):
    result = invoke("train", "--run-dir", tmp_path / "run", *TINY, "--set", "intervals.levels=[]")
    assert result.exit_code == 0, result.output
    assert "Prediction intervals" not in result.stdout
    table = read_stdout_table(invoke("predict", tmp_path / "run"))
    assert table.columns.tolist() == ["step", "forecast"]
    assert_clean_error(
        invoke("predict", tmp_path / "run", "--level", "80"), 3, "has no prediction intervals"
    )


def test_bounds_cover_the_direct_horizon_only(tiny_run):
    result = invoke("predict", tiny_run.path, "--steps", "10")
    table = read_stdout_table(result)
    assert table["lower_80"].notna().tolist() == [True] * 4 + [False] * 6
    assert table["forecast"].notna().all()
    assert "interval bounds cover the first 4 step(s)" in result.stderr


def test_test_forecasts_metrics_and_summary_carry_the_intervals(tmp_path: Path):
    result = invoke("train", "--run-dir", tmp_path / "run", *TINY)
    assert result.exit_code == 0, result.output
    assert "Prediction intervals on the test part" in result.stdout
    assert "95% seasonal_naive" in result.stdout and "80% model" in result.stdout
    pairs = pd.read_csv(tmp_path / "run" / "forecast_test.csv")
    assert pairs.columns.tolist()[3:9] == [
        "actual",
        "forecast",
        "lower_80",
        "upper_80",
        "lower_95",
        "upper_95",
    ]
    import json

    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for level in ("80", "95"):
        rows = metrics["intervals"][level]
        assert set(rows) == {"model", "naive", "seasonal_naive", "drift", "mean"}
        assert set(rows["model"]) == {"coverage", "width", "msis"}
    assert metrics["calibration"]["errors_per_step"] > 0
    result = invoke("evaluate", tmp_path / "run", "--last", "20")
    assert result.exit_code == 0, result.output
    assert "95% model" in result.stdout


def test_backtest_scores_the_intervals_of_every_fold(tmp_path: Path):
    result = invoke(
        "backtest", "--output-dir", tmp_path / "bt", "--folds", "2", "--no-refit", *TINY, "-q"
    )
    assert result.exit_code == 0, result.output
    pairs = pd.read_csv(tmp_path / "bt" / "backtest.csv")
    assert {"lower_80", "upper_95", "fold"} <= set(pairs.columns)
    import json

    summary = json.loads((tmp_path / "bt" / "backtest.json").read_text())
    assert "intervals" in summary["overall"] and "intervals" in summary["folds"][1]


QUANTILE = ["--set", "intervals.method=quantile", "--set", "model.guard=false"]


def test_quantile_bands_from_train_to_predict_with_the_points_of_conformal(tmp_path: Path):
    """The network's own quantiles, conformalized and refit: ordered bounds in every file,
    the trained levels only, and the same point forecasts as the conformal method."""
    import json

    run = tmp_path / "quantile"
    result = invoke("train", "--run-dir", run, *TINY, *QUANTILE, *REFIT)
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["calibration"]["bands"] == "conformalized_quantile"
    assert metrics["calibration"]["origins"] == "validation"
    assert set(metrics["intervals"]["95"]["model"]) == {"coverage", "width", "msis"}
    saved = json.loads((run / "forecaster.json").read_text())
    assert [item["level"] for item in saved["conformity"]] == [80, 95]
    assert saved["calibration"] is None
    pairs = pd.read_csv(run / "forecast_test.csv")
    assert (pairs["lower_95"] <= pairs["lower_80"]).all()
    assert (pairs["lower_80"] <= pairs["forecast"]).all()
    assert (pairs["forecast"] <= pairs["upper_80"]).all()
    assert (pairs["upper_80"] <= pairs["upper_95"]).all()
    assert (pairs["upper_95"] > pairs["lower_95"]).all()
    table = read_stdout_table(invoke("predict", run, "--level", "95"))
    assert table.columns.tolist() == ["step", "forecast", "lower_95", "upper_95"]
    # A level's bounds do not depend on which other levels are asked for.
    both = read_stdout_table(invoke("predict", run))
    pd.testing.assert_frame_equal(table, both[table.columns])
    output = tmp_path / "f.csv"
    assert_clean_error(
        invoke("predict", run, "--level", "90", "-o", output),
        3,
        "forecasts the quantiles of the levels 80, 95 only (`intervals.method: quantile`), so "
        "it cannot give 90",
    )
    assert not output.exists()
    conformal = tmp_path / "conformal"
    result = invoke("train", "--run-dir", conformal, *TINY, *REFIT, "--set", "model.guard=false")
    assert result.exit_code == 0, result.output
    same = pd.read_csv(conformal / "forecast_test.csv")
    pd.testing.assert_series_equal(same["forecast"], pairs["forecast"])
    assert not np.allclose(same["upper_95"], pairs["upper_95"])


def test_quantile_bands_as_trained_without_conformalizing_and_in_backtests(tmp_path: Path):
    import json

    run = tmp_path / "raw"
    result = invoke(
        "train", "--run-dir", run, *TINY, *QUANTILE, "--set", "intervals.conformalize=false"
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["calibration"]["bands"] == "quantile"
    assert metrics["calibration"]["errors_per_step"] is None
    assert json.loads((run / "forecaster.json").read_text())["conformity"] == []
    table = read_stdout_table(invoke("predict", run))
    assert (table["lower_95"] < table["lower_80"]).all()
    assert (table["upper_80"] < table["upper_95"]).all()
    result = invoke(
        "backtest",
        "--output-dir",
        tmp_path / "bt",
        "--folds",
        "2",
        "--no-refit",
        *TINY,
        *QUANTILE,
        "-q",
    )
    assert result.exit_code == 0, result.output
    pairs = pd.read_csv(tmp_path / "bt" / "backtest.csv")
    assert (pairs["lower_95"] <= pairs["lower_80"]).all()
    assert (pairs["upper_80"] <= pairs["upper_95"]).all()


def test_quantile_levels_keep_every_digit_through_the_run_directory(tmp_path: Path):
    run = tmp_path / "run"
    levels = "intervals.levels=[12.3456789, 12.34568, 90]"
    result = invoke("train", "--run-dir", run, *TINY, *QUANTILE, "--set", levels)
    assert result.exit_code == 0, result.output
    table = read_stdout_table(invoke("predict", run, "--level", "12.3456789"))
    assert table.shape[1] == 4 and (table.iloc[:, 2] <= table["forecast"]).all()


def test_conformalize_off_needs_the_quantile_method(tmp_path: Path):
    result = invoke(
        "train", "--run-dir", tmp_path / "run", *TINY, "--set", "intervals.conformalize=false"
    )
    assert_clean_error(
        result, 3, "intervals: `conformalize: false` applies to `method: quantile` only"
    )
    assert not (tmp_path / "run").exists()


def test_an_empty_config_file_is_a_config_error(tmp_path: Path):
    config = tmp_path / "empty.yaml"
    config.write_text("# to be filled in\n")
    for command in ("train", "validate", "backtest"):
        assert_clean_error(invoke(command, config), 3, "the config file is empty")
    assert not (tmp_path / "runs").exists() and not Path("runs").exists()


def test_set_true_for_an_int_is_a_config_error():
    result = invoke("validate", "--set", "training.epochs=true")
    assert_clean_error(result, 3, "training.epochs: must be a whole number, not true or false")


def test_a_guard_margin_outside_0_to_1_is_a_config_error(tmp_path: Path):
    for margin, message in (("1", "must be < 1"), ("-0.1", "must be >= 0")):
        result = invoke(
            "train", "--run-dir", tmp_path / "run", "--set", f"model.guard_margin={margin}"
        )
        assert_clean_error(result, 3, f"model.guard_margin: {message}")
    assert not (tmp_path / "run").exists()


def test_a_guard_blend_that_is_not_true_or_false_is_a_config_error(tmp_path: Path):
    result = invoke("train", "--run-dir", tmp_path / "run", "--set", "model.guard_blend=maybe")
    assert_clean_error(result, 3, "model.guard_blend: input should be a valid boolean")
    assert not (tmp_path / "run").exists()


def test_an_output_name_outside_output_dir_is_a_config_error(tmp_path: Path):
    for name in ("../../x", "/tmp/x", '"a\\0b"'):
        result = invoke("validate", "--set", f"output.name={name}")
        assert_clean_error(result, 3, "output.name: must be a plain name")


def test_a_nul_byte_in_a_command_line_path_is_a_usage_error(tmp_path: Path):
    # Click refuses it before the command runs (argv itself cannot carry one).
    result = invoke("predict", tmp_path / "run\0", "-o", tmp_path / "x\0.csv")
    assert result.exit_code == 2 and "null byte" in result.output


def test_predict_and_plot_to_stdout_with_dash(tiny_run):
    result = invoke("predict", tiny_run.path, "-o", "-")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("step,forecast,lower_80")
    assert not Path("-").exists()
    result = invoke("plot", tiny_run.path, "--output", "-")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b"\x89PNG")
    assert not Path("-").exists()


def test_outputs_never_replace_a_fifo_or_a_link_to_a_device(tiny_run, tmp_path: Path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "null.csv"
    link.symlink_to("/dev/null")
    for target in (fifo, link):
        for command in ("predict", "plot"):
            assert_clean_error(invoke(command, tiny_run.path, "-o", target), 6, "not a regular")
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and os.readlink(link) == "/dev/null"
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_help_lists_the_exit_codes_of_the_readme():
    readme = (REPO / "README.md").read_text()
    table = readme.split("## Exit codes", 1)[1].split("\n\n", 2)[1]
    documented = [int(code) for code in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)]
    result = invoke("--help")
    epilog = " ".join(result.stdout.split()).split("Exit codes:", 1)[1].strip()
    listed = [int(code) for code in re.findall(r"(?:^|, )(\d+) ", epilog)]
    assert documented == listed == [0, 1, 2, 3, 4, 5, 6, 7, 8, 130, 141]


def popen_cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "rnnforecast", *map(str, args)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        **kwargs,
    )


def test_a_reader_closing_the_pipe_ends_predict_quietly_with_141(tiny_run):
    process = popen_cli("predict", tiny_run.path, stdout=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.close()  # a reader such as `head` that has read all it wanted
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 141, stderr
    assert stderr == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_a_full_stdout_is_an_output_error(tiny_run):
    with open("/dev/full", "w") as full:
        process = popen_cli("predict", tiny_run.path, stdout=full)
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 6, stderr
    assert (
        stderr == "Error: cannot write the output (No space left on device). Nothing was written.\n"
    )


def test_a_failure_after_the_run_is_written_names_the_run_and_exits_6(tmp_path: Path, monkeypatch):
    echo = typer.echo

    def stdout_full(message=None, *args, err: bool = False, **kwargs):
        if not err:
            raise OSError(errno.ENOSPC, "No space left on device")
        echo(message, *args, err=err, **kwargs)

    monkeypatch.setattr(typer, "echo", stdout_full)
    result = invoke("train", "--run-dir", tmp_path / "run", "--quiet", *TINY)
    assert_clean_error(result, 6, f"the run was written to {tmp_path / 'run'} and is complete")
    assert "No space left on device" in result.stderr and "Nothing was written" not in result.stderr
    assert (tmp_path / "run" / "metrics.json").is_file()


def start_training(tmp_path: Path) -> subprocess.Popen:
    """A tiny run training for long enough to be stopped, once it is being staged."""
    process = popen_cli(
        "train",
        "--run-dir",
        tmp_path / "run",
        *TINY,
        "--set",
        "training.epochs=500",
        "--set",
        "training.early_stopping=0",
        stdout=subprocess.PIPE,
    )
    assert process.stderr is not None
    # Off a terminal, progress is one line per epoch on stderr.
    for line in process.stderr:
        if line.startswith("member 1/1 holdout epoch 2/500 "):
            break
    assert any(tmp_path.iterdir()), "the run is being staged"
    return process


def test_sighup_stops_training_like_sigterm(tmp_path: Path):
    process = start_training(tmp_path)
    process.send_signal(signal.SIGHUP)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted; the result was not written" in stderr
    staging_left(tmp_path)


def test_every_signal_while_stopping_still_ends_with_130_and_cleans_up(tmp_path: Path):
    process = start_training(tmp_path)
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGTERM)  # a scheduler's second try, during the clean-up
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("Error: "):
            assert "interrupted; the result was not written" in line
            break
    for kind in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):  # while it shuts down
        process.send_signal(kind)
    process.communicate(timeout=60)
    assert process.returncode == 130
    staging_left(tmp_path)


def test_plot_writes_the_format_its_output_suffix_asks_for(tiny_run, tmp_path: Path):
    result = invoke("plot", tiny_run.path, "-o", tmp_path / "p.svg", "--last", "48")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.svg").read_bytes().startswith(b"<?xml")
    assert b"last 48 of 240 points" in (tmp_path / "p.svg").read_bytes()
    assert invoke("plot", tiny_run.path, "-o", tmp_path / "p.pdf").exit_code == 0
    assert (tmp_path / "p.pdf").read_bytes().startswith(b"%PDF")
    # Refused before the run is even read: the run directory here does not exist.
    result = invoke("plot", tmp_path / "no-run", "-o", tmp_path / "p.jpg")
    assert_clean_error(result, 6, "expected one of .png, .svg, .pdf")
    assert not (tmp_path / "p.jpg").exists()


def test_evaluate_right_after_train_reports_the_stored_test_figures(tiny_run):
    result = invoke("evaluate", tiny_run.path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("model")
    assert "Note: the saved model was refit on all of this data" in result.stdout
    stored = json.loads(invoke("evaluate", tiny_run.path, "--json").stdout)
    assert stored["stored"] is True and stored["model"] == tiny_run.metrics["model"]


def test_off_a_terminal_train_prints_one_labelled_line_per_epoch_and_no_keras_lines(
    tmp_path: Path,
):
    # The networks are kept even where a baseline scores better, so both phases train.
    result = invoke(
        "train",
        "--run-dir",
        tmp_path / "run",
        *TINY,
        *REFIT,
        "--set",
        "training.ensemble=2",
        "--set",
        "model.guard=false",
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("member ")]
    labels = [" ".join(line.split()[:5]) for line in lines]
    assert labels == [
        "member 1/2 holdout epoch 1/2",
        "member 1/2 holdout epoch 2/2",
        "member 2/2 holdout epoch 1/2",
        "member 2/2 holdout epoch 2/2",
        "member 1/2 refit epoch 1/2",
        "member 1/2 refit epoch 2/2",
        "member 2/2 refit epoch 1/2",
        "member 2/2 refit epoch 2/2",
    ]
    pattern = r"member 1/2 holdout epoch 1/2 \d+\.\ds loss \S+ val_loss \S+ learning_rate \S+"
    assert re.fullmatch(pattern, lines[0])
    assert "Epoch 1/2" not in result.output and "step - loss" not in result.output


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_log_format_json_writes_one_object_per_event_for_schedulers(tmp_path: Path):
    result = invoke(
        "train",
        "--run-dir",
        tmp_path / "run",
        *TINY,
        *REFIT,
        "--set",
        "model.guard=false",  # both phases train
        "--log-format",
        "json",
    )
    assert result.exit_code == 0, result.output
    records = json_lines(result.stderr)
    kinds = [record["event"] for record in records]
    assert kinds[0] == "start" and kinds[-1] == "run_written"
    assert kinds.count("epoch") == 4 and kinds.count("member_done") == 2
    first = next(record for record in records if record["event"] == "epoch")
    assert {"phase", "member", "members", "epoch", "epochs", "elapsed", "loss", "val_loss"} <= set(
        first
    )
    assert records[-1]["path"] == str(tmp_path / "run") and "mase" in records[-1]
    # An error is an object with the exit code, and nothing else reaches stderr.
    result = invoke("train", "--run-dir", tmp_path / "run", "--log-format", "json")
    assert result.exit_code == 5
    error = json_lines(result.stderr)[-1]
    assert error["event"] == "error" and error["exit_code"] == 5
    assert "already exists" in error["message"]
    result = invoke("train", "--set", "training.epochs=true", "--log-format", "json")
    assert [record["event"] for record in json_lines(result.stderr)] == ["start", "error"]
    assert json_lines(result.stderr)[-1]["exit_code"] == 3


def test_backtest_progress_names_the_fold(tmp_path: Path):
    result = invoke(
        "backtest", "--output-dir", tmp_path / "bt", "--folds", "2", *TINY, "--log-format", "json"
    )
    assert result.exit_code == 0, result.output
    records = json_lines(result.stderr)
    folds = {(r["fold"], r["folds"]) for r in records if r["event"] == "epoch"}
    assert folds == {(1, 2), (2, 2)}
    assert records[-1]["event"] == "backtest_written"
    result = invoke(
        "backtest",
        "--output-dir",
        tmp_path / "bt2",
        "--folds",
        "2",
        *TINY,
        *REFIT,
        "--set",
        "model.guard=false",  # the fold's network is refit, not replaced by a baseline
    )
    assert "fold 2/2 member 1/1 refit epoch 2/2 " in result.stderr
