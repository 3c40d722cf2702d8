"""Using a trained run on data: forecasts of the future, evaluation, and the forecast figure."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rnnforecast.config import NO_TIME_COLUMN, Config, DataConfig, source_of
from rnnforecast.data import (
    STEP_COLUMN,
    SYNTHETIC_TARGET,
    Dataset,
    future_covariate_values,
    load_dataset,
)
from rnnforecast.errors import DataError, RunError
from rnnforecast.evaluation import score_part
from rnnforecast.forecaster import Forecaster, extend_series
from rnnforecast.plots import MAX_PANELS, SeriesPanel, forecast_figure
from rnnforecast.run import Run
from rnnforecast.scaling import series_key
from rnnforecast.splitting import SplitPoints, points_at_times
from rnnforecast.windowing import window_origins

FORECAST_COLUMN = "forecast"


def load_input(run: Run, path: Path | str | None = None) -> Dataset:
    """The data a run was trained on, or `path` read with the run's columns and frequency.

    Example:
        `load_input(load_run("runs/a10-20240101-120000"), "data/a10_new.csv")`
    """
    data = run.config.data
    if path is None:
        return load_dataset(data)
    # New data may come in either format whatever the training file was; a suffix that says
    # neither is read as CSV.
    source = source_of(path) or "csv"
    if data.source == "synthetic":
        # A synthetic run has one unnamed series: a file for it holds a `value` column, and
        # its rows are steps, as the series was.
        data = DataConfig(
            source=source,
            path=Path(path),
            time_column=NO_TIME_COLUMN,
            target=SYNTHETIC_TARGET,
            season_length=data.season_length,
        )
    else:
        data = data.model_copy(update={"path": Path(path), "source": source})
    return load_dataset(data)


def predict(
    run: Run,
    dataset: Dataset,
    future: Path | None = None,
    steps: int | None = None,
    forecaster: Forecaster | None = None,
) -> pd.DataFrame:
    """Forecast the steps after the end of every series, all series in one batched call.

    Args:
        future: CSV/Parquet file with the future covariates over the forecast steps (the
            time column, the id column in long format, and each `data.future_covariates`);
            ignored when the run has none.
        steps: how far to forecast; by default `window.horizon`. Further than the horizon the
            forecast is recursive: each horizon's forecast becomes the history of the next.

    Returns:
        Columns `<id_column>` (long format only, the ids as text as the input wrote them),
        `<time_column>` (future timestamps continuing the series' frequency, in the input's
        zone or offset; or integer steps) and `forecast`, in original units.

    Example:
        `predict(run, load_input(run), steps=36)`
    """
    config = run.config
    horizon = config.window.horizon
    steps = steps or horizon
    _check_input(run, dataset, max(run.lookbacks))
    if steps > horizon and dataset.covariates:
        raise DataError(
            f"--steps {steps} is beyond the trained horizon ({horizon}), which needs a recursive "
            f"forecast, but the past covariates {dataset.covariates} are unknown after the end "
            "of the data. Forecast at most the horizon, or train with them as "
            "`data.future_covariates` (then supply them with --future)."
        )
    # The model reads known values over its whole horizon, even for a shorter forecast.
    span = max(steps, horizon)
    times = _future_ranges(dataset, span)
    known = None
    if dataset.future_covariates:
        if future is None:
            raise DataError(
                f"the run uses future covariates {list(dataset.future_covariates)}: pass their "
                f"values for the {span} step(s) after the end of each series with --future FILE "
                f"(columns: {_future_columns(dataset)})."
            )
        known = future_covariate_values(future, dataset, times)
    forecaster = forecaster or run.load_forecaster()
    forecasts = recursive_forecast(forecaster, dataset, times, known)[:, :steps]
    columns: dict[str, Any] = {}
    if dataset.id_column is not None:
        columns[dataset.id_column] = np.repeat([series.id for series in dataset.series], steps)
    stamps = [dataset.output_time(time[:steps]) for time in times]
    columns[dataset.time_column or STEP_COLUMN] = stamps[0].append(stamps[1:])
    columns[FORECAST_COLUMN] = forecasts.ravel()
    return pd.DataFrame(columns)


def recursive_forecast(
    forecaster: Forecaster,
    dataset: Dataset,
    times: list[pd.Index],
    known: list[np.ndarray] | None = None,
) -> np.ndarray:
    """`(series, steps)` forecasts after the end of each series, `steps = len(times[i])`, at
    least the horizon.

    One direct forecast for the horizon; further, horizon after horizon, each reading the
    forecasts before it as history. The last round starts `horizon` steps before the end, so
    no known value past `steps` is ever needed.
    """
    horizon = forecaster.horizon
    steps = len(times[0])
    lengths = np.array([len(series) for series in dataset.series])
    extended = extend_series(dataset, times, known)
    done = 0
    while done < steps:
        start = min(done, steps - horizon)
        forecast = forecaster.forecast(extended, [np.array([n + start]) for n in lengths])
        for series, length, values in zip(extended.series, lengths, forecast, strict=True):
            series.values[length + done : length + start + horizon, 0] = values[done - start :]
        done = start + horizon
    return np.stack(
        [series.values[length:, 0] for series, length in zip(extended.series, lengths, strict=True)]
    )


def evaluate(run: Run, dataset: Dataset, last: int | None = None) -> dict[str, Any]:
    """Score the run's saved model on data, next to the naive baselines.

    Args:
        last: score the last `last` points of each series. By default the points the saved
            model never saw: those after the end of the training data when it was refit on the
            whole history (`training.refit`), else the test part and everything newer, so the
            training data gives the test figures of `metrics.json` again.

    Returns:
        The same structure as the test figures in `metrics.json`; MASE is scaled by the
        seasonal naive error on the points before the scored ones (on the run's training part
        for the test part, as far as the input holds it).
    """
    config = run.config
    horizon = config.window.horizon
    lookback = max(run.lookbacks)
    _check_input(run, dataset, lookback)
    points = points_at_times(dataset, _stored_split(run))
    refit = config.training.refit
    bounds, history_ends, seen = [], [], False
    for series, point in zip(dataset.series, points, strict=True):
        if last is not None and last > len(series):
            raise DataError(
                f"{dataset.label(series)}: --last {last} is more than its {len(series)} points. "
                "Pass a smaller --last or a longer history."
            )
        if last is not None:
            start = history = len(series) - last
        elif refit:
            start = history = point.length
        else:
            start, history = point.validation_end, point.train_end
            if history < dataset.season_length + 2:
                # The input starts after the run's training part: scale on what it holds.
                history = start
        seen = seen or start < (point.length if refit else point.validation_end)
        if len(series) - start < horizon or start < max(lookback, 2):
            raise DataError(_too_little_to_score(dataset, series, start, horizon, lookback, refit))
        bounds.append((start, len(series)))
        history_ends.append(max(history, 2))
    metrics, _ = score_part(run.load_forecaster(), dataset, bounds, history_ends)
    part = f"last {last} points" if last else "newer than training" if refit else "test and newer"
    result = {"part": part, **metrics}
    if seen:
        result["note"] = "the scored points include data the saved model was trained on"
    return result


def _too_little_to_score(
    dataset: Dataset, series: Any, start: int, horizon: int, lookback: int, refit: bool
) -> str:
    label = dataset.label(series)
    if refit and start >= len(series) - horizon and start >= lookback:
        return (
            f"{label}: {len(series) - start} point(s) after the end of the run's training data "
            f"(at {start} of {len(series)}), fewer than `window.horizon` ({horizon}). The saved "
            "model was refit on the whole history, so only newer points are unseen: pass newer "
            "data with --input (the test figures of the model that never saw the test part are "
            "in metrics.json), or --last N to score the last N points anyway."
        )
    return (
        f"{label}: cannot score {len(series) - start} point(s) after {start} of {len(series)}: "
        f"it needs at least `window.horizon` ({horizon}) points to score and `window.lookback` "
        f"({lookback}) before them. Pass --last N to choose the scored part."
    )


def forecast_plot(
    run: Run, dataset: Dataset, future: Path | None = None, last: int | None = None
) -> Figure:
    """Actual vs forecast over the run's training, validation and test parts, any newer data,
    and the future (which needs `future` when the run has future covariates); over the last
    `last` points of each series when given (see `forecast_figure` for the default)."""
    _check_input(run, dataset, max(run.lookbacks))
    points = points_at_times(dataset, _stored_split(run))
    forecaster = run.load_forecaster()
    panels = series_panels(forecaster, dataset, run.config, points, future)
    return forecast_figure(panels, dataset.target, total=len(dataset.series), last=last)


def _stored_split(run: Run) -> dict[str, dict[str, str]]:
    split = run.metrics.get("split")
    if not isinstance(split, dict):
        raise RunError(f"{run.path}: metrics.json has no `split`; train the run again.")
    return split


def series_panels(
    forecaster: Forecaster,
    dataset: Dataset,
    config: Config,
    points: list[SplitPoints],
    future: Path | None = None,
    ahead_by: Forecaster | None = None,
) -> list[SeriesPanel]:
    """Per series: consecutive non-overlapping horizon-long forecasts over its whole length
    (each from the `lookback` actual values before it), and the forecast after its end by
    `ahead_by` (the same forecaster by default; left out when the run has future covariates
    and `future` does not give them)."""
    horizon = config.window.horizon
    # The figure shows the first few series only; forecasting the rest would be thrown away.
    dataset = replace(dataset, series=dataset.series[:MAX_PANELS])
    points = points[:MAX_PANELS]
    origins = [
        window_origins(len(series), forecaster.lookback, horizon, 0, len(series), stride=horizon)
        for series in dataset.series
    ]
    paths = forecaster.forecast(dataset, origins)
    times = _future_ranges(dataset, horizon)
    ahead = None
    if not dataset.future_covariates:
        ahead = recursive_forecast(ahead_by or forecaster, dataset, times)
    elif future is not None:
        known = future_covariate_values(future, dataset, times)
        ahead = recursive_forecast(ahead_by or forecaster, dataset, times, known)
    panels, start = [], 0
    for index, (series, point) in enumerate(zip(dataset.series, points, strict=True)):
        fitted = np.full(len(series), np.nan)
        count = len(origins[index])
        positions = origins[index][:, None] + np.arange(horizon)
        fitted[positions.ravel()] = paths[start : start + count].ravel()
        start += count
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
                future=None if ahead is None else (times[index], ahead[index]),
            )
        )
    return panels


def future_times(time: pd.Index, frequency: str | None, steps: int) -> pd.Index:
    """The `steps` timestamps after `time[-1]`: the same frequency, or the next integer steps.

    Example:
        >>> future_times(pd.RangeIndex(5), None, 2).tolist()
        [5, 6]
    """
    if isinstance(time, pd.DatetimeIndex):
        return pd.date_range(time[-1], periods=steps + 1, freq=frequency)[1:]
    step = int(time[1] - time[0]) if len(time) > 1 else 1
    return pd.Index(int(time[-1]) + step * np.arange(1, steps + 1))


def _future_ranges(dataset: Dataset, steps: int) -> list[pd.Index]:
    """Per series, the `steps` timestamps after its end; series of one file usually end
    together, so each distinct range is built once."""
    cache: dict[object, pd.Index] = {}
    ranges = []
    for series in dataset.series:
        end = (series.time[-1], series.time[-1] - series.time[-2])
        if end not in cache:
            cache[end] = future_times(series.time, dataset.frequency, steps)
        ranges.append(cache[end])
    return ranges


def _future_columns(dataset: Dataset) -> str:
    names = [dataset.time_column or STEP_COLUMN]
    if dataset.id_column is not None:
        names.insert(0, dataset.id_column)
    return ", ".join([*names, *dataset.future_covariates])


def _check_input(run: Run, dataset: Dataset, lookback: int) -> None:
    for series in dataset.series:
        # Checked before the model loads, so a wrong file fails fast.
        run.scaler.require(series_key(series.id), where=f"{dataset.source}: ")
        if len(series) < lookback:
            raise DataError(
                f"{dataset.label(series)}: {len(series)} point(s), but the model needs the last "
                f"`window.lookback` = {lookback} points to forecast. Supply a longer history."
            )
