"""The naive baselines every model is compared with, and the one its network starts from.

Each baseline forecast uses only the values before its origin. `baseline_weights` writes the
same forecasts as the weights of a linear layer, so an untrained network forecasts its
baseline exactly (see `models.build_model`).
"""

from __future__ import annotations

import numpy as np

BASELINES = ("naive", "seasonal_naive", "drift")
"""The baselines scored next to every model."""


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


def baseline_forecasts(
    target: np.ndarray, origins: np.ndarray, horizon: int, season_length: int
) -> dict[str, np.ndarray]:
    """Every baseline's forecasts from `origins`, each `(len(origins), horizon)`, using only
    the values before each origin."""
    return {
        "naive": naive_forecast(target, origins, horizon),
        "seasonal_naive": seasonal_naive_forecast(target, origins, horizon, season_length),
        "drift": drift_forecast(target, origins, horizon),
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
