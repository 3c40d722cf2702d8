"""The guard: a network that is not better than a naive baseline on validation is replaced by it,
and the baseline's intervals come from every past origin; its blend with seasonal naive with
drift is kept instead of it when better."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from rnnforecast.baselines import seasonal_drift_forecast, seasonal_naive_forecast
from rnnforecast.cli import _training_notes
from rnnforecast.config_file import load_config
from rnnforecast.data import Dataset, Series, load_dataset
from rnnforecast.forecaster import Forecaster, InputLayout, Member
from rnnforecast.prediction import predict
from rnnforecast.scaling import Scaler
from rnnforecast.splitting import SplitPoints
from rnnforecast.training import train
from rnnforecast.validation import assess, guard_choice
from tests.conftest import plan_of


class FlatModel:
    """Stands in for a Keras model that learned nothing useful: forecasts a constant."""

    def __init__(self, horizon: int) -> None:
        self.horizon = horizon

    def predict(self, inputs: dict[str, np.ndarray], **_: object) -> np.ndarray:
        return np.full((len(inputs["window"]), self.horizon), 2.0, dtype="float32")


def seasonal_dataset(length: int = 300) -> Dataset:
    steps = np.arange(length)
    values = (
        10 + np.sin(2 * np.pi * steps / 12) + 0.05 * np.random.default_rng(0).normal(size=length)
    )
    return Dataset(
        [Series(None, pd.RangeIndex(length), values[:, None])], "y", [], None, None, None, 12, "s"
    )


def flat_forecaster(dataset: Dataset, train_end: int) -> Forecaster:
    scaler = Scaler.fit("standard", {"": dataset.series[0].values[:train_end]})
    return Forecaster([Member(FlatModel(3), 12)], scaler, 3, InputLayout())


def test_a_network_worse_than_a_baseline_is_replaced_by_it():
    dataset = seasonal_dataset()
    points = [SplitPoints(200, 250, 300)]
    plan = plan_of("window.horizon=3", "window.lookback=12", "data.season_length=12")
    forecaster, assessment = assess(
        flat_forecaster(dataset, 200), dataset, points, plan, baseline_only=False
    )
    assert assessment.choice == "seasonal_naive" == forecaster.fallback
    assert assessment.validation["model"] > assessment.validation["seasonal_naive"]
    assert assessment.windows == 50 - 3 + 1
    # Nothing was fitted, so every origin before the test part calibrates the baseline.
    assert assessment.calibration_origins == "history"
    assert int(assessment.calibration.count.min()) == 250 - 12 - 3 + 1
    origins = np.array([260, 270])
    forecast = forecaster.forecast(dataset, [origins], levels=(80,))
    target = dataset.series[0].target
    np.testing.assert_allclose(forecast.point, seasonal_naive_forecast(target, origins, 3, 12))
    lower, upper = forecast.intervals[80]
    assert (lower < forecast.point).all() and (forecast.point < upper).all()


def test_without_the_guard_the_network_is_kept():
    dataset = seasonal_dataset()
    plan = plan_of(
        "window.horizon=3", "window.lookback=12", "data.season_length=12", "model.guard=false"
    )
    forecaster, assessment = assess(
        flat_forecaster(dataset, 200), dataset, [SplitPoints(200, 250, 300)], plan, False
    )
    assert assessment.choice == "network" and forecaster.fallback is None
    assert assessment.calibration_origins == "validation"


def test_the_network_must_beat_the_best_baseline_by_the_margin():
    scores = {"model": 0.93, "naive": 1.4, "seasonal_naive": 1.0, "drift": 1.2, "mean": 2.0}
    assert guard_choice(scores, 0.1) == "seasonal_naive", "7 % better is within a 10 % margin"
    assert guard_choice(scores, 0.05) == "network"
    assert guard_choice(scores, 0.0) == "network"
    assert guard_choice({**scores, "model": 1.0}, 0.0) == "seasonal_naive", (
        "a tie keeps the baseline"
    )
    assert guard_choice({**scores, "model": 0.89}, 0.1) == "network"


def test_the_blend_is_kept_when_it_beats_the_network_and_the_baselines():
    scores = {"model": 1.1, "blend": 0.9, "naive": 1.4, "seasonal_naive": 1.0, "mean": 2.0}
    assert guard_choice(scores, 0.0) == "blend"
    assert guard_choice(scores, 0.2) == "seasonal_naive", "the margin holds for the blend too"
    assert guard_choice({**scores, "blend": 1.2}, 0.0) == "seasonal_naive"
    assert guard_choice({**scores, "model": 0.8}, 0.0) == "network", "better than the blend"
    assert guard_choice({**scores, "model": 0.9}, 0.0) == "network", "a tie keeps the network"


def test_a_blended_forecaster_averages_the_network_and_seasonal_drift():
    dataset = seasonal_dataset()
    flat = flat_forecaster(dataset, 200)
    blended = replace(flat, blend=0.5)
    origins = np.array([210, 260, 297])
    network = flat.forecast(dataset, [origins])
    forecast = blended.forecast(dataset, [origins])
    drift = seasonal_drift_forecast(dataset.series[0].target, origins, 3, 12)
    np.testing.assert_allclose(forecast.point, 0.5 * network.point + 0.5 * drift)
    np.testing.assert_allclose(forecast.members, 0.5 * network.members + 0.5 * drift[None])


def test_train_says_the_network_was_not_better_by_the_margin():
    metrics = {
        "guard": {
            "choice": "naive",
            "margin": 0.1,
            "validation_mase": {"model": 0.95, "naive": 1.0},
        },
        "training": {"members": [{"best_epoch": 3}]},
    }
    (note,) = _training_notes(metrics, "naive")
    assert "(validation MASE 0.950) was not at least 10 % better than naive (1.000)" in note
    assert "`model.guard_margin`" in note
    del metrics["guard"]["margin"]  # a run of an earlier version
    (note,) = _training_notes(metrics, "naive")
    assert "was not better than naive (1.000)" in note


def trained(tmp_path, name: str, *overrides: str):
    base = [
        "window.horizon=4",
        "model.units=8",
        "training.ensemble=1",
        "training.epochs=15",
        "training.refit=true",
    ]
    return train(load_config(None, [*base, *overrides]), run_dir=tmp_path / name, progress="none")


def test_on_white_noise_and_a_random_walk_the_saved_model_is_a_baseline(tmp_path):
    noise = trained(
        tmp_path,
        "noise",
        "data.synthetic.length=400",
        "data.synthetic.amplitude=0",
        "data.synthetic.noise.scale=1",
    )
    assert noise.metrics["guard"]["choice"] != "network"
    assert noise.fallback == noise.metrics["guard"]["choice"]
    assert noise.metrics["training"]["refit_epochs"] == [0], "no network is refit for nothing"

    walk = tmp_path / "walk.csv"
    steps = np.cumsum(np.random.default_rng(3).normal(size=400))
    pd.DataFrame({"t": range(400), "y": 50 + steps}).to_csv(walk, index=False)
    run = trained(tmp_path, "walk", f"data.path={walk}", "data.time_column=t")
    assert run.metrics["guard"]["choice"] in ("naive", "drift")
    assert run.fallback == run.metrics["guard"]["choice"]
    pairs = pd.read_csv(run.path / "forecast_test.csv")
    np.testing.assert_allclose(pairs["forecast"], pairs[run.fallback])


def test_on_a_series_with_learnable_structure_the_saved_model_is_the_network(tmp_path):
    # An AR(2) process: cycles of random phase and size, which no naive baseline follows, but
    # each value is nearly a linear function of the two before it.
    rng = np.random.default_rng(4)
    values = np.zeros(500)
    for t in range(2, 500):
        values[t] = 1.6 * values[t - 1] - 0.8 * values[t - 2] + rng.normal()
    path = tmp_path / "ar2.csv"
    pd.DataFrame({"t": range(500), "y": values}).to_csv(path, index=False)
    run = trained(tmp_path, "ar2", f"data.path={path}", "data.time_column=t")
    guard = run.metrics["guard"]
    assert guard["choice"] == "network", guard
    assert guard["margin"] == 0, "the default margin, recorded"
    assert run.fallback is None
    assert run.metrics["training"]["refit_epochs"] == [run.metrics["training"]["best_epoch"]]
    history = pd.read_csv(run.path / "history.csv")
    assert (history["phase"] == "refit").sum() == run.metrics["training"]["best_epoch"]
    baselines = {
        name: value
        for name, value in guard["validation_mase"].items()
        if name not in ("model", "blend")
    }
    best = min(baselines, key=baselines.get)
    assert guard["validation_mase"]["model"] < baselines[best]

    # The same network, which must now beat the best baseline by half: it falls back to it.
    # Training does not depend on the guard, so the validation figures are the same.
    strict = trained(
        tmp_path, "ar2-margin", f"data.path={path}", "data.time_column=t", "model.guard_margin=0.5"
    )
    assert strict.metrics["guard"]["validation_mase"] == guard["validation_mase"]
    assert strict.metrics["guard"]["margin"] == 0.5
    assert guard["validation_mase"]["model"] > 0.5 * baselines[best]
    assert strict.fallback == strict.metrics["guard"]["choice"] == best


def test_the_guard_and_the_calibration_leave_out_filled_points():
    dataset = seasonal_dataset()
    points = [SplitPoints(200, 250, 300)]
    plan = plan_of(
        "window.horizon=3", "window.lookback=12", "data.season_length=12", "model.guard=false"
    )

    def assessed(value: float, observed: bool):
        # The last validation point: a target of validation windows, an input of none.
        [series] = dataset.series
        values, mask = series.values.copy(), np.ones(300, dtype=bool)
        values[249, 0], mask[249] = value, observed
        changed = replace(dataset, series=[Series(None, series.time, values, mask)])
        return assess(flat_forecaster(changed, 200), changed, points, plan, baseline_only=False)

    _, honest = assessed(dataset.series[0].values[249, 0], observed=False)
    _, filled = assessed(1e4, observed=False)
    assert filled.validation == honest.validation
    np.testing.assert_array_equal(filled.calibration.errors, honest.calibration.errors)
    # The filled point is the last step of the last window: one error fewer at that step.
    assert filled.calibration.count.tolist() == [48, 48, 47]
    _, counted = assessed(1e4, observed=True)
    assert counted.validation["model"] > 10 * filled.validation["model"]


def test_on_a_trending_seasonal_series_the_guard_can_choose_the_blend(tmp_path):
    # a10 (monthly drug sales: a growing trend and season) and a network trained briefly: its
    # blend with seasonal naive with drift is better on validation than it or any baseline.
    a10 = [
        f"data.path={Path(__file__).parents[1] / 'data' / 'a10.csv'}",
        "window.horizon=12",
        "training.epochs=5",
        "training.ensemble=2",
    ]
    run = train(load_config(None, a10), run_dir=tmp_path / "blend", progress="none")
    guard = run.metrics["guard"]
    assert guard["choice"] == "blend" and run.blend == 0.5 and run.fallback is None
    scores = guard["validation_mase"]
    assert scores["blend"] < min(value for name, value in scores.items() if name != "blend")
    assert (
        "an even blend of the network and seasonal naive with drift"
        in (run.metrics["models"]["test"])
    )
    (note,) = [note for note in _training_notes(run.metrics, "seasonal_naive") if "blend" in note]
    assert f"(validation MASE {scores['blend']:.3f}) beat the network alone" in note
    assert "`model.guard_blend: false`" in note
    # Its intervals come from its own errors on the validation windows, out of sample for the
    # network inside it, not from origins in the training part the network learned from.
    assert run.metrics["calibration"]["origins"] == "validation"
    assert run.metrics["calibration"]["errors_per_step"] == guard["windows"]

    # The saved forecast is the blend of the saved network's and seasonal drift's.
    dataset = load_dataset(run.config.data)
    forecaster = run.load_forecaster()
    ahead = predict(run, dataset, forecaster=forecaster, levels=[])
    network = predict(run, dataset, forecaster=replace(forecaster, blend=0.0), levels=[])
    target = dataset.series[0].target
    drift = seasonal_drift_forecast(target, np.array([len(target)]), 12, 12)
    np.testing.assert_allclose(ahead.point, 0.5 * network.point + 0.5 * drift)

    # Without the blend: the same network and validation figures, and the network is kept.
    alone = train(
        load_config(None, [*a10, "model.guard_blend=false"]),
        run_dir=tmp_path / "alone",
        progress="none",
    )
    kept = alone.metrics["guard"]
    assert kept["choice"] == "network" and alone.blend == 0.0
    assert kept["validation_mase"] == {k: v for k, v in scores.items() if k != "blend"}
