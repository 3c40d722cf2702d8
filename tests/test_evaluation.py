import numpy as np
import pytest

from rnnforecast.config import DataConfig
from rnnforecast.data import synthetic_dataset
from rnnforecast.evaluation import format_comparison, score_part
from rnnforecast.forecaster import Forecaster, InputLayout, Member
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
