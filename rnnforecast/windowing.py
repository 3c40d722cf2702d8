"""(lookback, horizon) windows cut from series with strided views, never a loop over rows."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@dataclass(frozen=True)
class Windows:
    """Windows of one or more series, stacked.

    Attributes:
        inputs: `(windows, lookback, features)` model inputs.
        targets: `(windows, horizon)` the target values that follow each input.
        series: `(windows,)` index of the series each window comes from.
        origins: `(windows,)` position in its series of each window's first target step.
        future: `(windows, horizon, known)` the columns known in advance (future covariates,
            calendar features) over each window's horizon; `known` may be 0.
    """

    inputs: np.ndarray
    targets: np.ndarray
    series: np.ndarray
    origins: np.ndarray
    future: np.ndarray

    def __len__(self) -> int:
        return len(self.origins)


def window_origins(
    length: int, lookback: int, horizon: int, start: int, end: int, stride: int = 1
) -> np.ndarray:
    """Positions `o` of first target steps with inputs `[o - lookback, o)` inside the series and
    targets `[o, o + horizon)` inside `[start, end)`, every `stride` steps, latest aligned to end.

    Example:
        >>> window_origins(10, lookback=3, horizon=2, start=0, end=10).tolist()
        [3, 4, 5, 6, 7, 8]
    """
    first = max(start, lookback)
    last = min(end, length) - horizon
    if last < first:
        return np.empty(0, dtype=np.int64)
    return np.arange(last, first - 1, -stride, dtype=np.int64)[::-1]


def fully_observed(origins: np.ndarray, observed: np.ndarray, horizon: int) -> np.ndarray:
    """`(len(origins),)` bool: whether the `horizon` targets from each origin were all observed
    (`observed` is the series' `(length,)` mask).

    Example:
        >>> mask = np.array([True, True, False, True, True])
        >>> fully_observed(np.array([0, 1, 3]), mask, 2).tolist()
        [True, False, True]
    """
    # Filled points before each position: the targets are all observed when the count is the
    # same at the first target and after the last.
    filled = np.concatenate([[0], np.cumsum(~observed)])
    return filled[origins + horizon] == filled[origins]


def observed_windows(windows: Windows, observed: list[np.ndarray]) -> Windows:
    """The windows whose targets were all observed: a window with a target `data.missing`
    filled would teach the model the filling (a straight line, a repeated or a zero value)
    as if it had happened. `observed[i]` is series i's `(length,)` mask (`Series.observed`);
    its inputs may hold filled values, as a forecast's history may.

    Example:
        >>> windows = stack_windows([np.arange(6.0).reshape(-1, 1)], [(0, 6)], 2, 2)
        >>> mask = np.array([True, True, True, False, True, True])
        >>> observed_windows(windows, [mask]).origins.tolist()
        [4]
    """
    horizon = windows.targets.shape[1]
    keep = np.ones(len(windows), dtype=bool)
    for index, mask in enumerate(observed):
        mine = windows.series == index
        keep[mine] = fully_observed(windows.origins[mine], mask, horizon)
    if keep.all():
        return windows
    return Windows(
        inputs=windows.inputs[keep],
        targets=windows.targets[keep],
        series=windows.series[keep],
        origins=windows.origins[keep],
        future=windows.future[keep],
    )


def cut_windows(
    values: np.ndarray,
    origins: np.ndarray,
    lookback: int,
    horizon: int,
    known: tuple[int, ...] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs `(len(origins), lookback, features)`, targets `(len(origins), horizon)` and the
    `known` columns over the horizon `(len(origins), horizon, len(known))`.

    `values` is `(length, features)` with the target in column 0.

    Example:
        >>> x, y, _ = cut_windows(np.arange(6.0).reshape(-1, 1), np.array([2, 3]), 2, 2)
        >>> x[:, :, 0].tolist(), y.tolist()
        ([[0.0, 1.0], [1.0, 2.0]], [[2.0, 3.0], [3.0, 4.0]])
    """
    features = values.shape[1]
    if len(origins) == 0:
        return (
            np.empty((0, lookback, features), dtype=values.dtype),
            np.empty((0, horizon), dtype=values.dtype),
            np.empty((0, horizon, len(known)), dtype=values.dtype),
        )
    # view[i] covers rows i .. i + lookback + horizon - 1, shape (features, lookback + horizon)
    view = sliding_window_view(values, lookback + horizon, axis=0)
    chosen = view[origins - lookback]
    inputs = np.ascontiguousarray(chosen[:, :, :lookback].transpose(0, 2, 1))
    targets = np.ascontiguousarray(chosen[:, 0, lookback:])
    future = np.ascontiguousarray(chosen[:, list(known), lookback:].transpose(0, 2, 1))
    return inputs, targets, future


def stack_windows(
    series_values: list[np.ndarray],
    bounds: list[tuple[int, int]],
    lookback: int,
    horizon: int,
    stride: int = 1,
    known: tuple[int, ...] = (),
) -> Windows:
    """Windows of many series whose targets lie in each series' `[start, end)` bounds."""
    positions = [
        window_origins(len(values), lookback, horizon, start, end, stride)
        for values, (start, end) in zip(series_values, bounds, strict=True)
    ]
    return windows_at(series_values, positions, lookback, horizon, known)


def windows_at(
    series_values: list[np.ndarray],
    origins: list[np.ndarray],
    lookback: int,
    horizon: int,
    known: tuple[int, ...] = (),
) -> Windows:
    """Windows of many series at given origins (each needs `lookback` rows before it and
    `horizon` rows from it on)."""
    inputs, targets, future, series = [], [], [], []
    for index, (values, positions) in enumerate(zip(series_values, origins, strict=True)):
        x, y, f = cut_windows(values, positions, lookback, horizon, known)
        inputs.append(x)
        targets.append(y)
        future.append(f)
        series.append(np.full(len(positions), index, dtype=np.int64))
    return Windows(
        inputs=np.concatenate(inputs),
        targets=np.concatenate(targets),
        series=np.concatenate(series),
        origins=np.concatenate([np.asarray(p, dtype=np.int64) for p in origins]),
        future=np.concatenate(future),
    )


@dataclass(frozen=True)
class WindowIndex:
    """Windows of many series kept as positions, cut only when a batch needs them.

    Training never holds a `(windows, lookback, features)` array: the series lie end to end in
    one `values` array, and a window is the row where it starts. A batch gathers its rows
    (`gather` here, `fitting.window_pipeline` inside `tf.data` while training), so memory grows
    with the data, not with the data times the lookback.

    Attributes:
        values: `(rows, features)`, every series one after the other.
        firsts: `(series,)` the row where each series starts in `values`.
        starts: `(windows,)` the row in `values` of each window's first input step; its targets
            start `lookback` rows later.
        series: `(windows,)` the series each window comes from.
        lookback, horizon: steps of the input and of the targets.
        known: columns of `values` known over the horizon (the `future` input).
    """

    values: np.ndarray
    firsts: np.ndarray
    starts: np.ndarray
    series: np.ndarray
    lookback: int
    horizon: int
    known: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def origins(self) -> np.ndarray:
        """`(windows,)` position in its series of each window's first target step."""
        return self.starts + self.lookback - self.firsts[self.series]

    def gather(self, positions: np.ndarray) -> Windows:
        """The windows at `positions` (indices into `starts`): the arrays `stack_windows`
        gives for the same windows.

        Example:
            >>> index = window_index([np.arange(6.0).reshape(-1, 1)], [(0, 6)], 2, 2)
            >>> index.gather(np.array([1])).inputs[:, :, 0].tolist()
            [[1.0, 2.0]]
        """
        starts = self.starts[positions]
        rows = self.values[starts[:, None] + np.arange(self.lookback + self.horizon)]
        series = self.series[positions]
        return Windows(
            inputs=rows[:, : self.lookback],
            targets=rows[:, self.lookback :, 0],
            series=series,
            origins=starts + self.lookback - self.firsts[series],
            future=rows[:, self.lookback :][:, :, list(self.known)],
        )

    def observed(self, observed: list[np.ndarray]) -> WindowIndex:
        """The windows whose targets were all observed (see `observed_windows`)."""
        keep = np.ones(len(self), dtype=bool)
        origins = self.origins
        for index, mask in enumerate(observed):
            mine = self.series == index
            keep[mine] = fully_observed(origins[mine], mask, self.horizon)
        if keep.all():
            return self
        return replace(self, starts=self.starts[keep], series=self.series[keep])


def window_index(
    series_values: list[np.ndarray],
    bounds: list[tuple[int, int]],
    lookback: int,
    horizon: int,
    stride: int = 1,
    known: tuple[int, ...] = (),
    values: np.ndarray | None = None,
) -> WindowIndex:
    """The windows `stack_windows` would cut (targets inside each series' `[start, end)`,
    every `stride` steps, in the same order), as positions into the series laid end to end.

    Args:
        values: the series already laid end to end (`np.concatenate(series_values)`), to
            share one copy between several indexes of the same series.
    """
    lengths = np.array([len(item) for item in series_values], dtype=np.int64)
    firsts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    if values is None:
        values = np.concatenate(series_values)
    starts, series = [], []
    for index, (length, first, (start, end)) in enumerate(
        zip(lengths, firsts, bounds, strict=True)
    ):
        origins = window_origins(int(length), lookback, horizon, start, end, stride)
        starts.append(first + origins - lookback)
        series.append(np.full(len(origins), index, dtype=np.int64))
    return WindowIndex(
        values=values,
        firsts=firsts,
        starts=np.concatenate(starts) if starts else np.empty(0, dtype=np.int64),
        series=np.concatenate(series) if series else np.empty(0, dtype=np.int64),
        lookback=lookback,
        horizon=horizon,
        known=tuple(known),
    )
