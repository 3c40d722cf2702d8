"""What a pandas frequency means for forecasting: its season length and its calendar features.

One table for both, so the season that seasonal naive and MASE use and the calendar features
`data.calendar: auto` picks cannot disagree about what, say, weekly data is.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Cadence:
    """The seasonal facts of a frequency.

    Attributes:
        season_length: steps per season (1: no natural season).
        calendar: the calendar features that vary within a season (`data.calendar: auto`).
    """

    season_length: int
    calendar: tuple[str, ...]


NO_SEASON = Cadence(1, ())

# Offsets whose season is a year, by the start of their class name: steps per year and the
# calendar feature that tells the steps of a year apart. A multiple step (`2W`, `2QS`) divides
# the steps per year.
YEARLY_SEASONS = {
    "SemiMonth": (24, ("month",)),
    "Month": (12, ("month",)),
    "BusinessMonth": (12, ("month",)),
    "Quarter": (4, ("quarter",)),
    "BQuarter": (4, ("quarter",)),
    "Week": (52, ("week",)),
}
DAILY_CALENDAR = ("day_of_week", "day_of_year")
SUB_DAILY_CALENDAR = ("hour", "day_of_week")


def cadence(frequency: str | None) -> Cadence:
    """The season length and calendar features of a pandas frequency alias; integer steps
    (`None`) have neither.

    Semi-monthly 24, monthly 12, quarterly 4, weekly 52 (a multiple step divides them), daily 7,
    business-daily 5, hourly 24, half-hourly 48, other sub-daily frequencies one day; yearly
    data has no season.

    Example:
        >>> cadence("MS")
        Cadence(season_length=12, calendar=('month',))
    """
    if frequency is None:
        return NO_SEASON
    offset = pd.tseries.frequencies.to_offset(frequency)
    name = type(offset).__name__
    prefix = next((key for key in YEARLY_SEASONS if name.startswith(key)), None)
    if prefix is not None:
        per_year, calendar = YEARLY_SEASONS[prefix]
        steps = per_year / offset.n
        return Cadence(int(steps) if steps.is_integer() and steps > 1 else 1, calendar)
    if name in ("BusinessDay", "CustomBusinessDay"):
        return Cadence(5, DAILY_CALENDAR)
    if name == "Day":  # a calendar day, no longer a fixed-length Tick in pandas 3
        return Cadence(7 if offset.n == 1 else 1, DAILY_CALENDAR)
    if isinstance(offset, pd.offsets.Tick):
        step, day = pd.Timedelta(offset), pd.Timedelta(days=1)
        if step == day:
            return Cadence(7, DAILY_CALENDAR)
        if step < day:
            per_day = int(day / step) if day % step == pd.Timedelta(0) else 1
            return Cadence(per_day, SUB_DAILY_CALENDAR)
    return NO_SEASON
