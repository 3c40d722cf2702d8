"""Building the recurrent network a `model` config section describes; nothing about files."""

from __future__ import annotations

from typing import Any

from rnnforecast.backend import import_keras
from rnnforecast.config import ModelConfig, TrainingConfig

CELL_LAYERS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
OPTIMIZERS = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD"}
LOSSES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "huber": "huber"}


def build_model(config: ModelConfig, lookback: int, features: int, horizon: int) -> Any:
    """A Keras model mapping `(batch, lookback, features)` to `(batch, horizon)`.

    Recurrent layers (stacked when `units` is a list, optionally bidirectional), then the hidden
    dense layers, then a linear dense layer emitting all `horizon` steps at once.

    Example:
        `build_model(ModelConfig(cell="gru", units=[32]), lookback=24, features=1, horizon=12)`
    """
    keras = import_keras()
    layers = keras.layers
    cell = getattr(layers, CELL_LAYERS[config.cell])
    stack: list[Any] = [keras.Input(shape=(lookback, features), name="window")]
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
        stack.append(recurrent)
    for depth, units in enumerate(config.dense):
        stack.append(layers.Dense(units, activation=config.dense_activation, name=f"dense_{depth}"))
    stack.append(layers.Dense(horizon, name="forecast"))
    return keras.Sequential(stack, name=f"rnnforecast_{config.cell}")


def compile_model(model: Any, config: TrainingConfig) -> None:
    """Attach the optimizer and loss the `training` section names."""
    keras = import_keras()
    optimizer = getattr(keras.optimizers, OPTIMIZERS[config.optimizer])
    model.compile(optimizer=optimizer(learning_rate=config.learning_rate), loss=LOSSES[config.loss])
