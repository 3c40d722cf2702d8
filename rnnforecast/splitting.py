"""Chronological train / validation / test split points and the checks on them.

Nothing is shuffled across time: each series keeps its order, the validation part follows the
training part and the test part is the end of the series.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from rnnforecast.config import Config
from rnnforecast.data import Dataset
from rnnforecast.errors import RunError
from rnnforecast.scaling import series_key


@dataclass(frozen=True)
class SplitPoints:
    """Positions in one series: training is `[0, train_end)`, validation
    `[train_end, validation_end)`, test `[validation_end, length)`."""

    train_end: int
    validation_end: int
    length: int


def split_points(dataset: Dataset, config: Config) -> list[SplitPoints]:
    """Split points of each series from `split.validation` and `split.test`.

    A validation part given as a fraction is shrunk, down to one horizon, and then dropped
    (early stopping then watches the training loss) when it would leave a training part
    shorter than `minimum_training`: on a short series, windows to learn from matter more than
    a validation score.
    """
    points = []
    for series in dataset.series:
        validation, test = config.split.sizes(len(series), config.window.horizon)
        validation = kept_validation(config, validation, len(series) - test, dataset.season_length)
        points.append(SplitPoints(len(series) - test - validation, len(series) - test, len(series)))
    return points


def kept_validation(config: Config, validation: int, available: int, season_length: int) -> int:
    """`validation` points, or, when `split.validation` is a fraction and they would leave
    fewer than `minimum_training` of the `available` points (all but the test part), as many
    as leave that many, if that is at least a horizon; else 0."""
    if not isinstance(config.split.validation, float):
        return validation
    room = available - minimum_training(config.window.horizon, season_length)
    kept = min(validation, room)
    return kept if kept >= config.window.horizon else 0


def minimum_training(horizon: int, season_length: int) -> int:
    """The training part worth keeping a validation part for: a season of lookback and two
    horizons, so that it holds more than a horizon of windows."""
    return season_length + 2 * horizon


def boundary_times(dataset: Dataset, points: list[SplitPoints]) -> dict[str, dict[str, str]]:
    """Per series key, the first timestamps of the validation and test parts and the last one,
    as text: what a run stores so later data can be split where training split it."""
    boundaries = {}
    for series, point in zip(dataset.series, points, strict=True):
        time = series.time
        boundaries[series_key(series.id)] = {
            "validation_start": str(time[point.train_end]),
            "test_start": str(time[point.validation_end]),
            "end": str(time[point.length - 1]),
        }
    return boundaries


def points_at_times(dataset: Dataset, boundaries: dict[str, dict[str, str]]) -> list[SplitPoints]:
    """Split points of (possibly newer or shorter) data at a run's stored boundaries.

    `length` is where the run's data ended: points after it are new since training.
    """
    points = []
    for series in dataset.series:
        stored = boundaries.get(series_key(series.id))
        if stored is None:
            raise RunError(
                f"the run stores no split for series {series.id!r}; train the run again."
            )
        positions = [
            _position(series.time, stored[key]) for key in ("validation_start", "test_start")
        ]
        end = _position(series.time, stored["end"], after=True)
        points.append(SplitPoints(positions[0], positions[1], end))
    return points


def _position(time: pd.Index, text: str, after: bool = False) -> int:
    """Where `text` (a stored timestamp or step) falls in `time`; past it with `after`."""
    value = pd.Timestamp(text) if isinstance(time, pd.DatetimeIndex) else int(text)
    side = "right" if after else "left"
    return int(time.searchsorted(value, side=side))
