"""`train(config) -> Run`: data, split, defaults, fit, score on the test part, refit on the
whole history, save, in that order."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast import interruption
from rnnforecast.backend import import_keras, seed_everything
from rnnforecast.config import Config
from rnnforecast.data import Dataset, load_dataset
from rnnforecast.defaults import resolve_defaults
from rnnforecast.errors import ConfigError, DataError
from rnnforecast.evaluation import score_part
from rnnforecast.forecaster import Forecaster, InputLayout, Member, feature_matrix, model_inputs
from rnnforecast.models import ModelShape, build_model, compile_model
from rnnforecast.plots import forecast_figure, loss_figure, save_figure
from rnnforecast.prediction import series_panels
from rnnforecast.run import (
    FORECAST_PLOT_FILE,
    FORECAST_TEST_FILE,
    HISTORY_FILE,
    LOSS_PLOT_FILE,
    MODELS_DIR,
    Run,
    build_manifest,
    default_run_dir,
    load_run,
    member_file,
    staged_directory,
    write_run_metadata,
)
from rnnforecast.scaling import Scaler, series_key
from rnnforecast.splitting import (
    SplitPoints,
    boundary_times,
    check_covariates,
    check_split,
    check_transforms,
    split_points,
)
from rnnforecast.windowing import Windows, stack_windows


@dataclass(frozen=True)
class Fitted:
    """Trained members with their scaler, and how their training went.

    Attributes:
        summaries: per member, epochs run, best epoch and its loss.
        history: per member and epoch, the losses (columns member, epoch, loss[, val_loss]).
    """

    forecaster: Forecaster
    summaries: list[dict[str, Any]]
    history: pd.DataFrame


def train(config: Config, run_dir: Path | None = None, progress: str = "auto") -> Run:
    """Train the model a config describes and write its run directory.

    Args:
        config: a validated config (see `load_config`).
        run_dir: where the run goes; `<output.dir>/<output.name>-<timestamp>` by default.
        progress: `"bar"` (Keras' progress bar), `"epoch"` (one line per epoch), `"none"`, or
            `"auto"`: the bar on a terminal, one line per epoch otherwise (cron logs).

    Returns:
        The finished `Run`; its `metrics` hold the test scores next to the naive baselines.

    Example:
        `train(load_config("configs/sine.yaml", ["training.epochs=2"]))`
    """
    dataset = load_dataset(config.data)
    points = split_points(dataset, config)
    config = prepare(config, dataset, points)
    final = run_dir or default_run_dir(config)
    with staged_directory(final) as folder:
        holdout = fit_forecaster(config, dataset, points, progress)
        metrics, pairs = score_part(
            holdout.forecaster,
            dataset,
            bounds=[(p.validation_end, p.length) for p in points],
            history_ends=[p.train_end for p in points],
        )
        saved, history = holdout, holdout.history.assign(phase="holdout")
        if config.training.refit:
            saved = refit(config, dataset, holdout, progress)
            history = pd.concat([history, saved.history.assign(phase="refit")])
        metrics = {
            "part": "test",
            **metrics,
            "models": models_note(config, points),
            "training": _training_summary(holdout, saved if config.training.refit else None),
            "split": boundary_times(dataset, points),
        }
        (folder / MODELS_DIR).mkdir()
        for number, member in enumerate(saved.forecaster.members, start=1):
            member.model.save(folder / member_file(number))
        pairs.to_csv(folder / FORECAST_TEST_FILE, index=False)
        history.to_csv(folder / HISTORY_FILE, index=False)
        write_run_metadata(
            folder,
            config,
            saved.forecaster.scaler,
            metrics,
            build_manifest(config, dataset.checksum),
        )
        # The past as the scored model saw it (out of sample over the test part), the future
        # from the saved one.
        panels = series_panels(
            holdout.forecaster, dataset, config, points, ahead_by=saved.forecaster
        )
        figure = forecast_figure(panels, dataset.target, total=len(dataset.series))
        save_figure(figure, str(folder / FORECAST_PLOT_FILE))
        save_figure(loss_figure(history), str(folder / LOSS_PLOT_FILE))
    return load_run(final)


def prepare(
    config: Config, dataset: Dataset, points: list[SplitPoints], test: bool = True
) -> Config:
    """The config with the values chosen from the data, checked against the split (which has
    no test part without `test`)."""
    resolved = resolve_defaults(config, dataset, points)
    check_split(dataset, points, resolved, test)
    check_covariates(dataset, points)
    check_transforms(dataset, resolved, config.transform.log)
    return resolved


def out_of_memory_is_a_config_error(fit: Callable[..., Fitted]) -> Callable[..., Fitted]:
    """Report running out of memory while fitting (a `MemoryError`, TensorFlow's
    `ResourceExhaustedError`) as the config error it is: sizes too large for the machine."""

    @functools.wraps(fit)
    def fit_within_memory(config: Config, *args: Any, **kwargs: Any) -> Fitted:
        try:
            return fit(config, *args, **kwargs)
        except Exception as error:
            # By name: TensorFlow is imported lazily and its error types with it.
            if not isinstance(error, MemoryError) and "ResourceExhausted" not in repr(type(error)):
                raise
            model, training = config.model, config.training
            raise ConfigError(
                f"training ran out of memory ({type(error).__name__}): the network or its "
                "batches are too large for this machine. Lower `model.units`, `model.dense`, "
                "`training.batch_size`, `window.lookback` or `model.series_embedding`. "
                f"Received: model.units={model.units}, model.dense={model.dense}, "
                f"training.batch_size={training.batch_size}, "
                f"window.lookback={config.window.lookback}, "
                f"model.series_embedding={model.series_embedding}"
            ) from None

    return fit_within_memory


@out_of_memory_is_a_config_error
def fit_forecaster(
    config: Config,
    dataset: Dataset,
    points: list[SplitPoints],
    progress: str,
    epochs: list[int] | None = None,
) -> Fitted:
    """Fit the scaler on each series' training part, then every ensemble member on the
    windows whose targets lie in it, early-stopped on the validation part.

    Args:
        epochs: per member, train exactly this many epochs without early stopping (a refit).
    """
    scaler = fit_scaler(dataset, points, config)
    layout = InputLayout.of(config, scaler)
    matrices = [feature_matrix(series, dataset, scaler, layout) for series in dataset.series]
    keys = [series_key(series.id) for series in dataset.series]
    horizon, stride = config.window.horizon, config.window.stride
    members, summaries, histories = [], [], []
    lookbacks = config.training.member_lookbacks(config.window.lookback or 0)
    for number, lookback in enumerate(lookbacks, start=1):
        seed = config.training.seed + number - 1
        seed_everything(seed)
        training = stack_windows(
            matrices, [(0, p.train_end) for p in points], lookback, horizon, stride, layout.known
        )
        validation = stack_windows(
            matrices,
            [(p.train_end, p.validation_end) for p in points],
            lookback,
            horizon,
            known=layout.known,
        )
        shape = ModelShape(
            lookback, layout.features, horizon, len(layout.known), len(scaler.center)
        )
        model = build_model(config.model, shape, dataset.season_length, config.transform.difference)
        compile_model(model, config.training)
        member_epochs = None if epochs is None else epochs[number - 1]
        if epochs is None and baseline_only(config, points):
            member_epochs = 0
        summary, history = fit(
            model,
            (model_inputs(training, layout, keys), training),
            (model_inputs(validation, layout, keys), validation),
            config,
            progress,
            member_epochs,
            seed,
        )
        members.append(Member(model, lookback))
        summaries.append(summary)
        histories.append(history.assign(member=number))
    forecaster = Forecaster(members, scaler, horizon, layout)
    return Fitted(forecaster, summaries, pd.concat(histories, ignore_index=True))


def baseline_only(config: Config, points: list[SplitPoints]) -> bool:
    """Whether the model stays its untrained baseline: when every series was too short to
    keep the validation part `split.validation` asked for, nothing can show that training
    beats the baseline (the rule `fit` applies with a validation part)."""
    dropped = isinstance(config.split.validation, float) and config.split.validation > 0
    return (
        dropped
        and config.model.baseline != "none"
        and all(point.validation_end == point.train_end for point in points)
    )


def refit(config: Config, dataset: Dataset, holdout: Fitted, progress: str) -> Fitted:
    """Every member trained again from scratch on each series' whole history (scaler too),
    for the epochs early stopping chose in the holdout fit."""
    whole = [SplitPoints(len(series), len(series), len(series)) for series in dataset.series]
    epochs = [summary["best_epoch"] for summary in holdout.summaries]
    return fit_forecaster(config, dataset, whole, progress, epochs)


def models_note(config: Config, points: list[SplitPoints]) -> dict[str, str]:
    """Which model each figure and file comes from, for `metrics.json`."""
    members = len(config.training.member_lookbacks(config.window.lookback or 0))
    what = f"{members} member(s), median" if members > 1 else "1 member"
    if baseline_only(config, points):
        what += (
            f"; every series was too short to keep a validation part, so it is its untrained "
            f"{config.model.baseline} baseline"
        )
    scored = (
        f"the test figures and {FORECAST_TEST_FILE} come from a model ({what}) trained on each "
        "series' training part and early-stopped on its validation part; it never saw the test "
        "part"
    )
    if not config.training.refit:
        return {"test": scored, "saved": "the same model"}
    return {
        "test": scored,
        "saved": f"the saved model ({what}) was refit on each series' whole history for the "
        "epochs early stopping chose; predict, evaluate and plot use it",
    }


def fit_scaler(dataset: Dataset, points: list[SplitPoints], config: Config) -> Scaler:
    """One scaler per series, fitted on its training part only."""
    return Scaler.fit(
        config.scaling,
        {
            series_key(series.id): series.values[: point.train_end]
            for series, point in zip(dataset.series, points, strict=True)
        },
        log=config.transform.log is True,
    )


def fit(
    model: Any,
    training: tuple[dict[str, Any], Windows],
    validation: tuple[dict[str, Any], Windows],
    config: Config,
    progress: str,
    epochs: int | None = None,
    seed: int | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Fit with early stopping on the validation loss (training loss without validation),
    restoring the best weights; or for exactly `epochs` epochs when given (0: not at all).
    `seed` orders the shuffled windows (each ensemble member its own; `training.seed` if
    not given).

    The untrained model is the baseline forecast (see `build_model`). When no epoch beats its
    validation loss, the untrained weights are kept and the best epoch is 0: the network only
    departs from the baseline where the data shows that it helps.

    Returns:
        Epochs run, the best epoch (1-based; 0 for the untrained model) and its monitored
        loss; the per-epoch losses.
    """
    keras = import_keras()
    settings = config.training
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
    if epochs is None and settings.early_stopping:
        stopper = keras.callbacks.EarlyStopping(
            monitor=monitor, patience=settings.early_stopping, restore_best_weights=True
        )
        callbacks.append(stopper)
    callbacks.append(_stop_on_request(keras))
    batch_size = settings.batch_size or 32  # resolve_defaults always sets it
    validation_data = None
    untrained: tuple[list[Any], float] | None = None
    if has_validation:
        validation_data = window_pipeline(
            validation_inputs, validation_windows.targets, batch_size, False, 0
        )
        scores = model.evaluate(validation_data, verbose=0, return_dict=True)
        untrained = (model.get_weights(), float(scores["loss"]))
    with interruption.deferred():
        history = model.fit(
            window_pipeline(
                training_inputs,
                training_windows.targets,
                batch_size,
                settings.shuffle,
                settings.seed if seed is None else seed,
            ),
            validation_data=validation_data,
            epochs=epochs or settings.epochs or 1,
            shuffle=False,  # the pipeline shuffles; Keras cannot shuffle a tf.data input itself
            callbacks=callbacks,
            verbose=_keras_verbosity(progress),
        )
    losses = np.asarray(history.history[monitor], dtype=np.float64)
    # Early stopping restored the best weights; without it the last epoch's weights are kept.
    finite = np.where(np.isfinite(losses), losses, np.inf)
    best = int(np.argmin(finite)) if stopper is not None else len(losses) - 1
    if untrained is not None and not finite[best] < untrained[1]:
        model.set_weights(untrained[0])
        summary.update(epochs_run=len(losses), best_loss=untrained[1])
    elif not np.isfinite(losses[best]):
        raise DataError(
            "training diverged (the loss became NaN or infinite). Lower "
            "`training.learning_rate`, or use `scaling: standard` for data with a large range."
        )
    else:
        summary.update(epochs_run=len(losses), best_epoch=best + 1, best_loss=float(losses[best]))
    frame = pd.DataFrame({"epoch": np.arange(1, len(losses) + 1)})
    for name in ("loss", "val_loss"):
        if name in history.history:
            frame[name] = history.history[name]
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


def window_pipeline(
    inputs: dict[str, Any], targets: np.ndarray, batch_size: int, shuffle: bool, seed: int
) -> Any:
    """A `tf.data` pipeline of `(inputs, targets)` batches; shuffled windows keep their own
    time order inside, only the order of windows changes."""
    import tensorflow as tf

    pipeline = tf.data.Dataset.from_tensor_slices((inputs, targets))
    if shuffle:
        pipeline = pipeline.shuffle(len(targets), seed=seed, reshuffle_each_iteration=True)
    return pipeline.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _keras_verbosity(progress: str) -> int:
    if progress == "auto":
        return 1 if sys.stdout.isatty() else 2
    return {"bar": 1, "epoch": 2, "none": 0}[progress]
