"""Rolling-origin evaluation: at each origin the scaler and the model learn from the data before
it only, forecast the horizon after it, and are scored next to the baselines."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast.config import Config, dump_config
from rnnforecast.data import Dataset, Series, load_dataset
from rnnforecast.errors import ConfigError
from rnnforecast.evaluation import Scored, forecast_and_score
from rnnforecast.plots import MAX_PANELS, BacktestPanel, backtest_figure, save_figure
from rnnforecast.run import CONFIG_FILE, default_run_dir, json_text, staged_directory
from rnnforecast.splitting import SplitPoints, kept_validation
from rnnforecast.training import Fitted, fit_forecaster, prepare, refit

BACKTEST_FILE = "backtest.csv"
BACKTEST_METRICS_FILE = "backtest.json"
BACKTEST_PLOT_FILE = "backtest.png"


@dataclass(frozen=True)
class Backtest:
    """A finished backtest.

    Attributes:
        folds: per fold, its origins (the last timestamp each series' model saw) and metrics.
        overall: the metrics over every fold's windows together.
        pairs: every forecast/actual pair with a `fold` column.
        config: the resolved config of the last fold's model.
    """

    folds: list[dict[str, Any]]
    overall: dict[str, Any]
    pairs: pd.DataFrame
    config: Config
    refit: bool


def backtest(
    config: Config,
    folds: int = 3,
    step: int | None = None,
    refit_each_fold: bool = True,
    progress: str = "none",
    dataset: Dataset | None = None,
) -> Backtest:
    """Evaluate the config's model at `folds` forecast origins, `step` steps apart (by default
    one horizon), the last one a horizon before the end of each series.

    With `refit_each_fold` a model is trained for every origin on the data before it; without,
    one model trained on the data before the first origin forecasts from every origin (faster,
    and the later origins see a model that is older than they are).

    Example:
        `backtest(load_config("configs/a10.yaml"), folds=4)`
    """
    dataset = dataset or load_dataset(config.data)
    horizon = config.window.horizon
    step = step or horizon
    cuts = fold_cuts(dataset, folds, step, horizon)
    parts: list[Scored] = []
    results: list[dict[str, Any]] = []
    fitted, resolved = None, config
    for fold, cut in enumerate(cuts, start=1):
        if fitted is None or refit_each_fold:
            fitted, resolved = fit_before(config, dataset, cut, progress)
        origins = [np.array([position]) for position in cut]
        scored = forecast_and_score(fitted.forecaster, dataset, origins, list(cut))
        scored = replace(scored, pairs=scored.pairs.assign(fold=fold))
        parts.append(scored)
        results.append(
            {
                "fold": fold,
                "origins": {
                    dataset.label(series): str(series.time[position - 1])
                    for series, position in zip(dataset.series, cut, strict=True)
                },
                **scored.metrics(horizon, dataset.season_length),
            }
        )
    overall = Scored.concat(parts)
    return Backtest(
        folds=results,
        overall=overall.metrics(horizon, dataset.season_length),
        pairs=overall.pairs,
        config=resolved,
        refit=refit_each_fold,
    )


def fold_cuts(dataset: Dataset, folds: int, step: int, horizon: int) -> list[list[int]]:
    """Per fold, per series, the position of the first forecast step (the origin)."""
    cuts = []
    for fold in range(folds):
        back = horizon + (folds - 1 - fold) * step
        cuts.append([len(series) - back for series in dataset.series])
    shortest = min(min(cut) for cut in cuts)
    if shortest < 2:
        raise ConfigError(
            f"{folds} fold(s) {step} step(s) apart with horizon {horizon} reach back "
            f"{horizon + (folds - 1) * step} points, more than the shortest series holds. "
            "Lower --folds or --step."
        )
    return cuts


def fit_before(
    config: Config, dataset: Dataset, cut: list[int], progress: str
) -> tuple[Fitted, Config]:
    """Train as `train` would on each series' values before `cut` only: defaults, scaler,
    early stopping on the end of that data, and the refit on all of it when configured."""
    history = truncate(dataset, cut)
    points = []
    for series in history.series:
        validation = config.split.sizes(len(series), config.window.horizon)[0]
        validation = kept_validation(config, validation, len(series), dataset.season_length)
        points.append(SplitPoints(len(series) - validation, len(series), len(series)))
    resolved = prepare(config, history, points, test=False)
    fitted = fit_forecaster(resolved, history, points, progress)
    if resolved.training.refit:
        fitted = refit(resolved, history, fitted, progress)
    return fitted, resolved


def truncate(dataset: Dataset, cut: list[int]) -> Dataset:
    """Each series cut before position `cut[i]`: the data a fold may learn from."""
    series = [
        Series(item.id, item.time[:end], item.values[:end].copy())
        for item, end in zip(dataset.series, cut, strict=True)
    ]
    return replace(dataset, series=series)


def write_backtest(result: Backtest, dataset: Dataset, folder: Path) -> None:
    """The pairs, the metrics, the figure and the resolved config into `folder` (staging)."""
    result.pairs.to_csv(folder / BACKTEST_FILE, index=False)
    summary = {
        "folds": result.folds,
        "overall": result.overall,
        "refit_each_fold": result.refit,
    }
    (folder / BACKTEST_METRICS_FILE).write_text(json_text(summary) + "\n", encoding="utf-8")
    (folder / CONFIG_FILE).write_text(dump_config(result.config), encoding="utf-8")
    save_figure(backtest_figure(backtest_panels(result, dataset)), str(folder / BACKTEST_PLOT_FILE))


def run_backtest(
    config: Config,
    output: Path | None,
    folds: int,
    step: int | None,
    refit_each_fold: bool,
    progress: str,
) -> tuple[Backtest, Path]:
    """`backtest` and its files written atomically to `output`
    (`<output.dir>/<output.name>-backtest-<time>` by default)."""
    dataset = load_dataset(config.data)
    final = output or default_run_dir(config, suffix="-backtest")
    with staged_directory(final) as folder:
        result = backtest(config, folds, step, refit_each_fold, progress, dataset)
        write_backtest(result, dataset, folder)
    return result, final


def backtest_panels(result: Backtest, dataset: Dataset) -> list[BacktestPanel]:
    """The first few series with each fold's forecast and the naive baselines' beside it."""
    time_name = dataset.time_column or "step"
    panels = []
    for series in dataset.series[:MAX_PANELS]:
        pairs = result.pairs
        if dataset.id_column is not None:
            pairs = pairs[pairs[dataset.id_column] == series.id]
        # Three horizons of history before the first fold keep the forecasts readable.
        first = int(series.time.get_indexer([pairs[time_name].min()])[0])
        start = max(0, first - 3 * result.config.window.horizon)
        panels.append(
            BacktestPanel(
                title=Path(dataset.source).name + ("" if series.id is None else f": {series.id}"),
                time=series.time[start:],
                actual=series.target[start:],
                folds=[
                    (
                        pd.Index(group[time_name]),
                        group["forecast"].to_numpy(),
                        group["seasonal_naive"].to_numpy(),
                    )
                    for _, group in pairs.groupby("fold", sort=True)
                ],
            )
        )
    return panels
