import math

import numpy as np
import pytest

from rnnforecast.metrics import compare, mape, mase_scale, score, smape


def test_known_values():
    actual = np.array([[1.0, 2.0], [4.0, 0.0]])
    forecast = np.array([[2.0, 2.0], [2.0, 0.0]])
    scores = score(actual, forecast, scale=np.array([1.0, 2.0]))
    assert scores["mae"] == 0.75
    assert scores["mse"] == 1.25
    assert scores["rmse"] == pytest.approx(math.sqrt(1.25))
    assert scores["mape"] == pytest.approx(100 * (1 + 0 + 0.5) / 3)  # zero actual skipped
    assert scores["smape"] == pytest.approx(100 * (2 / 3 + 0 + 4 / 6 + 0) / 4)
    assert scores["mase"] == pytest.approx((1 + 0 + 1 + 0) / 4)


def test_mape_is_nan_when_every_actual_is_zero_and_smape_handles_zero():
    assert math.isnan(mape(np.zeros((1, 2)), np.ones((1, 2))))
    assert smape(np.zeros((1, 2)), np.zeros((1, 2))) == 0.0


def test_mase_scale_is_the_in_sample_seasonal_naive_mae():
    assert mase_scale(np.array([1.0, 2.0, 4.0]), 1) == 1.5
    assert mase_scale(np.array([1.0, 5.0, 2.0, 7.0]), 2) == 1.5
    assert mase_scale(np.full(6, 3.0), 1) == 1.0


def test_compare_names_the_better_baseline_and_the_skill():
    actual = np.array([[2.0, 4.0]])
    result = compare(
        actual,
        {
            "model": np.array([[2.0, 3.0]]),
            "naive": np.array([[0.0, 0.0]]),
            "seasonal_naive": np.array([[2.0, 2.0]]),
        },
        scale=np.array([1.0]),
    )
    assert result["best_baseline"] == "seasonal_naive"
    assert result["skill"] == pytest.approx(1 - 0.5 / 1.0)
