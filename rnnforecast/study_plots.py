"""Figures of a search (`tune`): the score of each trial, and how much each searched key
mattered. Built without pyplot, like `plots`; callers decide where to save them."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def trials_figure(trials: pd.DataFrame, metric: str) -> Figure:
    """The score of every complete trial by trial number, the best so far as a step line,
    the defaults (trial 0) as a dashed line, and pruned and failed trials marked below."""
    figure = Figure(figsize=(8, 4), layout="constrained")
    axis = figure.subplots()
    complete = trials[trials["state"] == "complete"].sort_values("number")
    searched = complete[~complete["defaults"]]
    axis.plot(searched["number"], searched[metric], "o", color="tab:blue", label="trial")
    defaults = complete[complete["defaults"]]
    if len(defaults):
        score = float(defaults[metric].iloc[0])
        axis.axhline(score, color="grey", linestyle="--", linewidth=1, label="defaults")
        axis.plot(defaults["number"], defaults[metric], "s", color="grey")
    if len(complete):
        best = np.minimum.accumulate(complete[metric].to_numpy(dtype=np.float64))
        axis.step(complete["number"], best, where="post", color="tab:red", label="best so far")
    others = trials[trials["state"].isin(["pruned", "failed"])]
    if len(others) and len(complete):
        floor = float(complete[metric].min())
        for state, marker in (("pruned", "x"), ("failed", "v")):
            numbers = others.loc[others["state"] == state, "number"]
            if len(numbers):
                axis.plot(numbers, np.full(len(numbers), floor), marker, color="black", label=state)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel("trial")
    axis.set_ylabel(f"backtest {metric.upper()} (lower is better)")
    axis.legend(fontsize="small")
    return figure


def importance_figure(importance: dict[str, float], trials: int) -> Figure:
    """Horizontal bars: the share of the score's variance each key explains on its own
    (`trials`: the complete trials of the search, for the note when there are too few)."""
    figure = Figure(figsize=(7, 0.5 * max(len(importance), 3) + 1), layout="constrained")
    axis = figure.subplots()
    if not importance:
        axis.text(
            0.5,
            0.5,
            f"too few complete trials ({trials}) to tell which key matters",
            ha="center",
            transform=axis.transAxes,
        )
        axis.set_axis_off()
        return figure
    keys = list(importance)[::-1]
    axis.barh(keys, [importance[key] for key in keys], color="tab:blue")
    axis.set_xlim(0, 1)
    axis.set_xlabel("share of the score's variance explained by the key alone")
    return figure
