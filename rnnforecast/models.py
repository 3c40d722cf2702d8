"""Building the recurrent network a `model` config section describes; nothing about files."""

from __future__ import annotations

from typing import Any

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
    `model.baseline` is `none`, the network sees the window relative to its last value and its
    output is added to a baseline forecast built from the same window.

    Example:
        `build_model(ModelConfig(cell="gru", units=[32]), lookback=24, features=1, horizon=12)`
    """
    keras = import_keras()
    from rnnforecast.layers import WindowBaseline

    baseline_kind = resolve_baseline(config.baseline, lookback, season_length)

    layers = keras.layers
    cell = getattr(layers, CELL_LAYERS[config.cell])
    window = keras.Input(shape=(lookback, features), name="window")
    hidden, baseline = window, None
    if baseline_kind != "none":
        hidden, baseline = WindowBaseline(
            baseline_kind, horizon, season_length, name="window_baseline"
        )(window)
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
    if baseline is not None:
        forecast = layers.Add(name="add_baseline")([forecast, baseline])
    return keras.Model(window, forecast, name=f"rnnforecast_{config.cell}")


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
