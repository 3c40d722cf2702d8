"""Forecasting windows with a trained model and scoring them next to the naive baselines.

Used by training (the test part) and by `evaluate` / `plot` on new data, so both report the same
figures the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rnnforecast.data import STEP_COLUMN, Dataset
from rnnforecast.metrics import compare, mase_scale, naive_forecast, seasonal_naive_forecast
from rnnforecast.scaling import Scaler, series_key
from rnnforecast.windowing import Windows, stack_windows

PREDICT_BATCH_SIZE = 1024


def scale_series(dataset: Dataset, scaler: Scaler) -> list[np.ndarray]:
    """Each series' values scaled with its own scaler, `(length, features)` float32."""
    return [scaler.transform(series_key(series.id), series.values) for series in dataset.series]


def model_forecast(model: Any, windows: Windows, dataset: Dataset, scaler: Scaler) -> np.ndarray:
    """Forecasts of `model` for every window, in original units: `(windows, horizon)`."""
    if len(windows) == 0:
        return np.empty(windows.targets.shape)
    scaled = np.asarray(model.predict(windows.inputs, batch_size=PREDICT_BATCH_SIZE, verbose=0))
    forecast = np.empty(scaled.shape, dtype=np.float64)
    for index, series in enumerate(dataset.series):
        rows = windows.rows_of(index)
        if rows.stop > rows.start:
            forecast[rows] = scaler.inverse_target(series_key(series.id), scaled[rows])
    return forecast


def score_part(
    model: Any,
    dataset: Dataset,
    scaler: Scaler,
    bounds: list[tuple[int, int]],
    history_ends: list[int],
    lookback: int,
    horizon: int,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Score every window whose targets lie in each series' `bounds`, model and baselines alike.

    Args:
        bounds: per series, `[start, end)` of the scored part.
        history_ends: per series, the end of the part whose seasonal naive MAE scales MASE
            (the training part during training; everything before the scored part later).

    Returns:
        The `metrics.compare` dict plus `windows`, `horizon` and `season_length`, and a frame of
        every forecast/actual pair with the baselines' forecasts beside them.
    """
    season = dataset.season_length
    scaled = scale_series(dataset, scaler)
    windows = stack_windows(scaled, bounds, lookback, horizon)
    if len(windows) == 0:
        return {"windows": 0}, pd.DataFrame()
    actual = np.empty(windows.targets.shape, dtype=np.float64)
    naive = np.empty_like(actual)
    seasonal = np.empty_like(actual)
    scale = np.empty(len(windows), dtype=np.float64)
    for index, series in enumerate(dataset.series):
        rows = windows.rows_of(index)
        origins = windows.origins[rows]
        target = series.target.astype(np.float64)
        actual[rows] = target[origins[:, None] + np.arange(horizon)]
        naive[rows] = naive_forecast(target, origins, horizon)
        seasonal[rows] = seasonal_naive_forecast(target, origins, horizon, season)
        scale[rows] = mase_scale(target[: history_ends[index]], season)
    forecast = model_forecast(model, windows, dataset, scaler)
    metrics = compare(
        actual, {"model": forecast, "naive": naive, "seasonal_naive": seasonal}, scale
    )
    metrics = {"windows": len(windows), "horizon": horizon, "season_length": season, **metrics}
    pairs = forecast_pairs(dataset, windows, actual, forecast, naive, seasonal)
    return metrics, pairs


def forecast_pairs(
    dataset: Dataset,
    windows: Windows,
    actual: np.ndarray,
    forecast: np.ndarray,
    naive: np.ndarray,
    seasonal: np.ndarray,
) -> pd.DataFrame:
    """One row per window and step: [id], origin, time, horizon_step, actual, forecast and
    the baselines."""
    horizon = actual.shape[1]
    time_name = dataset.time_column or STEP_COLUMN
    positions = windows.origins[:, None] + np.arange(horizon)[None, :]
    times, origin_times, ids = [], [], []
    for index, series in enumerate(dataset.series):
        rows = windows.rows_of(index)
        times.append(series.time[positions[rows].ravel()])
        origin_times.append(series.time[np.repeat(windows.origins[rows] - 1, horizon)])
        ids.extend([series.id] * (rows.stop - rows.start) * horizon)
    # stack_windows groups windows by series in order, so the per-series pieces line up.
    columns: dict[str, Any] = {}
    if dataset.id_column is not None:
        columns[dataset.id_column] = ids
    columns["origin"] = np.concatenate([np.asarray(t) for t in origin_times])
    columns[time_name] = np.concatenate([np.asarray(t) for t in times])
    columns["horizon_step"] = np.tile(np.arange(1, horizon + 1), len(windows))
    for name, values in (
        ("actual", actual),
        ("forecast", forecast),
        ("naive", naive),
        ("seasonal_naive", seasonal),
    ):
        columns[name] = values.ravel()
    return pd.DataFrame(columns)


def format_comparison(metrics: dict[str, Any]) -> str:
    """A small table of the model next to the baselines, for the terminal."""
    names = ("model", "naive", "seasonal_naive")
    header = f"{'':16}{'MAE':>11}{'RMSE':>11}{'MAPE%':>9}{'sMAPE%':>9}{'MASE':>8}"
    lines = [header]
    for name in names:
        row = metrics[name]
        lines.append(
            f"{name:16}{row['mae']:>11.4g}{row['rmse']:>11.4g}{_number(row['mape'], 2):>9}"
            f"{row['smape']:>9.2f}{_number(row['mase'], 3):>8}"
        )
    skill = metrics["skill"]
    on = f"on {metrics['windows']} windows of {metrics['horizon']} steps"
    if skill is None or skill != skill:  # the baseline is perfect: no ratio to show
        lines.append(f"skill vs {metrics['best_baseline']}: n/a (that baseline is exact {on})")
    else:
        verdict = "better than" if skill > 0 else "NOT better than"
        lines.append(
            f"skill vs {metrics['best_baseline']}: {skill:+.1%} (the model is {verdict} the "
            f"best naive baseline {on})"
        )
    return "\n".join(lines)


def _number(value: float | None, decimals: int) -> str:
    return "n/a" if value is None or value != value else f"{value:.{decimals}f}"
