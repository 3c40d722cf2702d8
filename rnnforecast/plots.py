"""Matplotlib figures built without pyplot (no global state, no screen needed); callers decide
where to save them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from rnnforecast.errors import OutputError, quoted

MAX_PANELS = 6
PART_COLOURS = {"validation": "#fff3d6", "test": "#e3f0ff", "new": "#e6f5e6"}
BAND_ALPHA = (0.3, 0.15, 0.08)  # narrowest level first: wider bands are lighter
# Figure formats by file suffix; the suffix decides, so `x.svg` is an SVG.
FIGURE_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
# Longer series are drawn over their last this many points by default: an hourly year is a
# solid block at any figure width, while its last three weeks show each day.
DEFAULT_LAST_POINTS = 500
LOSS_STYLES = {"loss": ("training", "-"), "val_loss": ("validation", "--")}

Bands = dict[float, tuple[np.ndarray, np.ndarray]]
"""Per interval level in percent, the lower and upper bounds."""


@dataclass
class SeriesPanel:
    """What one series' panel shows.

    Attributes:
        fitted: model forecasts aligned with `time` (NaN where the model made none), built from
            consecutive non-overlapping horizon-long forecasts.
        parts: `(name, start position, end position)` spans to shade and mark.
        future: timestamps and values of the forecast after the end of the series.
        bands: interval bounds of `fitted`, aligned with `time`.
        future_bands: interval bounds of `future`.
    """

    title: str
    time: pd.Index
    actual: np.ndarray
    fitted: np.ndarray
    parts: list[tuple[str, int, int]] = field(default_factory=list)
    future: tuple[pd.Index, np.ndarray] | None = None
    bands: Bands = field(default_factory=dict)
    future_bands: Bands = field(default_factory=dict)


def forecast_figure(
    panels: list[SeriesPanel], target: str, total: int | None = None, last: int | None = None
) -> Figure:
    """Actual vs forecast per series (at most six), with validation and test parts shaded.

    Args:
        total: the number of series in the data, when `panels` holds only the first few.
        last: draw the last `last` points of each series (and the future); by default the
            whole series, or its last `DEFAULT_LAST_POINTS` when it is longer (said in the
            panel's title).
    """
    shown = [_last_points(panel, last) for panel in panels[:MAX_PANELS]]
    figure = Figure(figsize=(11, 3.2 * len(shown)), layout="constrained")
    axes = figure.subplots(len(shown), 1, squeeze=False)
    for axis, panel in zip(axes[:, 0], shown, strict=True):
        for name, start, end in panel.parts:
            if end > start:
                axis.axvspan(
                    panel.time[start],
                    panel.time[end - 1],
                    color=PART_COLOURS.get(name, "#eeeeee"),
                    label=f"{name} data" if name == "new" else f"{name} part",
                )
                if start > 0:  # else the part began before the drawn window
                    axis.axvline(panel.time[start], color="grey", linestyle=":", linewidth=1)
        axis.plot(panel.time, panel.actual, color="black", linewidth=1, label="actual")
        shade_bands(axis, panel.time, panel.bands, "tab:red", label=True)
        axis.plot(panel.time, panel.fitted, color="tab:red", linewidth=1.2, label="model")
        if panel.future is not None:
            shade_bands(axis, panel.future[0], panel.future_bands, "tab:red", label=False)
            axis.plot(*panel.future, color="tab:red", linestyle="--", label="forecast")
        axis.set_title(panel.title)
        axis.set_ylabel(target)
        axis.legend(loc="upper left", fontsize="small", ncol=5)
    total = max(total or 0, len(panels))
    if total > len(shown):
        figure.suptitle(f"first {len(shown)} of {total} series")
    return figure


def shade_bands(axis: Any, time: pd.Index, bands: Bands, colour: str, label: bool) -> None:
    """Shade each level's band, wider levels lighter, the level in the legend when `label`."""
    for index, level in enumerate(sorted(bands)):
        lower, upper = bands[level]
        axis.fill_between(
            time,
            lower,
            upper,
            color=colour,
            alpha=BAND_ALPHA[min(index, len(BAND_ALPHA) - 1)],
            linewidth=0,
            label=f"{level:g}% interval" if label else None,
        )


def _last_points(panel: SeriesPanel, last: int | None) -> SeriesPanel:
    """The panel cut to its last `last` points (the default window for a long series)."""
    length = len(panel.time)
    window = last if last is not None else DEFAULT_LAST_POINTS
    if window >= length:
        return panel
    start = length - window
    return replace(
        panel,
        title=f"{panel.title} (last {window} of {length} points)",
        time=panel.time[start:],
        actual=panel.actual[start:],
        fitted=panel.fitted[start:],
        parts=[
            (name, max(begin, start) - start, end - start)
            for name, begin, end in panel.parts
            if end > start
        ],
        bands={
            level: (lower[start:], upper[start:]) for level, (lower, upper) in panel.bands.items()
        },
    )


@dataclass
class FoldPath:
    """One fold of one series: the timestamps forecast, the model's forecast with its interval
    bounds, and the seasonal naive forecast."""

    time: pd.Index
    forecast: np.ndarray
    seasonal: np.ndarray
    bands: Bands = field(default_factory=dict)


@dataclass
class BacktestPanel:
    """One series of a backtest: the actual values and each fold's forecasts."""

    title: str
    time: pd.Index
    actual: np.ndarray
    folds: list[FoldPath]


def backtest_figure(panels: list[BacktestPanel]) -> Figure:
    """Actual values with each fold's forecast (alternating colours) and seasonal naive."""
    shown = panels[:MAX_PANELS]
    figure = Figure(figsize=(11, 3.2 * len(shown)), layout="constrained")
    axes = figure.subplots(len(shown), 1, squeeze=False)
    colours = ("tab:red", "tab:blue")
    for axis, panel in zip(axes[:, 0], shown, strict=True):
        axis.plot(panel.time, panel.actual, color="black", linewidth=1, label="actual")
        for fold, path in enumerate(panel.folds):
            first = fold == 0
            shade_bands(axis, path.time, path.bands, colours[fold % 2], label=first)
            axis.plot(
                path.time,
                path.forecast,
                color=colours[fold % 2],
                linewidth=1.4,
                label="model, per fold" if first else None,
            )
            axis.plot(
                path.time,
                path.seasonal,
                color="grey",
                linestyle=":",
                linewidth=1,
                label="seasonal naive" if first else None,
            )
            axis.axvline(path.time[0], color="grey", linestyle=":", linewidth=0.8)
        axis.set_title(panel.title)
        axis.legend(loc="upper left", fontsize="small", ncol=3)
    return figure


def loss_figure(history: pd.DataFrame) -> Figure:
    """Training and validation loss per epoch: one panel per phase (the holdout fit, then the
    refit), one colour per ensemble member, training solid and validation dashed; log scale
    when every loss is positive. The legend sits outside the panels, so it hides no curve."""
    # An untrained run has no rows: one empty panel that says so.
    phases = list(dict.fromkeys(history["phase"])) if "phase" in history else []
    members = list(dict.fromkeys(history["member"])) if "member" in history else []
    phases, members = phases or [None], members or [None]
    colours = _member_colours(len(members))
    figure = Figure(figsize=(4.5 + 3.5 * len(phases), 4), layout="constrained")
    axes = figure.subplots(1, len(phases), sharey=True, squeeze=False)[0]
    for axis, phase in zip(axes, phases, strict=True):
        rows = history if phase is None else history[history["phase"] == phase]
        for member, colour in zip(members, colours, strict=True):
            group = rows if member is None else rows[rows["member"] == member]
            epochs = group["epoch"] if "epoch" in group else np.arange(1, len(group) + 1)
            for column, (label, style) in LOSS_STYLES.items():
                if column in group and group[column].notna().any():
                    name = label if member is None else f"member {member}: {label}"
                    axis.plot(epochs, group[column], color=colour, linestyle=style, label=name)
        axis.set_xlabel("epoch")
        if phase is not None:
            axis.set_title(str(phase))
    axes[0].set_ylabel("loss (scaled units)")
    if not any(axis.get_lines() for axis in axes):
        axes[0].text(
            0.5,
            0.5,
            "no epochs: the model is its untrained baseline",
            ha="center",
            transform=axes[0].transAxes,
        )
        return figure
    losses = history[[column for column in LOSS_STYLES if column in history]]
    values = losses.to_numpy(dtype=np.float64)
    # A perfect fit reaches 0, which a log scale cannot show.
    if (values[~np.isnan(values)] > 0).all():
        axes[0].set_yscale("log")
    # One entry per member (its colour) and per kind of loss (its line style), not per line.
    handles = [
        Line2D([], [], color=colour, label=f"member {member}")
        for member, colour in zip(members, colours, strict=True)
        if member is not None
    ]
    shown = [
        column for column in LOSS_STYLES if column in history and history[column].notna().any()
    ]
    handles += [
        Line2D(
            [], [], color="black", linestyle=LOSS_STYLES[column][1], label=LOSS_STYLES[column][0]
        )
        for column in shown
    ]
    figure.legend(handles=handles, loc="outside right upper", fontsize="small")
    return figure


def _member_colours(count: int) -> list[tuple[float, ...]]:
    """A distinct colour per member: a qualitative colormap while it has enough colours."""
    name = "tab10" if count <= 10 else "tab20" if count <= 20 else "viridis"
    colormap = colormaps[name]
    if name == "viridis":
        return [colormap(index / max(count - 1, 1)) for index in range(count)]
    return [colormap(index) for index in range(count)]


def figure_format(path: Path | str) -> str:
    """The figure format a file name asks for by its suffix: png, svg or pdf.

    Raises `OutputError` for another suffix, naming the supported ones.

    Example:
        >>> figure_format("a10.svg")
        'svg'
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FIGURE_FORMATS:
        found = f"the suffix {quoted(suffix)}" if suffix else "no suffix"
        raise OutputError(
            f"{path}: cannot tell the figure format from {found}; expected one of "
            f"{', '.join(FIGURE_FORMATS)}. Give the output file one of those suffixes. "
            f"Received: suffix={quoted(suffix)}."
        )
    return FIGURE_FORMATS[suffix]


def save_figure(figure: Figure, path: Path | str | BinaryIO, format: str | None = None) -> None:
    """Save in `format` (png, svg or pdf), to a file name or a binary stream (stdout); by
    default the format `path`'s suffix asks for. Pass it when `path` is a temporary name for
    the real output file, or a stream."""
    if format is None:
        format = figure_format(path) if isinstance(path, str | Path) else "png"
    figure.savefig(path, dpi=110, format=format)
