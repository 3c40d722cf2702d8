"""Rolling-origin evaluation: at each origin the scaler and the model learn from the data before
it only, forecast the horizon after it, and are scored next to the baselines."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast.checkpoints import Checkpoints
from rnnforecast.config import Config, ExecutionConfig
from rnnforecast.data import Dataset, Series, load_dataset
from rnnforecast.errors import ConfigError
from rnnforecast.evaluation import Scored, forecast_and_score
from rnnforecast.events import Events
from rnnforecast.execution import Job, parallel, run_jobs
from rnnforecast.panels import backtest_panels
from rnnforecast.plan import Plan, make_plan
from rnnforecast.plots import backtest_figure
from rnnforecast.progress import with_progress
from rnnforecast.run import BacktestContents, run_destination, run_key, save_backtest
from rnnforecast.splitting import SplitPoints, kept_validation
from rnnforecast.staging import staged_directory
from rnnforecast.training import Fitted, fit_and_assess, free_models, refit


@dataclass(frozen=True)
class Backtest:
    """A finished backtest.

    Attributes:
        folds: per fold, its origins (the last timestamp each series' model saw) and metrics.
        overall: the metrics over every fold's windows together.
        scored: per fold, the forecasts of the model and the baselines next to the actuals.
        plan: the plan of the last fold's model.
        refit: whether a model was trained for every fold.
    """

    folds: list[dict[str, Any]]
    overall: dict[str, Any]
    scored: list[Scored]
    plan: Plan
    refit: bool

    def pairs(self, dataset: Dataset) -> pd.DataFrame:
        """Every forecast/actual pair with a `fold` column (from 1)."""
        return pd.concat(
            [scored.pairs(dataset).assign(fold=fold) for fold, scored in enumerate(self.scored, 1)],
            ignore_index=True,
        )


def backtest(
    config: Config,
    folds: int = 3,
    step: int | None = None,
    refit_each_fold: bool = True,
    progress: str = "none",
    dataset: Dataset | None = None,
    events: Events | None = None,
    checkpoints: Checkpoints | None = None,
    execution: ExecutionConfig | None = None,
) -> Backtest:
    """Evaluate the config's model at `folds` forecast origins, `step` steps apart (by default
    one horizon), the last one a horizon before the end of each series.

    With `refit_each_fold` a model is trained for every origin on the data before it; without,
    one model trained on the data before the first origin forecasts from every origin (faster,
    and the later origins see a model that is older than they are). With `checkpoints`, each
    fold keeps its training state in a folder of its own, so a stopped backtest resumes.
    `execution` (by default `config.execution`) says where the folds' fits run; with a
    parallel backend the events of each fit's epochs stay in its worker.

    Example:
        `backtest(load_config("configs/a10.yaml"), folds=4)`
    """
    dataset = dataset or load_dataset(config.data)
    events = events or Events()
    execution = execution or config.execution
    horizon = config.window.horizon
    cuts = fold_cuts(dataset, folds, step or horizon, horizon)
    events = with_progress(events, progress)
    if refit_each_fold and parallel(execution, len(cuts)):
        outcomes = _folds_in_workers(config, dataset, cuts, execution, events, checkpoints)
    else:
        outcomes = _folds_here(
            config, dataset, cuts, refit_each_fold, progress, events, checkpoints
        )
    parts = [outcome.scored for outcome in outcomes]
    return Backtest(
        folds=[outcome.result for outcome in outcomes],
        overall=Scored.concat(parts).metrics(dataset.season_length),
        scored=parts,
        plan=outcomes[-1].plan,
        refit=refit_each_fold,
    )


def _folds_here(
    config: Config,
    dataset: Dataset,
    cuts: list[list[int]],
    refit_each_fold: bool,
    progress: str,
    events: Events,
    checkpoints: Checkpoints | None,
) -> list[FoldOutcome]:
    """The folds one after another in this process (every event of their fits reaches
    `events`); without `refit_each_fold`, the first fold's model serves every fold."""
    outcomes: list[FoldOutcome] = []
    model: tuple[Fitted, Plan] | None = None
    for fold, cut in enumerate(cuts, start=1):
        events.emit("fold", "start", fold=fold, folds=len(cuts))
        if model is None or refit_each_fold:
            scope = None if checkpoints is None else checkpoints.scope(fold_name(fold))
            # Every event of this fold's fit says which fold it belongs to.
            labelled = events.extended(fold=fold, folds=len(cuts))
            model = fit_before(config, dataset, cut, progress, labelled, scope)
        fitted, plan = model
        scored = score_fold(fitted, plan, dataset, cut)
        outcomes.append(FoldOutcome(scored, plan, _fold_result(dataset, fold, cut, scored)))
        # A listener may stop the backtest here (a pruned trial of `tune` raises).
        events.emit("fold", "end", fold=fold, folds=len(cuts), metrics=outcomes[-1].result)
    return outcomes


@dataclass(frozen=True)
class FoldOutcome:
    """A scored fold: its forecasts next to the actuals, the plan of its model, and its line
    of `backtest.json` (origins and metrics)."""

    scored: Scored
    plan: Plan
    result: dict[str, Any]


@dataclass(frozen=True)
class FoldWork:
    """One fold for a worker: fit before `cut`, score the horizon after it."""

    config: Config
    dataset: Dataset
    cut: list[int]
    state: Path | None


def run_fold(work: FoldWork) -> tuple[Scored, Plan]:
    """A fold fitted and scored on its own (in whatever process runs it), its training state
    kept in `work.state` to resume."""
    checkpoints = None if work.state is None else Checkpoints(work.state)
    fitted, plan = fit_before(work.config, work.dataset, work.cut, "none", None, checkpoints)
    scored = score_fold(fitted, plan, work.dataset, work.cut)
    free_models()
    return scored, plan


def _folds_in_workers(
    config: Config,
    dataset: Dataset,
    cuts: list[list[int]],
    execution: ExecutionConfig,
    events: Events,
    checkpoints: Checkpoints | None,
) -> list[FoldOutcome]:
    """The folds fitted side by side on the execution backend; each fold's start and end
    events are sent here as it finishes (epoch events stay in the workers)."""
    jobs = [
        Job(
            f"fold {fold}",
            run_fold,
            FoldWork(
                config,
                dataset,
                cut,
                None if checkpoints is None else checkpoints.scope(fold_name(fold)).folder,
            ),
        )
        for fold, cut in enumerate(cuts, start=1)
    ]

    results: dict[int, dict[str, Any]] = {}

    def finished(index: int, outcome: tuple[Scored, Plan]) -> None:
        fold = index + 1
        events.emit("fold", "start", fold=fold, folds=len(cuts))
        results[index] = _fold_result(dataset, fold, cuts[index], outcome[0])
        events.emit("fold", "end", fold=fold, folds=len(cuts), metrics=results[index])

    fitted = run_jobs(jobs, execution, finished)
    return [
        FoldOutcome(scored, plan, results[index]) for index, (scored, plan) in enumerate(fitted)
    ]


def fold_name(fold: int) -> str:
    """The name of a fold's folders (checkpoints, TensorBoard logs)."""
    return f"fold-{fold}"


def score_fold(fitted: Fitted, plan: Plan, dataset: Dataset, cut: list[int]) -> Scored:
    """The fold's forecasts from each series' origin `cut[i]`, next to the actuals."""
    origins = [np.array([position]) for position in cut]
    levels = tuple(plan.config.intervals.levels)
    return forecast_and_score(fitted.forecaster, dataset, origins, list(cut), levels)


def _fold_result(dataset: Dataset, fold: int, cut: list[int], scored: Scored) -> dict[str, Any]:
    """A fold's line of `backtest.json`: its origins and metrics."""
    return {
        "fold": fold,
        "origins": {
            dataset.label(series): str(series.time[position - 1])
            for series, position in zip(dataset.series, cut, strict=True)
        },
        **scored.metrics(dataset.season_length),
    }


def fold_cuts(dataset: Dataset, folds: int, step: int, horizon: int) -> list[list[int]]:
    """Per fold, per series, the position of the first forecast step (the origin)."""
    if folds < 1:
        raise ConfigError(f"a backtest needs at least one fold. Received: folds={folds}.")
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
    config: Config,
    dataset: Dataset,
    cut: list[int],
    progress: str,
    events: Events | None = None,
    checkpoints: Checkpoints | None = None,
) -> tuple[Fitted, Plan]:
    """Train as `train` would on each series' values before `cut` only: the plan, scaler,
    early stopping on the end of that data, and the refit on all of it when configured."""
    history = truncate(dataset, cut)
    points = []
    for series in history.series:
        validation = config.split.sizes(len(series), config.window.horizon)[0]
        validation = kept_validation(config, validation, len(series), dataset.season_length)
        points.append(SplitPoints(len(series) - validation, len(series), len(series)))
    plan = make_plan(config, history, points, test=False)
    fitted, _ = fit_and_assess(plan, history, points, progress, events, checkpoints)
    if plan.config.training.refit:
        fitted = refit(plan, history, fitted, progress, events, checkpoints)
    return fitted, plan


def truncate(dataset: Dataset, cut: list[int]) -> Dataset:
    """Each series cut before position `cut[i]`: the data a fold may learn from (with what of
    it was observed, so a fold neither trains on nor scores the values that were filled)."""
    series = [
        Series(item.id, item.time[:end], item.values[:end].copy(), item.observed[:end])
        for item, end in zip(dataset.series, cut, strict=True)
    ]
    return replace(dataset, series=series)


def backtest_contents(
    config: Config,
    folds: int,
    step: int | None,
    refit_each_fold: bool,
    progress: str,
    dataset: Dataset | None = None,
    events: Events | None = None,
    checkpoints: Checkpoints | None = None,
) -> tuple[Backtest, BacktestContents]:
    """`backtest` and everything its folder holds (pairs, summary, figure, config), in memory.

    `dataset`: the data, already read (e.g. from a DataFrame); by default `config.data`'s.
    `checkpoints`: where each fold's training state is kept, for a stopped backtest to resume."""
    dataset = dataset if dataset is not None else load_dataset(config.data)
    events = events or Events()
    result = backtest(config, folds, step, refit_each_fold, progress, dataset, events, checkpoints)
    summary = {
        "folds": result.folds,
        "overall": result.overall,
        "refit_each_fold": result.refit,
    }
    events.emit("metrics", "backtest", metrics=result.overall)
    figure = backtest_figure(backtest_panels(result.scored, dataset, result.plan.horizon))
    return result, BacktestContents(result.pairs(dataset), summary, figure, result.plan.config)


def run_backtest(
    config: Config,
    output: Path | None,
    folds: int,
    step: int | None,
    refit_each_fold: bool,
    progress: str,
    events: Events | None = None,
    restart: bool = False,
    dataset: Dataset | None = None,
) -> tuple[Backtest, BacktestContents, Path]:
    """`backtest` and its files written atomically to `output`
    (`<output.dir>/<output.name>-backtest-<time>` by default); returns the result, what its
    folder holds and the folder. A backtest of the same config, data and folds that was
    stopped before it was complete resumes with its finished folds, unless `restart`.

    `dataset`: the data, already read (e.g. from a DataFrame); by default `config.data`'s."""
    dataset = dataset if dataset is not None else load_dataset(config.data)
    events = events or Events()
    step = step or config.window.horizon
    key = run_key(config, dataset.checksum, folds=folds, step=step, refit=refit_each_fold)
    destination = run_destination(config, output, key, suffix="-backtest")
    with staged_directory(destination, restart, events.note) as staging:
        # Listeners (trackers) may write into the folder while it is being staged.
        events.emit("run", "start", folder=staging.path, final=staging.final, config=config)
        result, contents = backtest_contents(
            config,
            folds,
            step,
            refit_each_fold,
            progress,
            dataset,
            events,
            Checkpoints(staging.state, events),
        )
        save_backtest(staging.path, contents)
    return result, contents, staging.final
