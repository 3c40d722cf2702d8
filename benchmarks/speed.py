"""Speed and memory of rnnforecast next to plain Keras (or plain numpy) doing the same job.

Usage: `python benchmarks/speed.py [--quick]`

Four measurements, printed as plain tables with the exact settings:

1. windowing: `stack_windows` (strided views) against a Python loop building the same windows;
2. training end to end: `train(config)` against a hand-written Keras script on the same data,
   with the time of each step;
3. peak memory of each job, of `rnnforecast --help` and of `import tensorflow`;
4. inference: `predict` on a long-format CSV of many series against plain pandas + Keras.

Every job runs in a fresh child process (this file, called with `--child NAME`), so imports,
TensorFlow state and memory of one job never leak into another. This parent process imports only
the standard library, so it stays small and cannot inflate the children's figures.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

# benchmarks/common.py, beside this script
from common import (
    PLAIN_NETWORK,
    ChildFailed,
    median,
    mib,
    plain_lstm,
    report_result,
    seconds,
    sine_series,
    spawn_child,
    standard_scaling,
    table,
    window_arrays,
)

CHILD_TIMEOUT_SECONDS = 1800
PACKAGES = ("rnnforecast", "tensorflow", "keras", "numpy", "pandas")

FULL: dict[str, Any] = {
    "mode": "full",
    "windowing": {"series": 100, "length": 2000, "lookback": 48, "horizon": 12, "repeats": 7},
    "training": {
        "length": 1000,
        "epochs": 10,
        "units": 32,
        "lookback": 48,
        "horizon": 12,
        "batch_size": 32,
        "learning_rate": 1e-3,
        "seed": 42,
        "repeats": 3,
    },
    "memory": {"repeats": 3},
    "inference": {
        "series": 1000,
        "length": 200,
        "epochs": 1,
        "units": 32,
        "lookback": 48,
        "horizon": 12,
        "stride": 8,
        "batch_size": 256,
        # Five, so the first call (which builds Keras' predict function) is not the median.
        "repeats": 5,
    },
}
QUICK: dict[str, Any] = {
    **FULL,
    "mode": "quick",
    "windowing": {**FULL["windowing"], "repeats": 3},
    "training": {**FULL["training"], "epochs": 5, "repeats": 1},
    "memory": {"repeats": 1},
    "inference": {**FULL["inference"], "series": 200, "repeats": 3},
}

# Steps of `train()` as the benchmark groups them; every step not listed counts as "other".
TRAIN_STEPS = (
    "data + split",
    "scaling + windows",
    "build + compile",
    "fit",
    "test forecasts + metrics",
    "plots",
    "save run",
    "save model",
    "other",
)


# --------------------------------------------------------------------------------------------
# Child processes: each returns a JSON-serialisable dict of figures.
# --------------------------------------------------------------------------------------------


class StepClock:
    """Accumulates wall time per named step; `wrap` times every call of a function."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.step(name):
                return function(*args, **kwargs)

        return timed

    def patch(self, owner: Any, attribute: str, name: str) -> None:
        """Time calls of `owner.attribute`; a name that no longer exists stops the benchmark,
        so a rename never silently drops a row."""
        function = getattr(owner, attribute, None)
        if function is None:
            raise SystemExit(f"benchmark out of date: {owner.__name__}.{attribute} is gone")
        setattr(owner, attribute, self.wrap(name, function))


def timed_train(config: Any) -> tuple[Any, dict[str, float], float]:
    """`train(config)` with the duration of each of its steps, as it reports them: the run,
    the seconds per step and the total seconds."""
    from rnnforecast import training
    from rnnforecast.events import Events, step_seconds

    seen: list[Any] = []
    begin = time.perf_counter()
    run = training.train(config, progress="none", events=Events(seen.append))
    return run, step_seconds(seen), time.perf_counter() - begin


def with_other(steps: dict[str, float], total: float) -> dict[str, float]:
    """`steps` plus "other": the part of `total` no timed step accounts for."""
    return {**steps, "other": max(0.0, total - sum(steps.values()))}


def naive_windows(
    series_values: list[Any], lookback: int, horizon: int
) -> tuple[Any, Any, Any, Any]:
    """The windows `stack_windows` cuts, built the obvious way: one Python iteration per window."""
    import numpy as np

    inputs, targets, series, origins = [], [], [], []
    for index, values in enumerate(series_values):
        for origin in range(lookback, len(values) - horizon + 1):
            inputs.append(values[origin - lookback : origin])
            targets.append(values[origin : origin + horizon, 0])
            series.append(index)
            origins.append(origin)
    return (
        np.array(inputs),
        np.array(targets),
        np.array(series, dtype=np.int64),
        np.array(origins, dtype=np.int64),
    )


def child_windowing(settings: dict[str, Any]) -> dict[str, Any]:
    """Time `stack_windows` and the naive loop on the same random series; check equal output."""
    import numpy as np

    from rnnforecast.windowing import stack_windows

    spec = settings["windowing"]
    lookback, horizon, length = spec["lookback"], spec["horizon"], spec["length"]
    rng = np.random.default_rng(0)
    series = [rng.standard_normal((length, 1)).astype(np.float32) for _ in range(spec["series"])]
    bounds = [(0, length)] * len(series)
    strided, naive = [], []
    for _ in range(spec["repeats"]):
        start = time.perf_counter()
        windows = stack_windows(series, bounds, lookback, horizon)
        strided.append(time.perf_counter() - start)
        start = time.perf_counter()
        loop = naive_windows(series, lookback, horizon)
        naive.append(time.perf_counter() - start)
    fast = (windows.inputs, windows.targets, windows.series, windows.origins)
    equal = all(np.array_equal(a, b) for a, b in zip(fast, loop, strict=True))
    return {
        "strided_seconds": strided,
        "naive_seconds": naive,
        "equal": bool(equal),
        "windows": len(windows),
        "input_mib": windows.inputs.nbytes / 2**20,
    }


def rnnforecast_overrides(spec: dict[str, Any], output_dir: str) -> list[str]:
    """The `load_config` overrides of the training benchmark."""
    return [
        f"data.synthetic.length={spec['length']}",
        f"training.epochs={spec['epochs']}",
        "training.early_stopping=0",
        f"training.batch_size={spec['batch_size']}",
        f"training.learning_rate={spec['learning_rate']}",
        f"training.seed={spec['seed']}",
        *PLAIN_NETWORK,
        f"model.units={spec['units']}",
        f"window.lookback={spec['lookback']}",
        f"window.horizon={spec['horizon']}",
        f"output.dir={output_dir}",
    ]


def child_train_rnnforecast(settings: dict[str, Any]) -> dict[str, Any]:
    """`train(config)` on the synthetic series, timed step by step."""
    start = time.perf_counter()
    from rnnforecast.backend import import_keras

    import_keras()
    import tensorflow as tf

    from rnnforecast.config_file import load_config

    imported = time.perf_counter()
    output_dir = tempfile.mkdtemp(prefix="train-", dir=settings["workdir"])
    config = load_config(None, rnnforecast_overrides(settings["training"], output_dir))
    run, steps, total = timed_train(config)
    return {
        "import_seconds": imported - start,
        "job_seconds": total,
        "steps": with_other(steps, total),
        "test_mae": run.metrics["model"]["mae"],
        "windows": run.metrics["training"]["windows"],
        "gpus": len(tf.config.list_physical_devices("GPU")),
    }


def child_train_keras(settings: dict[str, Any]) -> dict[str, Any]:
    """The same job written by hand: numpy windows, scaling, LSTM, fit, predict, save."""
    start = time.perf_counter()
    import keras
    import numpy as np

    imported = time.perf_counter()
    spec = settings["training"]
    length, lookback, horizon = spec["length"], spec["lookback"], spec["horizon"]
    clock = StepClock()
    begin = time.perf_counter()

    with clock.step("data + split"):
        series = sine_series(length)
        # The default split: validation 10 % and test 20 % of the points, at least one horizon.
        test = max(horizon, round(0.2 * length))
        validation = max(horizon, round(0.1 * length))
        train_end, validation_end = length - test - validation, length - test

    with clock.step("seed"):
        keras.utils.set_random_seed(spec["seed"])

    with clock.step("scaling + windows"):
        mean, std = standard_scaling(series, train_end)
        scaled = ((series - mean) / std).astype(np.float32)
        x_train, y_train = window_arrays(scaled, 0, train_end, lookback, horizon)
        x_validation, y_validation = window_arrays(
            scaled, train_end, validation_end, lookback, horizon
        )
        x_test, y_test = window_arrays(scaled, validation_end, length, lookback, horizon)

    with clock.step("build + compile"):
        model = plain_lstm(keras, lookback, horizon, spec["units"])
        model.compile(optimizer=keras.optimizers.Adam(spec["learning_rate"]), loss="mse")

    with clock.step("fit"):
        model.fit(
            x_train,
            y_train,
            validation_data=(x_validation, y_validation),
            epochs=spec["epochs"],
            batch_size=spec["batch_size"],
            shuffle=True,
            verbose=0,
        )

    with clock.step("test forecasts + metrics"):
        forecast = model.predict(x_test, batch_size=1024, verbose=0) * std + mean
        test_mae = float(np.mean(np.abs(forecast - (y_test * std + mean))))

    with clock.step("save model"):
        model.save(Path(tempfile.mkdtemp(prefix="keras-", dir=settings["workdir"])) / "m.keras")

    total = time.perf_counter() - begin
    return {
        "import_seconds": imported - start,
        "job_seconds": total,
        "steps": with_other(clock.seconds, total),
        "test_mae": test_mae,
        "windows": {"training": len(x_train), "validation": len(x_validation)},
    }


def child_bare_python(settings: dict[str, Any]) -> dict[str, Any]:
    """Nothing: the memory of a bare interpreter running this file."""
    return {}


def child_cli_help(settings: dict[str, Any]) -> dict[str, Any]:
    """`import rnnforecast.cli` and `rnnforecast --help`; records whether TensorFlow loaded."""
    start = time.perf_counter()
    from rnnforecast.cli import app

    with contextlib.redirect_stdout(io.StringIO()) as text, contextlib.suppress(SystemExit):
        app(["--help"], prog_name="rnnforecast")
    return {
        "job_seconds": time.perf_counter() - start,
        "help_lines": len(text.getvalue().splitlines()),
        "tensorflow_imported": "tensorflow" in sys.modules,
    }


def child_import_tensorflow(settings: dict[str, Any]) -> dict[str, Any]:
    """`import tensorflow` alone."""
    start = time.perf_counter()
    import tensorflow  # noqa: F401

    return {"job_seconds": time.perf_counter() - start, "tensorflow_imported": True}


def child_inference_setup(settings: dict[str, Any]) -> dict[str, Any]:
    """Write a long-format CSV of many series and train a run on it (timed step by step)."""
    import numpy as np
    import pandas as pd

    from rnnforecast.config_file import load_config

    spec = settings["inference"]
    folder = Path(settings["workdir"]) / "inference"
    folder.mkdir()
    count, length = spec["series"], spec["length"]
    rng = np.random.default_rng(1)
    season = np.sin(2 * np.pi * np.arange(length) / 12)
    values = (
        rng.uniform(10, 50, (count, 1))
        + rng.uniform(1, 5, (count, 1)) * season
        + rng.normal(0, 0.3, (count, length))
    )
    dates = pd.date_range("2000-01-01", periods=length, freq="MS").strftime("%Y-%m-%d")
    frame = pd.DataFrame(
        {
            "id": np.repeat([f"s{index:05d}" for index in range(count)], length),
            "date": np.tile(dates, count),
            "value": values.ravel().round(4),
        }
    )
    csv = folder / "series.csv"
    frame.to_csv(csv, index=False)

    overrides = [
        "data.source=csv",
        f"data.path={csv}",
        "data.id_column=id",
        "data.time_column=date",
        "data.target=value",
        f"training.epochs={spec['epochs']}",
        "training.early_stopping=0",
        f"training.batch_size={spec['batch_size']}",
        *PLAIN_NETWORK,
        f"model.units={spec['units']}",
        f"window.lookback={spec['lookback']}",
        f"window.horizon={spec['horizon']}",
        f"window.stride={spec['stride']}",
        f"output.dir={folder / 'runs'}",
    ]
    run, steps, total = timed_train(load_config(None, overrides))
    return {
        "csv": str(csv),
        "csv_mib": csv.stat().st_size / 2**20,
        "rows": len(frame),
        "run": str(run.path),
        "job_seconds": total,
        "steps": with_other(steps, total),
        "windows": run.metrics["training"]["windows"],
    }


def child_inference_rnnforecast(settings: dict[str, Any]) -> dict[str, Any]:
    """`load_input` and `predict` on the CSV, repeated in one process; the model loaded once."""
    start = time.perf_counter()
    from rnnforecast import data, forecaster, prediction
    from rnnforecast.backend import import_keras
    from rnnforecast.run import load_run

    import_keras()
    imported = time.perf_counter()
    run = load_run(settings["run"])
    begin = time.perf_counter()
    loaded = run.load_forecaster()
    load_model_seconds = time.perf_counter() - begin

    # Where the time of reading and forecasting goes (private names: a rename stops the run).
    clock = StepClock()
    clock.patch(data, "_group_rows", "read: group rows by id")
    clock.patch(data, "_parse_times", "read: parse the time column")
    clock.patch(data, "_series_time", "read: per-series time checks")
    clock.patch(forecaster.Forecaster, "forecast", "predict: scale + model + unscale")
    clock.patch(forecaster, "future_times", "predict: future timestamps")

    read, forecast = [], []
    for _ in range(settings["inference"]["repeats"]):
        begin = time.perf_counter()
        dataset = prediction.load_input(run, settings["csv"])
        read.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        frame = prediction.predict(run, dataset, forecaster=loaded).frame(dataset, origin=False)
        forecast.append(time.perf_counter() - begin)
    frame.to_csv(Path(settings["workdir"]) / "inference" / "forecast.csv", index=False)
    repeats = settings["inference"]["repeats"]
    return {
        "import_seconds": imported - start,
        "load_model_seconds": load_model_seconds,
        "read_seconds": read,
        "predict_seconds": forecast,
        "steps": {name: seconds / repeats for name, seconds in clock.seconds.items()},
        "series": len(dataset.series),
        "rows": len(frame),
    }


def child_inference_keras(settings: dict[str, Any]) -> dict[str, Any]:
    """The same forecasts by hand: pandas pivot, the run's scaler.json, `model.predict`."""
    start = time.perf_counter()
    import keras
    import numpy as np
    import pandas as pd

    imported = time.perf_counter()
    spec = settings["inference"]
    folder = Path(settings["run"])
    begin = time.perf_counter()
    model = keras.models.load_model(folder / "models" / "member-1.keras", compile=False)
    load_model_seconds = time.perf_counter() - begin
    scaler = json.loads((folder / "scaler.json").read_text(encoding="utf-8"))

    read, forecast = [], []
    for _ in range(spec["repeats"]):
        begin = time.perf_counter()
        frame = pd.read_csv(settings["csv"], parse_dates=["date"])
        wide = frame.pivot(index="id", columns="date", values="value")
        read.append(time.perf_counter() - begin)

        begin = time.perf_counter()
        center = np.array([scaler["center"][key][0] for key in wide.index])[:, None]
        scale = np.array([scaler["scale"][key][0] for key in wide.index])[:, None]
        inputs = ((wide.to_numpy()[:, -spec["lookback"] :] - center) / scale).astype(np.float32)
        scaled = model.predict({"window": inputs[:, :, None]}, batch_size=1024, verbose=0)
        values = scaled * scale + center
        future = pd.date_range(wide.columns[-1], periods=spec["horizon"] + 1, freq="MS")[1:]
        result = pd.DataFrame(
            {
                "id": np.repeat(wide.index.to_numpy(), spec["horizon"]),
                "date": np.tile(future, len(wide)),
                "forecast": values.ravel(),
            }
        )
        forecast.append(time.perf_counter() - begin)

    theirs = pd.read_csv(Path(settings["workdir"]) / "inference" / "forecast.csv")
    theirs["date"] = pd.to_datetime(theirs["date"])
    joined = result.merge(theirs, on=["id", "date"], suffixes=("", "_rnnforecast"))
    return {
        "import_seconds": imported - start,
        "load_model_seconds": load_model_seconds,
        "read_seconds": read,
        "predict_seconds": forecast,
        "matched_rows": len(joined),
        "rows": len(result),
        "max_abs_difference": float(
            np.max(np.abs(joined["forecast"] - joined["forecast_rnnforecast"]))
        ),
    }


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "windowing": child_windowing,
    "train-rnnforecast": child_train_rnnforecast,
    "train-keras": child_train_keras,
    "bare-python": child_bare_python,
    "cli-help": child_cli_help,
    "import-tensorflow": child_import_tensorflow,
    "inference-setup": child_inference_setup,
    "inference-rnnforecast": child_inference_rnnforecast,
    "inference-keras": child_inference_keras,
}


def run_as_child(name: str, settings: dict[str, Any]) -> None:
    """Run one job and print its figures as one JSON line (the peak memory added last)."""
    report_result(CHILDREN[name](settings))


# --------------------------------------------------------------------------------------------
# The parent process: runs the children, collects the figures, prints the tables.
# --------------------------------------------------------------------------------------------


def spawn(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Run child job `name` in a fresh interpreter; its figures plus `process_seconds`."""
    print(f"  running {name} ...", file=sys.stderr, flush=True)
    environment = {"TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    script = Path(__file__).resolve()
    try:
        return spawn_child(script, name, settings, environment, CHILD_TIMEOUT_SECONDS)
    except ChildFailed as error:
        raise SystemExit(str(error)) from None


def ratio(numerator: list[float], denominator: list[float]) -> str:
    below = median(denominator)
    return f"{median(numerator) / below:.2f}x" if below > 0 else "n/a"


def package_versions() -> str:
    found = []
    for package in PACKAGES:
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            found.append(f"{package} (not installed)")
    return ", ".join(found)


def report_windowing(settings: dict[str, Any]) -> list[str]:
    spec = settings["windowing"]
    result = spawn("windowing", settings)
    strided, naive = result["strided_seconds"], result["naive_seconds"]
    return [
        "1. Windowing: rnnforecast.windowing.stack_windows vs a Python loop over windows",
        f"   {spec['series']} series x {spec['length']:,} points (float32, 1 feature), "
        f"lookback {spec['lookback']}, horizon {spec['horizon']}, stride 1 -> "
        f"{result['windows']:,} windows, inputs {result['input_mib']:.1f} MiB;",
        f"   {spec['repeats']} alternating runs in one process; the ratio compares the best runs",
        "",
        table(
            ["", "stack_windows", "naive loop", "naive / stack_windows"],
            [
                [
                    "best time",
                    f"{min(strided) * 1000:.1f} ms",
                    f"{min(naive) * 1000:.1f} ms",
                    f"{min(naive) / min(strided):.1f}x",
                ],
                ["median [min-max]", seconds(strided, "ms"), seconds(naive, "ms"), ""],
            ],
        ),
        "   outputs equal (inputs, targets, series, origins): "
        + ("yes" if result["equal"] else "NO"),
    ]


def report_training(settings: dict[str, Any], memory: dict[str, list[float]]) -> list[str]:
    spec = settings["training"]
    runs: dict[str, list[dict[str, Any]]] = {"rnnforecast": [], "keras": []}
    # Alternate the two jobs so a slow spell of the machine hits both alike.
    for _ in range(spec["repeats"]):
        runs["rnnforecast"].append(spawn("train-rnnforecast", settings))
        runs["keras"].append(spawn("train-keras", settings))

    def pick(name: str, key: str) -> list[float]:
        return [run[key] for run in runs[name]]

    def step(name: str, key: str) -> list[float]:
        return [run["steps"].get(key, 0.0) for run in runs[name]]

    def rest(name: str) -> list[float]:
        return [run["job_seconds"] - run["steps"]["fit"] for run in runs[name]]

    memory["train: rnnforecast train()"] = pick("rnnforecast", "peak_rss_mib")
    memory["train: plain Keras script"] = pick("keras", "peak_rss_mib")
    windows = runs["rnnforecast"][0]["windows"]
    overrides = rnnforecast_overrides(spec, "<tempdir>")

    def compared(label: str, ours: list[float], theirs: list[float], unit: Any) -> list[str]:
        return [label, unit(ours), unit(theirs), ratio(ours, theirs)]

    rows = [
        compared(
            "whole job (after imports)",
            pick("rnnforecast", "job_seconds"),
            pick("keras", "job_seconds"),
            seconds,
        ),
        compared("  model.fit", step("rnnforecast", "fit"), step("keras", "fit"), seconds),
        compared("  everything but fit", rest("rnnforecast"), rest("keras"), seconds),
        compared(
            "imports (TensorFlow, Keras, library)",
            pick("rnnforecast", "import_seconds"),
            pick("keras", "import_seconds"),
            seconds,
        ),
        compared(
            "process wall time (start to exit)",
            pick("rnnforecast", "process_seconds"),
            pick("keras", "process_seconds"),
            seconds,
        ),
        compared(
            "peak RSS", pick("rnnforecast", "peak_rss_mib"), pick("keras", "peak_rss_mib"), mib
        ),
        [
            "test MAE, original units (sanity)",
            f"{median(pick('rnnforecast', 'test_mae')):.4f}",
            f"{median(pick('keras', 'test_mae')):.4f}",
            "",
        ],
    ]
    step_rows = []
    for name in TRAIN_STEPS:
        ours, theirs = step("rnnforecast", name), step("keras", name)
        share = 100 * median(ours) / median(pick("rnnforecast", "job_seconds"))
        keras_done = any(name in run["steps"] for run in runs["keras"])
        step_rows.append(
            [name, seconds(ours), f"{share:.0f} %", seconds(theirs) if keras_done else "-"]
        )
    return [
        "2. Training end to end: rnnforecast.training.train(config) vs a plain Keras script",
        f"   synthetic sine, {spec['length']:,} points; LSTM({spec['units']}) -> "
        f"Dense({spec['horizon']}); lookback {spec['lookback']}, horizon {spec['horizon']}; "
        f"{spec['epochs']} epochs, batch {spec['batch_size']}, Adam lr {spec['learning_rate']}, "
        f"seed {spec['seed']}, no early stopping;",
        f"   {windows['training']} training / {windows['validation']} validation windows, "
        f"validation loss every epoch; median of {spec['repeats']} [min-max], each run "
        "in a fresh process, the two jobs alternated;",
        f"   GPUs visible to TensorFlow: {runs['rnnforecast'][0]['gpus']}",
        f"   rnnforecast: load_config(None, {overrides}), train(config, progress='none')",
        "   plain Keras: numpy windows, mean/std scaling on the training part, "
        "Sequential([Input, LSTM, Dense]), set_random_seed, fit(shuffle=True), predict, save",
        "",
        table(["", "rnnforecast", "plain Keras", "rnnforecast / Keras"], rows),
        "",
        "   Where the time of the job goes (median seconds per step):",
        "",
        table(["step", "rnnforecast", "share", "plain Keras"], step_rows),
    ]


def report_memory(settings: dict[str, Any], memory: dict[str, list[float]]) -> list[str]:
    repeats = settings["memory"]["repeats"]
    rows = []
    for name, label in (
        ("bare-python", "bare Python running this file (reference)"),
        ("cli-help", "import rnnforecast.cli + --help"),
        ("import-tensorflow", "import tensorflow"),
    ):
        results = [spawn(name, settings) for _ in range(repeats)]
        loaded = results[0].get("tensorflow_imported")
        rows.append(
            [
                label,
                mib([result["peak_rss_mib"] for result in results]),
                seconds([result["process_seconds"] for result in results]),
                "-" if loaded is None else ("yes" if loaded else "no"),
            ]
        )
    rows += [[label, mib(values), "", ""] for label, values in memory.items()]
    return [
        "3. Peak memory (VmHWM of each child process) and process wall time",
        f"   median of {repeats} processes each for the first three rows; "
        "the job rows repeat sections 2 and 4",
        "",
        table(["process", "peak RSS", "process wall time", "TensorFlow loaded"], rows),
    ]


def report_inference(settings: dict[str, Any], memory: dict[str, list[float]]) -> list[str]:
    spec = settings["inference"]
    setup = spawn("inference-setup", settings)
    child_settings = {**settings, "run": setup["run"], "csv": setup["csv"]}
    ours = spawn("inference-rnnforecast", child_settings)
    theirs = spawn("inference-keras", child_settings)
    memory["inference: rnnforecast load_input + predict"] = [ours["peak_rss_mib"]]
    memory["inference: pandas + Keras by hand"] = [theirs["peak_rss_mib"]]
    count = ours["series"]

    def rate(values: list[float]) -> str:
        return f"{count / median(values):,.0f} series/s"

    ours_total = [a + b for a, b in zip(ours["read_seconds"], ours["predict_seconds"], strict=True)]
    theirs_total = [
        a + b for a, b in zip(theirs["read_seconds"], theirs["predict_seconds"], strict=True)
    ]
    rows = [
        [
            "read CSV into series",
            seconds(ours["read_seconds"]),
            seconds(theirs["read_seconds"]),
            ratio(ours["read_seconds"], theirs["read_seconds"]),
        ],
        [
            "forecast (model already loaded)",
            seconds(ours["predict_seconds"]),
            seconds(theirs["predict_seconds"]),
            ratio(ours["predict_seconds"], theirs["predict_seconds"]),
        ],
        [
            "  forecasts per second",
            rate(ours["predict_seconds"]),
            rate(theirs["predict_seconds"]),
            "",
        ],
        [
            "read + forecast",
            seconds(ours_total),
            seconds(theirs_total),
            ratio(ours_total, theirs_total),
        ],
        ["  forecasts per second", rate(ours_total), rate(theirs_total), ""],
        [
            "load the model (once)",
            seconds([ours["load_model_seconds"]]),
            seconds([theirs["load_model_seconds"]]),
            "",
        ],
        [
            "peak RSS",
            mib([ours["peak_rss_mib"]]),
            mib([theirs["peak_rss_mib"]]),
            ratio([ours["peak_rss_mib"]], [theirs["peak_rss_mib"]]),
        ],
    ]
    inner_rows = [[name, seconds([value])] for name, value in sorted(ours["steps"].items())]
    setup_rows = [
        [name, seconds([setup["steps"].get(name, 0.0)])]
        for name in TRAIN_STEPS
        if setup["steps"].get(name, 0.0) > 0
    ]
    windows = setup["windows"]
    return [
        "4. Inference: rnnforecast.prediction.predict on many series vs pandas + Keras by hand",
        f"   {count:,} series x {spec['length']} monthly points, long-format CSV "
        f"(id, date, value; {setup['rows']:,} rows, {setup['csv_mib']:.1f} MiB); "
        f"horizon {spec['horizon']}, lookback {spec['lookback']}, LSTM({spec['units']});",
        f"   the run trained {spec['epochs']} epoch (stride {spec['stride']}, batch "
        f"{spec['batch_size']}); median of {spec['repeats']} [min-max] in one process; "
        "a forecast is one series' next horizon steps",
        "   rnnforecast: load_input(run, csv), then predict(run, dataset, forecaster=forecaster)",
        "   by hand: read_csv + pivot, then scale with the run's scaler.json, model.predict, "
        "unscale, future dates",
        "",
        table(["", "rnnforecast", "by hand", "rnnforecast / by hand"], rows),
        f"   same forecasts: {theirs['matched_rows']:,} of {theirs['rows']:,} (id, date) rows "
        f"matched, max abs difference {theirs['max_abs_difference']:.2e}",
        "",
        "   Inside rnnforecast's read and forecast (mean seconds per call):",
        "",
        table(["part", "time"], inner_rows),
        "",
        f"   Training that run: train(config) on {count:,} series, one run "
        f"({windows['training']:,} training / {windows['validation']:,} validation windows):",
        "",
        table(["step", "time"], [*setup_rows, ["whole job", seconds([setup["job_seconds"]])]]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Speed and memory of rnnforecast next to plain Keras doing the same job."
    )
    parser.add_argument(
        "--quick", action="store_true", help="Fewer repeats and smaller jobs (about a minute)."
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("settings", nargs="?", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        run_as_child(arguments.child, json.loads(arguments.settings))
        return

    started, load = time.perf_counter(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="rnnforecast-benchmark-") as workdir:
        settings = {**(QUICK if arguments.quick else FULL), "workdir": workdir}
        print(f"rnnforecast speed benchmark ({settings['mode']} mode) ...", file=sys.stderr)
        memory: dict[str, list[float]] = {}
        sections = [
            report_windowing(settings),
            report_training(settings, memory),
            report_inference(settings, memory),
        ]
        sections.insert(2, report_memory(settings, memory))
    header = [
        f"rnnforecast speed and memory ({settings['mode']} mode)",
        f"machine: {os.cpu_count()} CPU cores, {platform.machine()}, {platform.system()}, "
        f"Python {platform.python_version()}",
        f"packages: {package_versions()}",
        "times are wall-clock; ranges in brackets are [min-max] over the repeats",
        # Other processes on a small machine skew every figure; the load average shows it.
        f"load average (1 min) at start {load[0]:.2f}, at end {os.getloadavg()[0]:.2f}",
    ]
    print("\n\n".join("\n".join(section) for section in [header, *sections]))
    print(f"\ntotal benchmark time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
