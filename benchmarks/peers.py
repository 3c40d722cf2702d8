"""Training speed of rnnforecast next to other libraries training the same network on the same
windows.

Usage: `python benchmarks/peers.py [--repeats N] [--systems a,b] [--points N] [--epochs N]
[--json PATH]` in the environment `make bench-peers` creates (`.venv-peers`).

Every system trains an LSTM with the same units on the windows of one synthetic series (the
default synthetic sine of rnnforecast), standardised with the training part's mean and standard
deviation, with Adam, MSE loss, the same batch size and epochs, no validation and no early
stopping, then forecasts the same held-out tail. Systems:

- `rnnforecast`: `load_config(None, overrides)` and `training.train(config)`: one member, no
  refit, no baseline layers, no validation part;
- `keras-tf`: plain Keras 3 on TensorFlow with Keras' defaults (a `tf.function`, no XLA on CPU);
- `keras-tf-xla`: the same with `jit_compile=True` and `steps_per_execution=32`;
- `keras-jax`: plain Keras 3 on JAX (Keras' defaults: a jitted train step);
- `darts`: Darts' `BlockRNNModel` with an LSTM;
- `neuralforecast`: NeuralForecast's `LSTM` (direct, not recurrent, forecasts).

Each run of each system is a fresh child process (this file, called with `--child NAME`), so
imports, thread pools and peak memory belong to one system alone. The TensorFlow systems run in
the project's own environment (`.venv`, what a user of rnnforecast installs; `--project-python`),
the others in the interpreter running this file: in `.venv-peers`, TensorFlow and Keras would
also import the JAX, SciPy and scikit-learn installed there for the peers (about 240 MiB more).
The runs go round-robin over the systems, so a slow spell of a shared machine hits all of them
alike. The parent imports only the standard library. It prints one table: training throughput
over the whole fit and over the epochs after the first, fit, job and process seconds, peak RSS,
parameters and the test MAE.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
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
    sine_series,
    spawn_child,
    standard_scaling,
    table,
    window_arrays,
)

CHILD_TIMEOUT_SECONDS = 1800
PROJECT_PYTHON = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"
# Points after the training part, never trained on: every window whose targets lie there is
# forecast and scored.
TEST_POINTS = 1000
PACKAGES = (
    "rnnforecast",
    "tensorflow",
    "keras",
    "jax",
    "jaxlib",
    "torch",
    "pytorch-lightning",
    "darts",
    "neuralforecast",
    "numpy",
    "pandas",
)
DEFAULTS: dict[str, Any] = {
    "points": 20_000,
    "epochs": 3,
    "repeats": 3,
    "lookback": 48,
    "horizon": 12,
    "units": 64,
    "batch_size": 64,
    "learning_rate": 1e-3,
    "seed": 42,
}


# --------------------------------------------------------------------------------------------
# Child processes: the same problem for every system; each returns a JSON-serialisable dict.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """The series, its scaling and its windows, as every system but rnnforecast gets them.

    Attributes:
        scaled: the whole series standardised with the training part's mean and std, float32.
        train_inputs: `(windows, lookback, 1)`, every window whose targets lie in the training
            part (the first `points` points); `train_targets`: `(windows, horizon)`.
        test_inputs: `(test windows, lookback, 1)`, every window whose targets lie in the
            held-out tail; `test_actual`: `(test windows, horizon)` in original units.
    """

    scaled: Any
    mean: float
    std: float
    train_inputs: Any
    train_targets: Any
    test_inputs: Any
    test_actual: Any

    def mae(self, forecast: Any) -> float:
        """MAE in original units of scaled forecasts `(test windows, horizon)`."""
        import numpy as np

        return float(np.mean(np.abs(forecast * self.std + self.mean - self.test_actual)))


def installed_versions() -> dict[str, str]:
    """Versions of the installed packages of `PACKAGES`, read without importing them."""
    found = {}
    for package in PACKAGES:
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    return found


def make_problem(settings: dict[str, Any]) -> Problem:
    """The synthetic series of `points + TEST_POINTS` points, scaled and cut into windows."""
    import numpy as np

    points, lookback, horizon = settings["points"], settings["lookback"], settings["horizon"]
    length = points + TEST_POINTS
    series = sine_series(length)
    mean, std = standard_scaling(series, points)
    scaled = ((series - mean) / std).astype(np.float32)
    train_inputs, train_targets = window_arrays(scaled, 0, points, lookback, horizon)
    test_inputs, _ = window_arrays(scaled, points, length, lookback, horizon)
    _, test_actual = window_arrays(series, points, length, lookback, horizon)
    return Problem(scaled, mean, std, train_inputs, train_targets, test_inputs, test_actual)


def steps_per_epoch(settings: dict[str, Any]) -> int:
    """Batches in one pass over the training windows, the last one partial."""
    windows = settings["points"] - settings["lookback"] - settings["horizon"] + 1
    return math.ceil(windows / settings["batch_size"])


def fit_figures(
    fit_start: float, fit_end: float, epoch_ends: list[float], epoch_windows: int
) -> dict[str, Any]:
    """A fit's seconds, its epoch ends (seconds after its start) and windows per epoch."""
    return {
        "fit_seconds": fit_end - fit_start,
        "epoch_ends": [end - fit_start for end in epoch_ends],
        "epoch_windows": epoch_windows,
    }


def common_threads() -> dict[str, Any]:
    """Cores this process may use and the thread variables every library reads."""
    found: dict[str, Any] = {"cores available": len(os.sched_getaffinity(0))}
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        found[name] = os.environ.get(name, "unset")
    return found


def tensorflow_threads() -> dict[str, Any]:
    """TensorFlow's thread pool settings (0: TensorFlow chooses, one thread per core)."""
    import tensorflow as tf

    return {
        **common_threads(),
        "tf inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        "tf intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
    }


def jax_threads() -> dict[str, Any]:
    """JAX has no thread setting to read; XLA's CPU client uses every core unless XLA_FLAGS
    says otherwise."""
    import jax

    return {
        **common_threads(),
        "jax devices": ", ".join(str(device) for device in jax.devices()),
        "XLA_FLAGS": os.environ.get("XLA_FLAGS", "unset"),
    }


def torch_threads() -> dict[str, Any]:
    """PyTorch's intra-op and inter-op thread counts."""
    import torch

    return {
        **common_threads(),
        "torch intra_op": torch.get_num_threads(),
        "torch inter_op": torch.get_num_interop_threads(),
    }


def keras_epoch_clock(keras: Any) -> Any:
    """A Keras callback noting when each epoch ends (`.ends`, perf_counter seconds). It has no
    batch hooks, so Keras runs its steps as it would without it."""

    class EpochClock(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.ends: list[float] = []

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.ends.append(time.perf_counter())

    return EpochClock()


def lightning_clock(batches_per_epoch: int | None) -> Any:
    """A PyTorch Lightning callback noting when each epoch ends (`.ends`) and how many windows
    Lightning's training dataset holds (`.dataset_windows`).

    Args:
        batches_per_epoch: count this many batches as an epoch (for a library whose Lightning
            epochs are not passes over the windows); `None`: Lightning's own epochs.
    """
    import pytorch_lightning as pl

    class EpochClock(pl.Callback):
        def __init__(self) -> None:
            self.ends: list[float] = []
            self.batches = 0
            self.dataset_windows: int | None = None

        def on_train_start(self, trainer: Any, module: Any) -> None:
            dataset = getattr(trainer.train_dataloader, "dataset", None)
            self.dataset_windows = len(dataset) if dataset is not None else None

        def on_train_batch_end(self, trainer: Any, module: Any, *args: Any) -> None:
            self.batches += 1
            if batches_per_epoch and self.batches % batches_per_epoch == 0:
                self.ends.append(time.perf_counter())

        def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
            if batches_per_epoch is None:
                self.ends.append(time.perf_counter())

    return EpochClock()


def time_keras_fits(keras: Any) -> list[dict[str, Any]]:
    """Time every later `keras.Model.fit` call, epochs included, from outside the caller.

    rnnforecast's `train()` takes no callbacks, so the benchmark wraps Keras' `fit` in this
    process; the list returned gets the figures of each call (see `fit_figures`).
    """
    fits: list[dict[str, Any]] = []
    original = keras.Model.fit

    def fit(model: Any, *args: Any, **kwargs: Any) -> Any:
        clock = keras_epoch_clock(keras)
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), clock]
        start = time.perf_counter()
        history = original(model, *args, **kwargs)
        fits.append(fit_figures(start, time.perf_counter(), clock.ends, 0))
        return history

    keras.Model.fit = fit
    return fits


def rnnforecast_overrides(settings: dict[str, Any], output_dir: str) -> list[str]:
    """`load_config` overrides: the problem of the other systems, one plain network."""
    return [
        f"data.synthetic.length={settings['points'] + TEST_POINTS}",
        "split.validation=0",
        f"split.test={TEST_POINTS}",
        f"training.epochs={settings['epochs']}",
        "training.early_stopping=0",
        f"training.batch_size={settings['batch_size']}",
        f"training.learning_rate={settings['learning_rate']}",
        f"training.seed={settings['seed']}",
        *PLAIN_NETWORK,
        f"model.units={settings['units']}",
        f"window.lookback={settings['lookback']}",
        f"window.horizon={settings['horizon']}",
        f"output.dir={output_dir}",
    ]


def child_rnnforecast(settings: dict[str, Any]) -> dict[str, Any]:
    """`train(load_config(None, overrides))`, its one `fit` timed by wrapping Keras'."""
    start = time.perf_counter()
    from rnnforecast.backend import import_keras

    keras = import_keras()
    from rnnforecast.config_file import load_config
    from rnnforecast.training import train

    imported = time.perf_counter()
    fits = time_keras_fits(keras)
    output_dir = tempfile.mkdtemp(prefix="rnnforecast-", dir=settings["workdir"])
    config = load_config(None, rnnforecast_overrides(settings, output_dir))
    begin = time.perf_counter()
    run = train(config, progress="none")
    job_seconds = time.perf_counter() - begin
    if len(fits) != 1:
        raise RuntimeError(f"expected one Keras fit inside train(), got {len(fits)}")
    windows = run.metrics["training"]["windows"]["training"]
    model = run.load_forecaster().members[0].model
    return {
        **fits[0],
        "epoch_windows": windows,
        "import_seconds": imported - start,
        "job_seconds": job_seconds,
        "test_mae": run.metrics["model"]["mae"],
        "test_windows": run.metrics["windows"],
        "parameters": model.count_params(),
        "threads": tensorflow_threads(),
    }


def child_keras(settings: dict[str, Any], compile_options: dict[str, Any]) -> dict[str, Any]:
    """Plain Keras on the backend KERAS_BACKEND names: numpy windows, `fit`, `predict`."""
    start = time.perf_counter()
    import keras

    imported = time.perf_counter()
    problem = make_problem(settings)
    keras.utils.set_random_seed(settings["seed"])
    model = plain_lstm(keras, settings["lookback"], settings["horizon"], settings["units"])
    model.compile(
        optimizer=keras.optimizers.Adam(settings["learning_rate"]), loss="mse", **compile_options
    )
    clock = keras_epoch_clock(keras)
    fit_start = time.perf_counter()
    model.fit(
        problem.train_inputs,
        problem.train_targets,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        shuffle=True,
        verbose=0,
        callbacks=[clock],
    )
    fit_end = time.perf_counter()
    forecast = model.predict(problem.test_inputs, batch_size=1024, verbose=0)
    threads = jax_threads() if keras.backend.backend() == "jax" else tensorflow_threads()
    return {
        **fit_figures(fit_start, fit_end, clock.ends, len(problem.train_inputs)),
        "import_seconds": imported - start,
        "job_seconds": time.perf_counter() - imported,
        "test_mae": problem.mae(forecast),
        "test_windows": len(problem.test_inputs),
        "parameters": model.count_params(),
        "threads": threads,
    }


def child_keras_default(settings: dict[str, Any]) -> dict[str, Any]:
    """Keras' compile defaults."""
    return child_keras(settings, {})


def child_keras_xla(settings: dict[str, Any]) -> dict[str, Any]:
    """XLA-compiled train step, 32 steps per call into the compiled function."""
    return child_keras(settings, {"jit_compile": True, "steps_per_execution": 32})


def child_darts(settings: dict[str, Any]) -> dict[str, Any]:
    """Darts' `BlockRNNModel(model="LSTM")`. In Darts 0.48 its LSTM's outputs at the last
    `horizon` input steps go each through one shared linear layer to one forecast step (the
    Keras network maps the last output to all `horizon` steps with one dense layer)."""
    start = time.perf_counter()
    import numpy as np
    import torch
    from darts import TimeSeries
    from darts.models import BlockRNNModel

    imported = time.perf_counter()
    problem = make_problem(settings)
    clock = lightning_clock(None)
    model = BlockRNNModel(
        input_chunk_length=settings["lookback"],
        output_chunk_length=settings["horizon"],
        model="LSTM",
        hidden_dim=settings["units"],
        n_rnn_layers=1,
        batch_size=settings["batch_size"],
        n_epochs=settings["epochs"],
        loss_fn=torch.nn.MSELoss(),
        optimizer_kwargs={"lr": settings["learning_rate"]},
        random_state=settings["seed"],
        pl_trainer_kwargs={"callbacks": [clock]},
    )
    # float32 values make Darts train in float32, as the Keras systems do.
    series = TimeSeries.from_values(problem.scaled[: settings["points"]])
    fit_start = time.perf_counter()
    model.fit(series, verbose=False)
    fit_end = time.perf_counter()
    inputs = [TimeSeries.from_values(window) for window in problem.test_inputs[:, :, 0]]
    forecasts = model.predict(settings["horizon"], series=inputs, batch_size=1024, verbose=False)
    forecast = np.stack([one.values()[:, 0] for one in forecasts])
    return {
        **fit_figures(fit_start, fit_end, clock.ends, clock.dataset_windows or 0),
        "import_seconds": imported - start,
        "job_seconds": time.perf_counter() - imported,
        "test_mae": problem.mae(forecast),
        "test_windows": len(forecast),
        "parameters": sum(parameter.numel() for parameter in model.model.parameters()),
        "threads": torch_threads(),
    }


def child_neuralforecast(settings: dict[str, Any]) -> dict[str, Any]:
    """NeuralForecast's `LSTM` (direct forecasts, one linear decoder layer: the same structure
    as Darts'), trained for as many steps of `batch_size` sampled windows as `epochs` passes
    over the windows take."""
    start = time.perf_counter()
    import numpy as np
    import pandas as pd
    from neuralforecast import NeuralForecast
    from neuralforecast.losses.pytorch import MSE
    from neuralforecast.models import LSTM

    imported = time.perf_counter()
    problem = make_problem(settings)
    batches = steps_per_epoch(settings)
    clock = lightning_clock(batches)
    model = LSTM(
        h=settings["horizon"],
        input_size=settings["lookback"],
        inference_input_size=settings["lookback"],
        encoder_n_layers=1,
        encoder_hidden_size=settings["units"],
        decoder_layers=1,  # one linear layer, shared by the horizon steps
        loss=MSE(),
        learning_rate=settings["learning_rate"],
        max_steps=settings["epochs"] * batches,
        batch_size=1,  # series per batch: there is one
        windows_batch_size=settings["batch_size"],
        valid_batch_size=1024,  # series per prediction batch: each test window is one
        start_padding_enabled=False,
        # Only windows whose lookback and horizon are all data, so none of the windows padded
        # past the end of the series: the same windows as the other systems.
        training_data_availability_threshold=1.0,
        scaler_type="identity",  # the series comes standardised, as for every system
        random_seed=settings["seed"],
        callbacks=[clock],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    forecaster = NeuralForecast(models=[model], freq=1)
    points = settings["points"]
    history = pd.DataFrame(
        {"unique_id": "series", "ds": np.arange(points), "y": problem.scaled[:points]}
    )
    fit_start = time.perf_counter()
    forecaster.fit(df=history, val_size=0)
    fit_end = time.perf_counter()
    # fit trains a copy of the model, callbacks included: read the copy's clock.
    fitted = forecaster.models[0]
    clock = next(item for item in fitted.trainer_kwargs["callbacks"] if type(item) is type(clock))
    forecast = neuralforecast_test_forecasts(forecaster, problem, settings["horizon"])
    return {
        **fit_figures(fit_start, fit_end, clock.ends, batches * settings["batch_size"]),
        "import_seconds": imported - start,
        "job_seconds": time.perf_counter() - imported,
        "test_mae": problem.mae(forecast),
        "test_windows": len(forecast),
        "parameters": sum(parameter.numel() for parameter in fitted.parameters()),
        "threads": torch_threads(),
    }


def neuralforecast_test_forecasts(forecaster: Any, problem: Problem, horizon: int) -> Any:
    """Forecasts `(test windows, horizon)`: each test window's lookback is passed as a series
    of its own, so one `predict` call forecasts them all."""
    import numpy as np
    import pandas as pd

    count, lookback = problem.test_inputs.shape[:2]
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat([f"w{index:06d}" for index in range(count)], lookback),
            "ds": np.tile(np.arange(lookback), count),
            "y": problem.test_inputs.ravel(),
        }
    )
    predicted = forecaster.predict(df=frame).sort_values(["unique_id", "ds"])
    return predicted["LSTM"].to_numpy().reshape(count, horizon)


# --------------------------------------------------------------------------------------------
# The systems
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class System:
    """One row of the table.

    Attributes:
        backend: KERAS_BACKEND for its child process (empty: not set).
        modules: top-level modules it needs, checked before anything runs.
        child: the job its child process runs.
        project: runs in the project's own environment (`--project-python`), not in this one.
    """

    name: str
    label: str
    backend: str
    modules: tuple[str, ...]
    child: Callable[[dict[str, Any]], dict[str, Any]]
    project: bool = False


SYSTEMS = {
    system.name: system
    for system in (
        System(
            "rnnforecast",
            "rnnforecast train() (TF)",
            "tensorflow",
            ("rnnforecast", "tensorflow"),
            child_rnnforecast,
            project=True,
        ),
        System(
            "keras-tf",
            "Keras 3, TF backend",
            "tensorflow",
            ("keras", "tensorflow"),
            child_keras_default,
            project=True,
        ),
        System(
            "keras-tf-xla",
            "Keras 3, TF, XLA + spe 32",
            "tensorflow",
            ("keras", "tensorflow"),
            child_keras_xla,
            project=True,
        ),
        System("keras-jax", "Keras 3, JAX backend", "jax", ("keras", "jax"), child_keras_default),
        System("darts", "Darts BlockRNNModel", "", ("darts", "torch"), child_darts),
        System(
            "neuralforecast",
            "NeuralForecast LSTM",
            "",
            ("neuralforecast", "torch"),
            child_neuralforecast,
        ),
    )
}


def run_as_child(name: str, settings: dict[str, Any]) -> None:
    """Run one system's job and print its figures as one JSON line, with its interpreter and
    package versions."""
    result = SYSTEMS[name].child(settings)
    report_result({**result, "python": sys.executable, "versions": installed_versions()})


# --------------------------------------------------------------------------------------------
# The parent process: runs the children round-robin, summarises, prints the table.
# --------------------------------------------------------------------------------------------


def choose_systems(names: str | None) -> list[System]:
    """The systems named in `--systems` (comma-separated), in the table's order; all by default."""
    if not names:
        return list(SYSTEMS.values())
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in SYSTEMS]
    if unknown:
        raise SystemExit(
            f"error: unknown system(s) {', '.join(unknown)}; choose from {', '.join(SYSTEMS)}."
        )
    return [system for name, system in SYSTEMS.items() if name in wanted]


def require_modules(systems: list[System], project_python: str) -> None:
    """Stop with the install command when a chosen system's interpreter or library is missing
    (the project environment's libraries are found when its first job runs)."""
    if any(system.project for system in systems) and not Path(project_python).exists():
        raise SystemExit(
            f"error: no project environment at {project_python}. Run `make setup`, or pass "
            "--project-python."
        )
    missing = sorted(
        {
            module
            for system in systems
            if not system.project
            for module in system.modules
            if importlib.util.find_spec(module) is None
        }
    )
    if missing:
        raise SystemExit(
            f"error: {', '.join(missing)} not installed in {sys.executable}.\n"
            "Run `make bench-peers` (it creates .venv-peers with the `peers` extra), or choose "
            "systems whose libraries are installed with --systems."
        )


def spawn(system: System, settings: dict[str, Any], workdir: str) -> dict[str, Any]:
    """One run of `system` in a fresh interpreter whose working folder is `workdir`."""
    print(f"  running {system.name} ...", file=sys.stderr, flush=True)
    environment = {"TF_CPP_MIN_LOG_LEVEL": "3"}
    if system.backend:
        environment["KERAS_BACKEND"] = system.backend
    python = settings["project_python"] if system.project else sys.executable
    script = Path(__file__).resolve()
    return spawn_child(
        script, system.name, settings, environment, CHILD_TIMEOUT_SECONDS, workdir, python
    )


def run_all(
    systems: list[System], settings: dict[str, Any], repeats: int, workdir: str
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """`repeats` rounds over `systems`; the runs of each, and the error of each that failed
    (a failed system is not run again)."""
    runs: dict[str, list[dict[str, Any]]] = {system.name: [] for system in systems}
    errors: dict[str, str] = {}
    for _ in range(repeats):
        for system in systems:
            if system.name in errors:
                continue
            try:
                run = spawn(system, settings, workdir)
            except ChildFailed as error:
                errors[system.name] = str(error)
                print(str(error), file=sys.stderr, flush=True)
                continue
            runs[system.name].append(run)
            print(f"    {run_line(run, settings['epochs'])}", file=sys.stderr, flush=True)
    return runs, errors


def run_line(run: dict[str, Any], epochs: int) -> str:
    """One run's main figures, printed as it ends, so a long benchmark shows its progress."""
    whole, steady = throughputs(run, epochs)
    steady_text = f"{steady:,.0f}" if steady is not None else "-"
    return (
        f"{whole:,.0f} windows/s (steady {steady_text}), fit {run['fit_seconds']:.1f} s, "
        f"process {run['process_seconds']:.1f} s, test MAE {run['test_mae']:.4f}"
    )


def throughputs(run: dict[str, Any], epochs: int) -> tuple[float, float | None]:
    """Windows per second over the whole fit, and over epochs 2 to `epochs` (None without
    them): from the end of the first epoch to the end of the last."""
    windows = run["epoch_windows"]
    whole = epochs * windows / run["fit_seconds"]
    ends = run["epoch_ends"]
    if epochs < 2 or len(ends) != epochs:
        return whole, None
    return whole, (epochs - 1) * windows / (ends[-1] - ends[0])


def rate(values: list[float]) -> str:
    """Median windows per second, with the range over several runs."""
    text = f"{median(values):,.0f}"
    if len(values) > 1:
        text += f" [{min(values):,.0f}-{max(values):,.0f}]"
    return text


def summarise(runs: list[dict[str, Any]], epochs: int) -> dict[str, Any]:
    """Medians of one system's runs (and every run's throughputs)."""
    pairs = [throughputs(run, epochs) for run in runs]
    steady = [value for _, value in pairs if value is not None]
    return {
        "train_windows_per_second": [whole for whole, _ in pairs],
        "steady_windows_per_second": steady,
        "fit_seconds": median([run["fit_seconds"] for run in runs]),
        "job_seconds": median([run["job_seconds"] for run in runs]),
        "process_seconds": median([run["process_seconds"] for run in runs]),
        "peak_rss_mib": [run["peak_rss_mib"] for run in runs],
        "test_mae": median([run["test_mae"] for run in runs]),
    }


def table_row(system: System, runs: list[dict[str, Any]], epochs: int) -> list[str]:
    """The table's row of one system."""
    if not runs:
        return [system.label, "failed", "", "", "", "", "", "", ""]
    summary = summarise(runs, epochs)
    steady = summary["steady_windows_per_second"]
    return [
        system.label,
        rate(summary["train_windows_per_second"]),
        rate(steady) if steady else "-",
        f"{summary['fit_seconds']:.2f}",
        f"{summary['job_seconds']:.2f}",
        f"{summary['process_seconds']:.2f}",
        mib(summary["peak_rss_mib"]),
        f"{runs[0]['parameters']:,}",
        f"{summary['test_mae']:.4f}",
    ]


HEADER = [
    "system",
    "train windows/s",
    "steady windows/s",
    "fit s",
    "job s",
    "process s",
    "peak RSS",
    "params",
    "test MAE",
]


def detail_lines(
    systems: list[System], runs: dict[str, list[dict[str, Any]]], errors: dict[str, str]
) -> list[str]:
    """Per system: windows per epoch, test windows and thread settings of its first run."""
    lines = []
    for system in systems:
        if system.name in errors:
            lines.append(f"   {system.name}: FAILED, {errors[system.name].splitlines()[0]}")
        if not runs[system.name]:
            continue
        first = runs[system.name][0]
        threads = ", ".join(f"{key} {value}" for key, value in first["threads"].items())
        lines.append(
            f"   {system.name}: {first['epoch_windows']:,} windows per epoch, "
            f"{first['test_windows']:,} test windows; threads: {threads}"
        )
    return lines


def environment_lines(runs: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Per interpreter: the systems that ran in it and its package versions."""
    interpreters: dict[str, tuple[list[str], dict[str, str]]] = {}
    for name, system_runs in runs.items():
        if system_runs:
            first = system_runs[0]
            names, _ = interpreters.setdefault(first["python"], ([], first["versions"]))
            names.append(name)
    lines = []
    for python, (names, versions) in interpreters.items():
        packages = ", ".join(f"{package} {number}" for package, number in versions.items())
        lines.append(f"{python} ({', '.join(names)}): {packages}")
    return lines


def report(
    settings: dict[str, Any],
    systems: list[System],
    runs: dict[str, list[dict[str, Any]]],
    errors: dict[str, str],
    loads: tuple[float, float],
) -> str:
    """The header, the table and the notes under it."""
    epochs, points = settings["epochs"], settings["points"]
    windows = points - settings["lookback"] - settings["horizon"] + 1
    rows = [table_row(system, runs[system.name], epochs) for system in systems]
    lines = [
        "rnnforecast training speed next to other libraries (benchmarks/peers.py)",
        f"machine: {os.cpu_count()} CPU cores, {platform.machine()}, {platform.system()}, "
        f"Python {platform.python_version()}; load average (1 min) at start {loads[0]:.2f}, "
        f"at end {loads[1]:.2f}",
        *(f"environment: {line}" for line in environment_lines(runs)),
        f"problem: synthetic sine (period 50, noise sd 0.2, seed 0), {points:,} training points "
        f"-> {windows:,} windows (lookback {settings['lookback']}, horizon "
        f"{settings['horizon']}, stride 1), then {TEST_POINTS:,} held-out points;",
        f"   LSTM({settings['units']}), Adam lr {settings['learning_rate']}, MSE, batch "
        f"{settings['batch_size']}, epochs {epochs}, shuffled, no validation, no early "
        f"stopping, seed {settings['seed']}; runs per system {settings['repeats']} (median "
        "[min-max]), each in a fresh process, systems round-robin",
        "",
        table(HEADER, rows),
        "",
        "   train windows/s: epochs x windows per epoch / fit seconds (the library's whole fit "
        "call); steady: "
        + (
            f"epochs 2-{epochs} (end of epoch 1 to end of the last)"
            if epochs > 1
            else "needs two epochs or more"
        ),
        "   job s: after imports, data + build + fit + test forecasts (rnnforecast: the whole "
        "train() call); process s: interpreter start to exit",
        "   test MAE: original units, every window whose targets lie in the held-out points",
        *detail_lines(systems, runs, errors),
    ]
    return "\n".join(lines)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Training speed of rnnforecast next to plain Keras (TF, XLA, JAX), Darts "
        "and NeuralForecast on the same windows; one table."
    )
    parser.add_argument("--repeats", type=int, default=DEFAULTS["repeats"], help="Runs each.")
    parser.add_argument(
        "--systems", help=f"Comma-separated, from: {', '.join(SYSTEMS)} (default: all)."
    )
    parser.add_argument(
        "--points", type=int, default=DEFAULTS["points"], help="Training points of the series."
    )
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"], help="Epochs.")
    parser.add_argument("--json", metavar="PATH", help="Also write every figure as JSON here.")
    parser.add_argument(
        "--project-python",
        default=str(PROJECT_PYTHON) if PROJECT_PYTHON.exists() else sys.executable,
        help="Interpreter of the project's own environment, for the TensorFlow systems "
        "(default: .venv/bin/python if present, else this one).",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("settings", nargs="?", help=argparse.SUPPRESS)
    return parser.parse_args()


def write_json(
    path: str,
    settings: dict[str, Any],
    runs: dict[str, list[dict[str, Any]]],
    errors: dict[str, str],
) -> None:
    """Every run's figures, each system's summary, the settings and the versions."""
    systems = {
        name: {
            "runs": system_runs,
            "summary": summarise(system_runs, settings["epochs"]) if system_runs else None,
            "error": errors.get(name),
        }
        for name, system_runs in runs.items()
    }
    document = {
        "settings": {key: value for key, value in settings.items() if key != "workdir"},
        "test_points": TEST_POINTS,
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
        "environments": environment_lines(runs),
        "systems": systems,
    }
    Path(path).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def check_sizes(arguments: argparse.Namespace) -> None:
    """Stop on sizes that leave nothing to measure."""
    shortest = DEFAULTS["lookback"] + DEFAULTS["horizon"]
    if arguments.repeats < 1 or arguments.epochs < 1 or arguments.points < shortest:
        raise SystemExit(
            f"error: --repeats and --epochs must be at least 1 and --points at least {shortest}. "
            f"Received: repeats={arguments.repeats}, epochs={arguments.epochs}, "
            f"points={arguments.points}."
        )


def main() -> None:
    arguments = parse_arguments()
    if arguments.child:
        run_as_child(arguments.child, json.loads(arguments.settings))
        return
    systems = choose_systems(arguments.systems)
    require_modules(systems, arguments.project_python)
    check_sizes(arguments)
    settings = {
        **DEFAULTS,
        "points": arguments.points,
        "epochs": arguments.epochs,
        "repeats": arguments.repeats,
        "project_python": arguments.project_python,
    }
    started, load = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="rnnforecast-peers-") as workdir:
        settings["workdir"] = workdir
        runs, errors = run_all(systems, settings, arguments.repeats, workdir)
    print(report(settings, systems, runs, errors, (load, os.getloadavg()[0])))
    print(f"\ntotal benchmark time: {time.perf_counter() - started:.0f} s")
    if arguments.json:
        write_json(arguments.json, settings, runs, errors)
    if errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
