"""What the figures show, prepared from forecasts: one panel per series (the first few).

`plots` draws panels and knows nothing of forecasters; this module makes the forecasts a
figure needs and lays them out per series.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from rnnforecast.data import Dataset, Series
from rnnforecast.evaluation import Scored
from rnnforecast.forecaster import Forecaster
from rnnforecast.plots import MAX_PANELS, BacktestPanel, FoldPath, SeriesPanel
from rnnforecast.splitting import SplitPoints
from rnnforecast.windowing import window_origins


def panel_title(dataset: Dataset, series: Series) -> str:
    """A panel's title: the file's name, plus the series id in long format."""
    return Path(dataset.source).name + ("" if series.id is None else f": {series.id}")


def series_panels(
    forecaster: Forecaster,
    dataset: Dataset,
    points: list[SplitPoints],
    known: list[np.ndarray] | None = None,
    ahead_by: Forecaster | None = None,
    levels: tuple[float, ...] = (),
) -> list[SeriesPanel]:
    """Per series (the first few): consecutive non-overlapping horizon-long forecasts over its
    whole length (each from the `lookback` actual values before it), and the forecast after
    its end by `ahead_by` (the same forecaster by default), each with bands at `levels`. With
    future covariates that forecast needs their values over the horizon, `known[i]` per
    series; without them it is left out.
    """
    horizon = forecaster.horizon
    # The figure shows the first few series only; forecasting the rest would be thrown away.
    dataset = replace(dataset, series=dataset.series[:MAX_PANELS])
    points = points[:MAX_PANELS]
    origins = [
        window_origins(len(series), forecaster.lookback, horizon, 0, len(series), stride=horizon)
        for series in dataset.series
    ]
    paths = forecaster.forecast(dataset, origins, levels)
    future = None
    if not dataset.future_covariates or known is not None:
        known = None if known is None else known[:MAX_PANELS]
        future = (ahead_by or forecaster).forecast_ahead(dataset, horizon, known, levels)
    panels = []
    for index, (series, point) in enumerate(zip(dataset.series, points, strict=True)):
        mine = paths.series == index
        where = paths.origins[mine][:, None] + np.arange(horizon)
        fitted = _aligned(len(series), where, paths.point[mine])
        bands = {
            level: (
                _aligned(len(series), where, lower[mine]),
                _aligned(len(series), where, upper[mine]),
            )
            for level, (lower, upper) in paths.intervals.items()
        }
        panels.append(
            SeriesPanel(
                title=panel_title(dataset, series),
                time=series.time,
                # Observed values only: a filled stretch shows as a gap in the line.
                actual=series.observed_target,
                fitted=fitted,
                parts=[
                    ("validation", point.train_end, point.validation_end),
                    ("test", point.validation_end, point.length),
                    ("new", point.length, len(series)),
                ],
                future=None
                if future is None
                else (pd.Index(future.times[index]), future.point[index]),
                bands=bands,
                future_bands={}
                if future is None
                else {
                    level: (lower[index], upper[index])
                    for level, (lower, upper) in future.intervals.items()
                },
            )
        )
    return panels


def _aligned(length: int, where: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`values` placed at positions `where` of a line of `length` NaNs."""
    line = np.full(length, np.nan)
    line[where] = values
    return line


def backtest_panels(folds: list[Scored], dataset: Dataset, horizon: int) -> list[BacktestPanel]:
    """The first few series with each fold's forecast and the seasonal naive one beside it,
    after three horizons of history before the first fold."""
    panels = []
    for index, series in enumerate(dataset.series[:MAX_PANELS]):
        shown = []
        for scored in folds:
            mine = scored.model.series == index
            shown.append(
                FoldPath(
                    pd.Index(scored.model.times[mine].ravel()),
                    scored.model.point[mine].ravel(),
                    scored.forecasts["seasonal_naive"].point[mine].ravel(),
                    {
                        level: (lower[mine].ravel(), upper[mine].ravel())
                        for level, (lower, upper) in scored.model.intervals.items()
                    },
                )
            )
        first = min(
            int(scored.model.origins[scored.model.series == index].min()) for scored in folds
        )
        start = max(0, first - 3 * horizon)
        panels.append(
            BacktestPanel(
                title=panel_title(dataset, series),
                time=series.time[start:],
                actual=series.observed_target[start:],
                folds=shown,
            )
        )
    return panels
