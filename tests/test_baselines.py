import numpy as np

from rnnforecast.baselines import (
    baseline_bounds,
    baseline_weights,
    drift_forecast,
    naive_forecast,
    resolve_baseline,
    seasonal_drift_forecast,
    seasonal_naive_forecast,
)


def test_naive_and_seasonal_naive_use_only_the_past():
    target = np.arange(20.0)
    origins = np.array([10, 15])
    assert naive_forecast(target, origins, 3).tolist() == [[9, 9, 9], [14, 14, 14]]
    seasonal = seasonal_naive_forecast(target, origins, horizon=5, season_length=4)
    assert seasonal.tolist() == [[6, 7, 8, 9, 6], [11, 12, 13, 14, 11]]
    assert (seasonal < origins[:, None]).all()


def test_drift_extends_the_line_through_the_first_and_last_values():
    target = np.array([1.0, 2.0, 3.0, 10.0])
    assert drift_forecast(target, np.array([3]), 2).tolist() == [[4.0, 5.0]]


def test_seasonal_drift_continues_a_trend_and_a_season_exactly():
    steps = np.arange(40.0)
    season = np.array([3.0, -1.0, 0.0, -2.0])
    target = 10 + 0.5 * steps + season[steps.astype(int) % 4]
    origins = np.array([12, 30])
    forecast = seasonal_drift_forecast(target, origins, horizon=6, season_length=4)
    np.testing.assert_allclose(forecast, target[origins[:, None] + np.arange(6)])
    # Only the past: changing everything from the first origin on changes nothing before it.
    changed = target.copy()
    changed[12:] = 0.0
    np.testing.assert_array_equal(seasonal_drift_forecast(changed, origins[:1], 6, 4), forecast[:1])


def test_seasonal_drift_is_drift_without_a_season_or_a_long_enough_history():
    target = np.array([1.0, 2.0, 4.0, 3.0, 6.0, 5.0])
    for season_length, origins in ((1, np.array([4, 6])), (4, np.array([4, 6]))):
        np.testing.assert_array_equal(
            seasonal_drift_forecast(target, origins, 3, season_length),
            drift_forecast(target, origins, 3),
        )


def test_baseline_weights_reproduce_the_baseline_forecasts():
    """The linear layer's starting weights, applied to a window relative to its last value,
    give each baseline's forecast relative to that value."""
    target = np.array([5.0, 1.0, 4.0, 2.0, 6.0, 3.0])
    lookback, horizon, season = 6, 4, 3
    relative = target - target[-1]
    for kind, forecast in (
        ("naive", naive_forecast(target, np.array([6]), horizon)),
        ("seasonal_naive", seasonal_naive_forecast(target, np.array([6]), horizon, season)),
    ):
        weights = baseline_weights(kind, lookback, horizon, season)
        np.testing.assert_allclose(relative @ weights + target[-1], forecast[0])


def test_auto_is_seasonal_naive_only_when_the_window_covers_a_season():
    assert resolve_baseline("auto", 24, 12) == "seasonal_naive"
    assert resolve_baseline("auto", 8, 12) == "naive"
    assert resolve_baseline("auto", 24, 1) == "naive"
    assert resolve_baseline("mean", 8, 12) == "mean"


def test_baseline_bounds_leave_out_the_errors_at_filled_points():
    target = 10 + np.sin(np.arange(60.0))
    observed_target = target.copy()
    # The last value of the history is a target of past forecasts, never their input.
    filled = target.copy()
    filled[39] = observed_target[39] = 500.0
    observed_target[39] = np.nan
    origins = np.array([45])

    def bounds(values, observed=None):
        return baseline_bounds(values, origins, 3, 1, 40, [99], observed)["naive"][99]

    honest = bounds(target, np.where(np.arange(60) == 39, np.nan, target))
    masked = bounds(filled, observed_target)
    np.testing.assert_allclose(masked, honest)
    assert (bounds(filled)[1] - masked[1]).max() > 100  # counted, the filling widens them
