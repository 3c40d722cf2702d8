"""Keras layers of rnnforecast models, registered so a saved member loads anywhere, and the loss
of networks that forecast quantiles.

Importing this module imports Keras; only `models` and `Run.load_model` do.
"""

from __future__ import annotations

from typing import Any

from rnnforecast.backend import import_keras

keras = import_keras()
ops = keras.ops

QUANTILE_GAIN = 10.0
"""How much faster than the network the quantiles' log-distances learn: Adam moves each weight
by about the learning rate per step (0.001 by default), too slow for a log-distance that starts
from a rough guess on a small series."""


@keras.saving.register_keras_serializable(package="rnnforecast")
class WindowLevel(keras.layers.Layer):
    """Take a window's level (its last target value) out, so networks see shapes, not levels.

    Input `(batch, lookback, features)`, target in column 0. Outputs the window with the level
    subtracted from the target column (covariates untouched), the relative target alone
    `(batch, lookback)`, and the level repeated over the horizon `(batch, horizon)` for adding
    back to the forecast. The level is an input value, so nothing after the origin is used.
    """

    def __init__(self, horizon: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.horizon = horizon

    def call(self, window: Any) -> tuple[Any, Any, Any]:
        level = window[:, -1:, :1]
        relative_target = window[:, :, :1] - level
        relative = ops.concatenate([relative_target, window[:, :, 1:]], axis=-1)
        return relative, relative_target[:, :, 0], ops.repeat(level[:, :, 0], self.horizon, 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "horizon": self.horizon}


@keras.saving.register_keras_serializable(package="rnnforecast")
class TargetDifference(keras.layers.Layer):
    """Replace the target column (0) of a window by its step-to-step changes; the first step's
    change is 0. Covariate columns are untouched."""

    def call(self, window: Any) -> Any:
        target = window[:, :, :1]
        changes = ops.concatenate(
            [ops.zeros_like(target[:, :1]), target[:, 1:] - target[:, :-1]], axis=1
        )
        return ops.concatenate([changes, window[:, :, 1:]], axis=-1)


@keras.saving.register_keras_serializable(package="rnnforecast")
class CumulativeSum(keras.layers.Layer):
    """Running sum over the horizon: forecast changes become changes from the origin."""

    def call(self, changes: Any) -> Any:
        return ops.cumsum(changes, axis=1)


@keras.saving.register_keras_serializable(package="rnnforecast")
class QuantileBands(keras.layers.Layer):
    """The forecast with, per level, a lower and an upper quantile around it.

    Inputs: the forecast `(batch, horizon)` and the network's features `(batch, units)`.
    Output `(batch, horizon, 1 + 2 levels)`: the forecast, the lower quantiles from the
    narrowest level to the widest, then the upper ones likewise. Each quantile lies a
    non-negative distance beyond the next narrower one (the forecast for the narrowest), so
    bands never cross: `exp(a linear map of the features)` times its initial distance
    (`widths`, `(2, levels, horizon)`: below, above), the map starting at zero. Both inputs are
    held constant for the gradient, so the quantiles learn on their own and leave the
    forecast's training as it would be without them.
    """

    def __init__(self, widths: list[list[list[float]]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.widths = widths
        sides, self.levels, self.horizon = len(widths), len(widths[0]), len(widths[0][0])
        self.distances = keras.layers.Dense(
            sides * self.levels * self.horizon, kernel_initializer="zeros", name="distances"
        )

    def build(self, shapes: Any) -> None:
        self.distances.build(shapes[1])

    def call(self, inputs: Any) -> Any:
        point, features = inputs
        held, features = ops.stop_gradient(point), ops.stop_gradient(features)
        logs = QUANTILE_GAIN * self.distances(features)
        logs = ops.reshape(logs, (-1, 2, self.levels, self.horizon))
        # Clipped so that one wild window cannot overflow the exponential.
        distances = ops.exp(ops.clip(logs, -12.0, 6.0)) * ops.convert_to_tensor(self.widths)
        reach = ops.cumsum(distances, axis=2)
        lower = held[:, None, :] - reach[:, 0]
        upper = held[:, None, :] + reach[:, 1]
        stacked = ops.concatenate([point[:, None, :], lower, upper], axis=1)
        return ops.transpose(stacked, (0, 2, 1))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "widths": self.widths}


@keras.saving.register_keras_serializable(package="rnnforecast")
def point_quantile_loss(y_true: Any, y_pred: Any, point: str, taus: list[float]) -> Any:
    """Per window: the point loss `point` (a Keras loss name) of the forecast `y_pred[..., 0]`
    plus the mean pinball loss of the quantiles `y_pred[..., 1:]` at probabilities `taus`.

    `y_true` is `(batch, horizon)`, `y_pred` `(batch, horizon, 1 + len(taus))`.
    """
    loss = forecast_channel_loss(y_true, y_pred, point)
    below = y_true[..., None] - y_pred[..., 1:]
    tau = ops.convert_to_tensor(taus, dtype=y_pred.dtype)
    pinball = ops.maximum(tau * below, (tau - 1.0) * below)
    return loss + ops.mean(pinball, axis=(1, 2))


@keras.saving.register_keras_serializable(package="rnnforecast")
def forecast_channel_loss(y_true: Any, y_pred: Any, point: str) -> Any:
    """Per window: the point loss `point` of the forecast `y_pred[..., 0]` alone."""
    return keras.losses.get(point)(y_true, y_pred[..., 0])


@keras.saving.register_keras_serializable(package="rnnforecast")
class PointQuantileLoss(keras.losses.Loss):
    """`point_quantile_loss` as a Keras loss, for `compile`."""

    def __init__(self, point: str, taus: list[float], name: str = "point_quantile", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.point, self.taus = point, list(taus)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return point_quantile_loss(y_true, y_pred, self.point, self.taus)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "point": self.point, "taus": self.taus}
