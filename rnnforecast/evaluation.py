"""Scoring a forecaster's windows next to the naive baselines.

Used by training (the test part), by `evaluate` on new data and by backtests, so all report the
same figures the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast.baselines import BASELINES, baseline_bounds, baseline_forecasts
from rnnforecast.data import Dataset
from rnnforecast.forecast import FORECAST_COLUMN, Forecast
from rnnforecast.forecaster import Forecaster
from rnnforecast.metrics import compare, interval_scores, mase_scale
from rnnforecast.windowing import window_origins

MODEL = "model"


@dataclass(frozen=True)
class Scored:
    """Forecasts of the model and the baselines next to what happened, window by window.

    Attributes:
        forecasts: `"model"` and each baseline, the same windows each.
        actual: `(windows, steps)` what happened; NaN where nothing was observed (a value
            `data.missing` filled), which no figure scores.
        scale: `(windows,)` the MASE scale of each window's series.
    """

    forecasts: dict[str, Forecast]
    actual: np.ndarray
    scale: np.ndarray

    @property
    def model(self) -> Forecast:
        """The model's forecast."""
        return self.forecasts[MODEL]

    def metrics(self, season_length: int) -> dict[str, Any]:
        """`metrics.compare` plus `windows`, `horizon`, `season_length` and `filled_points`
        (points of these windows that `data.missing` filled, left out of every figure), and
        with interval bounds `intervals`: per level, the coverage, scaled width and MSIS of the
        model and of each baseline (see `metrics.interval_scores`)."""
        if len(self.actual) == 0:
            return {"windows": 0}
        metrics = {
            "windows": len(self.actual),
            "horizon": self.model.steps,
            "season_length": season_length,
            "filled_points": int(np.isnan(self.actual).sum()),
            **compare(
                self.actual,
                {name: forecast.point for name, forecast in self.forecasts.items()},
                self.scale,
            ),
        }
        if self.model.intervals:
            metrics["intervals"] = {
                f"{level:g}": {
                    name: interval_scores(
                        self.actual, *forecast.intervals[level], level, self.scale
                    )
                    for name, forecast in self.forecasts.items()
                    if level in forecast.intervals
                }
                for level in sorted(self.model.intervals)
            }
        return metrics

    def pairs(self, dataset: Dataset) -> pd.DataFrame:
        """One row per window and step: `[<id_column>,] origin, <time_column>, horizon_step,
        actual, forecast[, lower_<L>, upper_<L> ...]` and each baseline's forecast."""
        frame = self.model.frame(dataset)
        frame.insert(frame.columns.get_loc(FORECAST_COLUMN), "actual", self.actual.ravel())
        for name in BASELINES:
            frame[name] = self.forecasts[name].point.ravel()
        return frame

    @staticmethod
    def concat(parts: list[Scored]) -> Scored:
        """Several scored sets as one (e.g. the folds of a backtest)."""
        return Scored(
            {
                name: Forecast.concat([part.forecasts[name] for part in parts])
                for name in parts[0].forecasts
            },
            np.concatenate([part.actual for part in parts]),
            np.concatenate([part.scale for part in parts]),
        )


def part_origins(
    dataset: Dataset, bounds: list[tuple[int, int]], lookback: int, horizon: int
) -> list[np.ndarray]:
    """Per series, the origins of every window whose targets lie in its `[start, end)` bounds
    (and whose inputs lie in the series)."""
    return [
        window_origins(len(series), lookback, horizon, start, end)
        for series, (start, end) in zip(dataset.series, bounds, strict=True)
    ]


def score_part(
    forecaster: Forecaster,
    dataset: Dataset,
    bounds: list[tuple[int, int]],
    history_ends: list[int],
    levels: tuple[float, ...] = (),
) -> Scored:
    """Score every window whose targets lie in each series' `bounds`, model and baselines alike.

    Args:
        bounds: per series, `[start, end)` of the scored part.
        history_ends: per series, the end of the part whose seasonal naive MAE scales MASE
            (the training part during training; everything before the scored part later),
            and whose errors give the baselines' interval bounds.
        levels: interval levels in percent to score, when the forecaster is calibrated.
    """
    origins = part_origins(dataset, bounds, forecaster.lookback, forecaster.horizon)
    return forecast_and_score(forecaster, dataset, origins, history_ends, levels)


def forecast_and_score(
    forecaster: Forecaster,
    dataset: Dataset,
    origins: list[np.ndarray],
    history_ends: list[int],
    levels: tuple[float, ...] = (),
) -> Scored:
    """The model's and the baselines' forecasts from `origins`, next to the actual values."""
    model = forecaster.forecast(dataset, origins, levels)
    return score_forecast(model, dataset, origins, history_ends)


def score_forecast(
    model: Forecast, dataset: Dataset, origins: list[np.ndarray], history_ends: list[int]
) -> Scored:
    """`model`, made from `origins`, next to what happened and to the baselines' forecasts
    from the same origins, with bounds at the model's interval levels from their errors
    before `history_ends`; MASE is scaled by the seasonal naive MAE of each series' values
    before `history_ends`. Points `data.missing` filled are compared with nothing (NaN
    actual values), so no figure scores them; they still feed the forecasts as history."""
    steps, levels = model.steps, sorted(model.intervals)
    actual, scale = [], []
    points: dict[str, list[np.ndarray]] = {name: [] for name in BASELINES}
    bounds: dict[str, list[dict[float, tuple[np.ndarray, np.ndarray]]]] = {
        name: [] for name in BASELINES
    }
    for series, positions, history in zip(dataset.series, origins, history_ends, strict=True):
        target = series.target.astype(np.float64)
        observed = series.observed_target
        actual.append(observed[positions[:, None] + np.arange(steps)])
        season = dataset.season_length
        for name, values in baseline_forecasts(target, positions, steps, season).items():
            points[name].append(values)
        if levels:
            for name, by_level in baseline_bounds(
                target, positions, steps, season, history, levels, observed
            ).items():
                bounds[name].append(by_level)
        scale.append(np.full(len(positions), mase_scale(observed[:history], season)))
    forecasts = {MODEL: model}
    for name in BASELINES:
        intervals = {
            level: (
                np.concatenate([part[level][0] for part in bounds[name]]),
                np.concatenate([part[level][1] for part in bounds[name]]),
            )
            for level in levels
        }
        forecasts[name] = replace(
            model.with_point(np.concatenate(points[name])), intervals=intervals
        )
    return Scored(forecasts, np.concatenate(actual), np.concatenate(scale))


def format_comparison(metrics: dict[str, Any]) -> str:
    """A small table of the model next to the baselines, for the terminal."""
    names = (MODEL, *(name for name in BASELINES if name in metrics))
    header = f"{'':16}{'MAE':>11}{'RMSE':>11}{'MAPE%':>9}{'sMAPE%':>9}{'MASE':>8}"
    lines = [header]
    for name in names:
        row = metrics[name]
        lines.append(
            f"{name:16}{row['mae']:>11.4g}{row['rmse']:>11.4g}{_number(row['mape'], 2):>9}"
            f"{row['smape']:>9.2f}{_number(row['mase'], 3):>8}"
        )
    skill = metrics["skill"]
    on = f"on {metrics['windows']} windows of {metrics['horizon']} steps"
    if skill is None or skill != skill:  # the baseline is perfect: no ratio to show
        lines.append(f"skill vs {metrics['best_baseline']}: n/a (that baseline is exact {on})")
    else:
        verdict = "better than" if skill > 0 else "NOT better than"
        lines.append(
            f"skill vs {metrics['best_baseline']}: {skill:+.1%} (the model is {verdict} the "
            f"best naive baseline {on})"
        )
    return "\n".join(lines)


def format_intervals(metrics: dict[str, Any]) -> str:
    """The interval table: per level, coverage, width and MSIS of the model and the baselines
    (width and MSIS scaled like MASE); empty without intervals."""
    levels = metrics.get("intervals") or {}
    if not levels:
        return ""
    labels = [f"{level}% {name}" for level, rows in levels.items() for name in rows]
    # The label column as wide as its longest label (`80% seasonal_naive`), so numbers align.
    width = max(len("interval"), *map(len, labels)) + 2
    lines = [f"{'interval':{width}}{'coverage':>10}{'width':>9}{'MSIS':>9}"]
    rows = [row for level_rows in levels.values() for row in level_rows.values()]
    for label, row in zip(labels, rows, strict=True):
        lines.append(
            f"{label:{width}}{_number(row['coverage'], 3):>10}{_number(row['width'], 3):>9}"
            f"{_number(row['msis'], 3):>9}"
        )
    return "\n".join(lines)


def _number(value: float | None, decimals: int) -> str:
    return "n/a" if value is None or value != value else f"{value:.{decimals}f}"
