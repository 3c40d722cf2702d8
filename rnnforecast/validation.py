"""What the data before the test part says about a fitted forecaster: whether its network beats
the naive baselines (the guard), and how large its out-of-sample errors are (the calibration of
its prediction intervals). The test part is never read here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from rnnforecast.baselines import BASELINES
from rnnforecast.data import Dataset
from rnnforecast.evaluation import MODEL, part_origins, score_forecast
from rnnforecast.forecaster import Forecaster, blend_forecasts
from rnnforecast.intervals import Calibration, too_few_note
from rnnforecast.metrics import mase, mase_scale
from rnnforecast.plan import Plan
from rnnforecast.scaling import series_key
from rnnforecast.splitting import SplitPoints
from rnnforecast.windowing import window_origins

NETWORK = "network"
BLEND = "blend"
BLEND_WEIGHT = 0.5
"""The guard's blend: the network's forecast and seasonal naive with drift, evenly. A fixed
even weight, not one fitted to the validation part, so that choosing it costs one comparison."""
BLEND_WORDS = "an even blend of the network and seasonal naive with drift"


@dataclass(frozen=True)
class Assessment:
    """The guard's choice and the calibration, with the figures behind them.

    Attributes:
        choice: `"network"`, `"blend"` (the network blended with seasonal naive with drift),
            or the baseline forecast instead of the network.
        validation: MASE of the network (`model`), the blend (with `model.guard_blend`) and
            each baseline on the validation windows (empty without validation windows).
        windows: how many validation windows they were scored on.
        calibration: the errors the interval bounds come from (per level: the scores of
            conformalized quantiles); None when there were none.
        calibration_origins: `"validation"` (the errors of the network, or of its blend, on
            the validation windows), `"history"` (a baseline's errors at every origin before
            the test part) or `"none"`.
        notes: what a user should know (too few errors, no validation part).
        bands: how the bounds are made: `"conformal"` (a calibrated error bound around the
            forecast), `"quantile"` (the network's quantiles as trained) or
            `"conformalized_quantile"` (moved by their calibration); `"none"` without bounds.
    """

    choice: str
    validation: dict[str, float]
    windows: int
    calibration: Calibration | dict[float, Calibration] | None
    calibration_origins: str
    notes: tuple[str, ...]
    bands: str = "conformal"

    def summary(self, guard: bool, margin: float) -> dict[str, Any]:
        """What `metrics.json` records of it."""
        return {
            "guard": {
                "enabled": guard,
                "margin": margin,
                "choice": self.choice,
                "validation_mase": self.validation,
                "windows": self.windows,
            },
            "calibration": {
                "bands": self.bands,
                "origins": self.calibration_origins,
                "errors_per_step": self.errors_per_step,
                "notes": list(self.notes),
            },
        }

    @property
    def errors_per_step(self) -> int | None:
        """The fewest calibration errors of a horizon step (None without a calibration)."""
        if self.calibration is None:
            return None
        each = self.calibration if isinstance(self.calibration, dict) else {0: self.calibration}
        return min(int(calibration.count.min()) for calibration in each.values())


def assess(
    forecaster: Forecaster,
    dataset: Dataset,
    points: list[SplitPoints],
    plan: Plan,
    baseline_only: bool,
) -> tuple[Forecaster, Assessment]:
    """Apply the guard and calibrate: the forecaster with its fallback, calibration and scales
    set, and the assessment behind them.

    The network is scored next to the baselines (`baselines.BASELINES`) on the validation windows
    (targets in each series' validation part), and with `model.guard_blend` its blend with
    seasonal naive with drift too. With `model.guard` on, the better of network and blend is
    kept when it is better than the best baseline by `model.guard_margin`, else that baseline
    replaces it. The forecaster in use is then calibrated: a network (or its blend) on its
    validation windows (out of sample: it never trained on them), a baseline (the fallback, or
    an untrained network when `baseline_only`) at every origin before the test part, since it
    fits nothing.
    """
    horizon = forecaster.horizon
    forecaster = replace(
        forecaster, scales=series_scales(forecaster, dataset, [p.train_end for p in points])
    )
    bounds = [(point.train_end, point.validation_end) for point in points]
    origins = part_origins(dataset, bounds, forecaster.lookback, horizon)
    windows = sum(len(positions) for positions in origins)
    notes: list[str] = []
    choice, validation = NETWORK, {}
    if windows and not baseline_only:
        scored = score_forecast(
            forecaster.forecast(dataset, origins), dataset, origins, [p.train_end for p in points]
        )
        metrics = scored.metrics(dataset.season_length)
        validation = {name: metrics[name]["mase"] for name in (MODEL, *BASELINES)}
        model = plan.config.model
        if model.guard and model.guard_blend:
            drift = forecaster.seasonal_drift(dataset, origins)
            blended = blend_forecasts(scored.model.point, drift, BLEND_WEIGHT)
            validation[BLEND] = mase(scored.actual, blended, scored.scale)
        if model.guard:
            choice = guard_choice(validation, model.guard_margin)
    if choice == BLEND:
        forecaster = replace(forecaster, blend=BLEND_WEIGHT)
    elif choice != NETWORK:
        forecaster = replace(forecaster, fallback=choice)
    levels = plan.config.intervals.levels
    if not levels:
        return forecaster, Assessment(choice, validation, windows, None, "none", (), "none")
    quantiles = forecaster.fallback is None and bool(forecaster.quantiles)
    if quantiles and not plan.config.intervals.conformalize:
        return forecaster, Assessment(choice, validation, windows, None, "none", (), "quantile")
    if forecaster.fallback is not None or baseline_only:
        # A baseline fits nothing: its forecasts from every origin before the test part are
        # honest. A network, blended or not, is calibrated on its validation windows only.
        # The first origin leaves a season before it (seasonal naive needs it) and a window.
        start = max(forecaster.lookback, dataset.season_length)
        origins = [
            window_origins(point.validation_end, start, horizon, 0, point.validation_end)
            for point in points
        ]
        where = "history"
    else:
        where = "validation"
    if sum(len(positions) for positions in origins) == 0:
        if quantiles:
            notes.append(
                "no validation windows (`split.validation` is 0 or too short) to conformalize "
                "the network's quantiles on: the bands are its quantiles as trained, which "
                "may cover less than their levels out of sample"
            )
            bands = "quantile"
        else:
            notes.append(
                "no validation windows (`split.validation` is 0 or too short), so there are "
                "no out-of-sample errors to calibrate prediction intervals on: none are given"
            )
            bands = "none"
        return forecaster, Assessment(
            choice, validation, windows, None, "none", tuple(notes), bands
        )
    calibration: Calibration | dict[float, Calibration]
    if quantiles:
        scores = quantile_scores(forecaster, dataset, origins, tuple(levels))
        calibration = {
            level: Calibration.from_errors(scores[level], signed=True) for level in levels
        }
        forecaster = replace(forecaster, conformity=calibration)
        bands = "conformalized_quantile"
    else:
        calibration = Calibration.from_errors(scaled_errors(forecaster, dataset, origins))
        forecaster = replace(forecaster, calibration=calibration)
        bands = "conformal"
    note = too_few_note(calibration, levels)
    if note:
        notes.append(note)
    return forecaster, Assessment(
        choice, validation, windows, calibration, where, tuple(notes), bands
    )


def guard_choice(validation: dict[str, float], margin: float) -> str:
    """The better of `"network"` and, when scored, `"blend"`, if its validation MASE is below
    `1 - margin` times the best baseline's; else that baseline.

    Example:
        >>> guard_choice({"model": 0.95, "naive": 1.2, "seasonal_naive": 1.0}, 0.1)
        'seasonal_naive'
        >>> guard_choice({"model": 0.95, "blend": 0.8, "seasonal_naive": 1.0}, 0.1)
        'blend'
    """
    kept = NETWORK
    if validation.get(BLEND, math.inf) < validation[MODEL]:
        kept = BLEND
    network = validation[MODEL if kept == NETWORK else BLEND]
    best = min(
        (name for name in validation if name not in (MODEL, BLEND)),
        key=lambda name: validation[name],
    )
    return kept if network < (1 - margin) * validation[best] else best


def margin_words(margin: float) -> str:
    """How much better the guard asks the network to be, in words.

    Example:
        >>> margin_words(0.1), margin_words(0)
        ('at least 10 % better than', 'better than')
    """
    return f"at least {margin * 100:g} % better than" if margin else "better than"


def series_scales(forecaster: Forecaster, dataset: Dataset, ends: list[int]) -> dict[str, float]:
    """Per series key, the in-sample seasonal naive MAE of its values before `ends[i]` in the
    space the network forecasts in: what its calibration errors are relative to."""
    scales = {}
    for series, end in zip(dataset.series, ends, strict=True):
        key = series_key(series.id)
        # Filled points and those the space cannot hold (<= 0 under log) are NaN, left out.
        values = forecaster.scaler.transform_target(key, series.observed_target[:end])
        scales[key] = mase_scale(values, dataset.season_length)
    return scales


def scaled_errors(
    forecaster: Forecaster, dataset: Dataset, origins: list[np.ndarray]
) -> np.ndarray:
    """`(windows, horizon)` absolute errors of the forecaster's forecasts from `origins`, in
    the space the network forecasts in, divided by each series' scale (NaN where a value has
    no place in that space, <= 0 under `transform.log`, and where `data.missing` filled it:
    the calibration leaves both out)."""
    forecast = forecaster.forecast(dataset, origins)
    return np.abs(_scaled_gaps(forecaster, dataset, origins, forecast.point, forecast.point))


def quantile_scores(
    forecaster: Forecaster, dataset: Dataset, origins: list[np.ndarray], levels: tuple[float, ...]
) -> dict[float, np.ndarray]:
    """Per level, `(windows, horizon)` how far each actual fell outside the band of the
    network's quantiles from `origins` (negative: inside, by as much), in the space the
    network forecasts in, divided by each series' scale (NaN as in `scaled_errors`)."""
    forecast = forecaster.forecast(dataset, origins, levels)
    return {
        level: _scaled_gaps(forecaster, dataset, origins, lower, upper)
        for level, (lower, upper) in forecast.intervals.items()
    }


def _scaled_gaps(
    forecaster: Forecaster,
    dataset: Dataset,
    origins: list[np.ndarray],
    lower: np.ndarray,
    upper: np.ndarray,
) -> np.ndarray:
    """`(windows, horizon)` how far each actual lies outside `[lower, upper]` (negative
    inside), both `(windows, horizon)` in original units, in the space the network forecasts
    in and divided by the series' scale: with `lower == upper`, the signed error."""
    horizon = forecaster.horizon
    transform = forecaster.scaler.transform_target
    rows, start = [], 0
    for series, positions in zip(dataset.series, origins, strict=True):
        key = series_key(series.id)
        mine = slice(start, start + len(positions))
        start = mine.stop
        actual = transform(key, series.observed_target[positions[:, None] + np.arange(horizon)])
        gap = np.maximum(transform(key, lower[mine]) - actual, actual - transform(key, upper[mine]))
        rows.append(gap / forecaster.scales[key])
    return np.concatenate(rows) if rows else np.empty((0, horizon))
