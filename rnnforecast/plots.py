"""Matplotlib figures built without pyplot (no global state, no screen needed); callers decide
where to save them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

MAX_PANELS = 6
PART_COLOURS = {"validation": "#fff3d6", "test": "#e3f0ff", "new": "#e6f5e6"}
BAND_ALPHA = (0.3, 0.15, 0.08)  # narrowest level first: wider bands are lighter

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


def forecast_figure(panels: list[SeriesPanel], target: str, total: int | None = None) -> Figure:
    """Actual vs forecast per series (at most six), with validation and test parts shaded.

    `total` is the number of series in the data, when `panels` holds only the first few.
    """
    shown = panels[:MAX_PANELS]
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
    """Training (and validation) loss per epoch, per ensemble member and phase (the holdout
    fit, then the refit), log scale when every loss is positive."""
    figure = Figure(figsize=(7, 4), layout="constrained")
    axis = figure.subplots()
    keys = [key for key in ("phase", "member") if key in history]
    groups = history.groupby(keys, sort=False) if keys else [((), history)]
    for name, group in groups:
        prefix = " ".join(str(part) for part in np.atleast_1d(name))
        prefix = f"{prefix}: " if prefix and len(groups) > 1 else ""
        epochs = group["epoch"] if "epoch" in group else np.arange(1, len(group) + 1)
        for column, label in (("loss", "training"), ("val_loss", "validation")):
            if column in group and group[column].notna().any():
                axis.plot(epochs, group[column], label=f"{prefix}{label}")
    axis.set_xlabel("epoch")
    axis.set_ylabel("loss (scaled units)")
    if not axis.get_lines():
        axis.text(
            0.5,
            0.5,
            "no epochs: the model is its untrained baseline",
            ha="center",
            transform=axis.transAxes,
        )
        return figure
    losses = history[[column for column in ("loss", "val_loss") if column in history]]
    values = losses.to_numpy(dtype=np.float64)
    # A perfect fit reaches 0, which a log scale cannot show.
    if (values[~np.isnan(values)] > 0).all():
        axis.set_yscale("log")
    axis.legend(fontsize="small", ncol=2)
    return figure


def save_figure(figure: Figure, path: Path | str) -> None:
    """Save as PNG."""
    figure.savefig(path, dpi=110, format="png")
