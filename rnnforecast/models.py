"""Building the recurrent network a plan describes; nothing about files or training."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnforecast.backend import import_keras
from rnnforecast.baselines import baseline_weights
from rnnforecast.intervals import initial_widths, quantile_probabilities
from rnnforecast.plan import MemberPlan, Plan

CELL_LAYERS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
OPTIMIZERS = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD"}
LOSSES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "huber": "huber"}


@dataclass(frozen=True)
class ModelShape:
    """What a model's inputs and output look like.

    Attributes:
        lookback: steps of the `window` input.
        features: columns of the `window` input (target first).
        horizon: steps forecast at once.
        known: columns of the `future` input, the values known over the horizon (0: no input).
        series: series a `series` id input can name (0: no input).
        spread: per horizon step, a first guess of the forecast error's standard deviation
            where the network forecasts (`intervals.naive_spread`): where its quantiles start,
            with `intervals.method: quantile` (none: 1 per step).
    """

    lookback: int
    features: int
    horizon: int
    known: int = 0
    series: int = 0
    spread: tuple[float, ...] = ()


def build_model(plan: Plan, member: MemberPlan, shape: ModelShape) -> Any:
    """The network of ensemble member `member`: a Keras model mapping a `window` `(batch,
    lookback, features)`, plus optionally the known `future` values `(batch, horizon, known)`
    and a `series` index, to `(batch, horizon)`; with `intervals.method: quantile`, to `(batch,
    horizon, 1 + 2 levels)`: the forecast, then each level's quantiles (`layers.QuantileBands`).

    Recurrent layers (stacked when `units` is a list, optionally bidirectional), joined by the
    flattened future values and a learned series vector when there are any, the hidden dense
    layers, and a linear dense layer emitting all `horizon` steps at once. Unless the
    member's baseline is `none`, the window is taken relative to its last value, and the
    forecast is that value plus a trainable linear map of the window that starts as the
    baseline forecast, plus the network's output. With `transform.difference` the network sees
    the window's step-to-step changes and forecasts changes, summed over the horizon.

    Example:
        `build_model(plan, plan.members[0], ModelShape(plan.members[0].lookback, 1, 12))`
    """
    config = plan.config.model
    difference = plan.config.transform.difference
    keras = import_keras()
    from rnnforecast.layers import CumulativeSum, QuantileBands, TargetDifference, WindowLevel

    layers = keras.layers
    cell = getattr(layers, CELL_LAYERS[config.cell])
    lookback, horizon = shape.lookback, shape.horizon
    window = keras.Input(shape=(lookback, shape.features), name="window")
    inputs = {"window": window}
    baseline = member.baseline
    hidden = window
    if baseline != "none":
        hidden, relative_target, level = WindowLevel(horizon, name="window_level")(window)
    if difference:
        hidden = TargetDifference(name="difference")(hidden)
    units_list = plan.units
    for depth, units in enumerate(units_list):
        recurrent = cell(
            units,
            activation=config.activation,
            dropout=config.dropout,
            recurrent_dropout=config.recurrent_dropout,
            return_sequences=depth < len(units_list) - 1,
            name=f"{config.cell}_{depth}",
        )
        if config.bidirectional:
            recurrent = layers.Bidirectional(recurrent, name=f"bidirectional_{depth}")
        hidden = recurrent(hidden)
    joined = [hidden]
    if shape.known:
        future = keras.Input(shape=(horizon, shape.known), name="future")
        inputs["future"] = future
        joined.append(layers.Flatten(name="future_flat")(future))
    if shape.series and config.series_embedding:
        series = keras.Input(shape=(), dtype="int32", name="series")
        inputs["series"] = series
        joined.append(
            layers.Embedding(shape.series, config.series_embedding, name="series_embedding")(series)
        )
    if len(joined) > 1:
        hidden = layers.Concatenate(name="join")(joined)
    for depth, units in enumerate(config.dense):
        hidden = layers.Dense(units, activation=config.dense_activation, name=f"dense_{depth}")(
            hidden
        )
    # With a baseline the network's output starts at zero, so an untrained model forecasts
    # exactly the baseline and training moves it only as far as the data supports.
    forecast = layers.Dense(
        horizon,
        kernel_initializer="zeros" if baseline != "none" else "glorot_uniform",
        name="forecast",
    )(hidden)
    if difference:
        forecast = CumulativeSum(name="cumulative")(forecast)
    if baseline != "none":
        linear = layers.Dense(
            horizon,
            kernel_initializer=keras.initializers.Constant(
                baseline_weights(baseline, lookback, horizon, plan.season_length)
            ),
            name="linear",
        )(relative_target)
        forecast = layers.Add(name="add_level")([forecast, linear, level])
    levels = plan.config.intervals.quantile_levels
    if levels:
        # Built last, so every other layer starts from the same weights as without it.
        spread = np.asarray(shape.spread or [1.0] * horizon)
        forecast = QuantileBands(initial_widths(spread, levels), name="quantiles")(
            [forecast, hidden]
        )
    return keras.Model(inputs, forecast, name=f"rnnforecast_{config.cell}")


def training_loss(plan: Plan) -> tuple[Any, dict[str, Any]]:
    """The per-window loss of the plan's networks and its keyword arguments: the point loss
    (`training.loss`), plus the quantiles' pinball loss with `intervals.method: quantile`."""
    keras = import_keras()
    point = LOSSES[plan.config.training.loss]
    levels = plan.config.intervals.quantile_levels
    if not levels:
        return keras.losses.get(point), {}
    from rnnforecast.layers import point_quantile_loss

    return point_quantile_loss, {"point": point, "taus": quantile_probabilities(levels)}


def forecast_loss(plan: Plan) -> tuple[Any, dict[str, Any]]:
    """The per-window loss of the networks' forecast alone and its keyword arguments: the
    training loss without quantiles, else the point loss of the forecast channel."""
    function, arguments = training_loss(plan)
    if not arguments:
        return function, arguments
    from rnnforecast.layers import forecast_channel_loss

    return forecast_channel_loss, {"point": arguments["point"]}


def compiled_loss(plan: Plan) -> Any:
    """The loss `compile` takes for the plan's networks."""
    function, arguments = training_loss(plan)
    if not arguments:
        return function
    from rnnforecast.layers import PointQuantileLoss

    return PointQuantileLoss(**arguments)


def compile_model(model: Any, plan: Plan) -> None:
    """Attach the optimizer, learning rate and loss of the plan."""
    keras = import_keras()
    training = plan.config.training
    optimizer = getattr(keras.optimizers, OPTIMIZERS[training.optimizer])
    model.compile(optimizer=optimizer(learning_rate=plan.learning_rate), loss=compiled_loss(plan))
