"""`train(config) -> Run`: data, split, plan, fit, score on the test part, refit on the whole
history (with `training.refit`), save, in that order."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast.checkpoints import Checkpoints
from rnnforecast.config import Config
from rnnforecast.data import Dataset, load_dataset
from rnnforecast.errors import ConfigError
from rnnforecast.evaluation import score_part
from rnnforecast.events import Events
from rnnforecast.execution import Executor, Job, executor
from rnnforecast.fitting import (
    EpochReporter,
    Pack,
    Trainers,
    build_pack,
    epoch_steps,
    fit_pack,
    plain_network,
    replica_count,
)
from rnnforecast.forecaster import Forecaster, InputLayout, Member, feature_matrix
from rnnforecast.intervals import naive_spread
from rnnforecast.models import ModelShape
from rnnforecast.panels import series_panels
from rnnforecast.plan import MemberPlan, Plan, make_plan
from rnnforecast.plots import forecast_figure, loss_figure
from rnnforecast.progress import with_progress
from rnnforecast.run import (
    FORECAST_TEST_FILE,
    Run,
    RunContents,
    build_manifest,
    load_run,
    run_destination,
    run_key,
    save_run,
)
from rnnforecast.scaling import Scaler, series_key
from rnnforecast.splitting import SplitPoints, boundary_times, split_points
from rnnforecast.staging import staged_directory
from rnnforecast.validation import (
    BLEND,
    BLEND_WORDS,
    NETWORK,
    Assessment,
    assess,
    margin_words,
    series_scales,
)
from rnnforecast.windowing import WindowIndex, window_index

HOLDOUT, REFIT = "holdout", "refit"


@dataclass(frozen=True)
class Fitted:
    """Trained members with their scaler, and how their training went.

    Attributes:
        summaries: per member, epochs run, best epoch and its loss.
        history: per member and epoch, the losses (columns epoch, loss[, val_loss], member).
    """

    forecaster: Forecaster
    summaries: list[dict[str, Any]]
    history: pd.DataFrame


@dataclass(frozen=True)
class Prepared:
    """The data, its split and the plan decided from them: everything a fit starts from."""

    dataset: Dataset
    points: list[SplitPoints]
    plan: Plan


@dataclass(frozen=True)
class Trained:
    """A trained model in memory: its plan, the data it learnt from, and everything its run
    directory would hold (`run.RunContents`: the saved forecaster, metrics, split, figures)."""

    plan: Plan
    dataset: Dataset
    contents: RunContents


def train(
    config: Config,
    run_dir: Path | None = None,
    progress: str = "auto",
    events: Events | None = None,
    restart: bool = False,
    dataset: Dataset | None = None,
) -> Run:
    """Train the model a config describes and write its run directory.

    A run of the same config and data that was stopped before it was complete (killed, or
    interrupted) is resumed where it stopped, and ends as it would have (see `checkpoints`).

    Args:
        config: a validated config (see `load_config`).
        run_dir: where the run goes; `<output.dir>/<output.name>-<timestamp>` by default.
        progress: `"bar"` (Keras' progress bar), `"epoch"` (one line per epoch on stderr,
            see `progress.EpochLines`), `"none"`, or `"auto"`: the bar on a terminal, one
            line per epoch otherwise (cron logs).
        events: receives each step with its duration, each epoch and notes (resuming); see
            `events.Events`.
        restart: discard the state of an unfinished run of the same config and data (stopped
            or killed before it was complete) and start over; by default it resumes.
        dataset: the data, already read (e.g. from a DataFrame); by default `config.data`'s.

    Returns:
        The finished `Run`; its `metrics` hold the test scores next to the naive baselines.

    Example:
        `train(load_config("configs/sine.yaml", ["training.epochs=2"]))`
    """
    events = with_progress(events, progress)
    prepared = prepare(config, dataset, events)
    _, final = train_into(prepared, run_dir, progress, events, restart)
    return load_run(final)


def prepare(
    config: Config, dataset: Dataset | None = None, events: Events | None = None
) -> Prepared:
    """Read the data (unless given), split it and decide the plan; fails before any fit on
    data or a config that cannot be trained."""
    events = events or Events()
    with events.step("data + split"):
        dataset = dataset if dataset is not None else load_dataset(config.data)
        points = split_points(dataset, config)
        plan = make_plan(config, dataset, points)
    return Prepared(dataset, points, plan)


def train_into(
    prepared: Prepared,
    run_dir: Path | None,
    progress: str,
    events: Events,
    restart: bool = False,
) -> tuple[Trained, Path]:
    """`fit_run`, written atomically as the run directory `run_dir` (by default
    `<output.dir>/<output.name>-<timestamp>`; see `staging`). An unfinished run of the same
    config and data into the same place resumes from its training state, unless `restart`.
    Returns the run in memory and where it was written."""
    plan, dataset = prepared.plan, prepared.dataset
    destination = run_destination(plan.config, run_dir, run_key(plan.config, dataset.checksum))
    with staged_directory(destination, restart, events.note) as staging:
        # Listeners (trackers) may write into the run while it is being staged.
        events.emit("run", "start", folder=staging.path, final=staging.final, config=plan.config)
        trained = fit_run(prepared, progress, events, Checkpoints(staging.state, events))
        with events.step("save run"):
            save_run(staging.path, trained.contents)
    return trained, staging.final


def fit_run(
    prepared: Prepared,
    progress: str = "none",
    events: Events | None = None,
    checkpoints: Checkpoints | None = None,
) -> Trained:
    """Fit, assess, score the test part, refit and draw: a run in memory, nothing written
    (but the training state, with `checkpoints`).

    `progress` sets Keras' own bar only; lines per epoch come from `events` (see
    `progress.with_progress`).
    """
    events = events or Events()
    dataset, points, plan = prepared.dataset, prepared.points, prepared.plan
    levels = tuple(plan.config.intervals.levels)
    units = len(packs(plan.members, plan.config.training.pack_members))
    with executor(plan.config.execution, units) as runner:
        holdout, assessment = fit_and_assess(
            plan, dataset, points, progress, events, checkpoints, runner
        )
        with events.step("test forecasts + metrics"):
            scored = score_part(
                holdout.forecaster,
                dataset,
                bounds=[(p.validation_end, p.length) for p in points],
                history_ends=[p.train_end for p in points],
                levels=levels,
            )
        saved = _refit_or_holdout(plan, dataset, holdout, progress, events, checkpoints, runner)
    history = holdout.history.assign(phase=HOLDOUT)
    refitted = plan.config.training.refit
    if refitted:
        history = pd.concat([history, saved.history.assign(phase=REFIT)])
    metrics = {
        "part": "test",
        **scored.metrics(dataset.season_length),
        "models": models_note(plan, points, assessment),
        **assessment.summary(plan.config.model.guard, plan.config.model.guard_margin),
        "training": _training_summary(holdout, saved if refitted else None),
        "missing": None if dataset.missing is None else dataset.missing.to_dict(),
    }
    events.emit("metrics", "test", metrics=metrics)
    with events.step("plots"):
        # The past as the scored model saw it (out of sample over the test part), the
        # future from the saved one.
        panels = series_panels(
            holdout.forecaster, dataset, points, ahead_by=saved.forecaster, levels=levels
        )
        figures = (
            forecast_figure(panels, dataset.target, total=len(dataset.series)),
            loss_figure(history),
        )
    contents = RunContents(
        config=plan.config,
        forecaster=saved.forecaster,
        metrics=metrics,
        split=boundary_times(dataset, points),
        history=history,
        test_forecasts=scored.pairs(dataset),
        forecast_figure=figures[0],
        loss_figure=figures[1],
        manifest=build_manifest(plan.config, dataset.checksum),
    )
    return Trained(plan, dataset, contents)


def _refit_or_holdout(
    plan: Plan,
    dataset: Dataset,
    holdout: Fitted,
    progress: str,
    events: Events,
    checkpoints: Checkpoints | None,
    runner: Executor,
) -> Fitted:
    """The model to save: refit on the whole history when `training.refit`, else the holdout's."""
    if not plan.config.training.refit:
        return holdout
    return refit(plan, dataset, holdout, progress, events, checkpoints, runner)


def out_of_memory_is_a_config_error(fit: Callable[..., Fitted]) -> Callable[..., Fitted]:
    """Report running out of memory while fitting (a `MemoryError`, TensorFlow's
    `ResourceExhaustedError`) as the config error it is: sizes too large for the machine."""

    @functools.wraps(fit)
    def fit_within_memory(plan: Plan, *args: Any, **kwargs: Any) -> Fitted:
        try:
            return fit(plan, *args, **kwargs)
        except Exception as error:
            # By name: TensorFlow is imported lazily and its error types with it.
            if not isinstance(error, MemoryError) and "ResourceExhausted" not in repr(type(error)):
                raise
            raise ConfigError(
                f"training ran out of memory ({type(error).__name__}): the network or its "
                "batches are too large for this machine. Lower `model.units`, `model.dense`, "
                "`training.batch_size`, `window.lookback` or `model.series_embedding`. "
                f"Received: model.units={list(plan.units)}, "
                f"model.dense={plan.config.model.dense}, training.batch_size={plan.batch_size}, "
                f"window.lookback={plan.max_lookback}, "
                f"model.series_embedding={plan.config.model.series_embedding}"
            ) from None

    return fit_within_memory


@out_of_memory_is_a_config_error
def fit_forecaster(
    plan: Plan,
    dataset: Dataset,
    points: list[SplitPoints],
    progress: str,
    epochs: list[int] | None = None,
    events: Events | None = None,
    checkpoints: Checkpoints | None = None,
    runner: Executor | None = None,
) -> Fitted:
    """Fit the scaler on each series' training part, then every ensemble member on the
    windows whose targets lie in it, early-stopped on the validation part.

    Args:
        epochs: per member, train exactly this many epochs without early stopping (a refit).
        checkpoints: where each member's training state is saved, and resumed from.
        runner: fits the members (or packs) side by side when it is parallel (see
            `execution`); the events of their epochs then stay in the workers.
    """
    events = events or Events()
    phase = HOLDOUT if epochs is None else REFIT
    with events.step("scaling + windows"):
        scaler = fit_scaler(dataset, points, plan)
        layout = InputLayout.of(plan, scaler)
        matrices = [feature_matrix(series, dataset, scaler, layout) for series in dataset.series]
        values = np.concatenate(matrices)
        spread = ()
        if plan.config.intervals.quantile_levels:
            trained = [m[: p.train_end, 0] for m, p in zip(matrices, points, strict=True)]
            spread = tuple(naive_spread(trained, plan.horizon).tolist())
    keys = [series_key(series.id) for series in dataset.series]
    series_ids = None
    if layout.series_ids is not None:
        series_ids = np.array([layout.series_ids[key] for key in keys], dtype=np.int32)
    observed = [series.observed for series in dataset.series]
    if epochs is None and baseline_only(plan, points):
        epochs = [0] * len(plan.members)
    works = []
    for group in packs(plan.members, plan.config.training.pack_members):
        lookback = group[0].lookback
        with events.step("scaling + windows"):
            training, validation = pack_windows(plan, lookback, matrices, values, points, layout)
            # Windows with a target data.missing filled teach nothing (README: missing values).
            training, validation = (index.observed(observed) for index in (training, validation))
        numbers = [member.number for member in group]
        works.append(
            PackWork(
                plan,
                group,
                ModelShape(
                    lookback,
                    layout.features,
                    plan.horizon,
                    len(layout.known),
                    len(keys),
                    spread,
                ),
                training,
                validation,
                None if epochs is None else [epochs[number - 1] for number in numbers],
                series_ids,
                phase,
                None if checkpoints is None else checkpoints.folder,
            )
        )
    fitted: dict[int, tuple[Member, dict[str, Any], pd.DataFrame]] = {}
    waiting: list[tuple[PackWork, Pack]] = []
    # Each unit's networks alone; they train in a compiled model lent by `trainers`.
    trainers = Trainers()
    for work in works:
        with events.step("build + compile"):
            pack = build_pack(plan, work.members, work.shape, work.steps, packed=False)
        unit = None if checkpoints is None else checkpoints.unit(phase, work.numbers)
        finished = None
        if unit is not None and unit.done_file.is_file():
            with trainers.lend(pack, functools.partial(_build_work, work), work.steps) as lent:
                finished = unit.restore_finished(lent.model)
        if finished is not None:
            histories = [member_history(finished.history, number) for number in work.numbers]
            _keep(fitted, work, pack, finished.summaries, histories)
        else:
            waiting.append((work, pack))
    runner = runner or Executor()
    if not runner.parallel(len(waiting)):
        for work, pack in waiting:
            unit = None if checkpoints is None else checkpoints.unit(phase, work.numbers)
            packed = {"packed": work.numbers} if len(work.numbers) > 1 else {}
            fields = {"member": work.numbers[0], "members": len(plan.members), "phase": phase}
            with (
                events.step("fit", **fields, **packed),
                trainers.lend(pack, functools.partial(_build_work, work), work.steps) as trainer,
            ):
                summaries, histories = fit_pack(
                    trainer,
                    work.training,
                    work.validation,
                    plan,
                    progress,
                    work.epochs,
                    EpochReporter(events, len(plan.members), phase),
                    unit,
                    series_ids,
                )
                if unit is not None:
                    history = joined_histories(histories, work.numbers)
                    unit.finish(trainer.model, summaries, history)
            _keep(fitted, work, pack, summaries, histories)
    else:
        jobs = [Job(f"{phase} fit of {work.label}", fit_pack_work, work) for work, _ in waiting]
        # Not the "fit" step of one unit (a `member_done` line names its member): one step
        # for every unit the workers fit.
        with events.step("fit in workers", phase=phase, units=len(jobs)):
            results = runner.run(jobs)
        for (work, pack), (weights, summaries, histories) in zip(waiting, results, strict=True):
            for network, arrays in zip(pack.networks, weights, strict=True):
                network.set_weights(arrays)
            _keep(fitted, work, pack, summaries, histories)
    ordered = [fitted[member.number] for member in plan.members]
    forecaster = Forecaster(
        [item[0] for item in ordered],
        scaler,
        plan.horizon,
        layout,
        quantiles=plan.config.intervals.quantile_levels,
    )
    return Fitted(
        forecaster,
        [item[1] for item in ordered],
        joined_histories([item[2] for item in ordered], [m.number for m in plan.members]),
    )


@dataclass(frozen=True)
class PackWork:
    """One fit unit (members trained together, or one member) with all it needs, picklable:
    what a worker process fits (`fit_pack_work`)."""

    plan: Plan
    members: tuple[MemberPlan, ...]
    shape: ModelShape
    training: WindowIndex
    validation: WindowIndex
    epochs: list[int] | None
    series_ids: np.ndarray | None
    phase: str
    state: Path | None

    @property
    def numbers(self) -> list[int]:
        return [member.number for member in self.members]

    @property
    def steps(self) -> int:
        """Gradient steps per epoch."""
        return epoch_steps(len(self.training), self.plan.batch_size, replica_count(self.plan))

    @property
    def label(self) -> str:
        numbers = self.numbers
        return f"member {numbers[0]}" if len(numbers) == 1 else f"members {numbers}"


def _build_work(work: PackWork) -> Pack:
    return build_pack(work.plan, work.members, work.shape, work.steps)


def fit_pack_work(work: PackWork) -> tuple[list[list[np.ndarray]], list[dict[str, Any]], list]:
    """Fit one unit on its own (in whatever process runs it), keeping its training state in
    `work.state` to resume; returns each network's weights, summaries and losses."""
    pack = _build_work(work)
    unit = None if work.state is None else Checkpoints(work.state).unit(work.phase, work.numbers)
    summaries, histories = fit_pack(
        pack,
        work.training,
        work.validation,
        work.plan,
        "none",
        work.epochs,
        None,
        unit,
        work.series_ids,
    )
    if unit is not None:
        unit.finish(pack.model, summaries, joined_histories(histories, work.numbers))
    weights = [network.get_weights() for network in pack.networks]
    free_models()
    return weights, summaries, histories


def _keep(
    fitted: dict[int, tuple[Member, dict[str, Any], pd.DataFrame]],
    work: PackWork,
    pack: Pack,
    summaries: list[dict[str, Any]],
    histories: list[pd.DataFrame],
) -> None:
    """Each member of a fitted unit, by number."""
    for number, network, summary, history in zip(
        work.numbers, pack.networks, summaries, histories, strict=True
    ):
        fitted[number] = (Member(plain_network(network), work.shape.lookback), summary, history)


def packs(members: tuple[MemberPlan, ...], together: bool) -> list[tuple[MemberPlan, ...]]:
    """The members trained together as one model: with `together` (`training.pack_members`),
    those that share a lookback (their windows are the same), in the order of their first
    member; else each member alone."""
    if not together:
        return [(member,) for member in members]
    groups: dict[int, list[MemberPlan]] = {}
    for member in members:
        groups.setdefault(member.lookback, []).append(member)
    return [tuple(group) for group in groups.values()]


def member_history(history: pd.DataFrame, number: int) -> pd.DataFrame:
    """One member's losses out of a pack's (`joined_histories`)."""
    mine = history[history["member"] == number].drop(columns="member")
    return mine.reset_index(drop=True)


def joined_histories(histories: list[pd.DataFrame], numbers: list[int]) -> pd.DataFrame:
    """Members' losses per epoch in one frame, with a `member` column."""
    return pd.concat(
        [history.assign(member=number) for history, number in zip(histories, numbers, strict=True)],
        ignore_index=True,
    )


def fit_and_assess(
    plan: Plan,
    dataset: Dataset,
    points: list[SplitPoints],
    progress: str,
    events: Events | None = None,
    checkpoints: Checkpoints | None = None,
    runner: Executor | None = None,
) -> tuple[Fitted, Assessment]:
    """The holdout fit, then the guard and the calibration of its intervals on the data
    before the test part (see `validation.assess`)."""
    events = events or Events()
    holdout = fit_forecaster(
        plan, dataset, points, progress, events=events, checkpoints=checkpoints, runner=runner
    )
    with events.step("validation"):
        forecaster, assessment = assess(
            holdout.forecaster, dataset, points, plan, baseline_only(plan, points)
        )
    return replace(holdout, forecaster=forecaster), assessment


def pack_windows(
    plan: Plan,
    lookback: int,
    matrices: list[np.ndarray],
    values: np.ndarray,
    points: list[SplitPoints],
    layout: InputLayout,
) -> tuple[WindowIndex, WindowIndex]:
    """The training windows of members with this lookback (targets in each series' training
    part, every `stride` steps) and their validation windows (targets in its validation part),
    as positions into `values`, the `matrices` laid end to end."""
    training = window_index(
        matrices,
        [(0, p.train_end) for p in points],
        lookback,
        plan.horizon,
        plan.stride,
        layout.known,
        values,
    )
    validation = window_index(
        matrices,
        [(p.train_end, p.validation_end) for p in points],
        lookback,
        plan.horizon,
        known=layout.known,
        values=values,
    )
    return training, validation


def baseline_only(plan: Plan, points: list[SplitPoints]) -> bool:
    """Whether the model stays its untrained baseline: when every series was too short to
    keep the validation part `split.validation` asked for, nothing can show that training
    beats the baseline (the rule `fit` applies with a validation part)."""
    asked = plan.config.split.validation
    dropped = isinstance(asked, float) and asked > 0
    return (
        dropped
        and plan.baseline != "none"
        and all(point.validation_end == point.train_end for point in points)
    )


def refit(
    plan: Plan,
    dataset: Dataset,
    holdout: Fitted,
    progress: str,
    events: Events | None = None,
    checkpoints: Checkpoints | None = None,
    runner: Executor | None = None,
) -> Fitted:
    """Every member trained again from scratch on each series' whole history (scaler too),
    for the epochs early stopping chose in the holdout fit. It keeps the holdout's guard
    choice and calibration errors (relative to each series' scale, now measured on the whole
    history). When the guard chose a baseline, the networks it replaces are not trained
    again (0 epochs): nothing would use them."""
    whole = [SplitPoints(len(series), len(series), len(series)) for series in dataset.series]
    epochs = [summary["best_epoch"] for summary in holdout.summaries]
    if holdout.forecaster.fallback is not None:
        epochs = [0] * len(epochs)
    fitted = fit_forecaster(plan, dataset, whole, progress, epochs, events, checkpoints, runner)
    forecaster = replace(
        fitted.forecaster,
        fallback=holdout.forecaster.fallback,
        blend=holdout.forecaster.blend,
        calibration=holdout.forecaster.calibration,
        conformity=holdout.forecaster.conformity,
    )
    scales = series_scales(forecaster, dataset, [len(series) for series in dataset.series])
    return replace(fitted, forecaster=replace(forecaster, scales=scales))


def models_note(plan: Plan, points: list[SplitPoints], assessment: Assessment) -> dict[str, str]:
    """Which model each figure and file comes from, for `metrics.json`."""
    members = len(plan.members)
    what = f"{members} member(s), median" if members > 1 else "1 member"
    if baseline_only(plan, points):
        what += (
            f"; every series was too short to keep a validation part, so it is its untrained "
            f"{plan.baseline} baseline"
        )
    elif assessment.choice == BLEND:
        what += (
            f"; it forecasts {BLEND_WORDS}, which beat the network alone on the validation "
            "part (the guard, `model.guard_blend`)"
        )
    elif assessment.choice != NETWORK:
        what += (
            f"; the network was not {margin_words(plan.config.model.guard_margin)} "
            f"{assessment.choice} on the validation part, so it forecasts {assessment.choice} "
            "(the guard, `model.guard`)"
        )
    scored = (
        f"the test figures and {FORECAST_TEST_FILE} come from a model ({what}) trained on each "
        "series' training part and early-stopped on its validation part; it never saw the test "
        "part"
    )
    if not plan.config.training.refit:
        return {"test": scored, "saved": "the same model"}
    return {
        "test": scored,
        "saved": f"the saved model ({what}) was refit on each series' whole history for the "
        "epochs early stopping chose; predict, evaluate and plot use it",
    }


def fit_scaler(dataset: Dataset, points: list[SplitPoints], plan: Plan) -> Scaler:
    """One scaler per series, fitted on its training part only."""
    return Scaler.fit(
        plan.config.scaling,
        {
            series_key(series.id): series.values[: point.train_end]
            for series, point in zip(dataset.series, points, strict=True)
        },
        log=plan.log,
    )


def free_models() -> None:
    """Drop the Keras models built so far (a process that fits many folds or trials would
    otherwise keep them all)."""
    import sys

    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session()


def _training_summary(holdout: Fitted, refitted: Fitted | None) -> dict[str, Any]:
    """metrics.json's `training`: the first member's figures at the top level (as for one
    model), every member's below."""
    summary: dict[str, Any] = {**holdout.summaries[0], "members": holdout.summaries}
    if refitted is not None:
        summary["refit_epochs"] = [item["epochs_run"] for item in refitted.summaries]
    return summary
