"""TensorBoard logs read back by TensorBoard's own reader; MLflow runs in a real SQLite store."""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rnnforecast.cli import app
from rnnforecast.config_file import load_config
from rnnforecast.events import Event
from rnnforecast.tracking import Tracking, flat_metrics, flat_params
from tests.conftest import TINY_OVERRIDES

runner = CliRunner()
TINY = [item for override in TINY_OVERRIDES for item in ("--set", override)]


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory: pytest.TempPathFactory):
    """One two-member training logged to TensorBoard and to a SQLite MLflow store."""
    folder = tmp_path_factory.mktemp("tracked")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    result = runner.invoke(
        app,
        [
            "train",
            "--run-dir",
            str(folder / "run"),
            *TINY,
            "--set",
            "training.ensemble=2",
            "--set",
            "training.refit=true",
            # The networks are kept even if a baseline scores better, so both phases train.
            "--set",
            "model.guard=false",
            "--set",
            f"tracking.mlflow={{uri: '{uri}', experiment: tiny}}",
            "--tensorboard",
            "--mlflow",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == "", "a working tracker prints nothing"
    return folder / "run", uri


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of a TensorBoard log folder, through TensorBoard's own reader."""
    import tensorflow as tf
    from tensorboard.backend.event_processing import event_accumulator

    reader = event_accumulator.EventAccumulator(str(folder))
    reader.Reload()
    return {
        tag: [(event.step, float(tf.make_ndarray(event.tensor_proto))) for event in events]
        for tag in reader.Tags()["tensors"]
        if (events := reader.Tensors(tag))
    }


def test_tensorboard_logs_hold_losses_per_member_and_phase_and_the_test_metrics(tracked_run):
    run, _ = tracked_run
    history = pd.read_csv(run / "history.csv")
    logs = run / "tensorboard"
    for phase in ("holdout", "refit"):
        for member in (1, 2):
            read = scalars(logs / phase / f"member-{member}")
            expected = history[(history["phase"] == phase) & (history["member"] == member)]
            assert [step for step, _ in read["loss"]] == expected["epoch"].tolist()
            np.testing.assert_allclose([v for _, v in read["loss"]], expected["loss"], rtol=1e-6)
            assert all(value == pytest.approx(0.001) for _, value in read["learning_rate"])
            assert ("val_loss" in read) == (phase == "holdout")
    metrics = json.loads((run / "metrics.json").read_text())
    test = scalars(logs / "test")
    for name in ("model", "naive", "seasonal_naive", "drift"):
        assert test[f"{name}/mase"][0][1] == pytest.approx(metrics[name]["mase"], rel=1e-6)
    assert test["skill"][0][1] == pytest.approx(metrics["skill"], rel=1e-5)


def test_mlflow_run_has_the_config_the_metrics_and_the_run_directory(tracked_run):
    from mlflow.tracking import MlflowClient

    run, uri = tracked_run
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("tiny")
    runs = client.search_runs([experiment.experiment_id])
    [parent] = [item for item in runs if "mlflow.parentRunId" not in item.data.tags]
    assert parent.info.run_name == "run" and parent.info.status == "FINISHED"
    assert parent.data.tags["rnnforecast.command"] == "train"
    params = parent.data.params
    assert params["model.units"] == "[8]" and params["window.lookback"] == "12"
    assert params["training.learning_rate"] == "0.001", "the resolved value"
    assert not any(key.startswith("tracking") for key in params)
    metrics = json.loads((run / "metrics.json").read_text())
    for name in ("model", "naive", "seasonal_naive", "drift"):
        assert parent.data.metrics[f"test/{name}/mase"] == pytest.approx(metrics[name]["mase"])
    members = sorted(
        (item for item in runs if item.data.tags.get("mlflow.parentRunId") == parent.info.run_id),
        key=lambda item: item.info.run_name,
    )
    assert [item.info.run_name for item in members] == ["member-1", "member-2"]
    history = pd.read_csv(run / "history.csv")
    losses = client.get_metric_history(members[1].info.run_id, "holdout/loss")
    expected = history[(history["phase"] == "holdout") & (history["member"] == 2)]
    assert [metric.step for metric in losses] == expected["epoch"].tolist()
    np.testing.assert_allclose([m.value for m in losses], expected["loss"], rtol=1e-6)
    assert "refit/loss" in members[0].data.metrics
    artifacts = {item.path for item in client.list_artifacts(parent.info.run_id)}
    assert {"metrics.json", "config.yaml", "models", "tensorboard"} <= artifacts
    assert parent.info.artifact_uri.startswith(Path(uri.removeprefix("sqlite:///")).parent.as_uri())


def test_a_tracker_that_is_down_never_fails_a_training(tmp_path: Path):
    result = runner.invoke(
        app,
        ["train", "--run-dir", str(tmp_path / "run"), *TINY, "--mlflow", "--quiet"],
        env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"},
    )
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Warning: MLflow logging failed (")
    assert "the command goes on without it" in lines[0]
    assert (tmp_path / "run" / "metrics.json").is_file()
    assert result.stdout.strip() == str(tmp_path / "run")


def test_mlflow_not_installed_is_one_warning_and_nothing_else(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    warnings: list[str] = []
    tracking = Tracking(load_config(None, ["tracking.mlflow=true"]), "train", warnings.append)
    tracking(Event("epoch", "holdout", 1.0, {"member": 1, "epoch": 1, "loss": 0.5}))
    tracking.finished(None)
    assert len(warnings) == 1
    assert "pip install 'rnnforecast[mlflow]'" in warnings[0]


def test_nothing_is_tracked_by_default():
    assert Tracking(load_config(None), "train").trackers == []


def test_flat_metrics_and_params():
    metrics = {"windows": 3, "model": {"mase": 0.5, "mape": float("nan")}, "skill": 0.1}
    assert flat_metrics(metrics) == {"model/mase": 0.5, "skill": 0.1}
    params = flat_params(load_config(None, ["model.units=[16, 8]", "tracking.mlflow=true"]))
    assert params["model.units"] == "[16, 8]"
    assert params["data.synthetic.noise.kind"] == "normal"
    assert params["tune.space"] == "null"
    assert not any(key.startswith("tracking") for key in params)
