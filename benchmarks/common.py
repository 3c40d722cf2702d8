"""Helpers shared by the benchmark scripts.

- plain-text tables and the formatting of repeated figures;
- child processes: run one job in a fresh interpreter and read back its figures (one JSON line);
- the plain-Keras side of a comparison: rnnforecast's default synthetic series, mean/std scaling
  on the training part, numpy windows and the `LSTM -> Dense(horizon)` network.

Only the standard library is imported at module level, so a parent process that imports this file
stays small; numpy and Keras are imported inside the functions that children call.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCHMARK-RESULT "


class ChildFailed(RuntimeError):
    """A benchmark job's process exited with an error or printed no result."""


def timed_run(
    command: list[str], environment: dict[str, str], timeout: float, cwd: str | None = None
) -> tuple[subprocess.CompletedProcess, float]:
    """Run `command` to completion, capturing its text output; the result and its wall time."""
    start = time.perf_counter()
    finished = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )
    return finished, time.perf_counter() - start


def table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell; the first left-aligned, the others right-aligned."""
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]

    def line(row: list[str]) -> str:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


# --------------------------------------------------------------------------------------------
# Repeated figures
# --------------------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def seconds(values: list[float], unit: str = "s") -> str:
    """Median, and the range when there are several values: `1.23 s [1.10-1.40]`."""
    scale = 1000 if unit == "ms" else 1
    text = f"{median(values) * scale:.2f} {unit}"
    if len(values) > 1:
        text += f" [{min(values) * scale:.2f}-{max(values) * scale:.2f}]"
    return text


def mib(values: list[float]) -> str:
    """Median MiB, and the range when the values differ by at least 1 MiB."""
    text = f"{median(values):.0f} MiB"
    if len(values) > 1 and max(values) - min(values) >= 1:
        text += f" [{min(values):.0f}-{max(values):.0f}]"
    return text


# --------------------------------------------------------------------------------------------
# Child processes
# --------------------------------------------------------------------------------------------


def peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB.

    Reads VmHWM rather than `ru_maxrss`: Linux keeps `ru_maxrss` across exec, so a child started
    from a large process would report at least that process's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report_result(result: dict[str, Any]) -> None:
    """Print a child's figures as one JSON line on stdout, its peak memory added last."""
    result["peak_rss_mib"] = peak_rss_mib()
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def spawn_child(
    script: Path,
    name: str,
    settings: dict[str, Any],
    environment: dict[str, str],
    timeout: float,
    cwd: str | None = None,
    python: str | None = None,
) -> dict[str, Any]:
    """Run `script --child name SETTINGS_JSON` in a fresh interpreter.

    Args:
        environment: variables added to this process's environment for the child.
        cwd: the child's working folder, for whatever files a library writes there.
        python: the interpreter (of another virtual environment, say); this one's by default.

    Returns:
        The figures the child printed with `report_result`, plus `process_seconds`: the child's
        wall time from start to exit.

    Raises:
        ChildFailed: the child exited with an error or printed no result; the message holds the
            end of its stderr.
    """
    command = [python or sys.executable, str(script), "--child", name, json.dumps(settings)]
    finished, elapsed = timed_run(command, {**os.environ, **environment}, timeout, cwd)
    lines = [line for line in finished.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if finished.returncode != 0 or not lines:
        raise ChildFailed(
            f"benchmark job {name!r} failed (exit code {finished.returncode}):\n"
            f"{finished.stderr[-4000:]}"
        )
    return {**json.loads(lines[-1][len(RESULT_PREFIX) :]), "process_seconds": elapsed}


# --------------------------------------------------------------------------------------------
# The plain-Keras side: data, scaling, windows, network
# --------------------------------------------------------------------------------------------


# rnnforecast overrides for one network trained once, as the hand-written versions do: no
# ensemble, no refit, plain affine scaling (which they can apply from scaler.json) and no
# baseline layers (so plain Keras loads the saved model and the networks are the same
# LSTM -> Dense).
PLAIN_NETWORK = [
    "training.ensemble=1",
    "training.refit=false",
    "transform.log=false",
    "model.baseline=none",
    # The network itself, as the plain scripts train it: no fallback to a baseline, no
    # calibration of intervals.
    "model.guard=false",
    "intervals.levels=[]",
]


def sine_series(length: int) -> Any:
    """rnnforecast's default synthetic series: sin(2 pi t / 50) + N(0, 0.2^2) noise, seed 0.

    Returns:
        float32 values, shape `(length,)`.
    """
    import numpy as np

    steps = np.arange(length)
    noise = np.random.default_rng(0).normal(0.0, 0.2, length)
    return (np.sin(2 * np.pi / 50 * steps) + noise).astype(np.float32)


def standard_scaling(series: Any, train_end: int) -> tuple[float, float]:
    """Mean and standard deviation of `series[:train_end]`, as rnnforecast's `standard` scaler
    fits them (float64, population standard deviation)."""
    history = series[:train_end].astype("float64")
    return float(history.mean()), float(history.std())


def window_arrays(
    values: Any, start: int, end: int, lookback: int, horizon: int
) -> tuple[Any, Any]:
    """Every window whose `horizon` targets lie in `values[start:end]`, with the `lookback`
    values before each (which may reach before `start`), one step apart.

    Returns:
        Inputs `(windows, lookback, 1)` and targets `(windows, horizon)`, copies in the dtype of
        `values`.

    Example:
        `window_arrays(np.arange(10.0), 0, 10, 3, 2)` has 6 windows; the first is inputs
        `[0, 1, 2]`, targets `[3, 4]`.
    """
    import numpy as np

    origins = np.arange(max(start, lookback), end - horizon + 1)
    rows = np.lib.stride_tricks.sliding_window_view(values, lookback + horizon)[origins - lookback]
    return rows[:, :lookback, None].copy(), rows[:, lookback:].copy()


def plain_lstm(keras: Any, lookback: int, horizon: int, units: int) -> Any:
    """`Sequential([Input((lookback, 1)), LSTM(units), Dense(horizon)])`, not compiled."""
    return keras.Sequential(
        [
            keras.Input(shape=(lookback, 1)),
            keras.layers.LSTM(units),
            keras.layers.Dense(horizon),
        ]
    )
