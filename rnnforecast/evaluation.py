"""Scoring a forecaster's windows next to the naive baselines.

Used by training (the test part), by `evaluate` / `plot` on new data and by backtests, so all
report the same figures the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast.data import STEP_COLUMN, Dataset
from rnnforecast.forecaster import Forecaster
from rnnforecast.metrics import BASELINES, baseline_forecasts, compare, mase_scale
from rnnforecast.windowing import window_origins

PAIR_COLUMNS = ("actual", "forecast", *BASELINES)


def score_part(
    forecaster: Forecaster,
    dataset: Dataset,
    bounds: list[tuple[int, int]],
    history_ends: list[int],
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Score every window whose targets lie in each series' `bounds`, model and baselines alike.

    Args:
        bounds: per series, `[start, end)` of the scored part.
        history_ends: per series, the end of the part whose seasonal naive MAE scales MASE
            (the training part during training; everything before the scored part later).

    Returns:
        The `metrics.compare` dict plus `windows`, `horizon` and `season_length`, and a frame of
        every forecast/actual pair with the baselines' forecasts beside them.
    """
    lookback, horizon = forecaster.lookback, forecaster.horizon
    origins = [
        window_origins(len(series), lookback, horizon, start, end)
        for series, (start, end) in zip(dataset.series, bounds, strict=True)
    ]
    return score_origins(forecaster, dataset, origins, history_ends)


@dataclass(frozen=True)
class Scored:
    """Forecasts of the model and the baselines next to what happened, window by window.

    Attributes:
        actual: `(windows, horizon)`.
        forecasts: `"model"` and each baseline, `(windows, horizon)` each.
        scale: `(windows,)` the MASE scale of each window's series.
        pairs: one row per window and step (see `forecast_pairs`).
    """

    actual: np.ndarray
    forecasts: dict[str, np.ndarray]
    scale: np.ndarray
    pairs: pd.DataFrame

    def metrics(self, horizon: int, season_length: int) -> dict[str, Any]:
        """`metrics.compare` plus `windows`, `horizon` and `season_length`."""
        return {
            "windows": len(self.actual),
            "horizon": horizon,
            "season_length": season_length,
            **compare(self.actual, self.forecasts, self.scale),
        }

    @staticmethod
    def concat(parts: list[Scored]) -> Scored:
        """Several scored sets as one (e.g. the folds of a backtest)."""
        return Scored(
            np.concatenate([part.actual for part in parts]),
            {
                name: np.concatenate([part.forecasts[name] for part in parts])
                for name in parts[0].forecasts
            },
            np.concatenate([part.scale for part in parts]),
            pd.concat([part.pairs for part in parts], ignore_index=True),
        )


def score_origins(
    forecaster: Forecaster,
    dataset: Dataset,
    origins: list[np.ndarray],
    history_ends: list[int],
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Score the forecasts from each series' `origins` (see `score_part`)."""
    if sum(len(positions) for positions in origins) == 0:
        return {"windows": 0}, pd.DataFrame()
    scored = forecast_and_score(forecaster, dataset, origins, history_ends)
    return scored.metrics(forecaster.horizon, dataset.season_length), scored.pairs


def forecast_and_score(
    forecaster: Forecaster,
    dataset: Dataset,
    origins: list[np.ndarray],
    history_ends: list[int],
) -> Scored:
    """The model's and the baselines' forecasts from `origins`, next to the actual values."""
    horizon = forecaster.horizon
    forecast = forecaster.forecast(dataset, origins)
    actual, baselines, scale = actuals_and_baselines(dataset, origins, history_ends, horizon)
    forecasts = {"model": forecast, **baselines}
    pairs = forecast_pairs(dataset, origins, actual, forecast, baselines)
    return Scored(actual, forecasts, scale, pairs)


def actuals_and_baselines(
    dataset: Dataset, origins: list[np.ndarray], history_ends: list[int], horizon: int
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """What happened after each origin, the baselines' forecasts, and each window's MASE scale
    (the seasonal naive MAE on its series' values before `history_ends`)."""
    actual, scale = [], []
    baselines: dict[str, list[np.ndarray]] = {name: [] for name in BASELINES}
    for series, positions, history in zip(dataset.series, origins, history_ends, strict=True):
        target = series.target.astype(np.float64)
        actual.append(target[positions[:, None] + np.arange(horizon)])
        for name, values in baseline_forecasts(
            target, positions, horizon, dataset.season_length
        ).items():
            baselines[name].append(values)
        scale.append(np.full(len(positions), mase_scale(target[:history], dataset.season_length)))
    return (
        np.concatenate(actual),
        {name: np.concatenate(values) for name, values in baselines.items()},
        np.concatenate(scale),
    )


def forecast_pairs(
    dataset: Dataset,
    origins: list[np.ndarray],
    actual: np.ndarray,
    forecast: np.ndarray,
    baselines: dict[str, np.ndarray],
) -> pd.DataFrame:
    """One row per window and step: [id], origin, time, horizon_step, actual, forecast and
    the baselines."""
    horizon = actual.shape[1]
    time_name = dataset.time_column or STEP_COLUMN
    times, origin_times, ids = [], [], []
    for series, positions in zip(dataset.series, origins, strict=True):
        steps = positions[:, None] + np.arange(horizon)[None, :]
        times.append(np.asarray(series.time[steps.ravel()]))
        origin_times.append(np.asarray(series.time[np.repeat(positions - 1, horizon)]))
        ids.extend([series.id] * len(positions) * horizon)
    columns: dict[str, Any] = {}
    if dataset.id_column is not None:
        columns[dataset.id_column] = ids
    columns["origin"] = np.concatenate(origin_times)
    columns[time_name] = np.concatenate(times)
    columns["horizon_step"] = np.tile(np.arange(1, horizon + 1), len(actual))
    for name, values in (("actual", actual), ("forecast", forecast), *baselines.items()):
        columns[name] = values.ravel()
    return pd.DataFrame(columns)


def format_comparison(metrics: dict[str, Any]) -> str:
    """A small table of the model next to the baselines, for the terminal."""
    names = ("model", *(name for name in BASELINES if name in metrics))
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


def _number(value: float | None, decimals: int) -> str:
    return "n/a" if value is None or value != value else f"{value:.{decimals}f}"
