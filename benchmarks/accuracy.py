"""Forecast accuracy of rnnforecast next to classical statistical methods on the example data.

Usage: `python benchmarks/accuracy.py [--series a10,co2] [--skip-stats] [--keep DIR] [--json PATH]`

For every real series in `data/` (every config in `configs/` that reads a file), the last `h`
points are held out, `h` chosen from the frequency. On the rest:

1. rnnforecast runs as a user runs it, through its command line in a child process: a config
   that gives only the shipped `data` section and `window.horizon: h` (every other key is the
   tool's default), then `rnnforecast train` and `rnnforecast predict`;
2. statsforecast's AutoETS, AutoARIMA and AutoTheta, plus naive (last value) and seasonal naive
   (the last season repeated), each fitted on one series at a time.

Every forecast of the held-out points is scored with MASE (scaled by the in-sample error of the
seasonal naive forecast on the training part) and sMAPE, and every method is timed. statsforecast
is needed only here: `pip install -e ".[bench]"`.
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
import warnings
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from common import table, timed_run  # benchmarks/common.py, beside this script
from pandas.tseries.frequencies import to_offset

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "configs"
TOOL_TIMEOUT_SECONDS = 3600
PACKAGES = ("rnnforecast", "tensorflow", "keras", "statsforecast", "pandas", "numpy")

RNNFORECAST = "rnnforecast"
NAIVE = "naive"
SEASONAL_NAIVE = "seasonal_naive"
STATS_METHODS = ("AutoETS", "AutoARIMA", "AutoTheta")
METHODS = (RNNFORECAST, NAIVE, SEASONAL_NAIVE, *STATS_METHODS)

# Held-out points and season length per frequency kind.
HORIZONS = {"yearly": 6, "quarterly": 8, "monthly": 18, "weekly": 13, "daily": 14, "hourly": 48}
SEASON_LENGTHS = {
    "yearly": 1,
    "quarterly": 4,
    "monthly": 12,
    "weekly": 52,
    "daily": 7,
    "hourly": 24,
}
# Base codes of pandas frequency aliases (the part before any anchor such as `-DEC`).
FREQUENCY_KINDS = {
    **dict.fromkeys(("Y", "YS", "YE", "A", "AS", "BY", "BYS", "BYE", "BA", "BAS"), "yearly"),
    **dict.fromkeys(("Q", "QS", "QE", "BQ", "BQS", "BQE"), "quarterly"),
    **dict.fromkeys(("M", "MS", "ME", "BM", "BMS", "BME", "SM", "SMS", "SME"), "monthly"),
    "W": "weekly",
    **dict.fromkeys(("D", "B", "C"), "daily"),
    **dict.fromkeys(("H", "BH", "CBH"), "hourly"),
}


@dataclass
class Dataset:
    """One config's data: the file's rows, sorted, and what the config says about them."""

    name: str
    config_path: Path
    data_section: dict[str, Any]
    frame: pd.DataFrame
    times: pd.Series
    time_column: str
    target: str
    id_column: str | None
    frequency: str
    kind: str

    @property
    def horizon(self) -> int:
        return HORIZONS[self.kind]

    @property
    def season_length(self) -> int:
        return SEASON_LENGTHS[self.kind]


@dataclass
class Series:
    """One series split into the part every method sees and the held-out actual values."""

    label: str
    series_id: str | None
    frequency: str
    season_length: int
    history: np.ndarray
    actual: np.ndarray
    actual_times: pd.DatetimeIndex
    history_end: pd.Timestamp
    forecasts: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Configs and data
# --------------------------------------------------------------------------------------------


def read_yaml(path: Path) -> dict[str, Any]:
    """The YAML mapping in `path` (an empty file is an empty mapping)."""
    with path.open(encoding="utf-8") as stream:
        loaded = yaml.safe_load(stream)
    return loaded or {}


def reads_a_file(data_section: dict[str, Any]) -> bool:
    """Whether a config's `data` section reads a file (rather than the synthetic series)."""
    source = data_section.get("source")
    if source is not None:
        return source != "synthetic"
    return data_section.get("path") is not None


def discover_configs(folder: Path) -> dict[str, Path]:
    """Every config in `folder` whose data is a file, by name (the file name without `.yaml`)."""
    found = {}
    for path in sorted(folder.glob("*.yaml")):
        if reads_a_file(read_yaml(path).get("data") or {}):
            found[path.stem] = path
    return found


def select_configs(available: dict[str, Path], wanted: str | None) -> dict[str, Path]:
    """The configs named in `--series` (comma-separated), or all of them."""
    if not wanted:
        return available
    names = [name.strip() for name in wanted.split(",") if name.strip()]
    unknown = [name for name in names if name not in available]
    if unknown:
        raise SystemExit(
            f"error: unknown series {', '.join(unknown)}; "
            f"choose from {', '.join(available)} (configs in {CONFIG_DIR} that read a file)"
        )
    return {name: available[name] for name in names}


def frequency_kind(alias: str) -> str:
    """`monthly`, `quarterly` ... for a pandas frequency alias such as `MS` or `QS-OCT`."""
    base = alias.split("-")[0].upper()
    if base[:1].isdigit():
        raise SystemExit(f"error: frequency {alias!r} is a multiple of a unit; not supported")
    if base not in FREQUENCY_KINDS:
        raise SystemExit(f"error: frequency {alias!r} is not one of {', '.join(HORIZONS)}")
    return FREQUENCY_KINDS[base]


def infer_frequency(times: pd.Series, ids: pd.Series | None, fallback: str | None) -> str:
    """The pandas alias of the time column's frequency, from the first series' timestamps."""
    first = times if ids is None else times[ids == ids.iloc[0]]
    inferred = None
    if len(first) >= 3:
        with warnings.catch_warnings():
            # pandas 3 warns that infer_freq will return an offset; both forms are handled.
            warnings.filterwarnings("ignore", message="A future version of pandas will return")
            inferred = pd.infer_freq(pd.DatetimeIndex(first))
    if inferred is None and fallback is None:
        raise SystemExit(
            "error: cannot infer the frequency of the time column; set `data.frequency`"
        )
    return to_offset(inferred or fallback).freqstr


def load_dataset(name: str, config_path: Path) -> Dataset:
    """Read one config's `data` section and its file, sorted by series and time."""
    section = read_yaml(config_path).get("data") or {}
    path = (config_path.parent / section["path"]).resolve()
    time_column = section.get("time_column")
    if not time_column:
        raise SystemExit(f"error: {config_path}: the benchmark needs `data.time_column`")
    parquet = section.get("source") == "parquet" or path.suffix == ".parquet"
    frame = pd.read_parquet(path) if parquet else pd.read_csv(path)
    id_column = section.get("id_column")
    target = section.get("target") or only_numeric_column(frame, {time_column, id_column})
    times = pd.to_datetime(frame[time_column])
    order = [id_column, "__time"] if id_column else ["__time"]
    frame = (
        frame.assign(__time=times)
        .sort_values(order, kind="stable")
        .drop(columns="__time")
        .reset_index(drop=True)
    )
    times = pd.to_datetime(frame[time_column])
    ids = frame[id_column].astype(str) if id_column else None
    alias = infer_frequency(times, ids, section.get("frequency"))
    return Dataset(
        name=name,
        config_path=config_path,
        data_section=section,
        frame=frame,
        times=times,
        time_column=time_column,
        target=target,
        id_column=id_column,
        frequency=alias,
        kind=frequency_kind(alias),
    )


def only_numeric_column(frame: pd.DataFrame, exclude: set[str | None]) -> str:
    """The single numeric column besides `exclude`, as the tool picks the target by default."""
    numeric = [
        column
        for column in frame.columns
        if column not in exclude and pd.api.types.is_numeric_dtype(frame[column])
    ]
    if len(numeric) != 1:
        raise SystemExit(f"error: cannot tell the target among the numeric columns {numeric}")
    return numeric[0]


def split_series(dataset: Dataset) -> tuple[pd.DataFrame, list[Series]]:
    """The file's rows without each series' last `h` points, and every series split in two."""
    h, frame = dataset.horizon, dataset.frame
    ids = frame[dataset.id_column].astype(str) if dataset.id_column else pd.Series("", frame.index)
    keep = np.ones(len(frame), dtype=bool)
    series = []
    for series_id, rows in frame.groupby(ids, sort=False).groups.items():
        rows = np.asarray(rows)
        if len(rows) <= h + dataset.season_length:
            raise SystemExit(
                f"error: {dataset.name}: series {series_id!r} has {len(rows)} points, "
                f"too few to hold out {h}"
            )
        keep[rows[-h:]] = False
        values = frame[dataset.target].to_numpy(dtype=float)[rows]
        times = pd.DatetimeIndex(dataset.times.iloc[rows])
        label = f"{dataset.name}:{series_id}" if dataset.id_column else dataset.name
        series.append(
            Series(
                label=label,
                series_id=series_id if dataset.id_column else None,
                frequency=dataset.frequency,
                season_length=dataset.season_length,
                history=values[:-h],
                actual=values[-h:],
                actual_times=times[-h:],
                history_end=times[-h - 1],
            )
        )
    return frame[keep].reset_index(drop=True), series


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


def write_tool_config(dataset: Dataset, data_file: Path, folder: Path) -> Path:
    """A config with only the shipped `data` section (on `data_file`) and the horizon."""
    data_section = {**dataset.data_section, "path": data_file.name}
    if "source" in data_section:
        data_section["source"] = "csv"
    config = {
        "data": data_section,
        "window": {"horizon": dataset.horizon},
        "output": {"dir": str(folder)},
    }
    path = folder / f"{dataset.name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def forecast_rnnforecast(dataset: Dataset, series: list[Series], folder: Path) -> dict[str, float]:
    """Train and predict with the tool on the truncated file; fills each series' forecast."""
    config = write_tool_config(dataset, folder / "data.csv", folder)
    run_dir = folder / "run"
    output = folder / "forecast.csv"
    seconds = {
        "train": run_tool(
            ["train", str(config), "--run-dir", str(run_dir), *overrides_arguments()],
            folder / "train.log",
        ),
        "predict": run_tool(
            ["predict", str(run_dir), "--output", str(output)], folder / "predict.log"
        ),
    }
    forecast = pd.read_csv(output)
    forecast[dataset.time_column] = pd.to_datetime(forecast[dataset.time_column])
    for one in series:
        rows = forecast
        if dataset.id_column:
            rows = forecast[forecast[dataset.id_column].astype(str) == one.series_id]
        values = rows.set_index(dataset.time_column)["forecast"]
        missing = one.actual_times.difference(values.index)
        if len(missing):
            raise SystemExit(
                f"error: {one.label}: the forecast in {output} lacks the held-out times "
                f"{', '.join(str(t.date()) for t in missing[:5])}"
            )
        one.forecasts[RNNFORECAST] = values.loc[one.actual_times].to_numpy(dtype=float)
        one.seconds[RNNFORECAST] = sum(seconds.values()) / len(series)
    return seconds


# --------------------------------------------------------------------------------------------
# Baselines and statsforecast, one series at a time
# --------------------------------------------------------------------------------------------


def seasonal_naive(history: np.ndarray, season_length: int, horizon: int) -> np.ndarray:
    """The last season of `history` repeated over `horizon` steps (naive when it is 1)."""
    last_season = history[-season_length:]
    return last_season[np.arange(horizon) % season_length]


def forecast_baselines(one: Series) -> None:
    """Naive and seasonal naive forecasts of one series, timed."""
    horizon = len(one.actual)
    for method, length in ((NAIVE, 1), (SEASONAL_NAIVE, one.season_length)):
        start = time.perf_counter()
        one.forecasts[method] = seasonal_naive(one.history, length, horizon)
        one.seconds[method] = time.perf_counter() - start


def stats_models(season_length: int) -> dict[str, Any]:
    """Fresh AutoETS, AutoARIMA and AutoTheta models, by method name."""
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    return {
        "AutoETS": AutoETS(season_length=season_length),
        "AutoARIMA": AutoARIMA(season_length=season_length),
        "AutoTheta": AutoTheta(season_length=season_length),
    }


def forecast_stats(one: Series) -> None:
    """Fit each statsforecast model on one series' history and forecast its horizon, timed."""
    from statsforecast import StatsForecast

    dates = pd.date_range(end=one.history_end, periods=len(one.history), freq=one.frequency)
    frame = pd.DataFrame({"unique_id": one.label, "ds": dates, "y": one.history})
    for method, model in stats_models(one.season_length).items():
        start = time.perf_counter()
        forecaster = StatsForecast(models=[model], freq=one.frequency, n_jobs=1)
        result = forecaster.forecast(df=frame, h=len(one.actual))
        one.seconds[method] = time.perf_counter() - start
        one.forecasts[method] = result[method].to_numpy(dtype=float)


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
# Scores and report
# --------------------------------------------------------------------------------------------


def mase(actual: np.ndarray, forecast: np.ndarray, history: np.ndarray, season: int) -> float:
    """MAE of the forecast over the in-sample MAE of the seasonal naive forecast of `history`."""
    scale = float(np.mean(np.abs(history[season:] - history[:-season])))
    error = float(np.mean(np.abs(actual - forecast)))
    return error / scale if scale > 0 else math.nan


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in %: 200 * mean(|f - a| / (|f| + |a|)), a term 0 where both are 0."""
    denominator = np.abs(forecast) + np.abs(actual)
    terms = np.divide(
        np.abs(forecast - actual),
        denominator,
        out=np.zeros_like(denominator),
        where=denominator > 0,
    )
    return float(200 * np.mean(terms))


def geometric_mean(values: list[float]) -> float:
    """exp(mean(log(values))); NaN if any value is not a positive number."""
    if not values or not all(math.isfinite(value) and value > 0 for value in values):
        return math.nan
    return math.exp(sum(math.log(value) for value in values) / len(values))


def score(series: list[Series], methods: list[str]) -> dict[str, Any]:
    """MASE, sMAPE and seconds per series and method, and the summary per method."""
    figures = {
        one.label: {
            method: {
                "mase": mase(one.actual, one.forecasts[method], one.history, one.season_length),
                "smape": smape(one.actual, one.forecasts[method]),
                "seconds": one.seconds[method],
            }
            for method in methods
        }
        for one in series
    }
    rows = list(figures.values())
    summary = {
        method: {
            "relative_mase_geometric_mean": geometric_mean(
                [row[method]["mase"] / row[SEASONAL_NAIVE]["mase"] for row in rows]
            ),
            "mean_smape": float(np.mean([row[method]["smape"] for row in rows])),
            "mean_seconds": float(np.mean([row[method]["seconds"] for row in rows])),
        }
        for method in methods
    }
    return {"series": figures, "summary": summary}


def marked(values: list[float], digits: int) -> list[str]:
    """`values` formatted with `digits` decimals, the smallest marked with `*`."""
    best = min((value for value in values if math.isfinite(value)), default=math.nan)
    return [
        f"{value:.{digits}f}" + ("*" if value == best else "") if math.isfinite(value) else "n/a"
        for value in values
    ]


def report_tables(series: list[Series], scores: dict[str, Any], methods: list[str]) -> list[str]:
    """The MASE and sMAPE tables, one row per series, with the summary rows."""
    figures, summary = scores["series"], scores["summary"]
    header = ["series", "freq", "h", "train", *methods]

    def rows(key: str, digits: int) -> list[list[str]]:
        return [
            [
                one.label,
                one.frequency,
                str(len(one.actual)),
                str(len(one.history)),
                *marked([figures[one.label][method][key] for method in methods], digits),
            ]
            for one in series
        ]

    blank = ["", "", ""]
    relative = [summary[method]["relative_mase_geometric_mean"] for method in methods]
    mase_rows = [
        *rows("mase", 3),
        ["geo. mean of MASE / seasonal naive", *blank, *marked(relative, 3)],
        [
            "mean seconds per series",
            *blank,
            *[f"{summary[method]['mean_seconds']:.2f}" for method in methods],
        ],
    ]
    mean_smape = [summary[method]["mean_smape"] for method in methods]
    smape_rows = [*rows("smape", 2), ["mean sMAPE", *blank, *marked(mean_smape, 2)]]
    return [
        "MASE (scaled by the in-sample seasonal naive MAE of the training part; * = best in row)",
        "",
        table(header, mase_rows),
        "",
        "sMAPE in % (* = best in row)",
        "",
        table(header, smape_rows),
    ]


def package_versions() -> dict[str, str]:
    """Installed version of each package in PACKAGES (read from metadata, nothing imported)."""
    found = {}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def finite_or_none(value: Any) -> Any:
    """`value` with every NaN or infinity (nested in dicts) replaced by None, for JSON."""
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def work_folder(keep: str | None) -> Path:
    """The folder for truncated data, configs, runs and forecasts: `--keep` or a temporary one."""
    if keep is None:
        return Path(tempfile.mkdtemp(prefix="rnnforecast-accuracy-"))
    folder = Path(keep).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise SystemExit(f"error: --keep {folder}: the folder must be new or empty")
    return folder


def benchmark_dataset(
    dataset: Dataset, folder: Path, skip_stats: bool
) -> tuple[list[Series], dict[str, float]]:
    """Hold out, write the truncated file, run every method on one config's series."""
    folder.mkdir()
    truncated, series = split_series(dataset)
    truncated.to_csv(folder / "data.csv", index=False)
    print(
        f"  {dataset.name}: {len(series)} series, {dataset.frequency} ({dataset.kind}), "
        f"h={dataset.horizon}, m={dataset.season_length}: rnnforecast train + predict ...",
        file=sys.stderr,
        flush=True,
    )
    tool_seconds = forecast_rnnforecast(dataset, series, folder)
    for one in series:
        forecast_baselines(one)
        if not skip_stats:
            print(f"  {one.label}: statsforecast ...", file=sys.stderr, flush=True)
            forecast_stats(one)
    return series, tool_seconds


def run_all(
    configs: dict[str, Path], folder: Path, skip_stats: bool
) -> tuple[list[Series], dict[str, dict[str, float]]]:
    """Every config's series with their forecasts, and the tool's seconds per config."""
    series: list[Series] = []
    tool_seconds: dict[str, dict[str, float]] = {}
    for name, config_path in configs.items():
        dataset = load_dataset(name, config_path)
        found, tool_seconds[name] = benchmark_dataset(dataset, folder / name, skip_stats)
        series += found
    return series, tool_seconds


def header_lines(today: datetime.datetime, versions: dict[str, str]) -> list[str]:
    """Date, machine, versions and how to read the tables."""
    return [
        "rnnforecast accuracy on the example data: the last h points of each series held out",
        f"date: {today:%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} CPUs, "
        f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "versions: " + ", ".join(f"{name} {number}" for name, number in versions.items()),
        "rnnforecast: `rnnforecast train` (config with only `data` and `window.horizon`) then "
        "`predict`; one model per config, its seconds split evenly over the config's series",
        "other methods: fitted on one series at a time; freq = inferred frequency, "
        "h = held-out points, train = points every method sees",
        *([f"rnnforecast train overrides: {' '.join(OVERRIDES)}"] if OVERRIDES else []),
    ]


def json_document(
    series: list[Series],
    scores: dict[str, Any],
    tool_seconds: dict[str, dict[str, float]],
    context: dict[str, Any],
) -> dict[str, Any]:
    """Every figure of the run, NaN written as null."""
    settings = {
        one.label: {
            "frequency": one.frequency,
            "season_length": one.season_length,
            "horizon": len(one.actual),
            "training_points": len(one.history),
        }
        for one in series
    }
    document = {
        **context,
        "settings": settings,
        **scores,
        "rnnforecast_seconds_per_config": tool_seconds,
    }
    return finite_or_none(document)


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Forecast accuracy of rnnforecast next to statistical methods on the "
        "example data (the last h points of each series held out)."
    )
    parser.add_argument("--series", help="Comma-separated config names, e.g. a10,co2.")
    parser.add_argument(
        "--skip-stats",
        action="store_true",
        help="Skip statsforecast's AutoETS, AutoARIMA and AutoTheta.",
    )
    parser.add_argument("--keep", metavar="DIR", help="Keep data, configs, runs and forecasts.")
    parser.add_argument("--json", metavar="PATH", help="Also write every figure as JSON here.")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Pass a config override to `rnnforecast train` (repeatable), to measure a "
        "setting against the defaults; the headline figures use none.",
    )
    arguments = parser.parse_args()
    OVERRIDES.extend(arguments.overrides)
    if not arguments.skip_stats:
        require_statsforecast()
    configs = select_configs(discover_configs(CONFIG_DIR), arguments.series)
    methods = [RNNFORECAST, NAIVE, SEASONAL_NAIVE]
    if not arguments.skip_stats:
        methods += STATS_METHODS

    started = time.perf_counter()
    folder = work_folder(arguments.keep)
    print(f"rnnforecast accuracy benchmark in {folder} ...", file=sys.stderr, flush=True)
    try:
        series, tool_seconds = run_all(configs, folder, arguments.skip_stats)
    finally:
        if arguments.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    total = time.perf_counter() - started

    scores = score(series, methods)
    today, versions = datetime.datetime.now(datetime.UTC), package_versions()
    tool_rows = [
        [name, f"{steps['train']:.1f}", f"{steps['predict']:.1f}"]
        for name, steps in tool_seconds.items()
    ]
    sections = [
        header_lines(today, versions),
        report_tables(series, scores, methods),
        [
            "rnnforecast wall time per config (s)",
            "",
            table(["config", "train", "predict"], tool_rows),
        ],
    ]
    print("\n\n".join("\n".join(section) for section in sections))
    print(f"\ntotal benchmark time: {total:.0f} s")
    if arguments.json:
        context = {
            "date": today.isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
            "platform": f"{platform.machine()} {platform.system()}",
            "versions": versions,
            "methods": methods,
            "total_seconds": total,
        }
        document = json_document(series, scores, tool_seconds, context)
        Path(arguments.json).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
