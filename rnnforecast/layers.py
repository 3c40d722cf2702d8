"""Keras layers of rnnforecast models, registered so a saved `model.keras` loads anywhere.

Importing this module imports Keras; only `models` and `Run.load_model` do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnforecast.backend import import_keras

keras = import_keras()
ops = keras.ops


@keras.saving.register_keras_serializable(package="rnnforecast")
class WindowBaseline(keras.layers.Layer):
    """A simple forecast built from the window alone, and the window relative to its level.

    Input `(batch, lookback, features)`, target in column 0. Outputs:
    - the window with its last target value subtracted from the target column (covariates
      untouched), so the network sees the shape of the series rather than its absolute level;
    - the baseline forecast `(batch, horizon)`: the last value repeated (`"naive"`), the window
      mean repeated (`"mean"`), or the last season repeated (`"seasonal_naive"`).
    Both come from the inputs only, so nothing after the forecast origin is used. The model adds
    its output to the baseline: it learns a correction to a forecast that is already sensible,
    and can follow trends and level shifts beyond the range seen in training.
    """

    def __init__(self, kind: str, horizon: int, season_length: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.horizon = horizon
        self.season_length = season_length

    def call(self, window: Any) -> tuple[Any, Any]:
        target = window[:, :, 0]
        last = target[:, -1:]
        relative = ops.concatenate([window[:, :, :1] - last[:, :, None], window[:, :, 1:]], -1)
        if self.kind == "seasonal_naive":
            lookback = window.shape[1]
            steps = np.arange(self.horizon)
            positions = lookback - self.season_length + steps % self.season_length
            baseline = ops.take(target, positions.astype("int32"), axis=1)
        elif self.kind == "mean":
            baseline = ops.repeat(ops.mean(target, axis=1, keepdims=True), self.horizon, axis=1)
        else:
            baseline = ops.repeat(last, self.horizon, axis=1)
        return relative, baseline

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "kind": self.kind,
            "horizon": self.horizon,
            "season_length": self.season_length,
        }
