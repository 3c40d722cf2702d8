"""Values chosen from the data for every key a config leaves out, written into the resolved
config so a run's `config.yaml` says exactly what was used.

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
  are quick to train and differ most).
"""

from __future__ import annotations

import math

import numpy as np

from rnnforecast.calendar_features import calendar_names
from rnnforecast.config import (
    DEFAULT_TRAINING_STEPS,
    MAX_DEFAULT_EPOCHS,
    MIN_DEFAULT_EPOCHS,
    Config,
)
from rnnforecast.data import Dataset
from rnnforecast.models import resolve_baseline
from rnnforecast.splitting import SplitPoints

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


def resolve_defaults(config: Config, dataset: Dataset, points: list[SplitPoints]) -> Config:
    """A copy of `config` with every value left out chosen from the data: target, frequency,
    season length, calendar features, lookback, baseline, units, batch size, epochs and
    early stopping."""
    resolved = config.model_copy(deep=True)
    data, window, training = resolved.data, resolved.window, resolved.training
    if data.source != "synthetic":
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


def chosen_summary(config: Config) -> str:
    """One line of the values a resolved config holds for the keys with data-driven defaults."""
    data, window, training = config.data, config.window, config.training
    calendar = ", ".join(data.calendar) if isinstance(data.calendar, list) else data.calendar
    return (
        f"frequency {data.frequency or 'steps'}, season {data.season_length}, lookback "
        f"{window.lookback}, units {config.model.units}, baseline {config.model.baseline}, "
        f"batch {training.batch_size}, learning rate {training.learning_rate:g}, epochs "
        f"{training.epochs} (patience "
        f"{training.early_stopping}), calendar [{calendar or 'none'}], log "
        f"{config.transform.log}, ensemble {training.ensemble}"
    )
