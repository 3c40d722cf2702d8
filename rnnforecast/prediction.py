"""Using a trained run on data: forecasts of the future, evaluation, and the forecast figure."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from rnnforecast.baselines import BASELINES
from rnnforecast.config import NO_TIME_COLUMN, DataConfig, source_of
from rnnforecast.data import (
    STEP_COLUMN,
    SYNTHETIC_TARGET,
    Dataset,
    future_covariate_values,
    load_dataset,
)
from rnnforecast.errors import ConfigError, DataError, check_path
from rnnforecast.evaluation import MODEL, score_part
from rnnforecast.forecast import Forecast
from rnnforecast.forecaster import Forecaster, future_ranges
from rnnforecast.panels import series_panels
from rnnforecast.plots import MAX_PANELS, forecast_figure
from rnnforecast.run import METRICS_FILE, Run
from rnnforecast.scaling import series_key
from rnnforecast.splitting import points_at_times


def load_input(run: Run, path: Path | str | None = None) -> Dataset:
    """The data a run was trained on, or `path` read with the run's columns and frequency.

    Example:
        `load_input(load_run("runs/a10-20240101-120000"), "data/a10_new.csv")`
    """
    data = run.config.data
    if path is None:
        return load_dataset(data)
    check_path(path, DataError, "--input")
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
    future: Path | pd.DataFrame | None = None,
    steps: int | None = None,
    forecaster: Forecaster | None = None,
    levels: list[float] | None = None,
) -> Forecast:
    """Forecast the steps after the end of every series, all series in one batched call.

    Args:
        future: CSV/Parquet file with the future covariates over the forecast steps (the
            time column, the id column in long format, and each `data.future_covariates`);
            ignored when the run has none.
        steps: how far to forecast; by default `window.horizon`. Further than the horizon the
            forecast is recursive: each horizon's forecast becomes the history of the next.
        levels: interval levels in percent; by default the run's `intervals.levels`; `[]`
            for none. Bounds cover the first horizon only (see `Forecaster.forecast_ahead`).

    Returns:
        One window per series, `steps` long, in original units; `Forecast.frame(dataset,
        origin=False)` gives the columns `<id_column>` (long format only, the ids as text as
        the input wrote them), `<time_column>` (future timestamps continuing the series'
        frequency, in the input's zone or offset; or integer steps), `forecast` and
        `lower_<L>`, `upper_<L>` for each level.

    Example:
        `predict(run, load_input(run), steps=36).frame(dataset, origin=False)`
    """
    horizon = run.plan.horizon
    steps = steps or horizon
    chosen = interval_levels(run, levels)
    _check_input(run, dataset)
    if steps > horizon and dataset.covariates:
        raise DataError(
            f"--steps {steps} is beyond the trained horizon ({horizon}), which needs a recursive "
            f"forecast, but the past covariates {dataset.covariates} are unknown after the end "
            "of the data. Forecast at most the horizon, or train with them as "
            "`data.future_covariates` (then supply them with --future)."
        )
    # The model reads known values over its whole horizon, even for a shorter forecast.
    span = max(steps, horizon)
    known = None
    if dataset.future_covariates:
        if future is None:
            raise DataError(
                f"the run uses future covariates {list(dataset.future_covariates)}: pass their "
                f"values for the {span} step(s) after the end of each series with --future FILE "
                f"(columns: {_future_columns(dataset)})."
            )
        known = future_covariate_values(future, dataset, future_ranges(dataset, span))
    forecaster = forecaster or run.load_forecaster()
    return forecaster.forecast_ahead(dataset, span, known, chosen).head(steps)


def interval_levels(run: Run, levels: list[float] | None = None) -> tuple[float, ...]:
    """The interval levels to give: `levels` checked, or the run's own.

    Raises:
        ConfigError: a level outside (0, 100), a level given twice, levels asked of a run
            that has no calibration to give them, or levels whose quantiles its network was
            not trained for.
    """
    if levels is None:
        return tuple(run.config.intervals.levels) if run.has_intervals else ()
    for level in levels:
        if not 0 < level < 100:
            raise ConfigError(
                f"--level must be strictly between 0 and 100. Received: level={level:g}."
            )
    repeated = sorted({level for level in levels if levels.count(level) > 1})
    if repeated:
        raise ConfigError(
            f"--level lists {', '.join(f'{level:g}' for level in repeated)} more than once; "
            "give each level once."
        )
    if levels and not run.has_intervals:
        raise ConfigError(
            f"{run.path}: the run has no prediction intervals to give (it was trained with "
            "`intervals.levels: []`, or without a validation part to calibrate them on), so "
            "--level cannot be met. Use --no-intervals, or train again with "
            "`intervals.levels` and a validation part."
        )
    trained = run.quantile_levels
    if trained and (untrained := sorted(set(levels) - set(trained))):
        listed = ", ".join(f"{level:g}" for level in trained)
        raise ConfigError(
            f"{run.path}: the run's network forecasts the quantiles of the levels {listed} "
            "only (`intervals.method: quantile`), so it cannot give "
            f"{', '.join(f'{level:g}' for level in untrained)}. Ask for those levels, or "
            "train again with the levels you need in `intervals.levels` (or with "
            "`intervals.method: conformal`, which gives any level). "
            f"Received: --level {' --level '.join(f'{level:g}' for level in levels)}."
        )
    return tuple(sorted(levels))


def evaluate(
    run: Run, dataset: Dataset, last: int | None = None, forecaster: Forecaster | None = None
) -> dict[str, Any]:
    """Score the run's saved model on data, next to the naive baselines.

    Args:
        forecaster: the run's forecaster, when already loaded (or never saved).
        last: score the last `last` points of each series. By default the points the saved
            model never saw: those after the end of the training data when it was refit on the
            whole history (`training.refit`), else the test part and everything newer, so the
            training data gives the test figures of `metrics.json` again.

    Returns:
        The same structure as the test figures in `metrics.json`; MASE is scaled by the
        seasonal naive error on the points before the scored ones (on the run's training part
        for the test part, as far as the input holds it). Points `data.missing` filled are
        never scored (`filled_points` counts them). When the saved model was refit on all of
        the input (a run evaluated on its own data, without `last`), nothing is left that it
        never saw: the test figures stored in `metrics.json` are returned instead, with
        `stored: true` and a note saying so.
    """
    horizon, lookback = run.plan.horizon, run.plan.max_lookback
    _check_input(run, dataset)
    points = points_at_times(dataset, run.split)
    refit = run.config.training.refit
    newer = [len(s) - point.length for s, point in zip(dataset.series, points, strict=True)]
    if refit and last is None and max(newer) <= 0:
        return stored_test_figures(run)
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
    forecaster = forecaster or run.load_forecaster()
    scored = score_part(forecaster, dataset, bounds, history_ends, interval_levels(run))
    metrics = scored.metrics(dataset.season_length)
    part = f"last {last} points" if last else "newer than training" if refit else "test and newer"
    result = {"part": part, **metrics}
    if seen:
        result["note"] = "the scored points include data the saved model was trained on"
    return result


STORED_KEYS = ("windows", "horizon", "season_length", "filled_points", "best_baseline", "skill")


def stored_test_figures(run: Run) -> dict[str, Any]:
    """The test figures `train` stored in `metrics.json`, of the holdout model that never saw
    the test part, in the structure `evaluate` returns, with `stored: true` and a note."""
    metrics = run.metrics
    figures = {
        key: metrics[key]
        for key in (*STORED_KEYS, MODEL, *BASELINES, "intervals")
        if key in metrics
    }
    return {
        "part": "test (stored)",
        "stored": True,
        **figures,
        "note": (
            f"the saved model was refit on all of this data, so no point is left that it never "
            f"saw: these are the test figures stored in {METRICS_FILE} when the run was trained, "
            "of the holdout model that never saw the test part. Pass newer data with --input "
            "to score the saved model, or --last N to score the last N points anyway"
        ),
    }


def _too_little_to_score(
    dataset: Dataset, series: Any, start: int, horizon: int, lookback: int, refit: bool
) -> str:
    label = dataset.label(series)
    if refit and start >= len(series) - horizon and start >= lookback:
        return (
            f"{label}: {len(series) - start} point(s) after the end of the run's training data "
            f"(at {start} of {len(series)}), fewer than `window.horizon` ({horizon}). The saved "
            "model was refit on the whole history, so only newer points are unseen: pass newer "
            f"data with --input (the test figures of the model that never saw the test part are "
            f"in {METRICS_FILE}), or --last N to score the last N points anyway."
        )
    return (
        f"{label}: cannot score {len(series) - start} point(s) after {start} of {len(series)}: "
        f"it needs at least `window.horizon` ({horizon}) points to score and `window.lookback` "
        f"({lookback}) before them. Pass --last N to choose the scored part."
    )


def forecast_plot(
    run: Run,
    dataset: Dataset,
    future: Path | pd.DataFrame | None = None,
    last: int | None = None,
    forecaster: Forecaster | None = None,
) -> Figure:
    """Actual vs forecast over the run's training, validation and test parts, any newer data,
    and the future (which needs `future` when the run has future covariates); over the last
    `last` points of each series when given (see `forecast_figure` for the default)."""
    _check_input(run, dataset)
    points = points_at_times(dataset, run.split)
    known = None
    if dataset.future_covariates and future is not None:
        # The figure shows the first few series: only their future values are needed.
        shown = replace(dataset, series=dataset.series[:MAX_PANELS])
        known = future_covariate_values(future, shown, future_ranges(shown, run.plan.horizon))
    forecaster = forecaster or run.load_forecaster()
    panels = series_panels(forecaster, dataset, points, known, levels=interval_levels(run))
    return forecast_figure(panels, dataset.target, total=len(dataset.series), last=last)


def _future_columns(dataset: Dataset) -> str:
    names = [dataset.time_column or STEP_COLUMN]
    if dataset.id_column is not None:
        names.insert(0, dataset.id_column)
    return ", ".join([*names, *dataset.future_covariates])


def _check_input(run: Run, dataset: Dataset) -> None:
    lookback = run.plan.max_lookback
    for series in dataset.series:
        # Checked before the model loads, so a wrong file fails fast.
        run.scaler.require(series_key(series.id), where=f"{dataset.source}: ")
        if len(series) < lookback:
            raise DataError(
                f"{dataset.label(series)}: {len(series)} point(s), but the model needs the last "
                f"`window.lookback` = {lookback} points to forecast. Supply a longer history."
            )
