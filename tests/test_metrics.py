import math
import warnings

import numpy as np
import pytest

from rnnforecast.metrics import compare, interval_scores, mape, mase_scale, score, smape


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


def test_points_never_observed_are_left_out_of_every_metric():
    # The NaN actual value is a point that was filled; its forecast would dominate every score.
    actual = np.array([[1.0, np.nan], [4.0, 0.0]])
    forecast = np.array([[2.0, 1000.0], [2.0, 0.0]])
    scores = score(actual, forecast, scale=np.array([1.0, 2.0]))
    assert scores["mae"] == pytest.approx((1 + 2 + 0) / 3)
    assert scores["mse"] == pytest.approx((1 + 4 + 0) / 3)
    assert scores["mape"] == pytest.approx(100 * (1 + 0.5) / 2)
    assert scores["smape"] == pytest.approx(100 * (2 / 3 + 4 / 6 + 0) / 3)
    assert scores["mase"] == pytest.approx((1 + 1 + 0) / 3)
    # Coverage, width and MSIS leave it out too: here it would be a miss by 999.
    intervals = interval_scores(actual, forecast - 1.5, forecast + 1.5, 80, np.array([1.0, 2.0]))
    assert intervals["coverage"] == pytest.approx(2 / 3)
    assert intervals["width"] == pytest.approx((3 + 1.5 + 1.5) / 3)
    assert intervals["msis"] == pytest.approx((3 + (3 + 10 * 0.5) / 2 + 1.5) / 3)


def test_every_point_filled_scores_nan_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = score(np.full((1, 2), np.nan), np.ones((1, 2)), np.ones(1))
    assert all(math.isnan(value) for value in scores.values())


def test_mase_scale_leaves_out_differences_with_a_filled_value():
    assert mase_scale(np.array([1.0, 2.0, np.nan, 8.0, 9.0]), 1) == 1.0
