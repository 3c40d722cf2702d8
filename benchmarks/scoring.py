"""Point and interval scores of the accuracy benchmark, and the naive forecasts it scores.

Plain numpy on one series at a time: `history` is what a method saw, shape `(points,)`;
`actual`, `forecast` and interval bounds cover the held-out horizon, shape `(horizon,)`.

Example:
    >>> import numpy as np
    >>> history = np.array([1.0, 2.0, 3.0, 4.0])
    >>> seasonal_naive(history, 2, 3)
    array([3., 4., 3.])
    >>> in_sample_scale(history, 2)
    2.0
"""

from __future__ import annotations

import math

import numpy as np

MSIS_ALPHA = 0.05  # MSIS scores the 95 % interval


def seasonal_naive(history: np.ndarray, season_length: int, horizon: int) -> np.ndarray:
    """The last season of `history` repeated over `horizon` steps (naive when it is 1)."""
    last_season = history[-season_length:]
    return last_season[np.arange(horizon) % season_length]


def step_errors(history: np.ndarray, season_length: int, step: int) -> np.ndarray:
    """In-sample errors of the seasonal naive forecast `step` steps ahead (1 = next step),
    from every origin in `history` with a season before it and a value `step` steps after it.

    Example:
        >>> step_errors(np.array([1.0, 2.0, 4.0]), 1, 1)
        array([1., 2.])
    """
    origins = np.arange(season_length - 1, len(history) - step)
    sources = origins - season_length + 1 + (step - 1) % season_length
    return history[origins + step] - history[sources]


def residual_intervals(
    history: np.ndarray, season_length: int, horizon: int, levels: tuple[int, ...]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Prediction intervals of the seasonal naive forecast (naive with `season_length` 1):
    the forecast plus the empirical quantiles of its in-sample errors at each horizon step.

    Returns:
        `{level: (lower, upper)}`, each bound of shape `(horizon,)`; NaN at a step with no
        in-sample error to take quantiles of.
    """
    point = seasonal_naive(history, season_length, horizon)
    bounds = {}
    for level in levels:
        tail = (1 - level / 100) / 2
        lower, upper = np.full(horizon, np.nan), np.full(horizon, np.nan)
        for step in range(1, horizon + 1):
            errors = step_errors(history, season_length, step)
            if len(errors):
                low, high = np.quantile(errors, [tail, 1 - tail])
                lower[step - 1] = point[step - 1] + low
                upper[step - 1] = point[step - 1] + high
        bounds[level] = (lower, upper)
    return bounds


def in_sample_scale(history: np.ndarray, season_length: int) -> float:
    """The in-sample MAE of the seasonal naive forecast: mean |y_t - y_{t-m}| over `history`."""
    return float(np.mean(np.abs(history[season_length:] - history[:-season_length])))


def mase(actual: np.ndarray, forecast: np.ndarray, scale: float) -> float:
    """MAE of the forecast over `scale` (the in-sample seasonal naive MAE); NaN if it is 0."""
    error = float(np.mean(np.abs(actual - forecast)))
    return error / scale if scale > 0 else math.nan


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in %: 200 * mean(|f - a| / (|f| + |a|)), a term 0 where both are 0."""
    denominator = np.abs(forecast) + np.abs(actual)
    terms = np.divide(
        np.abs(forecast - actual),
        denominator,
        out=np.zeros_like(denominator),
        where=denominator > 0,
    )
    return float(200 * np.mean(terms))


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actual values inside `[lower, upper]`, in % (NaN when a bound is missing)."""
    if not (np.isfinite(lower).all() and np.isfinite(upper).all()):
        return math.nan
    return float(100 * np.mean((actual >= lower) & (actual <= upper)))


def msis(
    actual: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    scale: float,
    alpha: float = MSIS_ALPHA,
) -> float:
    """Mean scaled interval score (M4): mean over the points of `(U - L) + (2 / alpha)(L - y)`
    where `y < L` `+ (2 / alpha)(y - U)` where `y > U`, divided by `scale` (the in-sample
    seasonal naive MAE). Lower is better; NaN when a bound is missing or `scale` is 0.

    Example (each point scores its width 1 plus 2 / 0.05 times its miss of 1):
        >>> msis(np.array([0.0, 3.0]), np.array([1.0, 1.0]), np.array([2.0, 2.0]), 1.0)
        41.0
    """
    if scale <= 0 or not (np.isfinite(lower).all() and np.isfinite(upper).all()):
        return math.nan
    below = np.where(actual < lower, lower - actual, 0.0)
    above = np.where(actual > upper, actual - upper, 0.0)
    score = (upper - lower) + (2 / alpha) * (below + above)
    return float(np.mean(score)) / scale


def geometric_mean(values: list[float]) -> float:
    """exp(mean(log(values))); NaN if any value is not a positive number."""
    if not values or not all(math.isfinite(value) and value > 0 for value in values):
        return math.nan
    return math.exp(sum(math.log(value) for value in values) / len(values))
