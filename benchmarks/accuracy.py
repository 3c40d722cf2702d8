"""Forecast accuracy of rnnforecast next to classical statistical methods on the development set.

Usage: `python benchmarks/accuracy.py [--half tuning|checking|all] [--series a10,co2]
[--origins 3] [--skip-stats] [--keep DIR] [--json PATH] [--set KEY=VALUE]`

Every dataset of `benchmarks/devset.yaml` (the manifest) is scored at its last `--origins`
non-overlapping horizons: origin k holds out everything after `length - k * h` and scores the
`h` points after it. At each origin, on the data before it:

1. rnnforecast runs as a user runs it, through its command line in a child process: a config
   that gives only the manifest's `data` section and `window.horizon: h` (every other key is
   the tool's default), then `rnnforecast train` and `rnnforecast predict`; a long-format file
   is one global model per origin;
2. naive, seasonal naive and statsforecast's AutoETS, AutoARIMA and AutoTheta, each fitted on
   one series at a time.

Every forecast is scored per series with MASE (scaled by the in-sample seasonal naive MAE of
the data before the origin) and sMAPE, and its 80 % and 95 % prediction intervals with their
coverage and MSIS-95; every method is timed. The figures of a dataset are means over its series
and origins; the report has one set of tables per half of the manifest. statsforecast is needed
only here: `pip install -e ".[bench]"`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

# Beside this script: shared helpers, the development set, the scores.
from common import table, timed_run
from devset import HALVES, MANIFEST, Entry, load_manifest, minimum_history
from scoring import (
    coverage,
    geometric_mean,
    in_sample_scale,
    mase,
    msis,
    residual_intervals,
    seasonal_naive,
    smape,
)

TOOL_TIMEOUT_SECONDS = 3600
PACKAGES = ("rnnforecast", "tensorflow", "keras", "statsforecast", "pandas", "numpy")

RNNFORECAST = "rnnforecast"
NAIVE = "naive"
SEASONAL_NAIVE = "seasonal_naive"
STATS_METHODS = ("AutoETS", "AutoARIMA", "AutoTheta")

LEVELS = (80, 95)
# AutoARIMA approximates its likelihood above this season length (as R's auto.arima does).
APPROXIMATE_ARIMA_ABOVE = 12
# Interval columns of `rnnforecast predict`, read when the output has them.
TOOL_INTERVAL_COLUMNS = {level: (f"lower_{level}", f"upper_{level}") for level in LEVELS}
# rnnforecast "more than 5 % worse" than seasonal naive: MASE above this ratio.
WORSE_RATIO = 1.05

POINT_KEYS = ("mase", "smape", "seconds")
INTERVAL_KEYS = ("coverage_80", "coverage_95", "msis_95")


@dataclass
class Forecast:
    """One method's forecast of one series at one origin, shape `(h,)`, with its intervals
    by level (`{80: (lower, upper), 95: ...}`; empty when the method gives none)."""

    point: np.ndarray
    bounds: dict[int, tuple[np.ndarray, np.ndarray]]
    seconds: float


@dataclass
class Task:
    """One series at one origin: the history every method sees and the `h` values after it."""

    series_id: str | None
    origin: int
    history: np.ndarray
    history_times: pd.Index
    actual: np.ndarray
    actual_times: pd.Index
    forecasts: dict[str, Forecast] = field(default_factory=dict)


@dataclass
class DatasetRun:
    """Everything scored on one dataset: its tasks and the tool's seconds per origin."""

    entry: Entry
    origins: list[int]
    series: int
    tasks: list[Task]
    tool_seconds: dict[int, dict[str, float]]


# --------------------------------------------------------------------------------------------
# Datasets and origins
# --------------------------------------------------------------------------------------------


def select_entries(
    entries: list[Entry], half: str, wanted: str | None, manifest: Path
) -> list[Entry]:
    """The manifest's datasets in `half` (or all), narrowed to `--series` when given."""
    chosen = [entry for entry in entries if half == "all" or entry.half == half]
    if not wanted:
        return chosen
    names = [name.strip() for name in wanted.split(",") if name.strip()]
    known = {entry.name: entry for entry in entries}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(
            f"error: unknown datasets {', '.join(unknown)}; choose from {', '.join(known)} "
            f"(the names in {manifest})"
        )
    other_half = [name for name in names if known[name] not in chosen]
    if other_half:
        raise SystemExit(
            f"error: {', '.join(other_half)} not in the {half} half; pass --half all or leave "
            "them out"
        )
    return [entry for entry in chosen if entry.name in names]


def read_frame(entry: Entry) -> pd.DataFrame:
    """The dataset's file sorted by series and time, timestamps parsed, ids as text."""
    frame = pd.read_csv(entry.file)
    missing = [column for column in entry.columns if column not in frame.columns]
    if missing:
        raise SystemExit(f"error: {entry.file}: no column {', '.join(missing)}")
    if entry.frequency.alias is not None:
        frame[entry.time_column] = pd.to_datetime(frame[entry.time_column])
    order = [entry.time_column]
    if entry.id_column:
        frame[entry.id_column] = frame[entry.id_column].astype(str)
        order.insert(0, entry.id_column)
    return frame.sort_values(order, kind="stable").reset_index(drop=True)


def series_rows(frame: pd.DataFrame, entry: Entry) -> dict[str | None, np.ndarray]:
    """The positions of each series' rows in `frame`, by id (None for a single series)."""
    if not entry.id_column:
        return {None: np.arange(len(frame))}
    groups = frame.groupby(entry.id_column, sort=False).indices
    return {str(series_id): np.asarray(rows) for series_id, rows in groups.items()}


def usable_origins(entry: Entry, rows: dict[str | None, np.ndarray], wanted: int) -> list[int]:
    """Origins 1 .. `wanted` at which every series keeps `minimum_history` points before it."""
    shortest = min(len(positions) for positions in rows.values())
    needed = minimum_history(entry.horizon, entry.season_length)
    usable = [k for k in range(1, wanted + 1) if shortest - k * entry.horizon >= needed]
    if not usable:
        raise SystemExit(
            f"error: {entry.name}: its shortest series has {shortest} points, too few to hold "
            f"out h={entry.horizon} after {needed} points of history"
        )
    return usable


def cut_at_origin(
    frame: pd.DataFrame,
    rows: dict[str | None, np.ndarray],
    entry: Entry,
    origin: int,
) -> tuple[pd.DataFrame, pd.DataFrame, list[Task]]:
    """The rows before origin `origin`, the `h` rows after it, and one task per series."""
    h, target = entry.horizon, entry.target
    before = np.zeros(len(frame), dtype=bool)
    after = np.zeros(len(frame), dtype=bool)
    tasks = []
    values = frame[target].to_numpy(dtype=float)
    times = frame[entry.time_column]
    for series_id, positions in rows.items():
        end = len(positions) - origin * h
        before[positions[:end]] = True
        after[positions[end : end + h]] = True
        tasks.append(
            Task(
                series_id=series_id,
                origin=origin,
                history=values[positions[:end]],
                history_times=pd.Index(times.iloc[positions[:end]]),
                actual=values[positions[end : end + h]],
                actual_times=pd.Index(times.iloc[positions[end : end + h]]),
            )
        )
    return frame[before], frame[after], tasks


# --------------------------------------------------------------------------------------------
# rnnforecast through its command line
# --------------------------------------------------------------------------------------------


# `--set` overrides passed to every `rnnforecast train`.
OVERRIDES: list[str] = []


def overrides_arguments() -> list[str]:
    """`--set KEY=VALUE` for each override given to the benchmark."""
    return [part for override in OVERRIDES for part in ("--set", override)]


def tool_command() -> list[str]:
    """The installed `rnnforecast` beside this interpreter, else `python -m rnnforecast`."""
    script = Path(sys.executable).parent / "rnnforecast"
    if script.exists():
        return [str(script)]
    found = shutil.which("rnnforecast")
    return [found] if found else [sys.executable, "-m", "rnnforecast"]


def run_tool(arguments: list[str], log: Path) -> float:
    """Run one `rnnforecast` command; its wall time. Stops the benchmark if it fails."""
    # 3, not 2: level 2 still lets TensorFlow's startup errors (no CUDA device ...) through.
    environment = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
    }
    command = [*tool_command(), *arguments]
    finished, elapsed = timed_run(command, environment, TOOL_TIMEOUT_SECONDS)
    log.write_text(finished.stdout + finished.stderr, encoding="utf-8")
    if finished.returncode != 0:
        print(finished.stderr, file=sys.stderr)
        raise SystemExit(
            f"error: `rnnforecast {' '.join(arguments)}` failed with exit code "
            f"{finished.returncode} (its stderr is above; `--keep DIR` keeps its full output "
            f"as {log.name} with the data, config and run)"
        )
    return elapsed


def write_tool_config(entry: Entry, data_file: Path, folder: Path) -> Path:
    """A config with only the manifest's `data` section (on `data_file`) and the horizon."""
    config = {
        "data": entry.data_section(data_file.name),
        "window": {"horizon": entry.horizon},
        "output": {"dir": str(folder)},
    }
    path = folder / f"{entry.name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def predict_arguments(entry: Entry, run_dir: Path, output: Path, after: pd.DataFrame) -> list[str]:
    """`rnnforecast predict` arguments; with `--future` (the held-out rows' future covariates,
    known in advance by definition) when the dataset has future covariates."""
    arguments = ["predict", str(run_dir), "--output", str(output)]
    if entry.future_covariates:
        future = output.parent / "future.csv"
        ids = [entry.id_column] if entry.id_column else []
        after[[*ids, entry.time_column, *entry.future_covariates]].to_csv(future, index=False)
        arguments += ["--future", str(future)]
    return arguments


def forecast_rnnforecast(
    entry: Entry,
    before: pd.DataFrame,
    after: pd.DataFrame,
    tasks: list[Task],
    folder: Path,
    trained: Path | None = None,
) -> dict[str, float]:
    """Train and predict with the tool on the rows before the origin (or only predict with
    the run `trained`, when given); fills each task's forecast (and intervals when `predict`
    writes them). Returns the seconds of each command (train: NaN when not run)."""
    output = folder / "forecast.csv"
    seconds = {"train": math.nan}
    if trained is None:
        before.to_csv(folder / "data.csv", index=False)
        config = write_tool_config(entry, folder / "data.csv", folder)
        run_dir = folder / "run"
        seconds["train"] = run_tool(
            ["train", str(config), "--run-dir", str(run_dir), *overrides_arguments()],
            folder / "train.log",
        )
    else:
        run_dir = trained
    seconds["predict"] = run_tool(
        predict_arguments(entry, run_dir, output, after), folder / "predict.log"
    )
    forecast = pd.read_csv(output)
    if entry.frequency.alias is not None:
        forecast[entry.time_column] = pd.to_datetime(forecast[entry.time_column])
    for task in tasks:
        rows = forecast
        if entry.id_column:
            rows = forecast[forecast[entry.id_column].astype(str) == task.series_id]
        rows = rows.set_index(entry.time_column)
        missing = task.actual_times.difference(rows.index)
        if len(missing):
            raise SystemExit(
                f"error: {entry.name} {task.series_id or ''}: the forecast in {output} lacks "
                f"the held-out times {', '.join(str(t) for t in missing[:5])}"
            )
        rows = rows.loc[task.actual_times]
        task.forecasts[RNNFORECAST] = Forecast(
            point=rows["forecast"].to_numpy(dtype=float),
            bounds=tool_bounds(rows),
            seconds=sum(seconds.values()) / len(tasks),
        )
    return seconds


def tool_bounds(rows: pd.DataFrame) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The interval bounds in the tool's forecast rows by level, or {} when it has none."""
    if not all(name in rows.columns for pair in TOOL_INTERVAL_COLUMNS.values() for name in pair):
        return {}
    return {
        level: (rows[lower].to_numpy(dtype=float), rows[upper].to_numpy(dtype=float))
        for level, (lower, upper) in TOOL_INTERVAL_COLUMNS.items()
    }


# --------------------------------------------------------------------------------------------
# Baselines and statsforecast, one series at a time
# --------------------------------------------------------------------------------------------


def forecast_baselines(task: Task, season_length: int) -> None:
    """Naive and seasonal naive forecasts of one task, with intervals from the quantiles of
    their in-sample errors at each horizon step, timed."""
    horizon = len(task.actual)
    for method, length in ((NAIVE, 1), (SEASONAL_NAIVE, season_length)):
        start = time.perf_counter()
        point = seasonal_naive(task.history, length, horizon)
        bounds = residual_intervals(task.history, length, horizon, LEVELS)
        task.forecasts[method] = Forecast(point, bounds, time.perf_counter() - start)


def stats_models(season_length: int) -> dict[str, Any]:
    """Fresh AutoETS, AutoARIMA and AutoTheta models, by method name."""
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    return {
        "AutoETS": AutoETS(season_length=season_length),
        # statsforecast's exact order search takes over ten minutes per fit on half-hourly
        # data (m=48); R's auto.arima approximates the likelihood there, and so does this.
        "AutoARIMA": AutoARIMA(
            season_length=season_length, approximation=season_length > APPROXIMATE_ARIMA_ABOVE
        ),
        "AutoTheta": AutoTheta(season_length=season_length),
    }


def forecast_stats(task: Task, entry: Entry) -> None:
    """Fit each statsforecast model on one task's history and forecast its horizon with 80 %
    and 95 % intervals, timed."""
    from statsforecast import StatsForecast

    frame = pd.DataFrame({"unique_id": "series", "ds": task.history_times, "y": task.history})
    frequency = entry.frequency.alias or 1  # statsforecast counts integer steps with freq=1
    for method, model in stats_models(entry.season_length).items():
        start = time.perf_counter()
        forecaster = StatsForecast(models=[model], freq=frequency, n_jobs=1)
        result = forecaster.forecast(df=frame, h=len(task.actual), level=list(LEVELS))
        seconds = time.perf_counter() - start
        bounds = {
            level: (
                result[f"{method}-lo-{level}"].to_numpy(dtype=float),
                result[f"{method}-hi-{level}"].to_numpy(dtype=float),
            )
            for level in LEVELS
        }
        task.forecasts[method] = Forecast(result[method].to_numpy(dtype=float), bounds, seconds)


def require_statsforecast() -> None:
    """Stop with the install command when statsforecast is missing."""
    try:
        import statsforecast  # noqa: F401
    except ImportError as error:
        raise SystemExit(
            f"error: statsforecast is needed for AutoETS, AutoARIMA and AutoTheta ({error}).\n"
            'Install it with `pip install -e ".[bench]"` (or run `make bench-accuracy`), '
            "or pass --skip-stats."
        ) from None


# --------------------------------------------------------------------------------------------
# Running a dataset
# --------------------------------------------------------------------------------------------


def benchmark_dataset(
    entry: Entry, wanted: int, folder: Path, skip_stats: bool, reuse: Path | None = None
) -> DatasetRun:
    """Score every method on one dataset at each usable origin; with `reuse` (an earlier
    `--keep` folder), predict with the runs trained there instead of training again."""
    frame = read_frame(entry)
    rows = series_rows(frame, entry)
    origins = usable_origins(entry, rows, wanted)
    run = DatasetRun(entry, origins, len(rows), [], {})
    for origin in origins:
        before, after, tasks = cut_at_origin(frame, rows, entry, origin)
        print(
            f"  {entry.name} origin {origin}/{len(origins)}: {len(tasks)} series, "
            f"{entry.frequency.name}, h={entry.horizon}, m={entry.season_length}: "
            "rnnforecast train + predict ...",
            file=sys.stderr,
            flush=True,
        )
        origin_folder = folder / f"origin-{origin}"
        origin_folder.mkdir(parents=True)
        trained = None
        if reuse is not None:
            trained = reuse / entry.name / f"origin-{origin}" / "run"
            if not trained.is_dir():
                raise SystemExit(
                    f"error: --reuse-runs {reuse}: no run of {entry.name} at origin {origin} "
                    f"({trained} is not a folder); give the --keep folder of a run of the "
                    "same datasets and --origins"
                )
        run.tool_seconds[origin] = forecast_rnnforecast(
            entry, before, after, tasks, origin_folder, trained
        )
        for task in tasks:
            forecast_baselines(task, entry.season_length)
            if not skip_stats:
                forecast_stats(task, entry)
        run.tasks += tasks
    return run


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------


def task_figures(task: Task, method: str, season_length: int) -> dict[str, float]:
    """MASE, sMAPE, seconds, coverage at 80 and 95 % and MSIS-95 of one method on one task
    (the interval figures NaN when the method gave no intervals)."""
    forecast = task.forecasts[method]
    scale = in_sample_scale(task.history, season_length)
    figures = {
        "mase": mase(task.actual, forecast.point, scale),
        "smape": smape(task.actual, forecast.point),
        "seconds": forecast.seconds,
        **dict.fromkeys(INTERVAL_KEYS, math.nan),
    }
    if forecast.bounds:
        for level in LEVELS:
            figures[f"coverage_{level}"] = coverage(task.actual, *forecast.bounds[level])
        figures["msis_95"] = msis(task.actual, *forecast.bounds[95], scale)
    return figures


def dataset_figures(run: DatasetRun, methods: list[str]) -> dict[str, Any]:
    """Per method, the mean of each figure over the dataset's series and origins, and the
    figures of every task."""
    per_task = [
        {
            "series": task.series_id,
            "origin": task.origin,
            "history_points": len(task.history),
            "figures": {
                method: task_figures(task, method, run.entry.season_length) for method in methods
            },
        }
        for task in run.tasks
    ]
    means = {
        method: {
            key: float(np.mean([one["figures"][method][key] for one in per_task]))
            for key in (*POINT_KEYS, *INTERVAL_KEYS)
        }
        for method in methods
    }
    return {"methods": means, "tasks": per_task}


def relative(figures: dict[str, dict[str, Any]], method: str, key: str) -> list[float]:
    """Each dataset's `key` of `method` divided by seasonal naive's."""
    return [
        one["methods"][method][key] / one["methods"][SEASONAL_NAIVE][key]
        for one in figures.values()
    ]


def half_summary(figures: dict[str, dict[str, Any]], methods: list[str]) -> dict[str, Any]:
    """Per method over a half's datasets: geometric means relative to seasonal naive, mean
    sMAPE, coverage and seconds, and the datasets where it is more than 5 % worse than
    seasonal naive on MASE."""

    def mean(method: str, key: str) -> float:
        return float(np.mean([one["methods"][method][key] for one in figures.values()]))

    return {
        method: {
            "relative_mase_geometric_mean": geometric_mean(relative(figures, method, "mase")),
            "relative_msis_geometric_mean": geometric_mean(relative(figures, method, "msis_95")),
            "mean_smape": mean(method, "smape"),
            "mean_coverage_80": mean(method, "coverage_80"),
            "mean_coverage_95": mean(method, "coverage_95"),
            "mean_seconds": mean(method, "seconds"),
            "worse_than_seasonal_naive": [
                name
                for name, one in figures.items()
                if one["methods"][method]["mase"]
                > WORSE_RATIO * one["methods"][SEASONAL_NAIVE]["mase"]
            ],
        }
        for method in methods
    }


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def formatted(value: float, digits: int, best: bool = False) -> str:
    """`value` with `digits` decimals and `*` when best; `n/a` when not a number."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}" + ("*" if best else "")


def marked(values: list[float], digits: int) -> list[str]:
    """`values` formatted with `digits` decimals, the smallest marked with `*`."""
    best = min((value for value in values if math.isfinite(value)), default=math.nan)
    return [formatted(value, digits, value == best) for value in values]


def dataset_columns(run: DatasetRun) -> list[str]:
    """The first cells of a dataset's row: name, frequency, h, origins, series."""
    entry = run.entry
    return [
        entry.name,
        entry.frequency.name,
        str(entry.horizon),
        str(len(run.origins)),
        str(run.series),
    ]


def point_table(
    runs: list[DatasetRun],
    figures: dict[str, dict[str, Any]],
    summary: dict[str, Any],
    methods: list[str],
    key: str,
) -> str:
    """The MASE (`key` "mase") or sMAPE table of one half, with its summary rows."""
    digits = 3 if key == "mase" else 2
    header = ["dataset", "freq", "h", "origins", "series", *methods]
    rows = []
    for run in runs:
        values = [figures[run.entry.name]["methods"][method][key] for method in methods]
        rows.append([*dataset_columns(run), *marked(values, digits)])
    blank = [""] * 4
    if key == "mase":
        relative_mase = [summary[method]["relative_mase_geometric_mean"] for method in methods]
        rows.append(["geo. mean of MASE / seasonal naive", *blank, *marked(relative_mase, 3)])
        seconds = [formatted(summary[method]["mean_seconds"], 2) for method in methods]
        rows.append(["mean seconds per series and origin", *blank, *seconds])
    else:
        mean_smape = [summary[method]["mean_smape"] for method in methods]
        rows.append(["mean sMAPE", *blank, *marked(mean_smape, 2)])
    return table(header, rows)


def interval_cell(figures: dict[str, float], best: bool) -> str:
    """`coverage 80 / coverage 95 / MSIS-95` of one method on one dataset."""
    if not math.isfinite(figures["msis_95"]):
        return "n/a"
    return f"{figures['coverage_80']:.0f}/{figures['coverage_95']:.0f}/" + formatted(
        figures["msis_95"], 2, best
    )


def interval_table(
    runs: list[DatasetRun],
    figures: dict[str, dict[str, Any]],
    summary: dict[str, Any],
    methods: list[str],
) -> str:
    """Coverage and MSIS-95 of each method on each dataset of one half, with summary rows."""
    header = ["dataset", "freq", "h", "origins", "series", *methods]
    rows = []
    for run in runs:
        cells = [figures[run.entry.name]["methods"][method] for method in methods]
        scores = [cell["msis_95"] for cell in cells]
        best = min((score for score in scores if math.isfinite(score)), default=math.nan)
        rows.append(
            [
                *dataset_columns(run),
                *[interval_cell(cell, cell["msis_95"] == best) for cell in cells],
            ]
        )
    blank = [""] * 4
    for level in LEVELS:
        means = [formatted(summary[method][f"mean_coverage_{level}"], 1) for method in methods]
        rows.append([f"mean coverage {level} (%)", *blank, *means])
    relative_msis = [summary[method]["relative_msis_geometric_mean"] for method in methods]
    rows.append(["geo. mean of MSIS-95 / seasonal naive", *blank, *marked(relative_msis, 3)])
    return table(header, rows)


def half_section(
    half: str,
    runs: list[DatasetRun],
    figures: dict[str, dict[str, Any]],
    summary: dict[str, Any],
    methods: list[str],
) -> list[str]:
    """Every table of one half."""
    worse = summary[RNNFORECAST]["worse_than_seasonal_naive"]
    title = f"{half} half: {len(runs)} dataset{'s' if len(runs) != 1 else ''}"
    return [
        "=" * len(title),
        title,
        "=" * len(title),
        "",
        "MASE (mean over series and origins; scaled by the in-sample seasonal naive MAE before "
        "each origin; * = best in row)",
        "",
        point_table(runs, figures, summary, methods, "mase"),
        "",
        f"rnnforecast more than {100 * (WORSE_RATIO - 1):.0f} % worse than seasonal naive "
        f"(MASE): {len(worse)} of {len(runs)} datasets"
        + (f" ({', '.join(worse)})" if worse else ""),
        "",
        "sMAPE in % (mean over series and origins; * = best in row)",
        "",
        point_table(runs, figures, summary, methods, "smape"),
        "",
        "Prediction intervals: coverage of the 80 % / 95 % intervals in % / MSIS-95 (scaled "
        "like MASE; * = best MSIS in row; n/a = no intervals)",
        "",
        interval_table(runs, figures, summary, methods),
    ]


def overview_table(
    summaries: dict[str, dict[str, Any]], sizes: dict[str, int], methods: list[str]
) -> str:
    """Per half (and both together): the geometric mean of MASE relative to seasonal naive of
    each method, and the datasets where rnnforecast is more than 5 % worse than seasonal naive."""
    rows = []
    for half, summary in summaries.items():
        relative_mase = [summary[method]["relative_mase_geometric_mean"] for method in methods]
        worse = len(summary[RNNFORECAST]["worse_than_seasonal_naive"])
        rows.append([half, str(sizes[half]), *marked(relative_mase, 3), str(worse)])
    header = ["geo. mean of MASE / seasonal naive", "datasets", *methods, "rnnforecast worse"]
    return table(header, rows)


def tool_seconds_table(runs: list[DatasetRun]) -> str:
    """rnnforecast's wall time per dataset and origin."""
    rows = [
        [
            run.entry.name,
            str(origin),
            f"{seconds['train']:.1f}" if math.isfinite(seconds["train"]) else "not run",
            f"{seconds['predict']:.1f}",
        ]
        for run in runs
        for origin, seconds in run.tool_seconds.items()
    ]
    return table(["dataset", "origin", "train", "predict"], rows)


def package_versions() -> dict[str, str]:
    """Installed version of each package in PACKAGES (read from metadata, nothing imported)."""
    found = {}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def header_lines(
    today: datetime.datetime, versions: dict[str, str], origins: int, reused: Path | None
) -> list[str]:
    """Date, machine, versions and how to read the tables."""
    return [
        "rnnforecast accuracy on the development set (benchmarks/devset.yaml): each dataset "
        f"scored at up to {origins} origin(s), its last non-overlapping horizons (fewer where a "
        "series is short)",
        f"date: {today:%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} CPUs, "
        f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "versions: " + ", ".join(f"{name} {number}" for name, number in versions.items()),
        "rnnforecast: `rnnforecast train` (config with only `data` and `window.horizon`) then "
        "`predict` at each origin; one global model per long-format file and origin",
        "other methods: fitted on one series at a time; naive and seasonal naive intervals from "
        "the quantiles of their in-sample errors per horizon step",
        *([f"rnnforecast train overrides: {' '.join(OVERRIDES)}"] if OVERRIDES else []),
        *([f"rnnforecast runs reused, not trained again: {reused}"] if reused else []),
    ]


def finite_or_none(value: Any) -> Any:
    """`value` with every NaN or infinity (nested in dicts and lists) replaced by None."""
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list):
        return [finite_or_none(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_document(
    runs: list[DatasetRun],
    figures: dict[str, dict[str, Any]],
    summaries: dict[str, dict[str, Any]],
    context: dict[str, Any],
) -> dict[str, Any]:
    """Every figure of the run, NaN written as null."""
    datasets = {
        run.entry.name: {
            "half": run.entry.half,
            "frequency": run.entry.frequency.name,
            "shape": run.entry.shape,
            "horizon": run.entry.horizon,
            "season_length": run.entry.season_length,
            "origins": run.origins,
            "series": run.series,
            **figures[run.entry.name],
            "rnnforecast_seconds": {str(k): seconds for k, seconds in run.tool_seconds.items()},
        }
        for run in runs
    }
    return finite_or_none({**context, "datasets": datasets, "summary": summaries})


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def work_folder(keep: str | None) -> Path:
    """The folder for data, configs, runs and forecasts: `--keep` or a temporary one."""
    if keep is None:
        return Path(tempfile.mkdtemp(prefix="rnnforecast-accuracy-"))
    folder = Path(keep).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise SystemExit(f"error: --keep {folder}: the folder must be new or empty")
    return folder


def parse_arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="Forecast accuracy of rnnforecast next to statistical methods on the "
        "development set (the last --origins horizons of each dataset held out in turn)."
    )
    parser.add_argument(
        "--half",
        choices=[*HALVES, "all"],
        default="all",
        help="Which half of the manifest to score (default: all).",
    )
    parser.add_argument(
        "--series", help="Comma-separated dataset names of the manifest, e.g. a10,co2."
    )
    parser.add_argument(
        "--origins",
        type=int,
        default=3,
        metavar="K",
        help="Score each dataset at its last K non-overlapping horizons (default 3; fewer "
        "where a series is too short).",
    )
    parser.add_argument(
        "--skip-stats",
        action="store_true",
        help="Skip statsforecast's AutoETS, AutoARIMA and AutoTheta.",
    )
    parser.add_argument("--keep", metavar="DIR", help="Keep data, configs, runs and forecasts.")
    parser.add_argument(
        "--reuse-runs",
        type=Path,
        metavar="DIR",
        help="Skip training: predict with the runs an earlier `--keep DIR` trained (same "
        "datasets and --origins), to measure a change to forecasting or intervals alone.",
    )
    parser.add_argument("--json", metavar="PATH", help="Also write every figure as JSON here.")
    parser.add_argument(
        "--manifest",
        type=Path,
        default=MANIFEST,
        help="The development set (default: benchmarks/devset.yaml).",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Pass a config override to `rnnforecast train` (repeatable), to measure a "
        "setting against the defaults or for a quick check; the headline figures use none.",
    )
    arguments = parser.parse_args()
    if arguments.origins < 1:
        parser.error("--origins must be at least 1")
    if arguments.reuse_runs is not None and arguments.overrides:
        parser.error("--set changes training, and --reuse-runs trains nothing; give one")
    return arguments


def main() -> None:
    arguments = parse_arguments()
    OVERRIDES.extend(arguments.overrides)
    if not arguments.skip_stats:
        require_statsforecast()
    try:
        manifest = load_manifest(arguments.manifest)
    except (OSError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    entries = select_entries(manifest, arguments.half, arguments.series, arguments.manifest)
    methods = [RNNFORECAST, NAIVE, SEASONAL_NAIVE]
    if not arguments.skip_stats:
        methods += STATS_METHODS

    started = time.perf_counter()
    folder = work_folder(arguments.keep)
    print(f"rnnforecast accuracy benchmark in {folder} ...", file=sys.stderr, flush=True)
    try:
        runs = [
            benchmark_dataset(
                entry,
                arguments.origins,
                folder / entry.name,
                arguments.skip_stats,
                arguments.reuse_runs,
            )
            for entry in entries
        ]
    finally:
        if arguments.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    total = time.perf_counter() - started

    figures = {run.entry.name: dataset_figures(run, methods) for run in runs}
    halves = {
        half: [run for run in runs if run.entry.half == half]
        for half in HALVES
        if any(run.entry.half == half for run in runs)
    }
    if len(halves) > 1:
        halves["all"] = runs
    summaries = {
        half: half_summary({run.entry.name: figures[run.entry.name] for run in part}, methods)
        for half, part in halves.items()
    }
    today, versions = datetime.datetime.now(datetime.UTC), package_versions()
    sections = [header_lines(today, versions, arguments.origins, arguments.reuse_runs)]
    for half in HALVES:
        if half in halves:
            sections.append(half_section(half, halves[half], figures, summaries[half], methods))
    sizes = {half: len(part) for half, part in halves.items()}
    overview = overview_table(summaries, sizes, methods)
    sections.append(
        ["Overview (rnnforecast worse: more than 5 % above seasonal naive)", "", overview]
    )
    sections.append(["rnnforecast wall time (s)", "", tool_seconds_table(runs)])
    print("\n\n".join("\n".join(section) for section in sections))
    print(f"\ntotal benchmark time: {total:.0f} s")
    if arguments.json:
        context = {
            "date": today.isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
            "platform": f"{platform.machine()} {platform.system()}",
            "versions": versions,
            "methods": methods,
            "origins_wanted": arguments.origins,
            "overrides": OVERRIDES,
            "reused_runs": str(arguments.reuse_runs) if arguments.reuse_runs else None,
            "total_seconds": total,
        }
        document = json_document(runs, figures, summaries, context)
        Path(arguments.json).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
