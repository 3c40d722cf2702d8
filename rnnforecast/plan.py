"""The plan: every value a fit and a forecast need, decided once from the config and the data.

`make_plan` fills every key a config leaves out with a value chosen from the data, checks the
result against the data, and returns a `Plan` with no optional value left. Training, backtests,
`validate` and the commands that use a saved run all take a `Plan`; nothing downstream falls
back to a default of its own. The resolved config inside the plan is what a run stores as
`config.yaml`, and `Plan.of` rebuilds the same plan from it.

The rules (documented in the README) depend only on the series' length, frequency, season
length and the horizon, never on which data set it is:

- lookback: max(2 season lengths, 2 horizons, 8), at most 512 and at most half of what a
  typical training part leaves after one horizon, but at least a season when there is room;
- units: 32 below 2,000 training windows, else 64;
- batch size: 32, or a twentieth of the training windows when there are fewer than 640
  (at least 8), so small data still gets about twenty gradient steps an epoch;
- learning rate: 0.001 at batch size 32, scaled by the square root of the batch size / 32;
- epochs: enough for about `DEFAULT_TRAINING_STEPS` gradient steps, within
  [`MIN_DEFAULT_EPOCHS`, `MAX_DEFAULT_EPOCHS`], or the minimum when there is no validation
  part to stop on (a short series); early stopping patience: a tenth of that, at least 10;
- calendar (`auto`): the features that vary within a season of the frequency;
- log transform (`auto`): on when every value of every series' training part is positive;
- ensemble: 10,000 / training windows members, between 1 and 5 (small data gets five, which
  are quick to train and differ most);
- baseline (`auto`): seasonal naive when the longest member's window covers a season, else
  naive; each member falls back to naive alone when its own window is shorter than a season.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rnnforecast.baselines import resolve_baseline
from rnnforecast.calendar_features import calendar_names
from rnnforecast.config import (
    DEFAULT_TRAINING_STEPS,
    MAX_DEFAULT_EPOCHS,
    MIN_DEFAULT_EPOCHS,
    NO_TIME_COLUMN,
    Config,
)
from rnnforecast.data import Dataset
from rnnforecast.errors import ConfigError, DataError
from rnnforecast.splitting import SplitPoints
from rnnforecast.windowing import fully_observed, window_origins

MIN_DEFAULT_LOOKBACK = 8
MAX_DEFAULT_LOOKBACK = 512
SMALL_DATA_WINDOWS = 2000
DEFAULT_BATCH_SIZE = 32
MIN_DEFAULT_BATCH_SIZE = 8
BATCHES_PER_EPOCH = 20
BASE_LEARNING_RATE = 1e-3
ENSEMBLE_WINDOWS = 10_000
MAX_DEFAULT_MEMBERS = 5
MIN_DEFAULT_PATIENCE = 10


@dataclass(frozen=True)
class MemberPlan:
    """One ensemble member: its number (from 1), window, seed and the baseline its network
    starts from (naive when its window is shorter than a season)."""

    number: int
    lookback: int
    seed: int
    baseline: str


@dataclass(frozen=True)
class Plan:
    """Every value a fit and a forecast need; no optional value left.

    Attributes:
        config: the resolved config (what `config.yaml` stores); keys with fixed defaults
            (cell, optimizer, loss ...) are read from it.
        lookback: `window.lookback`, the window of members without an own lookback.
        baseline: the baseline of the longest member (`seasonal_naive`, `naive`, `mean` or
            `none`).
        calendar: the calendar features, in input order.
        log: whether the target is modelled on its logarithm.
        patience: early stopping patience in epochs (0: off).
        members: the ensemble members, in order.
    """

    config: Config
    horizon: int
    stride: int
    lookback: int
    season_length: int
    calendar: tuple[str, ...]
    log: bool
    baseline: str
    units: tuple[int, ...]
    batch_size: int
    learning_rate: float
    epochs: int
    patience: int
    members: tuple[MemberPlan, ...]

    @property
    def max_lookback(self) -> int:
        """The longest member window: the history a forecast needs."""
        return max(member.lookback for member in self.members)

    @property
    def frequency(self) -> str | None:
        """The pandas frequency alias of the timestamps; None for integer steps."""
        return self.config.data.frequency

    @classmethod
    def of(cls, config: Config) -> Plan:
        """The plan of a resolved config (from `resolve_config`, or a run's `config.yaml`).

        Raises:
            ConfigError: a key that the data decides is still missing.
        """
        data, window, training = config.data, config.window, config.training
        resolved = {
            "data.season_length": data.season_length,
            "data.calendar": data.calendar if isinstance(data.calendar, list) else None,
            "transform.log": config.transform.log if config.transform.log != "auto" else None,
            "window.lookback": window.lookback,
            "model.units": config.model.units,
            "training.batch_size": training.batch_size,
            "training.learning_rate": training.learning_rate,
            "training.epochs": training.epochs,
            "training.early_stopping": training.early_stopping,
            "training.ensemble": training.ensemble,
        }
        missing = [key for key, value in resolved.items() if value is None]
        if missing:
            raise ConfigError(
                f"the config leaves {', '.join(f'`{key}`' for key in missing)} to be chosen "
                "from the data, but it was expected to be resolved. Train the run again."
            )
        lookback, season_length = int(window.lookback or 0), int(data.season_length or 1)
        members = tuple(
            MemberPlan(
                number,
                member_lookback,
                training.seed + number - 1,
                resolve_baseline(config.model.baseline, member_lookback, season_length),
            )
            for number, member_lookback in enumerate(training.member_lookbacks(lookback), start=1)
        )
        return cls(
            config=config,
            horizon=window.horizon,
            stride=window.stride,
            lookback=lookback,
            season_length=season_length,
            calendar=tuple(resolved["data.calendar"]),
            log=bool(resolved["transform.log"]),
            baseline=config.model.baseline,
            units=tuple(resolved["model.units"]),
            batch_size=int(resolved["training.batch_size"]),
            learning_rate=float(resolved["training.learning_rate"]),
            epochs=int(resolved["training.epochs"]),
            patience=int(resolved["training.early_stopping"]),
            members=members,
        )

    def summary(self) -> str:
        """One line of the values chosen from the data (or given), as `train` prints them."""
        return (
            f"frequency {self.frequency or 'steps'}, season {self.season_length}, lookback "
            f"{self.lookback}, units {list(self.units)}, baseline {self.baseline}, "
            f"batch {self.batch_size}, learning rate {self.learning_rate:g}, epochs "
            f"{self.epochs} (patience {self.patience}), calendar "
            f"[{', '.join(self.calendar) or 'none'}], log {self.log}, ensemble "
            f"{len(self.members)}"
        )


def make_plan(
    config: Config, dataset: Dataset, points: list[SplitPoints], test: bool = True
) -> Plan:
    """Decide every value the config leaves out from the data, and check the result against
    the split (which has no test part without `test`: a backtest fold).

    Raises:
        ConfigError: a part of the split is too short for the windows.
        DataError: the data cannot take the plan (a constant covariate, values <= 0 under
            `transform.log`, calendar features on integer steps).

    Example:
        `make_plan(config, dataset, split_points(dataset, config))`
    """
    plan = Plan.of(resolve_config(config, dataset, points))
    check_split(dataset, points, plan, test)
    check_observed(dataset, points, plan)
    check_covariates(dataset, points)
    check_transforms(dataset, plan, config.transform.log)
    return plan


def resolve_config(config: Config, dataset: Dataset, points: list[SplitPoints]) -> Config:
    """A copy of `config` with every value left out chosen from the data: time and id columns,
    target, frequency, season length, calendar features, log transform, lookback, baseline,
    units, batch size, learning rate, epochs, early stopping and ensemble size."""
    resolved = config.model_copy(deep=True)
    data, window, training = resolved.data, resolved.window, resolved.training
    if data.source != "synthetic":
        # The columns reading found, so a run's data and new input are read without finding
        # (and saying) them again; `none`: the rows are steps.
        data.time_column = dataset.time_column or NO_TIME_COLUMN
        data.id_column = dataset.id_column
        data.target = dataset.target
        data.frequency = dataset.frequency
    data.season_length = dataset.season_length
    data.calendar = calendar_names(data.calendar, dataset.frequency)
    if resolved.transform.log == "auto":
        # The training parts only: what follows them must not shape the scored model.
        resolved.transform.log = all(
            bool((series.target[: point.train_end] > 0).all())
            for series, point in zip(dataset.series, points, strict=True)
        )
    if window.lookback is None:
        window.lookback = default_lookback(dataset, points, window.horizon)
    # Against the longest member's window: a member too short for a season falls back alone.
    resolved.model.baseline = resolve_baseline(
        resolved.model.baseline,
        max(training.member_lookbacks(window.lookback)),
        dataset.season_length,
    )
    windows = training_windows(points, window.lookback, window.horizon, window.stride)
    if resolved.model.units is None:
        resolved.model.units = [32 if windows < SMALL_DATA_WINDOWS else 64]
    if training.batch_size is None:
        training.batch_size = default_batch_size(windows)
    if training.epochs is None:
        steps = max(1, math.ceil(windows / training.batch_size))
        epochs = math.ceil(DEFAULT_TRAINING_STEPS / steps)
        if not any(point.validation_end > point.train_end for point in points):
            # Nothing to stop on: keep training short, so the model stays near its baseline.
            epochs = MIN_DEFAULT_EPOCHS
        training.epochs = int(np.clip(epochs, MIN_DEFAULT_EPOCHS, MAX_DEFAULT_EPOCHS))
    if training.ensemble is None:
        members = round(ENSEMBLE_WINDOWS / max(windows, 1))
        training.ensemble = max(
            len(training.ensemble_lookbacks), min(MAX_DEFAULT_MEMBERS, max(1, members))
        )
    if training.learning_rate is None:
        training.learning_rate = default_learning_rate(training.batch_size)
    if training.early_stopping is None:
        training.early_stopping = max(MIN_DEFAULT_PATIENCE, training.epochs // 10)
    return resolved


def default_lookback(dataset: Dataset, points: list[SplitPoints], horizon: int) -> int:
    """max(2 season lengths, 2 horizons, 8), at most 512, and at most half of what a typical
    (median) training part leaves after one horizon, so it still yields many windows; but
    never less than one season when the training part has room for it, so the seasonal
    baseline still applies.

    The median, not the shortest, sets the cap: one short series in a long-format file must
    not silently shrink the window of every series; `check_split` names it instead.
    """
    season = dataset.season_length
    wanted = min(max(2 * season, 2 * horizon, MIN_DEFAULT_LOOKBACK), MAX_DEFAULT_LOOKBACK)
    room = int(np.median([point.train_end for point in points])) - horizon
    cap = max(room // 2, season if season <= room else 0)
    return max(1, min(wanted, cap))


def training_windows(points: list[SplitPoints], lookback: int, horizon: int, stride: int) -> int:
    """How many training windows the split gives, over all series."""
    return sum(max(0, (point.train_end - lookback - horizon) // stride + 1) for point in points)


def default_batch_size(windows: int) -> int:
    """32, or fewer for small data so an epoch still has about twenty gradient steps.

    Example:
        >>> default_batch_size(100), default_batch_size(300), default_batch_size(5000)
        (8, 15, 32)
    """
    return max(MIN_DEFAULT_BATCH_SIZE, min(DEFAULT_BATCH_SIZE, windows // BATCHES_PER_EPOCH))


def default_learning_rate(batch_size: int) -> float:
    """0.001 at batch size 32, scaled by the square root of the batch size's ratio to 32.

    Example:
        >>> default_learning_rate(32), default_learning_rate(8)
        (0.001, 0.0005)
    """
    return round(BASE_LEARNING_RATE * math.sqrt(batch_size / DEFAULT_BATCH_SIZE), 6)


def check_split(dataset: Dataset, points: list[SplitPoints], plan: Plan, test: bool = True) -> None:
    """Raise `ConfigError` naming the keys in conflict when a part is too short for windows
    (without `test`, the data has no test part: a backtest fold)."""
    config = plan.config
    lookback, horizon = plan.max_lookback, plan.horizon
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
            key = "training.ensemble_lookbacks" if lookback != plan.lookback else "window.lookback"
            raise ConfigError(
                f"{label}: `{key}` + `window.horizon` ({lookback} + {horizon}) must fit "
                f"in the training part ({max(point.train_end, 0)} of {point.length} points). "
                f"Received: lookback={lookback}, horizon={horizon}, split.validation="
                f"{config.split.validation}, split.test={config.split.test}. Lower them or "
                "use a longer series."
            )


def check_observed(dataset: Dataset, points: list[SplitPoints], plan: Plan) -> None:
    """Raise `DataError` when no training window has every target observed: windows with a
    filled target are left out of training (see `windowing.observed_windows`), which would
    leave nothing to train on."""
    usable = 0
    for series, point in zip(dataset.series, points, strict=True):
        origins = window_origins(
            len(series), plan.max_lookback, plan.horizon, 0, point.train_end, plan.stride
        )
        usable += int(fully_observed(origins, series.observed, plan.horizon).sum())
    if usable == 0:
        raise DataError(
            f"{dataset.source}: every training window of {plan.horizon} step(s) has a target "
            "value that `data.missing` filled, and windows with filled targets are left out of "
            "training, so nothing is left to train on. Fill fewer values (check the time column "
            "and `data.frequency`), lower `window.horizon`, or use a series with fewer gaps. "
            f"Received: horizon={plan.horizon}, data.missing={plan.config.data.missing}"
        )


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


def check_transforms(dataset: Dataset, plan: Plan, original_log: object = None) -> None:
    """Raise `DataError` for data the plan's transforms cannot take: calendar features on
    integer steps, values <= 0 under `transform.log` (forecasts read them all);
    `original_log` is the setting before it was resolved, for the message."""
    if plan.calendar and not isinstance(dataset.series[0].time, pd.DatetimeIndex):
        raise DataError(
            f"{dataset.source}: `data.calendar` lists {list(plan.calendar)}, but the series has "
            "integer steps, not dates. Set `data.time_column` to a date column, or "
            "`data.calendar: none`."
        )
    if plan.log:
        for series in dataset.series:
            low = float(series.target.min())
            if low <= 0:
                chosen = " (chosen because the training part is positive)"
                raise DataError(
                    f"{dataset.label(series)}: `transform.log`"
                    f"{chosen if original_log == 'auto' else ''} needs positive values, but the "
                    f"target goes down to {low:g}, and the model reads the whole history. "
                    "Set `transform.log: false`, or shift the target to be positive."
                )
