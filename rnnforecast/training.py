"""`train(config) -> Run`: data, split, scaling, windows, model, fit, score, save, in that order."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast import interruption
from rnnforecast.backend import import_keras, seed_everything
from rnnforecast.config import Config
from rnnforecast.data import Dataset, load_dataset
from rnnforecast.errors import DataError
from rnnforecast.evaluation import scale_series, score_part
from rnnforecast.models import build_model, compile_model
from rnnforecast.plots import forecast_figure, loss_figure, save_figure
from rnnforecast.prediction import series_panels
from rnnforecast.run import (
    FORECAST_PLOT_FILE,
    FORECAST_TEST_FILE,
    HISTORY_FILE,
    LOSS_PLOT_FILE,
    MODEL_FILE,
    Run,
    build_manifest,
    default_run_dir,
    load_run,
    staged_directory,
    write_run_metadata,
)
from rnnforecast.scaling import Scaler, series_key
from rnnforecast.splitting import (
    SplitPoints,
    boundary_times,
    check_covariates,
    check_split,
    resolve_defaults,
    split_points,
)
from rnnforecast.windowing import Windows, stack_windows


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
    config = resolve_defaults(config, dataset, points)
    check_split(dataset, points, config)
    check_covariates(dataset, points)
    lookback = int(config.window.lookback or 0)  # resolve_defaults always sets it
    horizon = config.window.horizon

    seed_everything(config.training.seed)
    scaler = fit_scaler(dataset, points, config.scaling)
    scaled = scale_series(dataset, scaler)
    training = stack_windows(
        scaled, [(0, p.train_end) for p in points], lookback, horizon, config.window.stride
    )
    validation = stack_windows(
        scaled, [(p.train_end, p.validation_end) for p in points], lookback, horizon
    )
    model = build_model(config.model, lookback, dataset.features, horizon, dataset.season_length)
    compile_model(model, config.training)

    final = run_dir or default_run_dir(config)
    with staged_directory(final) as folder:
        fit_summary = fit(model, training, validation, config, folder / HISTORY_FILE, progress)
        metrics, pairs = score_part(
            model,
            dataset,
            scaler,
            bounds=[(p.validation_end, p.length) for p in points],
            history_ends=[p.train_end for p in points],
            lookback=lookback,
            horizon=horizon,
        )
        metrics = {
            "part": "test",
            **metrics,
            "training": fit_summary,
            "split": boundary_times(dataset, points),
        }
        model.save(folder / MODEL_FILE)
        pairs.to_csv(folder / FORECAST_TEST_FILE, index=False)
        write_run_metadata(
            folder, config, scaler, metrics, build_manifest(config, dataset.checksum)
        )
        panels = series_panels(model, dataset, scaler, config, points)
        figure = forecast_figure(panels, dataset.target, total=len(dataset.series))
        save_figure(figure, str(folder / FORECAST_PLOT_FILE))
        history = pd.read_csv(folder / HISTORY_FILE)
        save_figure(loss_figure(history), str(folder / LOSS_PLOT_FILE))
    return load_run(final)


def fit_scaler(dataset: Dataset, points: list[SplitPoints], method: str) -> Scaler:
    """One scaler per series, fitted on its training part only."""
    return Scaler.fit(
        method,
        {
            series_key(series.id): series.values[: point.train_end]
            for series, point in zip(dataset.series, points, strict=True)
        },
    )


def fit(
    model: Any,
    training: Windows,
    validation: Windows,
    config: Config,
    history_path: Path,
    progress: str,
) -> dict[str, Any]:
    """Fit with early stopping on the validation loss (training loss without validation),
    restoring the best weights; the per-epoch history goes to `history_path` as CSV.

    Returns:
        Epochs run, the best epoch (1-based) and its monitored loss.
    """
    keras = import_keras()
    settings = config.training
    monitor = "val_loss" if len(validation) else "loss"
    callbacks: list[Any] = [
        keras.callbacks.CSVLogger(str(history_path)),
        keras.callbacks.TerminateOnNaN(),
    ]
    stopper = None
    if settings.early_stopping > 0:
        stopper = keras.callbacks.EarlyStopping(
            monitor=monitor, patience=settings.early_stopping, restore_best_weights=True
        )
        callbacks.append(stopper)
    callbacks.append(_stop_on_request(keras))
    with interruption.deferred():
        history = model.fit(
            window_pipeline(training, settings.batch_size, settings.shuffle, settings.seed),
            validation_data=(
                window_pipeline(validation, settings.batch_size, False, settings.seed)
                if len(validation)
                else None
            ),
            epochs=settings.epochs,
            shuffle=False,  # the pipeline shuffles; Keras cannot shuffle a tf.data input itself
            callbacks=callbacks,
            verbose=_keras_verbosity(progress),
        )
    losses = np.asarray(history.history[monitor], dtype=np.float64)
    # Early stopping restored the best weights; without it the last epoch's weights are kept.
    finite = np.where(np.isfinite(losses), losses, np.inf)
    best = int(np.argmin(finite)) if stopper is not None else len(losses) - 1
    if not np.isfinite(losses[best]):
        raise DataError(
            "training diverged (the loss became NaN or infinite). Lower "
            "`training.learning_rate`, or use `scaling: standard` for data with a large range."
        )
    return {
        "epochs_run": len(losses),
        "best_epoch": best + 1,
        "monitor": monitor,
        "best_loss": float(losses[best]),
        "windows": {"training": len(training), "validation": len(validation)},
    }


def _stop_on_request(keras: Any) -> Any:
    """A callback ending training after the current batch once a stop was requested."""

    class StopOnRequest(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if interruption.stop_requested():
                self.model.stop_training = True

    return StopOnRequest()


def window_pipeline(windows: Windows, batch_size: int, shuffle: bool, seed: int) -> Any:
    """A `tf.data` pipeline of `(inputs, targets)` batches; shuffled windows keep their own
    time order inside, only the order of windows changes."""
    import tensorflow as tf

    pipeline = tf.data.Dataset.from_tensor_slices((windows.inputs, windows.targets))
    if shuffle:
        pipeline = pipeline.shuffle(len(windows), seed=seed, reshuffle_each_iteration=True)
    return pipeline.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _keras_verbosity(progress: str) -> int:
    if progress == "auto":
        return 1 if sys.stdout.isatty() else 2
    return {"bar": 1, "epoch": 2, "none": 0}[progress]
