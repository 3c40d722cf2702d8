"""The command line end to end: CliRunner for each command, subprocesses for the entry point."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from rnnforecast.cli import app
from tests.conftest import REPO, TINY_OVERRIDES, write_long_config, write_long_csv

runner = CliRunner()
TINY = [item for override in TINY_OVERRIDES for item in ("--set", override)]


def invoke(*args: str):
    return runner.invoke(app, [str(arg) for arg in args])


def test_train_prints_the_run_and_the_comparison(tmp_path: Path):
    result = invoke("train", "--run-dir", tmp_path / "run", *TINY)
    assert result.exit_code == 0, result.output
    assert f"Run directory: {tmp_path / 'run'}" in result.stdout
    assert "seasonal_naive" in result.stdout and "skill vs" in result.stdout
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_train_quiet_prints_only_the_run_directory(tmp_path: Path):
    config = tmp_path / "tiny.yaml"
    config.write_text(f"output: {{dir: {tmp_path / 'runs'}}}\n")
    result = invoke("train", config, "--quiet", *TINY)
    assert result.exit_code == 0, result.output
    [run] = list((tmp_path / "runs").iterdir())
    assert run.name.startswith("tiny-")
    assert result.stdout.strip() == str(run)


def test_predict_to_stdout_and_to_a_file(tiny_run, tmp_path: Path):
    result = invoke("predict", tiny_run.path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2][0] == "step,forecast"
    assert len(result.stdout.splitlines()) == 1 + 4
    output = tmp_path / "forecast.parquet"
    result = invoke("predict", tiny_run.path, "--output", output)
    assert result.exit_code == 0, result.output
    assert pd.read_parquet(output)["step"].tolist() == [240, 241, 242, 243]


def test_evaluate_and_plot_on_new_long_format_data(long_run, tmp_path: Path):
    run, _, _ = long_run
    newer = write_long_csv(tmp_path / "newer.csv", length=80)
    result = invoke("evaluate", run.path, "--input", newer, "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert {"model", "naive", "seasonal_naive", "skill"} <= set(metrics)
    result = invoke("evaluate", run.path, "--last", "6")
    assert result.exit_code == 0 and "skill vs" in result.stdout
    result = invoke("plot", run.path, "--input", newer, "--output", tmp_path / "p.png")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_validate_prints_the_resolved_config():
    result = invoke("validate", REPO / "configs/a10.yaml")
    assert result.exit_code == 0, result.output
    assert "lookback: 24" in result.stdout and "season_length: 12" in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["validate", "missing.yaml"], 3, "missing.yaml: config file not found"),
        (["validate", "--set", "model.unit=3"], 3, "model.unit: unknown key; did you mean `units`"),
        (["train", "--set", "window.lookback=900"], 3, "`window.lookback` + `window.horizon`"),
        (["predict", "no-such-run"], 5, "no-such-run: run directory not found"),
        (["train", "--bogus"], 2, "No such option"),
    ],
)
def test_errors_exit_with_their_code_and_no_traceback(args, code, message, tmp_path: Path):
    result = invoke(*args, "--run-dir", tmp_path / "r") if args[0] == "train" else invoke(*args)
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


def test_data_errors_leave_no_run_directory(tmp_path: Path):
    data = write_long_csv(tmp_path / "sales.csv")
    lines = data.read_text().splitlines()
    lines[6] = lines[6].replace(lines[6].split(",")[2], "unknown")
    data.write_text("\n".join(lines) + "\n")
    config = write_long_config(tmp_path, data, extra=f"output: {{dir: {tmp_path / 'runs'}}}")
    result = invoke("train", config)
    assert result.exit_code == 4
    assert "column 'sales' must be numeric, but row 7 holds 'unknown'" in result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_predict_error_writes_no_output_file(long_run, tmp_path: Path):
    run, _, _ = long_run
    bad = write_long_csv(tmp_path / "bad.csv", ids=("west",))
    output = tmp_path / "forecast.csv"
    result = invoke("predict", run.path, "--input", bad, "--output", output)
    assert result.exit_code == 4 and "'west'" in result.stderr
    assert list(tmp_path.iterdir()) == [bad]


def test_damaged_run_directory_is_a_run_error(tiny_run, tmp_path: Path):
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for item in tiny_run.path.iterdir():
        (damaged / item.name).write_bytes(item.read_bytes())
    (damaged / "model.keras").write_bytes(b"garbage")
    result = invoke("predict", damaged)
    assert result.exit_code == 5
    assert "cannot load the model" in result.stderr


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rnnforecast", *args], capture_output=True, text=True, **kwargs
    )


def test_help_and_validate_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from rnnforecast.cli import app\n"
        "runner = CliRunner()\n"
        "assert runner.invoke(app, ['--help']).exit_code == 0\n"
        "assert runner.invoke(app, ['validate', 'configs/sine.yaml']).exit_code == 0\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "False False"


def test_module_entry_point_and_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("rnnforecast ")


def test_installed_console_script_runs_without_tensorflow_noise(tmp_path: Path):
    script = Path(sys.executable).with_name("rnnforecast")
    result = subprocess.run(
        [str(script), "train", "--run-dir", str(tmp_path / "run"), *TINY],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "oneDNN" not in result.stderr and "cuda" not in result.stderr.lower()
    assert "Epoch 1/2" in result.stdout, "one line per epoch when stdout is not a terminal"


def test_sigterm_during_training_leaves_no_run_directory(tmp_path: Path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rnnforecast",
            "train",
            "--run-dir",
            str(tmp_path / "run"),
            *TINY,
            "--set",
            "training.epochs=500",
            "--set",
            "training.early_stopping=0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    for line in process.stdout:  # wait until training has started writing into its staging
        if line.startswith("Epoch 2/"):
            break
    assert any(tmp_path.iterdir()), "the run is being staged"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "interrupted; nothing was written" in stderr
    time.sleep(0.1)
    assert list(tmp_path.iterdir()) == []
