"""The forecast result: what the forecaster hands to metrics, files and plots.

A `Forecast` holds windows of forecasts from many origins of many series, each `steps` long, in
original units, with the series and timestamps they belong to, every ensemble member's forecast,
and room for interval bounds by level. Test forecasts, backtests, `predict` and the figures all
pass one along, so a new field (intervals) reaches every output through one type.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast.data import STEP_COLUMN, Dataset

FORECAST_COLUMN = "forecast"


@dataclass(frozen=True)
class Forecast:
    """Forecasts of many windows, each `steps` long, in original units.

    Attributes:
        series: `(windows,)` index of each window's series in the dataset it was made from.
        ids: `(windows,)` object array: the id of each window's series (None: a single series).
        origins: `(windows,)` position in its series of each window's first forecast step.
        origin_times: `(windows,)` the timestamp (or step) of the last value each forecast read.
        times: `(windows, steps)` the timestamps (or steps) forecast.
        point: `(windows, steps)` the point forecast: the median of the members.
        members: `(members, windows, steps)` each ensemble member's forecast.
        intervals: per level in percent, the lower and upper bounds, each `(windows, steps)`.
    """

    series: np.ndarray
    ids: np.ndarray
    origins: np.ndarray
    origin_times: np.ndarray
    times: np.ndarray
    point: np.ndarray
    members: np.ndarray | None = None
    intervals: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @classmethod
    def at(
        cls,
        dataset: Dataset,
        origins: list[np.ndarray],
        point: np.ndarray,
        members: np.ndarray | None = None,
    ) -> Forecast:
        """The forecast `point` `(windows, steps)` made from each series' `origins` (stacked
        series by series), with its series, ids and timestamps read from `dataset`, which must
        hold the forecast steps (see `forecaster.extend_series` for steps past the end)."""
        steps = point.shape[1]
        series, ids, times, origin_times = [], [], [], []
        for index, (item, positions) in enumerate(zip(dataset.series, origins, strict=True)):
            series.append(np.full(len(positions), index, dtype=np.int64))
            ids.extend([item.id] * len(positions))
            span = positions[:, None] + np.arange(steps)[None, :]
            times.append(np.asarray(item.time[span.ravel()]).reshape(len(positions), steps))
            origin_times.append(np.asarray(item.time[positions - 1]))
        return cls(
            series=np.concatenate(series),
            ids=np.array(ids, dtype=object),
            origins=np.concatenate([np.asarray(p, dtype=np.int64) for p in origins]),
            origin_times=np.concatenate(origin_times),
            times=np.concatenate(times),
            point=point,
            members=members,
        )

    @property
    def steps(self) -> int:
        """Steps forecast from each origin."""
        return self.point.shape[1]

    def __len__(self) -> int:
        return len(self.origins)

    def with_point(self, point: np.ndarray) -> Forecast:
        """Another forecast of the same windows (a baseline's), without members or bounds."""
        return replace(self, point=point, members=None, intervals={})

    def head(self, steps: int) -> Forecast:
        """The first `steps` steps of every window."""
        return replace(
            self,
            times=self.times[:, :steps],
            point=self.point[:, :steps],
            members=None if self.members is None else self.members[:, :, :steps],
            intervals={
                level: (lower[:, :steps], upper[:, :steps])
                for level, (lower, upper) in self.intervals.items()
            },
        )

    @staticmethod
    def concat(parts: list[Forecast]) -> Forecast:
        """The windows of several forecasts of the same dataset and steps, in order."""

        def joined(name: str) -> Any:
            return np.concatenate([getattr(part, name) for part in parts])

        members = None
        if all(part.members is not None for part in parts):
            members = np.concatenate([part.members for part in parts], axis=1)
        return Forecast(
            series=joined("series"),
            ids=joined("ids"),
            origins=joined("origins"),
            origin_times=joined("origin_times"),
            times=joined("times"),
            point=joined("point"),
            members=members,
            intervals={
                level: (
                    np.concatenate([part.intervals[level][0] for part in parts]),
                    np.concatenate([part.intervals[level][1] for part in parts]),
                )
                for level in parts[0].intervals
            },
        )

    def frame(self, dataset: Dataset, origin: bool = True) -> pd.DataFrame:
        """One row per window and step: `[<id_column>,] [origin,] <time_column>,
        horizon_step, forecast`, then `lower_<L>, upper_<L>` per level; timestamps in the
        input's zone or offset (`Dataset.output_time`), ids as the input wrote them."""
        steps = self.steps
        columns: dict[str, Any] = {}
        if dataset.id_column is not None:
            columns[dataset.id_column] = np.repeat(self.ids, steps)
        if origin:
            columns["origin"] = dataset.output_time(pd.Index(np.repeat(self.origin_times, steps)))
        columns[dataset.time_column or STEP_COLUMN] = dataset.output_time(
            pd.Index(self.times.ravel())
        )
        if origin:
            columns["horizon_step"] = np.tile(np.arange(1, steps + 1), len(self))
        columns[FORECAST_COLUMN] = self.point.ravel()
        for level in sorted(self.intervals):
            lower, upper = self.intervals[level]
            columns[f"lower_{level:g}"] = lower.ravel()
            columns[f"upper_{level:g}"] = upper.ravel()
        return pd.DataFrame(columns)
