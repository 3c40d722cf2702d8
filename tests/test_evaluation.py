from dataclasses import replace

import numpy as np
import pytest

from rnnforecast.config import DataConfig
from rnnforecast.data import Series, synthetic_dataset
from rnnforecast.evaluation import format_comparison, score_forecast, score_part
from rnnforecast.forecaster import Forecaster, InputLayout, Member
from rnnforecast.intervals import Calibration
from rnnforecast.metrics import mase_scale
from rnnforecast.scaling import Scaler


class LastValueModel:
    """Stands in for a Keras model: forecasts the last input value (in scaled units)."""

    def __init__(self, horizon: int) -> None:
        self.horizon = horizon

    def predict(self, inputs: dict[str, np.ndarray], **_: object) -> np.ndarray:
        return np.repeat(inputs["window"][:, -1:, 0], self.horizon, axis=1)


def last_value_forecaster(scaler: Scaler, horizon: int, lookback: int = 12) -> Forecaster:
    return Forecaster([Member(LastValueModel(horizon), lookback)], scaler, horizon, InputLayout())


def test_a_model_that_repeats_the_last_value_scores_exactly_like_naive():
    dataset = synthetic_dataset(DataConfig(synthetic={"length": 120, "period": 12}))
    scaler = Scaler.fit("standard", {"": dataset.series[0].values[:80]})
    scored = score_part(
        last_value_forecaster(scaler, 4), dataset, bounds=[(100, 120)], history_ends=[80]
    )
    metrics, pairs = scored.metrics(dataset.season_length), scored.pairs(dataset)
    assert metrics["windows"] == 17 and len(pairs) == 17 * 4
    for name in ("mae", "rmse", "smape", "mase"):
        assert metrics["model"][name] == pytest.approx(metrics["naive"][name], rel=1e-5)
    np.testing.assert_allclose(pairs["forecast"], pairs["naive"], rtol=1e-5)
    assert metrics["skill"] < 0.0, "seasonal naive beats naive on a clean seasonal series"
    text = format_comparison(metrics)
    assert "NOT better than" in text and "17 windows of 4 steps" in text


def test_comparison_of_an_exact_baseline_shows_no_ratio():
    row = {"mae": 0.0, "rmse": 0.0, "mape": 0.0, "smape": 0.0, "mase": 0.0}
    metrics = {
        "model": {**row, "mae": 0.1, "mase": 0.1},
        "naive": row,
        "seasonal_naive": row,
        "drift": row,
        "best_baseline": "naive",
        "skill": float("nan"),
        "windows": 3,
        "horizon": 2,
    }
    assert format_comparison(metrics).splitlines()[-1] == (
        "skill vs naive: n/a (that baseline is exact on 3 windows of 2 steps)"
    )
    assert "n/a" in format_comparison({**metrics, "skill": None})


def filled_at(dataset, positions, value: float):
    """The dataset with the target at `positions` replaced by `value` and marked as filled."""
    [series] = dataset.series
    values, observed = series.values.copy(), np.ones(len(series), dtype=bool)
    values[positions, 0], observed[positions] = value, False
    return replace(dataset, series=[Series(None, series.time, values, observed)])


def test_filled_points_are_never_scored_by_any_figure():
    dataset = synthetic_dataset(DataConfig(synthetic={"length": 120, "period": 12}))
    scaler = Scaler.fit("standard", {"": dataset.series[0].values[:80]})
    forecaster = replace(
        last_value_forecaster(scaler, 4),
        calibration=Calibration.from_errors(np.full((30, 4), 0.5)),
        scales={"": 1.0},
    )
    origins = [np.arange(100, 117)]
    model = forecaster.forecast(dataset, origins, levels=(80,))
    # A filling far off: in the scored part, and in the history that scales MASE.
    filled = filled_at(dataset, [50, 104, 110], 1000.0)
    scored = score_forecast(model, filled, origins, [80])
    metrics, pairs = scored.metrics(12), scored.pairs(filled)
    kept = pairs.dropna(subset=["actual"])
    assert metrics["filled_points"] == pairs["actual"].isna().sum() == 4 + 4
    observed = filled.series[0].observed_target
    scale = mase_scale(observed[:80], 12)
    for name in ("forecast", "naive", "seasonal_naive", "drift", "mean"):
        errors = (kept["actual"] - kept[name]).abs()
        row = metrics["model" if name == "forecast" else name]
        assert row["mae"] == pytest.approx(errors.mean())
        assert row["mase"] == pytest.approx(errors.mean() / scale)
    inside = (kept["lower_80"] <= kept["actual"]) & (kept["actual"] <= kept["upper_80"])
    assert metrics["intervals"]["80"]["model"]["coverage"] == pytest.approx(inside.mean())
    # Scored as observed, the same values would swamp every figure.
    unmasked = score_forecast(
        model,
        replace(filled, series=[replace(filled.series[0], observed=np.ones(120, dtype=bool))]),
        origins,
        [80],
    ).metrics(12)
    assert unmasked["model"]["mae"] > 100 * metrics["model"]["mae"]
    assert unmasked["intervals"]["80"]["model"]["coverage"] < inside.mean()


def test_the_interval_table_keeps_its_columns_aligned_for_long_baseline_names():
    from rnnforecast.evaluation import format_intervals

    row = {"coverage": 0.8, "width": 1.25, "msis": 3.5}
    metrics = {"intervals": {"80": {"model": row, "seasonal_naive": row}, "95": {"model": row}}}
    lines = format_intervals(metrics).splitlines()
    assert len(lines) == 4 and lines[2].startswith("80% seasonal_naive ")
    assert len({len(line) for line in lines}) == 1, "every row ends where the header ends"
    assert {line.split()[-3:] == ["0.800", "1.250", "3.500"] for line in lines[1:]} == {True}
