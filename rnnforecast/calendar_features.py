"""Calendar features made from timestamps: each a sine/cosine pair, so December sits next to
January and the network needs no scaling for them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rnnforecast.errors import DataError
from rnnforecast.frequency import cadence

# Each feature: its value at a timestamp (counted from 0) and its period.
_FEATURES = {
    "hour": (lambda time: time.hour + time.minute / 60, 24.0),
    "day_of_week": (lambda time: time.dayofweek, 7.0),
    "day_of_month": (lambda time: time.day - 1, 31.0),
    "day_of_year": (lambda time: time.dayofyear - 1, 366.0),
    "week": (lambda time: time.isocalendar().week.to_numpy() - 1, 53.0),
    "month": (lambda time: time.month - 1, 12.0),
    "quarter": (lambda time: time.quarter - 1, 4.0),
}


def calendar_names(setting: str | list[str], frequency: str | None) -> list[str]:
    """The calendar features a `data.calendar` setting asks for; `auto` picks what varies
    within a season of the frequency (see `frequency.cadence`): hourly (and finer) data gets
    hour and day of week, daily day of week and day of year, weekly week of year, monthly
    month, quarterly quarter; yearly data and integer steps get none.

    Example:
        >>> calendar_names("auto", "MS")
        ['month']
    """
    if setting == "none":
        return []
    if setting != "auto":
        return list(setting)
    return list(cadence(frequency).calendar)


def calendar_features(time: pd.Index, names: list[str], source: str = "") -> np.ndarray:
    """`(len(time), 2 * len(names))` float32: sine and cosine of each feature's phase.

    Example:
        >>> calendar_features(pd.date_range("2024-01-01", periods=2, freq="MS"), ["month"])[0]
        array([0., 1.], dtype=float32)
    """
    if not names:
        return np.empty((len(time), 0), dtype=np.float32)
    if not isinstance(time, pd.DatetimeIndex):
        raise DataError(
            f"{source}: `data.calendar` lists {names}, but the series has integer steps, not "
            "dates. Set `data.time_column` to a date column, or `data.calendar: none`."
        )
    columns = []
    for name in names:
        value, period = _FEATURES[name]
        phase = 2 * np.pi * np.asarray(value(time), dtype=np.float64) / period
        columns.extend([np.sin(phase), np.cos(phase)])
    return np.column_stack(columns).astype(np.float32)
