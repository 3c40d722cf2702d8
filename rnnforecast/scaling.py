"""Scalers fitted on the training part only, one per series, stored as JSON (never pickled)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnforecast.errors import DataError, RunError

METHODS = ("standard", "minmax", "none")
MAX_LOG = 700.0  # exp(700) is near float64's largest value


@dataclass(frozen=True)
class Scaler:
    """Per-series affine scaling: `(values - center) / scale`, column by column, of the
    target's logarithm when `log` is set.

    `center` and `scale` map a series id (`""` for a single series) to one number per column
    (target first, then covariates).

    Example:
        >>> scaler = Scaler.fit("standard", {"": np.array([[1.0], [3.0]])})
        >>> scaler.transform("", np.array([[1.0], [3.0]])).ravel().tolist()
        [-1.0, 1.0]
    """

    method: str
    center: dict[str, list[float]]
    scale: dict[str, list[float]]
    log: bool = False

    @classmethod
    def fit(cls, method: str, training_values: dict[str, np.ndarray], log: bool = False) -> Scaler:
        """Fit one scaler per series on its training part, shape `(points, columns)`."""
        if method not in METHODS:
            raise ValueError(f"scaling must be one of {METHODS}. Received: {method!r}.")
        center: dict[str, list[float]] = {}
        scale: dict[str, list[float]] = {}
        for key, values in training_values.items():
            values = _log_target(np.asarray(values, dtype=np.float64), log, key)
            if method == "standard":
                low, spread = values.mean(axis=0), values.std(axis=0)
            elif method == "minmax":
                low, spread = values.min(axis=0), values.max(axis=0) - values.min(axis=0)
            else:
                low, spread = np.zeros(values.shape[1]), np.ones(values.shape[1])
            # A constant column would divide by zero; leave it centred but unscaled.
            spread = np.where(spread > 0, spread, 1.0)
            center[key] = low.tolist()
            scale[key] = spread.tolist()
        return cls(method, center, scale, log)

    def transform(self, key: str, values: np.ndarray, strict: bool = True) -> np.ndarray:
        """Scale `values` of series `key`, shape `(..., columns)`, to float32.

        Under `log`, a target value <= 0 raises `DataError`; with `strict=False` it becomes
        NaN instead, for callers that read only some rows and check those.
        """
        center, scale = self._params(key)
        values = np.asarray(values, dtype=np.float64)
        if self.log and not strict:
            values = values.copy()
            values[values[..., 0] <= 0, 0] = np.nan
        values = _log_target(values, self.log, key)
        return ((values - center) / scale).astype(np.float32)

    def transform_target(self, key: str, values: np.ndarray) -> np.ndarray:
        """Target values of series `key` (any shape) as the network sees them, float64:
        logged under `log` (a value <= 0 becomes NaN), then centred and scaled."""
        center, scale = self._params(key)
        values = np.asarray(values, dtype=np.float64)
        if self.log:
            values = np.log(np.where(values > 0, values, np.nan))
        return (values - center[0]) / scale[0]

    def inverse_target(self, key: str, values: np.ndarray) -> np.ndarray:
        """Map scaled target values of series `key` (any shape) back to original units."""
        center, scale = self._params(key)
        original = np.asarray(values, dtype=np.float64) * scale[0] + center[0]
        if self.log:
            # Bounded so a wild forecast overflows to a large number, not to infinity.
            return np.exp(np.minimum(original, MAX_LOG))
        return original

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "log": self.log, "center": self.center, "scale": self.scale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scaler:
        """Rebuild a scaler from `to_dict`'s output, checking every value is a number."""
        try:
            center = {
                str(key): [float(v) for v in values] for key, values in data["center"].items()
            }
            scale = {str(key): [float(v) for v in values] for key, values in data["scale"].items()}
            method = str(data["method"])
            log = data.get("log", False)
            if not isinstance(log, bool):
                raise TypeError(f"`log` must be true or false, not {log!r}")
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise RunError(f"scaler.json is malformed ({type(error).__name__}: {error}).") from None
        if center.keys() != scale.keys() or any(
            len(center[key]) != len(scale[key]) for key in center
        ):
            raise RunError("scaler.json is malformed: centers and scales do not match.")
        if method not in METHODS:
            raise RunError(
                f"scaler.json is malformed: unknown method {method[:40]!r} (expected one of "
                f"{', '.join(METHODS)}). The run directory is damaged; train the run again."
            )
        for key in center:
            # A scale of 0, NaN or infinity would forecast NaN or 1e300 and blame the data.
            bad = [
                (name, value)
                for name, values in (("center", center[key]), ("scale", scale[key]))
                for value in values
                if not math.isfinite(value) or (name == "scale" and value <= 0)
            ]
            if bad:
                name, value = bad[0]
                raise RunError(
                    f"scaler.json: series {key[:40]!r} has {name} {value!r}; every center must be "
                    "a finite number and every scale a finite number above 0. The run directory "
                    f"is damaged; train the run again. Received: {name}={value!r}"
                )
        return cls(method, center, scale, log)

    def columns(self) -> set[int]:
        """The number of columns of each series' parameters (one value when consistent)."""
        return {len(values) for values in self.center.values()}

    def require(self, key: str, where: str = "") -> None:
        """Raise `DataError` unless series `key` was fitted; `where` prefixes the message."""
        if key not in self.center:
            known = ", ".join(repr(name) for name in list(self.center)[:10])
            raise DataError(
                f"{where}series {key!r} was not in the training data, so the run has no scaler "
                f"for it (known series: {known}). Train a run that includes it."
            )

    def _params(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        self.require(key)
        return np.asarray(self.center[key]), np.asarray(self.scale[key])


def _log_target(values: np.ndarray, log: bool, key: str) -> np.ndarray:
    """`values` with the target column (0) replaced by its logarithm when `log` is set."""
    if not log:
        return values
    target = values[..., 0]
    bad = np.flatnonzero(target.ravel() <= 0)
    if len(bad):
        name = f"series {key!r}" if key else "the series"
        raise DataError(
            f"`transform.log` needs positive values, but {name} has {len(bad)} value(s) <= 0 "
            f"(e.g. {target.ravel()[bad[0]]:g}). Set `transform.log: false`, or shift the "
            "target to be positive."
        )
    logged = values.copy()
    logged[..., 0] = np.log(target)
    return logged


def series_key(series_id: str | None) -> str:
    """The scaler's key for a series id (a single series has the empty key)."""
    return "" if series_id is None else series_id
