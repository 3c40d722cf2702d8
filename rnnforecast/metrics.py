"""Accuracy metrics of a forecast, and the comparison of the model with the baselines on the
same windows.

All functions take arrays of shape `(windows, horizon)` in original units. A NaN actual value
is a point that was never observed (filled by `data.missing`): every metric leaves it out.
"""

from __future__ import annotations

import numpy as np

from rnnforecast.baselines import BASELINES


def observed(actual: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """`actual` and each of `others` (broadcast to its shape) at the points whose actual value
    was observed (not NaN), flattened.

    Example:
        >>> observed(np.array([[1.0, np.nan]]), np.array([[2.0, 3.0]]))
        (array([1.]), array([2.]))
    """
    keep = ~np.isnan(actual)
    return actual[keep], *(np.broadcast_to(other, actual.shape)[keep] for other in others)


def _mean(values: np.ndarray) -> float:
    """The mean, NaN for no values (every point filled) without numpy's warning."""
    return float(np.mean(values)) if values.size else float("nan")


def mae(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute error."""
    actual, forecast = observed(actual, forecast)
    return _mean(np.abs(actual - forecast))


def mse(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean squared error."""
    actual, forecast = observed(actual, forecast)
    return _mean((actual - forecast) ** 2)


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(mse(actual, forecast)))


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error over points whose actual value is not zero (NaN if none)."""
    actual, forecast = observed(actual, forecast)
    nonzero = actual != 0
    if not nonzero.any():
        return float("nan")
    return float(100 * np.mean(np.abs((actual[nonzero] - forecast[nonzero]) / actual[nonzero])))


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent, 0..200; a point where both values are 0 counts as 0."""
    actual, forecast = observed(actual, forecast)
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(
        2 * np.abs(actual - forecast),
        denominator,
        out=np.zeros_like(denominator, dtype=np.float64),
        where=denominator > 0,
    )
    return 100 * _mean(ratio)


def mase(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> float:
    """Mean absolute scaled error: each window's errors divided by its series' `scale`.

    `scale` has shape `(windows,)`: the in-sample MAE of the seasonal naive forecast on the
    series' training part (see `mase_scale`).
    """
    actual, forecast, scales = observed(actual, forecast, scale[:, None])
    return _mean(np.abs(actual - forecast) / scales)


def mase_scale(training_target: np.ndarray, season_length: int) -> float:
    """In-sample MAE of the seasonal naive forecast (naive when the series is shorter than two
    seasons), over the differences of two observed values (NaN: filled, left out); 1.0 for a
    constant series so MASE stays finite.

    Example:
        >>> mase_scale(np.array([1.0, 2.0, 4.0]), 1)
        1.5
    """
    lag = season_length if len(training_target) > season_length else 1
    differences = np.abs(training_target[lag:] - training_target[:-lag])
    differences = differences[np.isfinite(differences)]
    scale = float(np.mean(differences)) if len(differences) else 0.0
    return scale if scale > 0 else 1.0


def score(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> dict[str, float]:
    """All metrics of `forecast` against `actual`: MAE, MSE, RMSE, MAPE, sMAPE, MASE."""
    return {
        "mae": mae(actual, forecast),
        "mse": mse(actual, forecast),
        "rmse": rmse(actual, forecast),
        "mape": mape(actual, forecast),
        "smape": smape(actual, forecast),
        "mase": mase(actual, forecast, scale),
    }


def compare(
    actual: np.ndarray, forecasts: dict[str, np.ndarray], scale: np.ndarray
) -> dict[str, object]:
    """Score the model and the baselines on the same windows and name the better baseline.

    Args:
        actual: `(windows, horizon)`.
        forecasts: `"model"` plus baselines (of `BASELINES`), each `(windows, horizon)`.
        scale: `(windows,)` MASE scale of each window's series.

    Returns:
        `{"model": {...}, "naive": {...}, ..., "best_baseline": name,
        "skill": 1 - model MASE / best baseline MASE}`; positive skill beats the baseline.
    """
    scores: dict[str, object] = {
        name: score(actual, forecast, scale) for name, forecast in forecasts.items()
    }
    present = [name for name in BASELINES if name in scores]
    best = min(present, key=lambda name: scores[name]["mase"])  # type: ignore[index]
    model_mase = scores["model"]["mase"]  # type: ignore[index]
    best_mase = scores[best]["mase"]  # type: ignore[index]
    scores["best_baseline"] = best
    scores["skill"] = float(1 - model_mase / best_mase) if best_mase > 0 else float("nan")
    return scores


def interval_scores(
    actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float, scale: np.ndarray
) -> dict[str, float]:
    """How a `level` % interval did: coverage (share of actuals inside), mean width and the
    mean scaled interval score MSIS (M4's definition, at any level), the last two divided by
    each window's series `scale` (as MASE). Points without bounds or without an observed
    actual value (NaN) are left out.

    Example:
        >>> ones = np.ones((1, 2))
        >>> interval_scores(np.array([[1.0, 3.0]]), 0 * ones, 2 * ones, 50, np.ones(1))
        {'coverage': 0.5, 'width': 2.0, 'msis': 4.0}
    """
    alpha = 1 - level / 100
    known = np.isfinite(lower) & np.isfinite(upper) & ~np.isnan(actual)
    if not known.any():
        return {"coverage": float("nan"), "width": float("nan"), "msis": float("nan")}
    scales = np.broadcast_to(scale[:, None], actual.shape)[known]
    y, low, high = actual[known], lower[known], upper[known]
    penalty = (2 / alpha) * (np.maximum(low - y, 0) + np.maximum(y - high, 0))
    return {
        "coverage": float(np.mean((y >= low) & (y <= high))),
        "width": float(np.mean((high - low) / scales)),
        "msis": float(np.mean((high - low + penalty) / scales)),
    }
