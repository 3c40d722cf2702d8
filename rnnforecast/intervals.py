"""Prediction intervals by split conformal prediction, and the quantiles a network can forecast.

A forecaster's calibration holds, per horizon step, the absolute errors of forecasts it made
from origins it never trained on, each divided by its series' scale, so one global model gives
each series bands of its own size. The bound at level L is the error of finite-sample rank
`ceil((n + 1) L / 100)` among the `n` errors of that step: with exchangeable errors, a new
error falls below it with probability at least L %. Errors and bounds live in the space the
network forecasts in (scaled, and logged under `transform.log`), so bounds mapped back to
original units are asymmetric around the forecast under the log.

With `intervals.method: quantile` the network forecasts each level's quantiles itself
(`layers.QuantileBands`). Conformalized, each level then has a calibration of signed scores:
how far each actual fell outside that level's band (negative inside), and the band is moved
out (or in) by the score of the same finite-sample rank.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

MAX_KEPT_ERRORS = 1000
"""Order statistics kept per step: a run of a global model on thousands of series stores a
sketch of its error distribution, not every error."""


@dataclass(frozen=True)
class Calibration:
    """Out-of-sample absolute errors per horizon step, relative to each series' scale.

    Attributes:
        errors: `(steps, kept)` each step's sorted errors, or `kept` evenly spaced order
            statistics of them when there were more than `MAX_KEPT_ERRORS`.
        count: `(steps,)` how many errors each step had.
        rms: `(steps,)` the root mean square of each step's errors, for levels beyond what
            the count supports (see `bound`).
        signed: the errors are signed scores (a quantile band's conformity), not absolute.
    """

    errors: np.ndarray
    count: np.ndarray
    rms: np.ndarray
    signed: bool = False

    @classmethod
    def from_errors(cls, errors: np.ndarray, signed: bool = False) -> Calibration:
        """The calibration of `(windows, steps)` scaled errors (NaN: no error there), taken
        as absolute values unless `signed`."""
        columns, counts, rms = [], [], []
        for step in np.asarray(errors, dtype=np.float64).T:
            values = step[np.isfinite(step)]
            values = np.sort(values if signed else np.abs(values))
            counts.append(len(values))
            rms.append(float(np.sqrt(np.mean(values**2))) if len(values) else math.nan)
            if len(values) > MAX_KEPT_ERRORS:
                ranks = np.round(np.linspace(0, len(values) - 1, MAX_KEPT_ERRORS)).astype(int)
                values = values[ranks]
            columns.append(values)
        width = max((len(column) for column in columns), default=0)
        table = np.full((len(columns), width), np.nan)
        for index, column in enumerate(columns):
            table[index, : len(column)] = column
        return cls(table, np.array(counts, dtype=np.int64), np.array(rms), signed)

    @property
    def steps(self) -> int:
        return len(self.count)

    def bound(self, level: float) -> tuple[np.ndarray, bool]:
        """`(steps,)` the scaled error bound of each step at `level` percent, and whether some
        step had too few errors for it.

        With `n` errors the finite-sample bound is the error of rank `ceil((n + 1) L / 100)`.
        When that rank exceeds `n` (fewer than `100 / (100 - L) - 1` errors: 19 for 95 %) the
        exact bound is infinite; the bound is then widened to the larger of the largest error
        and the normal quantile of the errors' root mean square, never below a lower level's.
        Signed scores take the largest score instead (which, with `n` exchangeable scores,
        covers at least `n / (n + 1)`: 94 % from 17), even when it narrows the band: a band
        the network left too wide is not kept too wide for lack of scores.
        """
        bounds = np.empty(self.steps)
        short = False
        z = NormalDist().inv_cdf(0.5 + level / 200)
        for step in range(self.steps):
            count = int(self.count[step])
            kept = self.errors[step][np.isfinite(self.errors[step])]
            if count == 0:
                bounds[step] = math.nan
                continue
            rank = math.ceil((count + 1) * level / 100)
            if rank <= count:
                bounds[step] = _order_statistic(kept, count, rank)
            else:
                short = True
                widest = -math.inf if self.signed else z * float(self.rms[step])
                bounds[step] = max(float(kept[-1]), widest)
        return bounds, short

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count.tolist(),
            "rms": self.rms.tolist(),
            "errors": [row[np.isfinite(row)].tolist() for row in self.errors],
            "signed": self.signed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """Rebuild from `to_dict`'s output; raises `ValueError` or `TypeError` when malformed."""
        rows = [np.asarray(row, dtype=np.float64) for row in data["errors"]]
        count = np.asarray(data["count"], dtype=np.int64)
        rms = np.asarray(data["rms"], dtype=np.float64)
        signed = data.get("signed", False)  # runs of earlier versions record none: absolute
        if not isinstance(signed, bool):
            raise ValueError("`signed` must be true or false")
        if not (len(rows) == len(count) == len(rms)):
            raise ValueError("`errors`, `count` and `rms` differ in length")
        if not np.isfinite(rms).all() or (rms < 0).any() or (count < 0).any():
            raise ValueError("`rms` must be finite and non-negative, `count` non-negative")
        for row, total in zip(rows, count, strict=True):
            if len(row) > total or (len(row) and (np.diff(row) < 0).any()):
                raise ValueError("errors must be sorted and no more than their count")
            if not np.isfinite(row).all() or (not signed and (row < 0).any()):
                raise ValueError("errors must be finite, and non-negative unless signed")
        width = max((len(row) for row in rows), default=0)
        table = np.full((len(rows), width), np.nan)
        for index, row in enumerate(rows):
            table[index, : len(row)] = row
        return cls(table, count, rms, signed)


def _order_statistic(kept: np.ndarray, count: int, rank: int) -> float:
    """The error of 1-based `rank` among `count` errors, of which `kept` are evenly spaced
    order statistics (all of them when `len(kept) == count`)."""
    if len(kept) == count:
        return float(kept[rank - 1])
    positions = np.linspace(0, count - 1, len(kept))
    return float(np.interp(rank - 1, positions, kept))


def too_few_note(
    calibration: Calibration | dict[float, Calibration], levels: list[float]
) -> str | None:
    """A note naming the levels whose bounds were widened for lack of errors, or None;
    `calibration` is every level's, or each level's own (conformalized quantiles)."""
    each = calibration if isinstance(calibration, dict) else dict.fromkeys(levels, calibration)
    short = [level for level in levels if each[level].bound(level)[1]]
    if not short:
        return None
    fewest = min(int(each[level].count.min()) for level in short)
    listed = ", ".join(f"{level:g} %" for level in short)
    widened = (
        "the largest score (covering at least n / (n + 1) of new actuals)"
        if each[short[0]].signed
        else "the largest error or a normal fit to the errors, whichever is wider"
    )
    return (
        f"only {fewest} calibration error(s) per horizon step, too few for an exact {listed} "
        f"bound; those bounds are widened to {widened}"
    )


def quantile_probabilities(levels: tuple[float, ...]) -> list[float]:
    """The probabilities of the quantiles a network forecasts for `levels` (ascending): the
    lower ones from the narrowest level to the widest, then the upper ones likewise.

    Example:
        >>> quantile_probabilities((80.0, 95.0))
        [0.1, 0.025, 0.9, 0.975]
    """
    lower = [round((100 - level) / 200, 10) for level in levels]
    return lower + [round(1 - tau, 10) for tau in lower]


def initial_widths(spread: np.ndarray, levels: tuple[float, ...]) -> list[list[list[float]]]:
    """`(2, levels, horizon)` where a network's quantiles start, as distances from the next
    narrower band (from the forecast for the first): a normal distribution's with the standard
    deviation `spread` `(horizon,)` of each step, on both sides."""
    quantiles = [NormalDist().inv_cdf(0.5 + level / 200) for level in levels]
    steps = np.diff([0.0, *quantiles])
    side = (steps[:, None] * np.asarray(spread, dtype=np.float64)[None, :]).tolist()
    return [side, side]


def naive_spread(targets: list[np.ndarray], horizon: int) -> np.ndarray:
    """`(horizon,)` the root mean square change of the series in `targets` over 1 to `horizon`
    steps (NaN left out): the naive forecast's error, a first guess of the spread at each step
    of the horizon (1 where no series is long enough)."""
    spread = np.ones(horizon)
    for step in range(1, horizon + 1):
        changes = [target[step:] - target[:-step] for target in targets if len(target) > step]
        values = np.concatenate(changes) if changes else np.empty(0)
        values = values[np.isfinite(values)]
        if len(values) and np.any(values):
            spread[step - 1] = float(np.sqrt(np.mean(values**2)))
    return spread
