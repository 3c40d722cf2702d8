"""Chronological train / validation / test split points and the checks on them.

Nothing is shuffled across time: each series keeps its order, the validation part follows the
training part and the test part is the end of the series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rnnforecast.config import Config
from rnnforecast.data import Dataset
from rnnforecast.errors import ConfigError, DataError, RunError
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

    A validation part given as a fraction is dropped (early stopping then watches the training
    loss) when it would leave a training part shorter than `minimum_training`: on a short
    series, windows to learn from matter more than a validation score.
    """
    points = []
    for series in dataset.series:
        validation, test = config.split.sizes(len(series), config.window.horizon)
        validation = kept_validation(config, validation, len(series) - test, dataset.season_length)
        points.append(SplitPoints(len(series) - test - validation, len(series) - test, len(series)))
    return points


def kept_validation(config: Config, validation: int, available: int, season_length: int) -> int:
    """`validation` points, or 0 when `split.validation` is a fraction and they would leave
    fewer than `minimum_training` of the `available` points (all but the test part)."""
    shortest = minimum_training(config.window.horizon, season_length)
    if isinstance(config.split.validation, float) and available - validation < shortest:
        return 0
    return validation


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


def check_covariates(dataset: Dataset, points: list[SplitPoints]) -> None:
    """Raise `DataError` for a covariate that never changes in any training part: the model
    cannot learn what it does, yet would react to it arbitrarily once it changes."""
    for column, name in enumerate(dataset.value_columns[1:], start=1):
        varies = any(
            np.ptp(series.values[: point.train_end, column]) > 0
            for series, point in zip(dataset.series, points, strict=True)
            if point.train_end > 0
        )
        if not varies:
            value = dataset.series[0].values[0, column]
            raise DataError(
                f"{dataset.source}: covariate {name!r} is constant ({value:g}) over the training "
                "part, so the model cannot learn its effect. Remove it from the config's "
                "covariates, or move the split (`split.validation`, `split.test`) so it changes "
                "in training."
            )


def check_split(
    dataset: Dataset, points: list[SplitPoints], config: Config, test: bool = True
) -> None:
    """Raise `ConfigError` naming the keys in conflict when a part is too short for windows
    (without `test`, the data has no test part: a backtest fold)."""
    lookback = max(config.training.member_lookbacks(config.window.lookback or 0))
    horizon = config.window.horizon
    for series, point in zip(dataset.series, points, strict=True):
        label = dataset.label(series)
        validation = point.validation_end - point.train_end
        if test and point.length - point.validation_end < horizon:
            test_size = point.length - point.validation_end
            raise ConfigError(
                f"{label}: the test part has {test_size} point(s), fewer than `window.horizon` "
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
            key = (
                "training.ensemble_lookbacks"
                if lookback != (config.window.lookback or 0)
                else "window.lookback"
            )
            raise ConfigError(
                f"{label}: `{key}` + `window.horizon` ({lookback} + {horizon}) must fit "
                f"in the training part ({max(point.train_end, 0)} of {point.length} points). "
                f"Received: lookback={lookback}, horizon={horizon}, split.validation="
                f"{config.split.validation}, split.test={config.split.test}. Lower them or "
                "use a longer series."
            )


def check_transforms(dataset: Dataset, config: Config, original_log: object = None) -> None:
    """Raise `DataError` for data the resolved transforms cannot take: calendar features on
    integer steps, values <= 0 under `transform.log` (the saved model is refit on them all);
    `original_log` is the setting before it was resolved, for the message."""
    calendar = config.data.calendar
    if (
        isinstance(calendar, list)
        and calendar
        and not isinstance(dataset.series[0].time, pd.DatetimeIndex)
    ):
        raise DataError(
            f"{dataset.source}: `data.calendar` lists {calendar}, but the series has integer "
            "steps, not dates. Set `data.time_column` to a date column, or `data.calendar: none`."
        )
    if config.transform.log is True:
        for series in dataset.series:
            low = float(series.target.min())
            if low <= 0:
                chosen = " (chosen because the training part is positive)"
                raise DataError(
                    f"{dataset.label(series)}: `transform.log`"
                    f"{chosen if original_log == 'auto' else ''} needs positive values, but the "
                    f"target goes down to {low:g}, and the saved model is refit on the whole "
                    "history. Set `transform.log: false`, or shift the target to be positive."
                )
