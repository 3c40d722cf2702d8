"""`train(config) -> Run`: data, split, plan, fit, score on the test part, refit on the whole
history, save, in that order."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast import interruption
from rnnforecast.backend import import_keras, import_tensorflow, seed_everything
from rnnforecast.checkpoints import Checkpoints, FitUnit
from rnnforecast.config import Config
from rnnforecast.data import Dataset, load_dataset
from rnnforecast.errors import ConfigError
from rnnforecast.evaluation import score_part
from rnnforecast.events import Events
from rnnforecast.forecaster import Forecaster, InputLayout, Member, feature_matrix, model_inputs
from rnnforecast.models import ModelShape, build_model, compile_model
from rnnforecast.panels import series_panels
from rnnforecast.plan import MemberPlan, Plan, make_plan
from rnnforecast.plots import forecast_figure, loss_figure
from rnnforecast.progress import resolved_progress, with_progress
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
from rnnforecast.validation import NETWORK, Assessment, assess, series_scales
from rnnforecast.windowing import Windows, observed_windows, stack_windows

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
    holdout, assessment = fit_and_assess(plan, dataset, points, progress, events, checkpoints)
    with events.step("test forecasts + metrics"):
        scored = score_part(
            holdout.forecaster,
            dataset,
            bounds=[(p.validation_end, p.length) for p in points],
            history_ends=[p.train_end for p in points],
            levels=levels,
        )
    saved, history = holdout, holdout.history.assign(phase=HOLDOUT)
    refitted = plan.config.training.refit
    if refitted:
        saved = refit(plan, dataset, holdout, progress, events, checkpoints)
        history = pd.concat([history, saved.history.assign(phase=REFIT)])
    metrics = {
        "part": "test",
        **scored.metrics(dataset.season_length),
        "models": models_note(plan, points, assessment),
        **assessment.summary(plan.config.model.guard),
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
) -> Fitted:
    """Fit the scaler on each series' training part, then every ensemble member on the
    windows whose targets lie in it, early-stopped on the validation part.

    Args:
        epochs: per member, train exactly this many epochs without early stopping (a refit).
        checkpoints: where each member's training state is saved, and resumed from.
    """
    events = events or Events()
    phase = HOLDOUT if epochs is None else REFIT
    with events.step("scaling + windows"):
        scaler = fit_scaler(dataset, points, plan)
        layout = InputLayout.of(plan, scaler)
        matrices = [feature_matrix(series, dataset, scaler, layout) for series in dataset.series]
    keys = [series_key(series.id) for series in dataset.series]
    observed = [series.observed for series in dataset.series]
    members, summaries, histories = [], [], []
    for member in plan.members:
        unit = None if checkpoints is None else checkpoints.unit(phase, [member.number])
        with events.step("seed"):
            seed_everything(member.seed)
        with events.step("scaling + windows"):
            training, validation = member_windows(plan, member, matrices, points, layout)
            # Windows with a target data.missing filled teach nothing (README: missing values).
            training, validation = (observed_windows(w, observed) for w in (training, validation))
        with events.step("build + compile"):
            shape = ModelShape(
                member.lookback, layout.features, plan.horizon, len(layout.known), len(keys)
            )
            model = build_model(plan, member, shape)
            compile_model(model, plan)
        member_epochs = None if epochs is None else epochs[member.number - 1]
        if epochs is None and baseline_only(plan, points):
            member_epochs = 0
        finished = None if unit is None else unit.restore_finished(model)
        if finished is not None:
            [summary], history = finished.summaries, finished.history
        else:
            with events.step("fit", member=member.number, members=len(plan.members), phase=phase):
                summary, history = fit(
                    model,
                    (model_inputs(training, layout, keys), training),
                    (model_inputs(validation, layout, keys), validation),
                    plan,
                    progress,
                    member_epochs,
                    member,
                    _EpochReporter(events, member.number, len(plan.members), phase),
                    unit,
                )
            if unit is not None:
                unit.finish(model, [summary], history)
        members.append(Member(model, member.lookback))
        summaries.append(summary)
        histories.append(history.assign(member=member.number))
    forecaster = Forecaster(members, scaler, plan.horizon, layout)
    return Fitted(forecaster, summaries, pd.concat(histories, ignore_index=True))


def fit_and_assess(
    plan: Plan,
    dataset: Dataset,
    points: list[SplitPoints],
    progress: str,
    events: Events | None = None,
    checkpoints: Checkpoints | None = None,
) -> tuple[Fitted, Assessment]:
    """The holdout fit, then the guard and the calibration of its intervals on the data
    before the test part (see `validation.assess`)."""
    events = events or Events()
    holdout = fit_forecaster(
        plan, dataset, points, progress, events=events, checkpoints=checkpoints
    )
    with events.step("validation"):
        forecaster, assessment = assess(
            holdout.forecaster, dataset, points, plan, baseline_only(plan, points)
        )
    return replace(holdout, forecaster=forecaster), assessment


def member_windows(
    plan: Plan,
    member: MemberPlan,
    matrices: list[np.ndarray],
    points: list[SplitPoints],
    layout: InputLayout,
) -> tuple[Windows, Windows]:
    """A member's training windows (targets in each series' training part, every `stride`
    steps) and validation windows (targets in its validation part)."""
    training = stack_windows(
        matrices,
        [(0, p.train_end) for p in points],
        member.lookback,
        plan.horizon,
        plan.stride,
        layout.known,
    )
    validation = stack_windows(
        matrices,
        [(p.train_end, p.validation_end) for p in points],
        member.lookback,
        plan.horizon,
        known=layout.known,
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
    fitted = fit_forecaster(plan, dataset, whole, progress, epochs, events, checkpoints)
    forecaster = replace(
        fitted.forecaster,
        fallback=holdout.forecaster.fallback,
        calibration=holdout.forecaster.calibration,
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
    elif assessment.choice != NETWORK:
        what += (
            f"; the network was not better than {assessment.choice} on the validation part, "
            f"so it forecasts {assessment.choice} (the guard, `model.guard`)"
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


def fit(
    model: Any,
    training: tuple[dict[str, Any], Windows],
    validation: tuple[dict[str, Any], Windows],
    plan: Plan,
    progress: str,
    epochs: int | None,
    member: MemberPlan,
    reporter: Any = None,
    unit: FitUnit | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Fit with early stopping on the validation loss (training loss without validation),
    restoring the best weights; or for exactly `epochs` epochs when given (0: not at all).
    The member's seed and the epoch order the shuffled windows. With `unit`, the state is
    saved after each epoch, and a fit stopped before goes on from its last saved epoch.

    The untrained model is the baseline forecast (see `build_model`). When no epoch beats its
    validation loss, the untrained weights are kept and the best epoch is 0: the network only
    departs from the baseline where the data shows that it helps.

    Returns:
        Epochs run, the best epoch (1-based; 0 for the untrained model) and its monitored
        loss; the per-epoch losses.
    """
    keras = import_keras()
    settings = plan.config.training
    (training_inputs, training_windows), (validation_inputs, validation_windows) = (
        training,
        validation,
    )
    has_validation = len(validation_windows) > 0 and epochs is None
    monitor = "val_loss" if has_validation else "loss"
    summary: dict[str, Any] = {
        "epochs_run": 0,
        "best_epoch": 0,
        "monitor": monitor,
        "best_loss": None,
        "windows": {"training": len(training_windows), "validation": len(validation_windows)},
    }
    if epochs == 0:
        return summary, pd.DataFrame({"epoch": [], "loss": []})
    callbacks: list[Any] = [keras.callbacks.TerminateOnNaN()]
    stopper = None
    if epochs is None and plan.patience:
        stopper = keras.callbacks.EarlyStopping(
            monitor=monitor, patience=plan.patience, restore_best_weights=True
        )
        callbacks.append(stopper)
    callbacks.append(_stop_on_request(keras))
    if reporter is not None:
        callbacks.append(reporter.callback(keras))
    validation_data = None
    untrained: tuple[list[Any], float] | None = None
    if has_validation:
        validation_data = window_pipeline(
            validation_inputs, validation_windows.targets, plan.batch_size, False, 0
        )
        scores = model.evaluate(validation_data, verbose=0, return_dict=True)
        untrained = (model.get_weights(), float(scores["loss"]))
    # Last, after the stopper whose state it keeps; it puts a stopped fit's state back.
    checkpoint = None if unit is None else unit.callback(keras, model, [stopper] if stopper else [])
    first = 0 if checkpoint is None else checkpoint.first_epoch
    if checkpoint is not None:
        callbacks.append(checkpoint)
    total = epochs or plan.epochs
    with interruption.deferred():
        history = model.fit(
            window_pipeline(
                training_inputs,
                training_windows.targets,
                plan.batch_size,
                settings.shuffle,
                member.seed,
                range(first, total),
            ),
            validation_data=validation_data,
            epochs=total,
            initial_epoch=first,
            steps_per_epoch=math.ceil(len(training_windows) / plan.batch_size),
            shuffle=False,  # the pipeline shuffles; Keras cannot shuffle a tf.data input itself
            callbacks=callbacks,
            verbose=_keras_verbosity(progress),
        )
    records = history.history if checkpoint is None else checkpoint.records
    losses = np.asarray(records[monitor], dtype=np.float64)
    # Early stopping restored the best weights; without it the last epoch's weights are kept.
    finite = np.where(np.isfinite(losses), losses, np.inf)
    best = int(np.argmin(finite)) if stopper is not None else len(losses) - 1
    if untrained is not None and not finite[best] < untrained[1]:
        model.set_weights(untrained[0])
        summary.update(epochs_run=len(losses), best_loss=untrained[1])
    elif not np.isfinite(losses[best]):
        raise ConfigError(
            "training diverged (the loss became NaN or infinite). Received: "
            f"training.learning_rate={plan.learning_rate:g}, scaling={plan.config.scaling}. "
            "Lower `training.learning_rate`, or use `scaling: standard` for data with a large "
            "range."
        )
    else:
        summary.update(epochs_run=len(losses), best_epoch=best + 1, best_loss=float(losses[best]))
    frame = pd.DataFrame({"epoch": np.arange(1, len(losses) + 1)})
    for name in ("loss", "val_loss"):
        if name in records:
            frame[name] = records[name]
    return summary, frame


def _training_summary(holdout: Fitted, refitted: Fitted | None) -> dict[str, Any]:
    """metrics.json's `training`: the first member's figures at the top level (as for one
    model), every member's below."""
    summary: dict[str, Any] = {**holdout.summaries[0], "members": holdout.summaries}
    if refitted is not None:
        summary["refit_epochs"] = [item["epochs_run"] for item in refitted.summaries]
    return summary


def _stop_on_request(keras: Any) -> Any:
    """A callback ending training after the current batch once a stop was requested."""

    class StopOnRequest(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if interruption.stop_requested():
                self.model.stop_training = True

    return StopOnRequest()


@dataclass(frozen=True)
class _EpochReporter:
    """Reports each finished epoch of one member as an `epoch` event."""

    events: Events
    member: int
    members: int
    phase: str

    def callback(self, keras: Any) -> Any:
        reporter = self

        class ReportEpoch(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                losses = {key: float(value) for key, value in (logs or {}).items()}
                losses.setdefault("learning_rate", _learning_rate(self.model))
                reporter.events.emit(
                    "epoch",
                    reporter.phase,
                    member=reporter.member,
                    members=reporter.members,
                    epoch=epoch + 1,
                    epochs=self.params.get("epochs"),
                    **losses,
                )

        return ReportEpoch()


def _learning_rate(model: Any) -> float:
    """The optimizer's current learning rate (Keras does not put it in the epoch logs)."""
    return float(np.asarray(model.optimizer.learning_rate))


def window_pipeline(
    inputs: dict[str, Any],
    targets: np.ndarray,
    batch_size: int,
    shuffle: bool,
    seed: int,
    epochs: range | None = None,
) -> Any:
    """A `tf.data` pipeline of `(inputs, targets)` batches; shuffled windows keep their own
    time order inside, only the order of windows changes.

    Without `epochs`, one pass in order. With `epochs`, the batches of those epochs one after
    another (`fit` then needs `steps_per_epoch`), the order of epoch e drawn from (seed, e)
    alone, so a fit resumed at epoch e sees the order an uninterrupted one sees there.
    """
    tf = import_tensorflow()
    if epochs is None:
        pipeline = tf.data.Dataset.from_tensor_slices((inputs, targets))
        return pipeline.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    data = tf.nest.map_structure(tf.convert_to_tensor, (inputs, targets))
    count = len(targets)

    def epoch_batches(epoch: Any) -> Any:
        order = tf.range(count, dtype=tf.int64)
        if shuffle:
            key = tf.stack([tf.constant(seed, dtype=tf.int64), epoch])
            order = tf.random.experimental.stateless_shuffle(order, seed=key)
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    batches = tf.data.Dataset.range(epochs.start, epochs.stop).flat_map(epoch_batches)
    gathered = batches.map(
        lambda rows: tf.nest.map_structure(lambda part: tf.gather(part, rows), data)
    )
    return gathered.prefetch(tf.data.AUTOTUNE)


def _keras_verbosity(progress: str) -> int:
    # Keras' bar on a terminal only; its one-line-per-epoch mode (2) would repeat the lines
    # that `progress.EpochLines` writes from the epoch events, without member or phase.
    return 1 if resolved_progress(progress) == "bar" else 0
