"""Time and peak memory of one global model trained on many series: does memory stay of the
order of the data plus the model as the series grow in number?

Each size runs in a fresh process: it builds a long-format DataFrame of `--series` synthetic
series of `--points` hourly points each (a sine of its own phase and level plus noise), notes
the process's resident memory, then trains with `rnnforecast.fit` (one member, a fixed number of
epochs, no refit, no guard: the cost of the data pipeline and the fit, not of the defaults' many
epochs) and reports the wall time of the fit and the process's peak resident memory.

    python benchmarks/scale.py --sizes 300,3000,10000 --points 1000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MIB = 2**20


def resident_mib(field: str) -> float:
    """`VmRSS` (now) or `VmHWM` (peak) of this process in MiB, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024 / MIB
    raise RuntimeError(f"{field} not in /proc/self/status")


def long_frame(series: int, points: int, seed: int = 0) -> pd.DataFrame:
    """`series` x `points` rows: `id` (categorical), `time` (hourly), `value` (float32)."""
    rng = np.random.default_rng(seed)
    steps = np.arange(points, dtype=np.float32)
    phases = rng.uniform(0, 2 * np.pi, size=(series, 1)).astype(np.float32)
    levels = rng.uniform(5, 50, size=(series, 1)).astype(np.float32)
    values = levels + np.sin(2 * np.pi * steps / 24 + phases) * levels / 5
    values += rng.normal(scale=0.1, size=values.shape).astype(np.float32) * levels / 5
    ids = pd.Categorical.from_codes(
        np.repeat(np.arange(series), points), [f"s{index:05d}" for index in range(series)]
    )
    time_index = pd.date_range("2024-01-01", periods=points, freq="h")
    return pd.DataFrame(
        {"id": ids, "time": np.tile(time_index.values, series), "value": values.ravel()}
    )


def measure(series: int, points: int, arguments: argparse.Namespace) -> dict[str, float]:
    """One size, in this process (see `main` for the fresh process per size)."""
    start = resident_mib("VmRSS")
    frame = long_frame(series, points)
    import rnnforecast
    from rnnforecast.events import Events

    data_mib = resident_mib("VmRSS") - start
    # The peak after each step, to tell the steps that raise it.
    peaks: dict[str, float] = {}

    def record(event: Any) -> None:
        if event.kind == "step":
            peak = resident_mib("VmHWM")
            if peak > max(peaks.values(), default=0.0) + 1:
                peaks[event.name] = round(peak)

    began = time.perf_counter()
    model = rnnforecast.fit(
        frame,
        progress="none",
        events=Events(record),
        data={"time_column": "time", "id_column": "id", "target": "value"},
        window={"lookback": arguments.lookback, "horizon": arguments.horizon},
        model={"units": [arguments.units], "guard": False},
        training={
            "ensemble": 1,
            "epochs": arguments.epochs,
            "batch_size": arguments.batch_size,
            "refit": False,
        },
        intervals={"levels": []},
    )
    seconds = time.perf_counter() - began
    return {
        "series": series,
        "points": points,
        "rows": len(frame),
        "data_mib": round(data_mib, 1),
        "fit_s": round(seconds, 1),
        "peak_mib": round(resident_mib("VmHWM"), 1),
        "training_windows": int(model.metrics["training"]["windows"]["training"]),
        "test_mase": round(float(model.metrics["model"]["mase"]), 4),
        "peak_after_step": peaks,
    }


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="300,3000,10000", help="Series counts, e.g. 300,3000.")
    parser.add_argument("--points", type=int, default=1000, help="Points per series.")
    parser.add_argument("--lookback", type=int, default=48)
    parser.add_argument("--horizon", type=int, default=12)
    parser.add_argument("--units", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--json", help="Also write the figures as JSON here.")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child: one size
    return parser.parse_args()


def main() -> None:
    arguments = parse_arguments()
    if arguments.one is not None:
        print(json.dumps(measure(arguments.one, arguments.points, arguments)))
        return
    rows = []
    for size in (int(part) for part in arguments.sizes.split(",")):
        print(f"{size:,} series x {arguments.points:,} points ...", file=sys.stderr, flush=True)
        child = [sys.executable, __file__, *sys.argv[1:], "--one", str(size)]
        finished = subprocess.run(child, capture_output=True, text=True, check=False)
        if finished.returncode != 0:
            raise SystemExit(f"the run of {size} series failed:\n{finished.stderr[-3000:]}")
        rows.append(json.loads(finished.stdout.strip().splitlines()[-1]))
    print(
        f"one member LSTM({arguments.units}), lookback {arguments.lookback}, horizon "
        f"{arguments.horizon}, {arguments.epochs} epoch(s), batch {arguments.batch_size}, "
        "no refit, no guard"
    )
    print(
        "| series x points | rows | data in memory | training windows | fit s | peak RSS | "
        "test MASE |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['series']:,} x {row['points']:,} | {row['rows']:,} | "
            f"{row['data_mib']:,.0f} MiB | {row['training_windows']:,} | {row['fit_s']:,.1f} | "
            f"{row['peak_mib']:,.0f} MiB | {row['test_mase']} |"
        )
    print("\nPeak RSS (MiB) after each step that raised it:")
    for row in rows:
        steps = ", ".join(f"{name} {peak:,.0f}" for name, peak in row["peak_after_step"].items())
        print(f"- {row['series']:,} series: {steps}")
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
