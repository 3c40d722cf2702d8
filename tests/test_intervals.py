"""Conformal calibration: the rank rule, too few errors, and coverage on series of known noise
(with stand-in models, so the intervals are checked apart from any training); a network's
quantiles and their conformalization."""

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from rnnforecast.data import Dataset, Series
from rnnforecast.evaluation import score_part
from rnnforecast.forecaster import Forecaster, InputLayout, Member
from rnnforecast.intervals import (
    MAX_KEPT_ERRORS,
    Calibration,
    initial_widths,
    naive_spread,
    quantile_probabilities,
    too_few_note,
)
from rnnforecast.scaling import Scaler, series_key
from rnnforecast.splitting import SplitPoints
from rnnforecast.validation import assess
from tests.conftest import plan_of


def test_the_bound_is_the_error_of_finite_sample_rank():
    errors = np.arange(1.0, 20.0)[:, None]  # 19 errors of one step: 1 .. 19
    calibration = Calibration.from_errors(errors)
    assert calibration.bound(95)[0].tolist() == [19.0]  # rank ceil(20 * 0.95) = 19
    assert calibration.bound(80)[0].tolist() == [16.0]  # rank ceil(20 * 0.80) = 16
    assert calibration.bound(50)[0].tolist() == [10.0]
    assert not calibration.bound(95)[1]


def test_too_few_errors_widen_the_bound_and_say_so():
    calibration = Calibration.from_errors(np.arange(1.0, 11.0)[:, None])  # 10 errors
    bound, short = calibration.bound(95)  # rank ceil(11 * 0.95) = 11 > 10
    assert short
    rms = math.sqrt(np.mean(np.arange(1.0, 11.0) ** 2))
    assert bound[0] == pytest.approx(max(10.0, 1.959964 * rms), rel=1e-5)
    assert bound[0] >= calibration.bound(80)[0][0], "never below a lower level"
    note = too_few_note(calibration, [80, 95])
    assert note is not None and "only 10 calibration error(s)" in note and "95 %" in note
    assert "80 %" not in note
    assert too_few_note(calibration, [80]) is None


def test_many_errors_keep_a_sketch_that_gives_nearly_the_same_bound():
    rng = np.random.default_rng(0)
    errors = np.abs(rng.normal(size=(20_000, 2)))
    calibration = Calibration.from_errors(errors)
    assert calibration.errors.shape == (2, MAX_KEPT_ERRORS)
    exact = np.sort(errors, axis=0)[math.ceil(20_001 * 0.9) - 1]
    np.testing.assert_allclose(calibration.bound(90)[0], exact, rtol=0.01)


def test_a_calibration_survives_its_json_and_refuses_a_damaged_one():
    calibration = Calibration.from_errors(np.array([[1.0, np.nan], [2.0, 0.5], [3.0, 0.7]]))
    assert calibration.count.tolist() == [3, 2]
    again = Calibration.from_dict(calibration.to_dict())
    for level in (50, 80, 95):
        np.testing.assert_array_equal(again.bound(level)[0], calibration.bound(level)[0])
    damaged = calibration.to_dict()
    damaged["errors"][0] = [3.0, 1.0]
    with pytest.raises(ValueError, match="sorted"):
        Calibration.from_dict(damaged)


class MeanModel:
    """Stands in for a Keras model: forecasts the training mean (0 in scaled units)."""

    def __init__(self, horizon: int) -> None:
        self.horizon = horizon

    def predict(self, inputs: dict[str, np.ndarray], **_: object) -> np.ndarray:
        return np.zeros((len(inputs["window"]), self.horizon), dtype="float32")


def noise_dataset(sigmas: dict[str, float], length: int, seed: int = 0) -> Dataset:
    """White noise around 100 with the given standard deviation per series."""
    rng = np.random.default_rng(seed)
    series = [
        Series(name, pd.RangeIndex(length), (100 + sigma * rng.normal(size=(length, 1))))
        for name, sigma in sigmas.items()
    ]
    return Dataset(series, "y", [], None, "id", None, 1, "noise.csv")


def calibrated_mean_model(dataset: Dataset, points: list[SplitPoints], horizon: int):
    plan = plan_of("model.guard=false", f"window.horizon={horizon}", "window.lookback=4")
    scaler = Scaler.fit(
        "standard",
        {
            series_key(series.id): series.values[: point.train_end]
            for series, point in zip(dataset.series, points, strict=True)
        },
    )
    forecaster = Forecaster([Member(MeanModel(horizon), 4)], scaler, horizon, InputLayout())
    return assess(forecaster, dataset, points, plan, baseline_only=False)


def test_bounds_cover_close_to_nominal_on_noise_of_known_size():
    """White noise: each series gets bands of its own size, covering about 80 % and 95 % of
    test points; a band much too narrow or too wide fails."""
    sigmas = {"calm": 1.0, "wild": 10.0}
    dataset = noise_dataset(sigmas, length=4000)
    points = [SplitPoints(1500, 2000, 4000)] * 2
    forecaster, assessment = calibrated_mean_model(dataset, points, horizon=3)
    assert assessment.choice == "network" and assessment.calibration_origins == "validation"
    scored = score_part(forecaster, dataset, [(2000, 4000)] * 2, [1500] * 2, levels=(80, 95))
    model = scored.model
    for index, (name, sigma) in enumerate(sigmas.items()):
        mine = model.series == index
        actual = scored.actual[mine]
        for level, z in ((80, 1.2816), (95, 1.96)):
            lower, upper = model.intervals[level]
            inside = (actual >= lower[mine]) & (actual <= upper[mine])
            assert abs(inside.mean() - level / 100) < 0.03, (name, level, inside.mean())
            # The half-width is the noise's own quantile (the mean is known well).
            half = np.median(upper[mine] - model.point[mine])
            assert half == pytest.approx(z * sigma, rel=0.12), (name, level)
    metrics = scored.metrics(1)
    assert metrics["intervals"]["95"]["model"]["coverage"] == pytest.approx(0.95, abs=0.03)
    # Naive's bands come from its own in-sample errors: wider (the difference of two draws).
    assert (
        metrics["intervals"]["95"]["naive"]["width"] > metrics["intervals"]["95"]["model"]["width"]
    )


def test_bounds_are_asymmetric_under_the_log_and_never_cross():
    rng = np.random.default_rng(1)
    values = np.exp(3 + 0.3 * rng.normal(size=(1200, 1)))
    dataset = Dataset(
        [Series(None, pd.RangeIndex(1200), values)], "y", [], None, None, None, 1, "x"
    )
    points = [SplitPoints(600, 900, 1200)]
    scaler = Scaler.fit("standard", {"": values[:600]}, log=True)
    forecaster = Forecaster([Member(MeanModel(2), 4)], scaler, 2, InputLayout())
    plan = plan_of(
        "model.guard=false", "window.horizon=2", "window.lookback=4", "transform.log=true"
    )
    forecaster, _ = assess(forecaster, dataset, points, plan, baseline_only=False)
    forecast = forecaster.forecast(dataset, [np.arange(900, 1198)], levels=(80, 95))
    (low80, high80), (low95, high95) = forecast.intervals[80], forecast.intervals[95]
    assert ((high95 - forecast.point) > (forecast.point - low95)).all()
    assert (low95 <= low80).all() and (low80 <= forecast.point).all()
    assert (forecast.point <= high80).all() and (high80 <= high95).all()
    assert (low95 > 0).all(), "a positive series keeps positive bounds"


def test_signed_scores_give_a_bound_that_can_narrow_a_band():
    scores = -np.arange(1.0, 101.0)[:, None]  # every actual inside its band, by 1 to 100
    calibration = Calibration.from_errors(scores, signed=True)
    bound, short = calibration.bound(80)
    assert not short and bound[0] == -20.0  # rank ceil(101 * 0.8) = 81 of the sorted scores
    restored = Calibration.from_dict(calibration.to_dict())
    assert restored.signed and restored.bound(80)[0][0] == -20.0
    # Too few scores for the level: the largest score, even when it narrows the band.
    few = Calibration.from_errors(np.array([[-3.0], [-2.0]]), signed=True)
    assert few.bound(95) == (pytest.approx([-2.0]), True)
    assert Calibration.from_errors(np.array([[-3.0], [2.0]]), signed=True).bound(95)[0][0] == 2.0
    note = too_few_note({80.0: calibration, 95.0: few}, [80.0, 95.0])
    assert note is not None and "only 2 calibration error(s)" in note and "80 %" not in note
    unsigned = calibration.to_dict() | {"signed": False}
    with pytest.raises(ValueError, match="non-negative unless signed"):
        Calibration.from_dict(unsigned)


def test_quantile_probabilities_widths_and_the_naive_spread():
    assert quantile_probabilities((50.0, 90.0)) == [0.25, 0.05, 0.75, 0.95]
    widths = np.array(initial_widths(np.array([1.0, 2.0]), (80.0, 95.0)))
    assert widths.shape == (2, 2, 2)
    np.testing.assert_allclose(widths[0].cumsum(axis=0)[-1], [1.96, 3.92], rtol=1e-3)
    walk = np.cumsum(np.random.default_rng(0).normal(size=20_000))
    spread = naive_spread([walk, np.array([1.0])], horizon=4)
    # A random walk's change over k steps has the standard deviation sqrt(k).
    np.testing.assert_allclose(spread, np.sqrt([1, 2, 3, 4]), rtol=0.05)
    assert naive_spread([np.array([5.0])], 2).tolist() == [1.0, 1.0]


class NarrowQuantileModel:
    """Stands in for a Keras model that forecasts quantiles: the training mean (0 scaled) and,
    for the levels 80 and 95, bands of half-width 0.1 and 0.2 in scaled units, far too narrow
    for unit noise."""

    def __init__(self, horizon: int) -> None:
        self.horizon = horizon

    def predict(self, inputs: dict[str, np.ndarray], **_: object) -> np.ndarray:
        output = np.zeros((len(inputs["window"]), self.horizon, 5), dtype="float32")
        output[..., 1:] = [-0.1, -0.2, 0.1, 0.2]
        return output


@pytest.mark.parametrize("conformalize", [True, False])
def test_conformalized_quantiles_cover_close_to_nominal(conformalize: bool):
    """White noise and quantiles much too narrow: conformalized on the validation part they
    cover about 80 % and 95 % of test points; as trained they cover far less."""
    sigmas = {"calm": 1.0, "wild": 10.0}
    dataset = noise_dataset(sigmas, length=4000)
    points = [SplitPoints(1500, 2000, 4000)] * 2
    plan = plan_of(
        "model.guard=false",
        "window.horizon=3",
        "window.lookback=4",
        "intervals.method=quantile",
        f"intervals.conformalize={str(conformalize).lower()}",
    )
    scaler = Scaler.fit("standard", {series_key(s.id): s.values[:1500] for s in dataset.series})
    forecaster = Forecaster(
        [Member(NarrowQuantileModel(3), 4)], scaler, 3, InputLayout(), quantiles=(80.0, 95.0)
    )
    forecaster, assessment = assess(forecaster, dataset, points, plan, baseline_only=False)
    expected = "conformalized_quantile" if conformalize else "quantile"
    assert assessment.bands == expected
    assert assessment.summary(False, 0)["calibration"]["bands"] == expected
    assert sorted(forecaster.conformity) == ([80.0, 95.0] if conformalize else [])
    scored = score_part(forecaster, dataset, [(2000, 4000)] * 2, [1500] * 2, levels=(80, 95))
    for level in (80, 95):
        lower, upper = scored.model.intervals[level]
        coverage = ((scored.actual >= lower) & (scored.actual <= upper)).mean()
        if conformalize:
            assert abs(coverage - level / 100) < 0.03, (level, coverage)
        else:
            assert coverage < 0.2, (level, coverage)
    with pytest.raises(ValueError, match="no quantiles for levels"):
        forecaster.forecast(dataset, [np.array([2000])] * 2, levels=(90,))


def test_quantile_bands_move_with_the_guards_blend():
    """A blended forecaster shifts the network's bands by as much as the blend moves its
    forecast, so the band keeps its width around the blended forecast."""
    dataset = noise_dataset({"only": 1.0}, length=400)
    scaler = Scaler("none", {"only": [0.0]}, {"only": [1.0]})
    network = Forecaster(
        [Member(NarrowQuantileModel(3), 4)],
        scaler,
        3,
        InputLayout(),
        scales={"only": 1.0},
        quantiles=(80.0, 95.0),
    )
    origins = [np.array([100, 200])]
    alone = network.forecast(dataset, origins, levels=(80, 95))
    blended = replace(network, blend=0.5).forecast(dataset, origins, levels=(80, 95))
    assert not np.allclose(blended.point, alone.point)
    for level, half in ((80, 0.1), (95, 0.2)):
        lower, upper = blended.intervals[level]
        np.testing.assert_allclose(upper - blended.point, half, rtol=1e-5)
        np.testing.assert_allclose(blended.point - lower, half, rtol=1e-5)
