"""The `rnnforecast` command for tests that run it as a separate process.

    python tests/quick_train.py [--stub-fit SECONDS] [--slow-write SECONDS] -- ARGS...
    python tests/quick_train.py --race N:FOLDER [--stub-fit SECONDS] -- ARGS...

`--stub-fit` replaces the networks' fit by a stub that waits SECONDS and forecasts zeros, so
everything around it (the lock, the staging folder, saving and checking the run) runs as it is,
in a second, without loading TensorFlow. `--slow-write` makes writing each plot of a run wait
SECONDS first: a moment to kill a run while it writes its files.

`--race N:FOLDER` forks two processes at once N times, each running `rnnforecast train
--run-dir FOLDER/run-<i> ARGS`, and prints one JSON line per round: the exit code, stderr and
seconds (from the start until it ended) of each.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast import training
from rnnforecast.forecaster import Forecaster, InputLayout, Member


class ZeroModel:
    """Stands in for a trained Keras model: forecasts zeros, saves a few bytes."""

    def __init__(self, horizon: int) -> None:
        self.horizon = horizon

    def predict(self, inputs: dict[str, Any], batch_size: int = 0, verbose: int = 0) -> Any:
        return np.zeros((len(inputs["window"]), self.horizon), dtype=np.float32)

    def save(self, path: Path) -> None:
        Path(path).write_bytes(b"a stand-in for a model")


def stub_fit(seconds: float) -> Any:
    def fit_forecaster(
        plan, dataset, points, progress, epochs=None, events=None, checkpoints=None, runner=None
    ):
        time.sleep(seconds)
        scaler = training.fit_scaler(dataset, points, plan)
        layout = InputLayout.of(plan, scaler)
        members = [Member(ZeroModel(plan.horizon), member.lookback) for member in plan.members]
        summary = {"epochs_run": 0, "best_epoch": 0, "monitor": "loss", "best_loss": None}
        history = pd.DataFrame({"epoch": [], "loss": [], "member": []})
        forecaster = Forecaster(members, scaler, plan.horizon, layout)
        return training.Fitted(forecaster, [summary] * len(members), history)

    return fit_forecaster


def slow_writes(seconds: float) -> None:
    import rnnforecast.plots

    save_figure = rnnforecast.plots.save_figure

    def slowly(figure: Any, target: Any) -> None:
        time.sleep(seconds)
        save_figure(figure, target)

    rnnforecast.plots.save_figure = slowly


def run_command(arguments: list[str]) -> int:
    from rnnforecast.cli import app

    try:
        app(arguments, prog_name="rnnforecast")
    except SystemExit as end:
        return end.code if isinstance(end.code, int) else 1
    return 0


def race(rounds: int, folder: Path, arguments: list[str]) -> None:
    for round_number in range(rounds):
        start_read, start_write = os.pipe()
        children = []
        for _ in range(2):
            log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (read after the child ends)
            pid = os.fork()
            if pid == 0:
                os.close(start_write)
                os.read(start_read, 1)  # both start when the pipe closes
                os.dup2(log.fileno(), 2)
                os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
                sys.stderr = os.fdopen(2, "w", buffering=1)
                run_dir = str(folder / f"run-{round_number}")
                code = run_command(["train", "--run-dir", run_dir, "--quiet", *arguments])
                sys.stderr.flush()
                os._exit(code)
            children.append((pid, log))
        os.close(start_read)
        started = time.perf_counter()
        os.close(start_write)
        ended = {}
        for _ in children:
            pid, status = os.wait()
            ended[pid] = (os.waitstatus_to_exitcode(status), time.perf_counter() - started)
        codes = [ended[pid][0] for pid, _ in children]
        seconds = [round(ended[pid][1], 3) for pid, _ in children]
        errors = []
        for _, log in children:
            log.seek(0)
            errors.append(log.read())
        print(json.dumps({"codes": codes, "stderr": errors, "seconds": seconds}), flush=True)


def main() -> None:
    arguments = sys.argv[1:]
    split = arguments.index("--")
    options, command = arguments[:split], arguments[split + 1 :]
    settings = dict(zip(options[::2], options[1::2], strict=True))
    if "--stub-fit" in settings:
        training.fit_forecaster = stub_fit(float(settings["--stub-fit"]))
    if "--slow-write" in settings:
        slow_writes(float(settings["--slow-write"]))
    if "--race" in settings:
        rounds, folder = settings["--race"].split(":", 1)
        race(int(rounds), Path(folder), command)
        return
    sys.exit(run_command(command))


if __name__ == "__main__":
    main()
