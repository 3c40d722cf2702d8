from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from rnnforecast.backtest import backtest, fold_cuts, run_backtest, truncate
from rnnforecast.config_file import load_config
from rnnforecast.data import synthetic_dataset
from rnnforecast.errors import ConfigError
from rnnforecast.events import Events
from rnnforecast.run import BACKTEST_FILE, BACKTEST_METRICS_FILE, BACKTEST_PLOT_FILE
from tests.conftest import TINY_OVERRIDES


def tiny(*overrides: str):
    return load_config(None, [*TINY_OVERRIDES, *overrides])


def test_folds_end_a_horizon_before_the_end_and_step_back():
    dataset = synthetic_dataset(tiny().data)
    assert fold_cuts(dataset, folds=3, step=5, horizon=4) == [[226], [231], [236]]
    with pytest.raises(ConfigError, match="Lower --folds or --step"):
        fold_cuts(dataset, folds=100, step=5, horizon=4)


def test_backtest_scores_each_fold_against_the_baselines():
    dataset = synthetic_dataset(tiny().data)
    seen = []
    config = tiny("training.refit=true")
    result = backtest(config, folds=2, step=6, dataset=dataset, events=Events(seen.append))
    assert [fold["fold"] for fold in result.folds] == [1, 2]
    folds = [(event.name, event.fields["fold"]) for event in seen if event.kind == "fold"]
    assert folds == [("start", 1), ("end", 1), ("start", 2), ("end", 2)]
    ends = [event.fields["metrics"] for event in seen if event.name == "end"]
    assert ends == result.folds, "each fold's figures as soon as it is scored"
    assert result.folds[0]["origins"] == {"synthetic series": "229"}
    assert result.folds[1]["origins"] == {"synthetic series": "235"}
    assert result.overall["windows"] == 2
    assert {"model", "naive", "seasonal_naive", "drift", "skill"} <= set(result.overall)
    pairs = result.pairs(dataset)
    assert len(pairs) == 2 * 4 and pairs["fold"].tolist() == [1] * 4 + [2] * 4
    assert pairs["step"].tolist() == [*range(230, 234), *range(236, 240)]
    actual = dataset.series[0].target
    np.testing.assert_allclose(pairs["actual"], actual[pairs["step"]])
    # Each fold's model was trained on the data before its origin, refit on all of it.
    assert result.plan.config.training.refit


@pytest.mark.parametrize("refit_each_fold", [True, False])
def test_nothing_after_an_origin_reaches_its_fold(refit_each_fold: bool):
    """Leak check: changing every value after the last origin changes nothing in that fold
    (scalers and models of every fold learn only from the data before their origin)."""
    config = tiny()
    dataset = synthetic_dataset(config.data)
    values = dataset.series[0].values.copy()
    values[236:] = 1e6
    tampered = replace(dataset, series=[replace(dataset.series[0], values=values)])
    honest = backtest(config, folds=2, step=6, refit_each_fold=refit_each_fold, dataset=dataset)
    changed = backtest(config, folds=2, step=6, refit_each_fold=refit_each_fold, dataset=tampered)
    np.testing.assert_allclose(
        changed.scored[1].model.point, honest.scored[1].model.point, rtol=1e-6
    )
    assert (changed.scored[1].actual != honest.scored[1].actual).any()


def test_run_backtest_writes_its_files_atomically(tmp_path):
    result, _, folder = run_backtest(
        tiny(), tmp_path / "bt", folds=2, step=None, refit_each_fold=False, progress="none"
    )
    assert folder == tmp_path / "bt"
    assert {path.name for path in folder.iterdir()} == {
        BACKTEST_FILE,
        BACKTEST_METRICS_FILE,
        BACKTEST_PLOT_FILE,
        "config.yaml",
    }
    assert len(pd.read_csv(folder / BACKTEST_FILE)) == 2 * 4
    assert (folder / BACKTEST_PLOT_FILE).read_bytes()[:4] == b"\x89PNG"
    assert not result.refit


def test_values_after_an_origin_that_the_fold_cannot_take_are_never_read(tmp_path):
    """A fold's log transform is chosen on its own history; zeros after its origin (the
    actual values it is scored on) must not stop it."""
    from rnnforecast.data import load_dataset

    path = tmp_path / "d.csv"
    values = [10 + t % 12 for t in range(116)] + [0, 0, 0, 0]
    path.write_text("t,y\n" + "".join(f"{t},{v}\n" for t, v in enumerate(values)))
    config = load_config(
        None,
        [
            f"data.path={path}",
            "data.time_column=t",
            "data.season_length=12",
            "window.horizon=4",
            "model.units=4",
            "training.epochs=2",
            "training.ensemble=1",
            "training.refit=false",
        ],
    )
    dataset = load_dataset(config.data)
    result = backtest(config, folds=1, dataset=dataset)
    assert result.plan.log is True
    pairs = result.pairs(dataset)
    assert np.isfinite(pairs["forecast"]).all()
    assert pairs["actual"].tolist() == [0, 0, 0, 0]


def test_a_stopped_backtest_resumes_with_its_finished_folds(tmp_path, monkeypatch):
    from rnnforecast.checkpoints import FitUnit
    from rnnforecast.events import Events
    from rnnforecast.run import BACKTEST_METRICS_FILE

    config = tiny("training.refit=false", "training.epochs=3")
    run_backtest(config, tmp_path / "straight", 2, None, True, "none")
    finish = FitUnit.finish

    def interrupted_in_fold_2(self, *args, **kwargs):
        if "fold-2" in str(self.folder):
            raise KeyboardInterrupt  # Ctrl-C, SIGTERM: the finished fold is kept
        finish(self, *args, **kwargs)

    monkeypatch.setattr(FitUnit, "finish", interrupted_in_fold_2)
    with pytest.raises(KeyboardInterrupt):
        run_backtest(config, tmp_path / "bt", 2, None, True, "none")
    monkeypatch.undo()
    seen = []
    run_backtest(config, tmp_path / "bt", 2, None, True, "none", Events(seen.append))
    notes = [event.fields["text"] for event in seen if event.kind == "note"]
    assert notes[0].startswith("resuming the unfinished backtest folder staged in")
    fits = [event.fields for event in seen if event.kind == "step" and event.name == "fit"]
    assert len(fits) == 1, "fold 1 is restored; only fold 2 trains"
    for name in (BACKTEST_METRICS_FILE, BACKTEST_FILE):
        assert (tmp_path / "bt" / name).read_text() == (tmp_path / "straight" / name).read_text()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bt", "straight"]


def test_a_fold_keeps_what_was_observed_so_filled_points_are_neither_learnt_nor_scored():
    dataset = synthetic_dataset(tiny().data)
    observed = np.ones(240, dtype=bool)
    observed[[50, 231]] = False
    filled = replace(dataset, series=[replace(dataset.series[0], observed=observed)])
    assert truncate(filled, [200]).series[0].observed.tolist() == observed[:200].tolist()
    result = backtest(tiny(), folds=2, step=6, refit_each_fold=False, dataset=filled)
    # Position 231 is the second step of the first fold (origin 230): scored as nothing.
    assert result.folds[0]["filled_points"] == 1 and result.folds[1]["filled_points"] == 0
    assert np.isnan(result.pairs(filled)["actual"].iloc[1])
