"""Keras layers of rnnforecast models, registered so a saved member loads anywhere.

Importing this module imports Keras; only `models` and `Run.load_model` do.
"""

from __future__ import annotations

from typing import Any

from rnnforecast.backend import import_keras

keras = import_keras()
ops = keras.ops


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
