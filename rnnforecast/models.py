"""Building the recurrent network a `model` config section describes; nothing about files."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnforecast.backend import import_keras
from rnnforecast.config import ModelConfig, TrainingConfig

CELL_LAYERS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
OPTIMIZERS = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD"}
LOSSES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "huber": "huber"}


def build_model(
    config: ModelConfig, lookback: int, features: int, horizon: int, season_length: int = 1
) -> Any:
    """A Keras model mapping `(batch, lookback, features)` to `(batch, horizon)`.

    Recurrent layers (stacked when `units` is a list, optionally bidirectional), the hidden
    dense layers, and a linear dense layer emitting all `horizon` steps at once. Unless
    `model.baseline` is `none`, the window is taken relative to its last value, and the
    forecast is that value plus a trainable linear map of the window that starts as the
    baseline forecast, plus the network's output.

    Example:
        `build_model(ModelConfig(cell="gru", units=[32]), lookback=24, features=1, horizon=12)`
    """
    keras = import_keras()
    from rnnforecast.layers import WindowLevel

    layers = keras.layers
    cell = getattr(layers, CELL_LAYERS[config.cell])
    window = keras.Input(shape=(lookback, features), name="window")
    baseline = resolve_baseline(config.baseline, lookback, season_length)
    hidden = window
    if baseline != "none":
        hidden, relative_target, level = WindowLevel(horizon, name="window_level")(window)
    for depth, units in enumerate(config.units):
        recurrent = cell(
            units,
            activation=config.activation,
            dropout=config.dropout,
            recurrent_dropout=config.recurrent_dropout,
            return_sequences=depth < len(config.units) - 1,
            name=f"{config.cell}_{depth}",
        )
        if config.bidirectional:
            recurrent = layers.Bidirectional(recurrent, name=f"bidirectional_{depth}")
        hidden = recurrent(hidden)
    for depth, units in enumerate(config.dense):
        hidden = layers.Dense(units, activation=config.dense_activation, name=f"dense_{depth}")(
            hidden
        )
    forecast = layers.Dense(horizon, name="forecast")(hidden)
    if baseline != "none":
        linear = layers.Dense(
            horizon,
            kernel_initializer=keras.initializers.Constant(
                baseline_weights(baseline, lookback, horizon, season_length)
            ),
            name="linear",
        )(relative_target)
        forecast = layers.Add(name="add_level")([forecast, linear, level])
    return keras.Model(window, forecast, name=f"rnnforecast_{config.cell}")


def baseline_weights(kind: str, lookback: int, horizon: int, season_length: int) -> np.ndarray:
    """`(lookback, horizon)` weights that map a window relative to its last value to the
    baseline forecast relative to that value: zeros for naive, `1 / lookback` for the window
    mean, and for seasonal naive a one at the same point of the last season for each step.

    Example:
        >>> baseline_weights("seasonal_naive", 3, 3, 2)[:, 2].tolist()
        [0.0, 1.0, 0.0]
    """
    weights = np.zeros((lookback, horizon), dtype="float32")
    if kind == "mean":
        weights[:] = 1 / lookback
    elif kind == "seasonal_naive":
        steps = np.arange(horizon)
        weights[lookback - season_length + steps % season_length, steps] = 1.0
    return weights


def resolve_baseline(baseline: str, lookback: int, season_length: int) -> str:
    """`auto` is seasonal naive when the window covers a season of a seasonal series, naive
    otherwise; a seasonal naive baseline the window cannot cover falls back to naive."""
    if baseline in ("auto", "seasonal_naive"):
        return "seasonal_naive" if 1 < season_length <= lookback else "naive"
    return baseline


def compile_model(model: Any, config: TrainingConfig) -> None:
    """Attach the optimizer and loss the `training` section names."""
    keras = import_keras()
    optimizer = getattr(keras.optimizers, OPTIMIZERS[config.optimizer])
    model.compile(optimizer=optimizer(learning_rate=config.learning_rate), loss=LOSSES[config.loss])
