"""The naive baselines every model is compared with, and the one its network starts from.

Each baseline forecast uses only the values before its origin. `baseline_weights` writes the
same forecasts as the weights of a linear layer, so an untrained network forecasts its
baseline exactly (see `models.build_model`).
"""

from __future__ import annotations

import warnings

import numpy as np

BASELINES = ("naive", "seasonal_naive", "drift", "mean")
"""The baselines scored next to every model: the last value, the last season, the line
through the first and the last value, and the average of every value (the best constant
forecast of a series without trend or season)."""


def naive_forecast(target: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The last value before each origin, repeated over the horizon: `(windows, horizon)`."""
    return np.repeat(target[origins - 1][:, None], horizon, axis=1)


def seasonal_naive_forecast(
    target: np.ndarray, origins: np.ndarray, horizon: int, season_length: int
) -> np.ndarray:
    """The value one season before each step, from the last season before the origin.

    Step k (1-based) of the window at origin o takes `target[o + k - 1 - m * ceil(k / m)]`.
    Falls back to the naive forecast when the history before an origin is shorter than a season.
    """
    steps = np.arange(1, horizon + 1)
    back = season_length * np.ceil(steps / season_length).astype(np.int64)
    positions = origins[:, None] + steps[None, :] - 1 - back[None, :]
    if (positions < 0).any():
        return naive_forecast(target, origins, horizon)
    return target[positions]


def drift_forecast(target: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The line through the first value and the last value before each origin, extended over
    the horizon (the naive forecast plus the average change so far).

    Example:
        >>> drift_forecast(np.array([1.0, 2.0, 3.0, 0.0]), np.array([3]), 2).tolist()
        [[4.0, 5.0]]
    """
    last = target[origins - 1]
    slope = (last - target[0]) / np.maximum(origins - 1, 1)
    return last[:, None] + slope[:, None] * np.arange(1, horizon + 1)[None, :]


def seasonal_drift_forecast(
    target: np.ndarray, origins: np.ndarray, horizon: int, season_length: int
) -> np.ndarray:
    """Seasonal naive plus the average change per season so far: step k (1-based) of the
    window at origin o is the value `j = ceil(k / m)` seasons before it plus `j` times the
    mean of `target[t] - target[t - m]` over the history (the drift forecast when there is no
    season, or the history is a season or shorter).

    Example:
        >>> series = np.array([1.0, 5.0, 2.0, 6.0, 3.0])
        >>> seasonal_drift_forecast(series, np.array([5]), 3, 2).tolist()
        [[7.0, 4.0, 8.0]]
    """
    if season_length <= 1 or (origins <= season_length).any():
        return drift_forecast(target, origins, horizon)
    steps = np.arange(1, horizon + 1)
    seasons = np.ceil(steps / season_length).astype(np.int64)
    totals = np.concatenate([[0.0], np.cumsum(target, dtype=np.float64)])
    # The mean of the lag-m differences telescopes to the last season's sum less the first's.
    last = totals[origins] - totals[origins - season_length]
    first = totals[season_length]
    change = (last - first) / (origins - season_length)
    positions = origins[:, None] + steps[None, :] - 1 - season_length * seasons[None, :]
    return target[positions] + change[:, None] * seasons[None, :]


def mean_forecast(target: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The average of every value before each origin, repeated over the horizon.

    Example:
        >>> mean_forecast(np.array([1.0, 2.0, 6.0, 0.0]), np.array([3]), 2).tolist()
        [[3.0, 3.0]]
    """
    totals = np.concatenate([[0.0], np.cumsum(target, dtype=np.float64)])
    means = totals[origins] / np.maximum(origins, 1)
    return np.repeat(means[:, None], horizon, axis=1)


def baseline_forecasts(
    target: np.ndarray, origins: np.ndarray, horizon: int, season_length: int
) -> dict[str, np.ndarray]:
    """Every baseline's forecasts from `origins`, each `(len(origins), horizon)`, using only
    the values before each origin."""
    return {
        "naive": naive_forecast(target, origins, horizon),
        "seasonal_naive": seasonal_naive_forecast(target, origins, horizon, season_length),
        "drift": drift_forecast(target, origins, horizon),
        "mean": mean_forecast(target, origins, horizon),
    }


def baseline_weights(kind: str, lookback: int, horizon: int, season_length: int) -> np.ndarray:
    """`(lookback, horizon)` weights that map a window relative to its last value to the
    baseline forecast relative to that value: zeros for naive, `1 / lookback` for the window
    mean, and for seasonal naive a one at the same point of the last season for each step.

    Example:
        >>> baseline_weights("seasonal_naive", 3, 3, 2)[:, 2].tolist()
        [0.0, 1.0, 0.0]
    """
    weights = np.zeros((lookback, horizon), dtype="float32")
    if kind == "mean":
        weights[:] = 1 / lookback
    elif kind == "seasonal_naive":
        steps = np.arange(horizon)
        weights[lookback - season_length + steps % season_length, steps] = 1.0
    return weights


def resolve_baseline(baseline: str, lookback: int, season_length: int) -> str:
    """`auto` is seasonal naive when the window covers a season of a seasonal series, naive
    otherwise; a seasonal naive baseline the window cannot cover falls back to naive."""
    if baseline in ("auto", "seasonal_naive"):
        return "seasonal_naive" if 1 < season_length <= lookback else "naive"
    return baseline


def baseline_bounds(
    target: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    season_length: int,
    history_end: int,
    levels: list[float],
    observed: np.ndarray | None = None,
) -> dict[str, dict[float, tuple[np.ndarray, np.ndarray]]]:
    """Prediction intervals of every baseline's forecasts from `origins`: per level in percent,
    the forecast plus the quantiles of the baseline's own errors at each horizon step over
    every origin before `history_end` (its in-sample errors; the baselines fit nothing, so
    these are errors of real forecasts). Bounds are NaN when the history holds no origin.
    `observed` is the target as observed (NaN where it was filled, see
    `Series.observed_target`): errors at filled points are left out.

    Returns:
        `{baseline: {level: (lower, upper)}}`, each `(len(origins), horizon)`.
    """
    past = np.arange(max(season_length, 2), history_end - horizon + 1)
    now = baseline_forecasts(target, origins, horizon, season_length)
    if len(past) == 0:
        missing = np.full((len(origins), horizon), np.nan)
        return {name: {level: (missing, missing) for level in levels} for name in now}
    actual = (target if observed is None else observed)[past[:, None] + np.arange(horizon)]
    then = baseline_forecasts(target, past, horizon, season_length)
    bounds: dict[str, dict[float, tuple[np.ndarray, np.ndarray]]] = {}
    for name, forecast in now.items():
        errors = actual - then[name]
        bounds[name] = {}
        for level in levels:
            tail = (1 - level / 100) / 2
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a step with every point filled
                low, high = np.nanquantile(errors, [tail, 1 - tail], axis=0)
            bounds[name][level] = (
                forecast + np.minimum(low, 0)[None, :],
                forecast + np.maximum(high, 0)[None, :],
            )
    return bounds
