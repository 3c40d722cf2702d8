"""The execution backends: the same figures serial, in worker processes and on a real local Ray
cluster; a worker that dies is named; the CLI flags; a killed worker leaves nothing written."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rnnforecast.backtest import backtest
from rnnforecast.cli import app
from rnnforecast.config import ExecutionConfig
from rnnforecast.config_file import load_config
from rnnforecast.data import synthetic_dataset
from rnnforecast.errors import ConfigError, WorkerError
from rnnforecast.execution import Job, run_jobs
from rnnforecast.run import BACKTEST_METRICS_FILE, METRICS_FILE
from tests.conftest import REPO, TINY_OVERRIDES

runner = CliRunner()
BACKENDS = ["processes", "ray"]


def tiny(*overrides: str):
    return load_config(None, [*TINY_OVERRIDES, *overrides])


@pytest.fixture(scope="module")
def serial_backtest():
    config = tiny("training.ensemble=2")
    return backtest(config, folds=2, step=4, dataset=synthetic_dataset(config.data))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_backtest_gives_the_same_figures_on_every_backend(backend: str, serial_backtest):
    """Each fold (and each of its two members) seeds its own work: the backend changes no
    figure, to the last bit."""
    config = tiny("training.ensemble=2", f"execution.backend={backend}", "execution.workers=2")
    result = backtest(config, folds=2, step=4, dataset=synthetic_dataset(config.data))
    assert json.dumps(result.folds, sort_keys=True) == json.dumps(
        serial_backtest.folds, sort_keys=True
    )
    assert json.dumps(result.overall, sort_keys=True) == json.dumps(
        serial_backtest.overall, sort_keys=True
    )


def test_members_trained_in_workers_give_the_same_run(tmp_path: Path):
    """Members fitted side by side in worker processes end with the weights they reach in
    this process: the same metrics, the same forecasts of the saved model."""
    runs = {}
    for backend in ("serial", "processes"):
        result = runner.invoke(
            app,
            [
                "train",
                *[part for item in TINY_OVERRIDES for part in ("--set", item)],
                "--set",
                "training.ensemble=3",
                "--executor",
                backend,
                "--workers",
                "2",
                "--run-dir",
                str(tmp_path / backend),
                "--quiet",
            ],
        )
        assert result.exit_code == 0, result.output
        metrics = json.loads((tmp_path / backend / METRICS_FILE).read_text())
        assert metrics["training"]["members"][2]["epochs_run"] >= 1
        predicted = runner.invoke(app, ["predict", str(tmp_path / backend)])
        assert predicted.exit_code == 0, predicted.output
        runs[backend] = (metrics["model"], metrics["training"], predicted.stdout)
    assert runs["processes"] == runs["serial"]


def test_results_come_in_job_order_and_each_is_reported_as_it_ends():
    jobs = [Job(f"job {number}", math.factorial, number) for number in (5, 3, 4)]
    seen: list[tuple[int, int]] = []
    results = run_jobs(
        jobs,
        ExecutionConfig(backend="processes", workers=2),
        lambda index, result: seen.append((index, result)),
    )
    assert results == [120, 6, 24]
    assert sorted(seen) == [(0, 120), (1, 6), (2, 24)]


def test_a_jobs_own_error_arrives_as_raised():
    """A job's error (here a ValueError of `int`) is raised in the caller with its type."""
    jobs = [Job("job 1", int, "7"), Job("job 2", int, "not a number")]
    with pytest.raises(ValueError, match="not a number"):
        run_jobs(jobs, ExecutionConfig(backend="processes", workers=2))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_worker_that_dies_is_named_with_its_job(backend: str):
    jobs = [Job("fold 1", math.factorial, 3), Job("fold 2", signal.raise_signal, signal.SIGKILL)]
    with pytest.raises(WorkerError, match="fold 2") as caught:
        run_jobs(jobs, ExecutionConfig(backend=backend, workers=2))
    message = str(caught.value)
    assert "Run the same command again" in message
    if backend == "processes":
        assert "killed by SIGKILL" in message and "fold 1" not in message


def test_ray_missing_is_a_config_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` sees when not installed
    jobs = [Job("job 1", math.factorial, 3), Job("job 2", math.factorial, 4)]
    with pytest.raises(ConfigError, match=r"pip install 'rnnforecast\[ray\]'"):
        run_jobs(jobs, ExecutionConfig(backend="ray"))


def test_an_unreachable_ray_cluster_is_a_worker_error():
    jobs = [Job("job 1", math.factorial, 3), Job("job 2", math.factorial, 4)]
    with pytest.raises(WorkerError, match=re.escape("the Ray cluster at '127.0.0.1:9'")):
        run_jobs(jobs, ExecutionConfig(backend="ray", address="127.0.0.1:9"))


def test_execution_flags_are_checked_like_config_keys(tmp_path: Path):
    result = runner.invoke(app, ["backtest", "--executor", "processes", "--address", "auto"])
    assert result.exit_code == 3
    assert "execution" in result.stderr and "only used by the ray backend" in result.stderr
    result = runner.invoke(app, ["backtest", "--executor", "threads"])
    assert result.exit_code == 2
    assert "--workers" in runner.invoke(app, ["backtest", "--help"]).stdout
    assert "--executor" in runner.invoke(app, ["tune", "--help"]).stdout
    assert "--address" in runner.invoke(app, ["train", "--help"]).stdout


def test_a_backtest_whose_worker_is_killed_exits_8_writes_nothing_and_resumes(tmp_path: Path):
    """SIGKILL to a worker process mid-fit (what the out-of-memory killer does): exit 8 with
    the fold named, no backtest folder; the same command without workers then finishes it."""
    folder = tmp_path / "bt"
    command = [
        "backtest",
        *[part for item in TINY_OVERRIDES for part in ("--set", item)],
        "--set",
        "training.epochs=200",
        "--set",
        "training.early_stopping=0",
        "--folds",
        "2",
        "--output-dir",
        str(folder),
        "--quiet",
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnforecast", *command, "--executor", "processes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    victim = _worker_mid_fit(process.pid, tmp_path)
    os.kill(victim, signal.SIGKILL)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 8, stderr
    assert "worker process died (killed by SIGKILL" in stderr and "fold" in stderr
    assert "Traceback" not in stderr
    assert not folder.exists()
    resumed = runner.invoke(app, [*command, "--executor", "serial"])
    assert resumed.exit_code == 0, resumed.output
    assert "resum" in resumed.stderr.lower()
    summary = json.loads((folder / BACKTEST_METRICS_FILE).read_text())
    assert [fold["fold"] for fold in summary["folds"]] == [1, 2]


def _worker_mid_fit(parent: int, where: Path, seconds: float = 180) -> int:
    """A worker process of `parent` once a fold has saved an epoch (it is mid-fit)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(where.glob(".*staging/state/fold-*/*.epoch.npz")):
            workers = [pid for pid in _children(parent) if b"spawn_main" in _cmdline(pid)]
            if workers:
                return workers[0]
        time.sleep(0.1)
    raise AssertionError("no worker process saved an epoch")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text()
        found.extend(int(child) for child in text.split())
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


MIRRORED_SCRIPT = """
import json, sys
from rnnforecast.backend import import_tensorflow

tf = import_tensorflow()
[cpu] = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import rnnforecast

model = rnnforecast.fit(
    None,
    progress="none",
    save_to=sys.argv[1],
    data={"synthetic": {"length": 240, "period": 24}},
    window={"lookback": 12, "horizon": 4},
    model={"units": 8, "guard": False},
    training={"epochs": 3, "ensemble": 2, "batch_size": 32, "distribution": "mirrored"},
)
forecast = rnnforecast.load(sys.argv[1]).forecast()
print(json.dumps({"members": model.metrics["training"]["members"], "rows": len(forecast)}))
"""


def test_mirrored_training_splits_batches_between_two_devices(tmp_path: Path):
    """`training.distribution: mirrored` on two logical CPU devices (as on two GPUs): every
    member trains with each batch split in two, and the saved run forecasts."""
    completed = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT, str(tmp_path / "run")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert [member["replicas"] for member in result["members"]] == [2, 2]
    assert all(member["epochs_run"] == 3 for member in result["members"])
    assert result["rows"] == 4


def test_mirrored_with_worker_processes_is_a_config_error():
    with pytest.raises(ConfigError, match=re.escape("execution.backend: serial")):
        tiny("training.distribution=mirrored", "execution.backend=processes")
