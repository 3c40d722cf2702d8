"""Chronological train / validation / test split points and the default lookback.

Nothing is shuffled across time: each series keeps its order, the validation part follows the
training part and the test part is the end of the series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnforecast.config import Config
from rnnforecast.data import Dataset
from rnnforecast.errors import ConfigError
from rnnforecast.models import resolve_baseline

MIN_DEFAULT_LOOKBACK = 8
MAX_DEFAULT_LOOKBACK = 512


@dataclass(frozen=True)
class SplitPoints:
    """Positions in one series: training is `[0, train_end)`, validation
    `[train_end, validation_end)`, test `[validation_end, length)`."""

    train_end: int
    validation_end: int
    length: int


def split_points(dataset: Dataset, config: Config) -> list[SplitPoints]:
    """Split points of each series from `split.validation` and `split.test`."""
    points = []
    for series in dataset.series:
        validation, test = config.split.sizes(len(series), config.window.horizon)
        points.append(SplitPoints(len(series) - test - validation, len(series) - test, len(series)))
    return points


def default_lookback(dataset: Dataset, points: list[SplitPoints], horizon: int) -> int:
    """max(2 season lengths, 2 horizons, 8), at most 512, and at most half of what a typical
    (median) training part leaves after one horizon, so it still yields many windows.

    The median, not the shortest, sets the cap: one short series in a long-format file must
    not silently shrink the window of every series; `check_split` names it instead.
    """
    wanted = min(
        max(2 * dataset.season_length, 2 * horizon, MIN_DEFAULT_LOOKBACK), MAX_DEFAULT_LOOKBACK
    )
    typical = int(np.median([point.train_end for point in points]))
    return max(1, min(wanted, (typical - horizon) // 2))


def check_split(dataset: Dataset, points: list[SplitPoints], config: Config) -> None:
    """Raise `ConfigError` naming the keys in conflict when a part is too short for windows."""
    lookback = config.window.lookback or 0
    horizon = config.window.horizon
    for series, point in zip(dataset.series, points, strict=True):
        label = dataset.label(series)
        test = point.length - point.validation_end
        validation = point.validation_end - point.train_end
        if test < horizon:
            raise ConfigError(
                f"{label}: the test part has {test} point(s), fewer than `window.horizon` "
                f"({horizon}). Received: split.test={config.split.test}. Raise `split.test` or "
                "lower `window.horizon`."
            )
        if 0 < validation < horizon:
            raise ConfigError(
                f"{label}: the validation part has {validation} point(s), fewer than "
                f"`window.horizon` ({horizon}). Received: split.validation="
                f"{config.split.validation}. Raise `split.validation` or set it to 0."
            )
        if point.train_end < lookback + horizon:
            raise ConfigError(
                f"{label}: `window.lookback` + `window.horizon` ({lookback} + {horizon}) must fit "
                f"in the training part ({max(point.train_end, 0)} of {point.length} points). "
                f"Received: lookback={lookback}, horizon={horizon}, split.validation="
                f"{config.split.validation}, split.test={config.split.test}. Lower them or "
                "use a longer series."
            )


def resolve_defaults(config: Config, dataset: Dataset, points: list[SplitPoints]) -> Config:
    """A copy of `config` with the values chosen from the data written in, so the run's
    `config.yaml` says exactly what was used: target, frequency, season length, lookback and
    the model's baseline."""
    resolved = config.model_copy(deep=True)
    if resolved.data.source != "synthetic":
        resolved.data.target = dataset.target
        resolved.data.frequency = dataset.frequency
    resolved.data.season_length = dataset.season_length
    if resolved.window.lookback is None:
        resolved.window.lookback = default_lookback(dataset, points, resolved.window.horizon)
    resolved.model.baseline = resolve_baseline(
        resolved.model.baseline, resolved.window.lookback, dataset.season_length
    )
    return resolved
