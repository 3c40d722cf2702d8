"""Forecasts in original units from trained members at any origins: the one place that turns
series into model inputs, so training, scoring, backtests and `predict` agree."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from rnnforecast.calendar_features import calendar_features
from rnnforecast.config import Config
from rnnforecast.data import Dataset, Series
from rnnforecast.errors import DataError
from rnnforecast.scaling import Scaler, series_key
from rnnforecast.windowing import Windows, windows_at

PREDICT_BATCH_SIZE = 1024


@dataclass(frozen=True)
class Member:
    """One trained network and the lookback it reads."""

    model: Any
    lookback: int


@dataclass(frozen=True)
class InputLayout:
    """How series become model inputs.

    Attributes:
        calendar: calendar features appended to the scaled values (sine/cosine pairs).
        known: columns of the feature matrix known over the horizon (future covariates and
            calendar features); the model's `future` input.
        series_ids: series key to embedding index, when the model has a `series` input.
        values: scaled value columns (target, past and future covariates) before them.
    """

    calendar: tuple[str, ...] = ()
    known: tuple[int, ...] = ()
    series_ids: dict[str, int] | None = None
    values: int = 1

    @classmethod
    def of(cls, config: Config, scaler: Scaler) -> InputLayout:
        """The layout a resolved config describes; embedding indices follow the order of the
        scaler's series (the training data's order)."""
        data = config.data
        values = 1 + len(data.covariates) + len(data.future_covariates)
        calendar = tuple(data.calendar) if isinstance(data.calendar, list) else ()
        known = (
            *range(1 + len(data.covariates), values),
            *range(values, values + 2 * len(calendar)),
        )
        ids = {key: index for index, key in enumerate(scaler.center)}
        return cls(calendar, known, ids if config.model.series_embedding else None, values)

    @property
    def features(self) -> int:
        """Columns of the feature matrix: values, then two per calendar feature."""
        return self.values + 2 * len(self.calendar)


def feature_matrix(
    series: Series, dataset: Dataset, scaler: Scaler, layout: InputLayout, strict: bool = True
) -> np.ndarray:
    """`(length, features)` float32: the scaled values, then the calendar features (see
    `Scaler.transform` for `strict`)."""
    scaled = scaler.transform(series_key(series.id), series.values, strict)
    if not layout.calendar:
        return scaled
    calendar = calendar_features(series.time, list(layout.calendar), dataset.label(series))
    return np.concatenate([scaled, calendar], axis=1)


def model_inputs(windows: Windows, layout: InputLayout, keys: list[str]) -> dict[str, Any]:
    """The named inputs of a model for `windows`; `keys` names the series windows point at."""
    inputs: dict[str, Any] = {"window": windows.inputs}
    if layout.known:
        inputs["future"] = windows.future
    if layout.series_ids is not None:
        indices = np.array([layout.series_ids[key] for key in keys], dtype=np.int32)
        inputs["series"] = indices[windows.series]
    return inputs


@dataclass(frozen=True)
class Forecaster:
    """Trained members, the scaler and the input layout: forecasts from any origin."""

    members: list[Member]
    scaler: Scaler
    horizon: int
    layout: InputLayout

    @property
    def lookback(self) -> int:
        """The longest lookback of the members: the history a forecast needs."""
        return max(member.lookback for member in self.members)

    def forecast(self, dataset: Dataset, origins: list[np.ndarray]) -> np.ndarray:
        """Forecasts in original units from each series' `origins`, stacked series by series:
        `(origins, horizon)`, the median of the members.

        Each forecast reads the `lookback` rows before its origin and, of the `horizon` rows
        from it on, only the columns known in advance; each origin needs those rows (extend a
        series with `extend_series` to forecast past its end).
        """
        # Rows no window reads may hold values the scaler cannot take (<= 0 under log, after
        # a backtest's origin): they become NaN, and only the windows actually read are checked.
        matrices = [
            feature_matrix(series, dataset, self.scaler, self.layout, strict=False)
            for series in dataset.series
        ]
        keys = [series_key(series.id) for series in dataset.series]
        total = sum(len(positions) for positions in origins)
        if total == 0:
            return np.empty((0, self.horizon))
        outputs = []
        for member in self.members:
            windows = windows_at(
                matrices, origins, member.lookback, self.horizon, self.layout.known
            )
            _check_finite(windows, dataset)
            inputs = model_inputs(windows, self.layout, keys)
            outputs.append(
                np.asarray(member.model.predict(inputs, batch_size=PREDICT_BATCH_SIZE, verbose=0))
            )
        scaled = np.median(np.stack(outputs), axis=0) if len(outputs) > 1 else outputs[0]
        forecast = np.empty(scaled.shape, dtype=np.float64)
        start = 0
        for key, positions in zip(keys, origins, strict=True):
            rows = slice(start, start + len(positions))
            forecast[rows] = self.scaler.inverse_target(key, scaled[rows])
            start = rows.stop
        return forecast


def extend_series(dataset: Dataset, times: list[Any], known: list[np.ndarray] | None) -> Dataset:
    """Each series followed by rows at `times` whose target and past covariates are unknown
    (NaN) and whose future covariates are `known[i]` `(len(times[i]), future covariates)`."""
    series = []
    past = 1 + len(dataset.covariates)
    for index, (item, future) in enumerate(zip(dataset.series, times, strict=True)):
        rows = np.full((len(future), dataset.features), np.nan)
        if known is not None and dataset.features > past:
            rows[:, past:] = known[index]
        series.append(
            Series(item.id, item.time.append(future), np.concatenate([item.values, rows]))
        )
    return replace(dataset, series=series)


def _check_finite(windows: Windows, dataset: Dataset) -> None:
    """Raise `DataError` naming the first series whose model input holds a value the scaler
    could not take (a target <= 0 under `transform.log`)."""
    bad = ~np.isfinite(windows.inputs).all(axis=(1, 2))
    if windows.future.size:
        bad |= ~np.isfinite(windows.future).all(axis=(1, 2))
    if bad.any():
        series = dataset.series[int(windows.series[np.argmax(bad)])]
        raise DataError(
            f"{dataset.label(series)}: the history before a forecast holds a value the run "
            "cannot take: the run models the logarithm of the target (`transform.log`), so "
            "every value it reads must be positive. Fix the data, or train with "
            "`transform.log: false`."
        )
