"""Forecasts in original units from trained members at any origins: the one place that turns
series into model inputs, so training, scoring, backtests and `predict` agree; and forecasts
past the end of the data (future timestamps, the recursive strategy)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast.baselines import baseline_forecasts, seasonal_drift_forecast
from rnnforecast.calendar_features import calendar_features
from rnnforecast.data import Dataset, Series
from rnnforecast.errors import DataError
from rnnforecast.forecast import Forecast
from rnnforecast.inference import predict
from rnnforecast.intervals import Calibration
from rnnforecast.plan import Plan
from rnnforecast.scaling import Scaler, series_key
from rnnforecast.windowing import Windows, windows_at


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
    def of(cls, plan: Plan, scaler: Scaler) -> InputLayout:
        """The layout a plan describes; embedding indices follow the order of the scaler's
        series (the training data's order)."""
        data = plan.config.data
        values = 1 + len(data.covariates) + len(data.future_covariates)
        known = (
            *range(1 + len(data.covariates), values),
            *range(values, values + 2 * len(plan.calendar)),
        )
        ids = {key: index for index, key in enumerate(scaler.center)}
        embedding = plan.config.model.series_embedding
        return cls(plan.calendar, known, ids if embedding else None, values)

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
    """Trained members, the scaler and the input layout: forecasts from any origin, with
    prediction intervals when calibrated.

    Attributes:
        fallback: a baseline (`naive`, `seasonal_naive`, `drift` or `mean`) forecast instead of the
            network, when the guard found the network no better on validation.
        blend: the weight of seasonal naive with drift in the forecast, the network's the rest
            (0: the network alone; the guard's blend, see `validation.BLEND_WEIGHT`).
        calibration: the out-of-sample errors that set the interval bounds (of the fallback,
            with `quantiles`).
        scales: per series key, the scale its calibration errors are relative to, in the
            space the network forecasts in (see `validation.series_scales`).
        quantiles: the levels whose quantiles the network forecasts (`intervals.method:
            quantile`): its bands, and the only levels it can give.
        conformity: per level of `quantiles`, the signed scores that move its band out or in
            (conformalized quantiles); none: the network's band as it is.
    """

    members: list[Member]
    scaler: Scaler
    horizon: int
    layout: InputLayout
    fallback: str | None = None
    calibration: Calibration | None = None
    scales: dict[str, float] = field(default_factory=dict)
    blend: float = 0.0
    quantiles: tuple[float, ...] = ()
    conformity: dict[float, Calibration] = field(default_factory=dict)

    @property
    def lookback(self) -> int:
        """The longest lookback of the members: the history a forecast needs."""
        return max(member.lookback for member in self.members)

    def forecast(
        self, dataset: Dataset, origins: list[np.ndarray], levels: tuple[float, ...] = ()
    ) -> Forecast:
        """Forecasts from each series' `origins` (positions of the first forecast step),
        stacked series by series: `horizon` steps each, the median of the members (or the
        fallback baseline; blended with seasonal naive with drift by `blend`), with bounds at
        each of `levels` percent: the network's quantiles (moved by `conformity`) when it
        forecasts them, else from the calibration when there is one.

        Each forecast reads the `lookback` rows before its origin and, of the `horizon` rows
        from it on, only the columns known in advance; each origin needs those rows (extend a
        series with `extend_series` to forecast past its end).
        """
        keys = [series_key(series.id) for series in dataset.series]
        quantiles = None
        if self.fallback is None:
            scaled, members_scaled, quantiles = self._network(dataset, origins, keys)
            point, members = self._original_units(keys, origins, scaled, members_scaled)
            if self.blend:
                drift = self.seasonal_drift(dataset, origins)
                point = blend_forecasts(point, drift, self.blend)
                members = blend_forecasts(members, drift, self.blend)
                blended = self._per_series(keys, origins, point, self.scaler.transform_target)
                if quantiles is not None:  # the bands move with the forecast
                    quantiles = quantiles + (blended - scaled)[:, :, None]
                scaled = blended
        else:
            point, members = self._baseline(dataset, origins), None
            scaled = self._per_series(keys, origins, point, self.scaler.transform_target)
        forecast = Forecast.at(dataset, origins, point, members)
        if levels and (quantiles is not None or self.calibration is not None):
            reach = (
                self._conformal_reach(keys, origins, scaled, levels)
                if quantiles is None
                else self._quantile_reach(keys, origins, quantiles, levels)
            )
            bounds = self._bounds(keys, origins, scaled, point, reach)
            chosen = {level: bounds[level] for level in sorted(levels)}
            forecast = replace(forecast, intervals=chosen)
        return forecast

    def _network(
        self, dataset: Dataset, origins: list[np.ndarray], keys: list[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The members' forecasts where the networks forecast (scaled, and logged under
        `transform.log`): their median `(windows, horizon)`, each `(members, windows,
        horizon)`, and with `quantiles` the median of each quantile `(windows, horizon, 2
        levels)` (see `layers.QuantileBands`), else None."""
        # Rows no window reads may hold values the scaler cannot take (<= 0 under log, after
        # a backtest's origin): they become NaN, and only the windows actually read are checked.
        matrices = [
            feature_matrix(series, dataset, self.scaler, self.layout, strict=False)
            for series in dataset.series
        ]
        total = sum(len(positions) for positions in origins)
        channels = 1 + 2 * len(self.quantiles)
        shape = (len(self.members), total, self.horizon, channels)
        outputs = np.empty(shape, dtype=np.float32)
        for index, member in enumerate(self.members):
            if total == 0:
                break
            windows = windows_at(
                matrices, origins, member.lookback, self.horizon, self.layout.known
            )
            _check_finite(windows, dataset)
            inputs = model_inputs(windows, self.layout, keys)
            outputs[index] = predict(member.model, inputs).reshape(shape[1:])
        # The median is taken where the networks forecast, then mapped back like each member.
        # The median of ordered values keeps their order, so the bands still never cross.
        median = ensemble_median(outputs)
        quantiles = median[..., 1:] if self.quantiles else None
        return median[..., 0], outputs[..., 0], quantiles

    def _baseline(self, dataset: Dataset, origins: list[np.ndarray]) -> np.ndarray:
        """The fallback baseline's forecasts `(windows, horizon)` in original units."""
        return self._stacked(
            dataset,
            origins,
            lambda target, positions: baseline_forecasts(
                target, positions, self.horizon, dataset.season_length
            )[str(self.fallback)],
        )

    def seasonal_drift(self, dataset: Dataset, origins: list[np.ndarray]) -> np.ndarray:
        """Seasonal naive with drift from each series' `origins`, `(windows, horizon)` in
        original units, stacked like `forecast`'s windows."""
        return self._stacked(
            dataset,
            origins,
            lambda target, positions: seasonal_drift_forecast(
                target, positions, self.horizon, dataset.season_length
            ),
        )

    def _stacked(
        self,
        dataset: Dataset,
        origins: list[np.ndarray],
        forecast: Callable[[np.ndarray, np.ndarray], np.ndarray],
    ) -> np.ndarray:
        """`forecast(target, positions)` of each series, stacked like `forecast`'s windows."""
        rows = [
            forecast(series.target, positions)
            for series, positions in zip(dataset.series, origins, strict=True)
        ]
        return np.concatenate(rows) if rows else np.empty((0, self.horizon))

    def _original_units(
        self, keys: list[str], origins: list[np.ndarray], point: np.ndarray, members: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """`point` `(windows, steps)` and `members` `(members, windows, steps)` mapped back
        from the scaled space, each series' rows by its own scaler."""
        members_out = np.empty(members.shape, dtype=np.float64)
        start = 0
        for key, positions in zip(keys, origins, strict=True):
            rows = slice(start, start + len(positions))
            members_out[:, rows] = self.scaler.inverse_target(key, members[:, rows])
            start = rows.stop
        return self._per_series(keys, origins, point, self.scaler.inverse_target), members_out

    @staticmethod
    def _per_series(
        keys: list[str], origins: list[np.ndarray], values: np.ndarray, function: Any
    ) -> np.ndarray:
        """`function(key, rows)` applied to each series' rows of `values` `(windows, ...)`."""
        out = np.empty(values.shape, dtype=np.float64)
        start = 0
        for key, positions in zip(keys, origins, strict=True):
            rows = slice(start, start + len(positions))
            out[rows] = function(key, values[rows])
            start = rows.stop
        return out

    def _window_scales(self, keys: list[str], origins: list[np.ndarray]) -> np.ndarray:
        """`(windows,)` the scale of the series of each window (see `scales`)."""
        return np.concatenate(
            [
                np.full(len(positions), self.scales[key])
                for key, positions in zip(keys, origins, strict=True)
            ]
        )

    def _conformal_reach(
        self,
        keys: list[str],
        origins: list[np.ndarray],
        scaled: np.ndarray,
        levels: tuple[float, ...],
    ) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """Per level, the scaled bounds `(windows, steps)`: the forecast minus and plus the
        calibrated error bound of each step times the series' scale."""
        assert self.calibration is not None
        scale = self._window_scales(keys, origins)
        reach = {}
        for level in levels:
            bound, _ = self.calibration.bound(level)
            width = bound[None, : scaled.shape[1]] * scale[:, None]
            reach[level] = (scaled - width, scaled + width)
        return reach

    def _quantile_reach(
        self,
        keys: list[str],
        origins: list[np.ndarray],
        quantiles: np.ndarray,
        levels: tuple[float, ...],
    ) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """Per trained level (every one, whichever `levels` are asked for, so that a level's
        bounds do not depend on which others are asked for), the scaled bounds `(windows,
        steps)`: the network's quantiles of that level, each moved out by its conformity bound
        times the series' scale (in, when the bound is negative; not at all at a step without
        scores)."""
        untrained = sorted(set(levels) - set(self.quantiles))
        if untrained:
            raise ValueError(f"the network forecasts no quantiles for levels {untrained}")
        count = len(self.quantiles)
        scale = self._window_scales(keys, origins)
        reach = {}
        for index, level in enumerate(self.quantiles):
            lower, upper = quantiles[..., index], quantiles[..., count + index]
            if level in self.conformity:
                bound, _ = self.conformity[level].bound(level)
                bound = np.nan_to_num(bound, nan=0.0)
                shift = bound[None, : lower.shape[1]] * scale[:, None]
                lower, upper = lower - shift, upper + shift
            reach[level] = (lower, upper)
        return reach

    def _bounds(
        self,
        keys: list[str],
        origins: list[np.ndarray],
        scaled: np.ndarray,
        point: np.ndarray,
        reach: dict[float, tuple[np.ndarray, np.ndarray]],
    ) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """The scaled bounds of each level mapped back to original units, never crossing the
        forecast nor a narrower level's bounds."""
        intervals = {}
        lower_so_far, upper_so_far = scaled, scaled
        for level in sorted(reach):
            lower_so_far = np.fmin(reach[level][0], lower_so_far)
            upper_so_far = np.fmax(reach[level][1], upper_so_far)
            lower = self._per_series(keys, origins, lower_so_far, self.scaler.inverse_target)
            upper = self._per_series(keys, origins, upper_so_far, self.scaler.inverse_target)
            # A forecast the scaled space cannot hold (<= 0 under log) gets no width.
            lower = np.where(np.isfinite(lower), np.minimum(lower, point), point)
            upper = np.where(np.isfinite(upper), np.maximum(upper, point), point)
            intervals[level] = (lower, upper)
        return intervals

    def forecast_ahead(
        self,
        dataset: Dataset,
        steps: int,
        known: list[np.ndarray] | None = None,
        levels: tuple[float, ...] = (),
    ) -> Forecast:
        """`steps` steps after the end of each series (at least the horizon), one window per
        series; `known[i]` holds the future covariates of series i over those steps.

        One direct forecast for the horizon; further, horizon after horizon, each reading the
        forecasts before it as history (the recursive strategy: errors compound). The last
        round starts `horizon` steps before the end, so no known value past `steps` is needed.
        Interval bounds cover the direct forecast only: the calibration errors are those of
        direct forecasts, which say nothing of compounded ones, so later steps get none (NaN).
        """
        horizon = self.horizon
        lengths = np.array([len(series) for series in dataset.series])
        extended = extend_series(dataset, future_ranges(dataset, steps), known)
        origins = [np.array([n]) for n in lengths]
        direct = self.forecast(extended, origins, levels)
        done = 0
        while done < steps:
            start = min(done, steps - horizon)
            rounds = (
                direct
                if start == 0
                else self.forecast(extended, [np.array([n + start]) for n in lengths])
            ).point
            for series, length, values in zip(extended.series, lengths, rounds, strict=True):
                series.values[length + done : length + start + horizon, 0] = values[done - start :]
            done = start + horizon
        point = np.stack(
            [series.values[n:, 0] for series, n in zip(extended.series, lengths, strict=True)]
        )
        beyond = np.full((len(lengths), steps - horizon), np.nan)
        intervals = {
            level: (np.hstack([lower, beyond]), np.hstack([upper, beyond]))
            for level, (lower, upper) in direct.intervals.items()
        }
        return replace(Forecast.at(extended, origins, point), intervals=intervals)


def blend_forecasts(network: np.ndarray, drift: np.ndarray, weight: float) -> np.ndarray:
    """`weight` of `drift` `(windows, horizon)` and the rest of `network` (the same shape, or
    `(members, windows, horizon)`).

    Example:
        >>> blend_forecasts(np.array([[2.0, 4.0]]), np.array([[4.0, 0.0]]), 0.5).tolist()
        [[3.0, 2.0]]
    """
    return (1 - weight) * network + weight * drift


def ensemble_median(members: np.ndarray) -> np.ndarray:
    """The ensemble's forecast `(windows, steps)` from its members' `(members, windows, steps)`:
    their median, robust to one member that went astray."""
    return np.median(members, axis=0) if len(members) > 1 else members[0]


def future_times(time: pd.Index, frequency: str | None, steps: int) -> pd.Index:
    """The `steps` timestamps after `time[-1]`: the same frequency, or the next integer steps.

    Example:
        >>> future_times(pd.RangeIndex(5), None, 2).tolist()
        [5, 6]
    """
    if isinstance(time, pd.DatetimeIndex):
        return pd.date_range(time[-1], periods=steps + 1, freq=frequency)[1:]
    step = int(time[1] - time[0]) if len(time) > 1 else 1
    return pd.Index(int(time[-1]) + step * np.arange(1, steps + 1))


def future_ranges(dataset: Dataset, steps: int) -> list[pd.Index]:
    """Per series, the `steps` timestamps after its end; series of one file usually end
    together, so each distinct range is built once."""
    cache: dict[object, pd.Index] = {}
    ranges = []
    for series in dataset.series:
        end = (series.time[-1], series.time[-1] - series.time[-2])
        if end not in cache:
            cache[end] = future_times(series.time, dataset.frequency, steps)
        ranges.append(cache[end])
    return ranges


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
