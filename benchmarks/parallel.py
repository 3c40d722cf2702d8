"""Backtest folds and ensemble members on the execution backends: wall time and peak memory of
the same command serial, in worker processes and on a local Ray cluster, with a check that every
backend printed the same figures.

Each run is a fresh `rnnforecast backtest` (or `train`) process writing into a temporary folder;
the figures compared are its `backtest.json` (or `metrics.json`) without timing fields.

    python benchmarks/parallel.py                                  # a10, 4 folds, defaults
    python benchmarks/parallel.py --command train --config configs/co2.yaml
    python benchmarks/parallel.py --backends serial,processes --workers 2 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import table, timed_run

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    arguments = parse_arguments()
    rows, figures = [], {}
    base = None
    for backend in arguments.backends.split(","):
        seconds, peaks = [], []
        for _ in range(arguments.repeats):
            elapsed, peak, result = run_once(arguments, backend)
            seconds.append(elapsed)
            peaks.append(peak)
            figures[backend] = result
        median = statistics.median(seconds)
        base = base or median
        rows.append(
            [
                backend,
                f"{median:.1f}",
                f"{base / median:.2f}x",
                f"{statistics.median(peaks) / 1024:.0f}",
            ]
        )
        print(f"{backend}: {', '.join(f'{value:.1f}' for value in seconds)} s", flush=True)
    print()
    print(
        f"rnnforecast {arguments.command} {arguments.config} "
        f"({arguments.folds} folds, {arguments.workers} workers, median of {arguments.repeats})"
    )
    print(table(["backend", "seconds", "speed-up", "largest process, peak MiB"], rows))
    same = len({json.dumps(value, sort_keys=True) for value in figures.values()}) == 1
    print(f"\nSame figures on every backend: {'yes' if same else 'NO'}")
    if not same:
        sys.exit(1)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--command", choices=["backtest", "train"], default="backtest")
    parser.add_argument("--config", default="configs/a10.yaml")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backends", default="serial,processes,ray")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    return parser.parse_args()


def run_once(arguments: argparse.Namespace, backend: str) -> tuple[float, float, Any]:
    """One command on `backend`: its wall time, the largest peak memory of it and its worker
    processes, and its figures."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "out"
        command = [
            sys.executable,
            "-m",
            "rnnforecast",
            arguments.command,
            str(REPO / arguments.config),
            "--quiet",
            "--executor",
            backend,
            "--workers",
            str(arguments.workers),
            *[part for item in arguments.overrides for part in ("--set", item)],
        ]
        if arguments.command == "backtest":
            command += ["--folds", str(arguments.folds), "--output-dir", str(output)]
        else:
            command += ["--run-dir", str(output)]
        wrapper = [sys.executable, "-c", MEASURE, *command]
        finished, seconds = timed_run(wrapper, dict(os.environ), timeout=6 * 3600, cwd=str(REPO))
        if finished.returncode != 0:
            raise SystemExit(f"{backend} failed:\n{finished.stderr[-3000:]}")
        peak = float(finished.stderr.strip().splitlines()[-1].split()[-1])
        name = "backtest.json" if arguments.command == "backtest" else "metrics.json"
        return seconds, peak, without_timing(json.loads((output / name).read_text()))


# Runs the command, then prints the largest peak resident memory of it and of the processes it
# waited for (RUSAGE_CHILDREN: worker processes included; Ray's workers are the raylet's
# children, not the command's, so for `ray` this is the command's own peak).
MEASURE = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:])
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"peak KiB {peak}", file=sys.stderr)
sys.exit(code)
"""


def without_timing(value: Any) -> Any:
    """The figures of a result file, without the fields that measure time."""
    if isinstance(value, dict):
        return {key: without_timing(item) for key, item in value.items() if "second" not in key}
    if isinstance(value, list):
        return [without_timing(item) for item in value]
    return value


if __name__ == "__main__":
    main()
