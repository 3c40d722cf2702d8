"""Using a trained run on data: forecasts of the future, evaluation, and the forecast figure."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rnnforecast.config import Config, DataConfig
from rnnforecast.data import STEP_COLUMN, SYNTHETIC_TARGET, Dataset, load_dataset
from rnnforecast.errors import DataError, RunError
from rnnforecast.evaluation import PREDICT_BATCH_SIZE, model_forecast, scale_series, score_part
from rnnforecast.plots import MAX_PANELS, SeriesPanel, forecast_figure
from rnnforecast.run import Run
from rnnforecast.scaling import Scaler, series_key
from rnnforecast.splitting import SplitPoints, points_at_times
from rnnforecast.windowing import stack_windows

FORECAST_COLUMN = "forecast"


def load_input(run: Run, path: Path | str | None = None) -> Dataset:
    """The data a run was trained on, or `path` read with the run's columns and frequency.

    Example:
        `load_input(load_run("runs/a10-20240101-120000"), "data/a10_new.csv")`
    """
    data = run.config.data
    if path is None:
        return load_dataset(data)
    # New data may come in either format whatever the training file was; any suffix but
    # Parquet's is read as CSV.
    source = "parquet" if Path(path).suffix.lower() in (".parquet", ".pq") else "csv"
    if data.source == "synthetic":
        # A synthetic run has one unnamed series: a file for it holds a `value` column.
        data = DataConfig(
            source=source,
            path=Path(path),
            target=SYNTHETIC_TARGET,
            season_length=data.season_length,
        )
    else:
        data = data.model_copy(update={"path": Path(path), "source": source})
    return load_dataset(data)


def predict(run: Run, dataset: Dataset, model: Any | None = None) -> pd.DataFrame:
    """Forecast the `horizon` steps after the end of every series, in one batched call.

    Returns:
        Columns `<id_column>` (long format only), `<time_column>` (future timestamps continuing
        the series' frequency, or integer steps) and `forecast`, in original units.

    Example:
        `predict(run, load_input(run))`
    """
    model = model or run.load_model()
    config = run.config
    lookback = _lookback(config)
    _check_input(run, dataset, lookback)
    forecasts = _future_forecasts(model, dataset, run.scaler, lookback)
    columns: dict[str, Any] = {}
    if dataset.id_column is not None:
        columns[dataset.id_column] = np.repeat(
            [series.id for series in dataset.series], config.window.horizon
        )
    # Series of one file usually end together: build each distinct future range once.
    futures: dict[object, pd.Index] = {}
    times = []
    for series in dataset.series:
        end = (series.time[-1], series.time[-1] - series.time[-2])
        if end not in futures:
            futures[end] = future_times(series.time, dataset.frequency, config.window.horizon)
        times.append(futures[end])
    columns[dataset.time_column or STEP_COLUMN] = np.concatenate([np.asarray(t) for t in times])
    columns[FORECAST_COLUMN] = forecasts.ravel()
    return pd.DataFrame(columns)


def evaluate(run: Run, dataset: Dataset, last: int | None = None) -> dict[str, Any]:
    """Score the run's model on data it never saw, next to the naive baselines.

    Args:
        last: score the last `last` points of each series. By default everything from the
            start of the run's test part on: the test part plus whatever is newer, so the
            training data gives the test figures of `metrics.json` again and newer data adds
            the months since.

    Returns:
        The same structure as the test figures in `metrics.json`; MASE is scaled by the
        seasonal naive error on the run's training part (on the points before the scored
        ones with `last`).
    """
    config = run.config
    lookback, horizon = _lookback(config), config.window.horizon
    _check_input(run, dataset, lookback)
    points = points_at_times(dataset, _stored_split(run))
    bounds, history_ends = [], []
    for series, point in zip(dataset.series, points, strict=True):
        start = len(series) - last if last is not None else point.validation_end
        history = start if last is not None else point.train_end
        if len(series) - start < horizon or start < max(lookback, 2):
            raise DataError(
                f"{dataset.label(series)}: cannot score {len(series) - start} point(s) after "
                f"{start} of {len(series)}: it needs at least `window.horizon` ({horizon}) "
                f"points to score and `window.lookback` ({lookback}) before them. Pass --last N "
                "to choose the scored part."
            )
        bounds.append((start, len(series)))
        history_ends.append(max(history, 2))
    metrics, _ = score_part(
        run.load_model(), dataset, run.scaler, bounds, history_ends, lookback, horizon
    )
    return {"part": f"last {last} points" if last else "test and newer", **metrics}


def forecast_plot(run: Run, dataset: Dataset) -> Figure:
    """Actual vs forecast over the run's training, validation and test parts, any newer data,
    and the future."""
    _check_input(run, dataset, _lookback(run.config))
    points = points_at_times(dataset, _stored_split(run))
    panels = series_panels(run.load_model(), dataset, run.scaler, run.config, points)
    return forecast_figure(panels, dataset.target, total=len(dataset.series))


def _stored_split(run: Run) -> dict[str, dict[str, str]]:
    split = run.metrics.get("split")
    if not isinstance(split, dict):
        raise RunError(f"{run.path}: metrics.json has no `split`; train the run again.")
    return split


def series_panels(
    model: Any, dataset: Dataset, scaler: Scaler, config: Config, points: list[SplitPoints]
) -> list[SeriesPanel]:
    """Per series: consecutive non-overlapping horizon-long forecasts over its whole length
    (each from the `lookback` actual values before it), and the forecast after its end."""
    lookback, horizon = _lookback(config), config.window.horizon
    # The figure shows the first few series only; forecasting the rest would be thrown away.
    dataset = replace(dataset, series=dataset.series[:MAX_PANELS])
    points = points[:MAX_PANELS]
    windows = stack_windows(
        scale_series(dataset, scaler),
        [(0, len(series)) for series in dataset.series],
        lookback,
        horizon,
        stride=horizon,
    )
    paths = model_forecast(model, windows, dataset, scaler)
    future = _future_forecasts(model, dataset, scaler, lookback)
    panels = []
    for index, (series, point) in enumerate(zip(dataset.series, points, strict=True)):
        fitted = np.full(len(series), np.nan)
        rows = windows.rows_of(index)
        positions = windows.origins[rows][:, None] + np.arange(horizon)
        fitted[positions.ravel()] = paths[rows].ravel()
        panels.append(
            SeriesPanel(
                title=Path(dataset.source).name + ("" if series.id is None else f": {series.id}"),
                time=series.time,
                actual=series.target,
                fitted=fitted,
                parts=[
                    ("validation", point.train_end, point.validation_end),
                    ("test", point.validation_end, point.length),
                    ("new", point.length, len(series)),
                ],
                future=(future_times(series.time, dataset.frequency, horizon), future[index]),
            )
        )
    return panels


def future_times(time: pd.Index, frequency: str | None, horizon: int) -> pd.Index:
    """The `horizon` timestamps after `time[-1]`: the same frequency, or the next integer steps.

    Example:
        >>> future_times(pd.RangeIndex(5), None, 2).tolist()
        [5, 6]
    """
    if isinstance(time, pd.DatetimeIndex):
        return pd.date_range(time[-1], periods=horizon + 1, freq=frequency)[1:]
    step = int(time[1] - time[0]) if len(time) > 1 else 1
    return pd.Index(int(time[-1]) + step * np.arange(1, horizon + 1))


def _future_forecasts(model: Any, dataset: Dataset, scaler: Scaler, lookback: int) -> np.ndarray:
    """`(series, horizon)` forecasts from the last `lookback` values of each series."""
    inputs = np.stack(
        [
            scaler.transform(series_key(series.id), series.values[-lookback:])
            for series in dataset.series
        ]
    )
    scaled = np.asarray(model.predict(inputs, batch_size=PREDICT_BATCH_SIZE, verbose=0))
    return np.stack(
        [
            scaler.inverse_target(series_key(series.id), scaled[index])
            for index, series in enumerate(dataset.series)
        ]
    )


def _check_input(run: Run, dataset: Dataset, lookback: int) -> None:
    for series in dataset.series:
        # Checked before the model loads, so a wrong file fails fast.
        run.scaler.require(series_key(series.id), where=f"{dataset.source}: ")
        if len(series) < lookback:
            raise DataError(
                f"{dataset.label(series)}: {len(series)} point(s), but the model needs the last "
                f"`window.lookback` = {lookback} points to forecast. Supply a longer history."
            )


def _lookback(config: Config) -> int:
    if config.window.lookback is None:  # a run's config always has it resolved
        raise RunError("the run's config.yaml has no `window.lookback`; train the run again.")
    return config.window.lookback
