"""Training state per fit unit: a run stopped at any point resumes and ends exactly as a run
never stopped (same seed), losing at most the epoch in progress."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnforecast.checkpoints import Checkpoints, FitUnit
from rnnforecast.config_file import load_config
from rnnforecast.data import synthetic_dataset
from rnnforecast.events import Events
from rnnforecast.fitting import window_pipeline
from rnnforecast.plan import make_plan
from rnnforecast.splitting import split_points
from rnnforecast.staging import STAGING_SUFFIX
from rnnforecast.training import fit_forecaster, train
from rnnforecast.windowing import window_index
from tests.conftest import REPO, TINY_OVERRIDES

# Two members, early stopping with a short patience and dropout: every kind of state counts.
OVERRIDES = [
    *TINY_OVERRIDES,
    "training.ensemble=2",
    "training.epochs=8",
    "training.early_stopping=3",
    "training.batch_size=16",
    "model.dropout=0.1",
    "training.refit=true",  # both phases, so a kill can land in either
]


class Killed(BaseException):
    """Stands in for SIGKILL inside the test process: nothing after it runs."""


def tiny_fit_inputs():
    config = load_config(None, OVERRIDES)
    dataset = synthetic_dataset(config.data)
    points = split_points(dataset, config)
    return make_plan(config, dataset, points), dataset, points


def weights(fitted) -> list[np.ndarray]:
    return [value for member in fitted.forecaster.members for value in member.model.get_weights()]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory):
    plan, dataset, points = tiny_fit_inputs()
    state = tmp_path_factory.mktemp("state")
    return fit_forecaster(plan, dataset, points, "none", checkpoints=Checkpoints(state))


def noted() -> tuple[list[str], Events]:
    """Events that keep the text of each note in a list."""
    notes: list[str] = []
    return notes, Events(
        lambda event: notes.append(event.fields["text"]) if event.kind == "note" else None
    )


def assert_same_fit(fitted, reference) -> None:
    for mine, theirs in zip(weights(fitted), weights(reference), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert fitted.summaries == reference.summaries
    pd.testing.assert_frame_equal(fitted.history, reference.history)


def test_a_fit_stopped_after_an_epoch_resumes_and_ends_with_the_same_weights(
    uninterrupted, tmp_path: Path, monkeypatch
):
    plan, dataset, points = tiny_fit_inputs()
    save_epoch = FitUnit.save_epoch

    def killed_after_epoch_2_of_member_2(self, model, epochs_done, records, stoppers):
        save_epoch(self, model, epochs_done, records, stoppers)
        if self.name == "holdout-member-2" and epochs_done == 2:
            raise Killed

    monkeypatch.setattr(FitUnit, "save_epoch", killed_after_epoch_2_of_member_2)
    with pytest.raises(Killed):
        fit_forecaster(plan, dataset, points, "none", checkpoints=Checkpoints(tmp_path))
    monkeypatch.undo()
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "holdout-member-1.done.npz",
        "holdout-member-2.epoch.npz",
    ]
    notes, events = noted()
    resumed = fit_forecaster(
        plan, dataset, points, "none", events=events, checkpoints=Checkpoints(tmp_path, events)
    )
    assert_same_fit(resumed, uninterrupted)
    assert "the holdout fit of member 2 resumes after epoch 2 of 8." in notes
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "holdout-member-1.done.npz",
        "holdout-member-2.done.npz",
    ]


def test_finished_members_are_restored_without_training(uninterrupted, tmp_path: Path):
    plan, dataset, points = tiny_fit_inputs()
    first = fit_forecaster(plan, dataset, points, "none", checkpoints=Checkpoints(tmp_path))
    epochs = []
    events = Events(lambda event: epochs.append(event) if event.kind == "epoch" else None)
    again = fit_forecaster(
        plan, dataset, points, "none", events=events, checkpoints=Checkpoints(tmp_path)
    )
    assert epochs == [], "nothing is trained again"
    assert_same_fit(again, uninterrupted)
    assert_same_fit(first, uninterrupted)


def test_a_damaged_state_is_ignored_and_its_member_starts_over(uninterrupted, tmp_path: Path):
    plan, dataset, points = tiny_fit_inputs()
    (tmp_path / "holdout-member-1.epoch.npz").write_bytes(b"cut short by a crash")
    notes, events = noted()
    fitted = fit_forecaster(
        plan, dataset, points, "none", events=events, checkpoints=Checkpoints(tmp_path, events)
    )
    assert_same_fit(fitted, uninterrupted)
    assert any(
        note.startswith(f"ignoring the training state {tmp_path / 'holdout-member-1.epoch.npz'}")
        and note.endswith("the holdout fit of member 1 starts over.")
        for note in notes
    )


def test_members_packed_into_one_model_resume_as_one_fit_unit(tmp_path: Path, monkeypatch):
    config = load_config(None, [*OVERRIDES, "training.pack_members=true"])
    dataset = synthetic_dataset(config.data)
    points = split_points(dataset, config)
    plan = make_plan(config, dataset, points)
    straight = fit_forecaster(
        plan, dataset, points, "none", checkpoints=Checkpoints(tmp_path / "a")
    )
    save_epoch = FitUnit.save_epoch

    def killed_after_epoch_2(self, model, epochs_done, records, stoppers):
        save_epoch(self, model, epochs_done, records, stoppers)
        if epochs_done == 2:
            raise Killed

    folder = tmp_path / "b"
    monkeypatch.setattr(FitUnit, "save_epoch", killed_after_epoch_2)
    with pytest.raises(Killed):
        fit_forecaster(plan, dataset, points, "none", checkpoints=Checkpoints(folder))
    monkeypatch.undo()
    assert sorted(path.name for path in folder.iterdir()) == ["holdout-members-1-2.epoch.npz"]
    notes, events = noted()
    resumed = fit_forecaster(
        plan, dataset, points, "none", events=events, checkpoints=Checkpoints(folder, events)
    )
    assert_same_fit(resumed, straight)
    assert "the holdout fit of members [1, 2] resumes after epoch 2 of 8." in notes
    assert sorted(path.name for path in folder.iterdir()) == ["holdout-members-1-2.done.npz"]


def test_the_order_of_an_epoch_follows_from_seed_and_epoch_alone():
    # 20 windows of one step each, targets 1 ... 20.
    index = window_index([np.arange(21, dtype=np.float32).reshape(-1, 1)], [(0, 21)], 1, 1)

    def batches(epochs: range, seeds=(3,), member: int = 1) -> list[list[float]]:
        members = list(range(1, len(seeds) + 1))
        pipeline = window_pipeline(index, members, 8, list(seeds), epochs)
        return [batch[1][f"member_{member}"].numpy().ravel().tolist() for batch in pipeline]

    all_three = batches(range(3))
    assert batches(range(2, 3)) == all_three[6:], "epoch 3 alone, as when resumed there"
    assert all_three[:3] != all_three[3:6], "each epoch has an order of its own"
    first = [value for batch in all_three[:3] for value in batch]
    assert sorted(first) == list(range(1, 21)), "each window once per epoch"
    assert batches(range(1), seeds=(4,)) != all_three[:3]
    # Side by side, each member reads the order its seed gives it alone.
    assert batches(range(3), seeds=(4, 3), member=2) == all_three
    assert batches(range(3), seeds=(4, 3), member=1) == batches(range(3), seeds=(4,))


def staging_state(run_dir: Path) -> Path:
    return run_dir.parent / f".{run_dir.name}{STAGING_SUFFIX}" / "state"


def train_process(run_dir: Path, *options: str) -> subprocess.Popen:
    settings = [item for override in OVERRIDES for item in ("--set", override)]
    command = [sys.executable, str(REPO / "tests" / "quick_train.py"), *options, "--"]
    return subprocess.Popen(
        [*command, "train", "--run-dir", str(run_dir), *settings],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=REPO,
    )


def kill_when(run_dir: Path, ready, *options: str) -> tuple[str, str]:
    """Start `train`, SIGKILL it once `ready()`; its stdout and stderr."""
    process = train_process(run_dir, *options)
    while not ready():
        assert process.poll() is None, "it ended before the moment to kill it"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    return stdout, stderr


def resumed_after(stderr: str) -> list[int]:
    return [int(epoch) for epoch in re.findall(r"resumes after epoch (\d+) of", stderr)]


@pytest.mark.slow
def test_a_run_killed_at_several_points_resumes_and_ends_as_one_never_stopped(tmp_path: Path):
    straight = train(load_config(None, OVERRIDES), run_dir=tmp_path / "straight", progress="none")
    run_dir = tmp_path / "killed"
    state = staging_state(run_dir)
    contents = state.parent / "contents"
    # Mid-epoch of member 2's holdout fit: its first epoch is saved, it trains the next.
    _, stderr = kill_when(run_dir, lambda: (state / "holdout-member-2.epoch.npz").exists())
    # Off a terminal each finished epoch is one line on stderr: `member 2/2 holdout epoch 3/8 ...`.
    pattern = r"^member 2/2 holdout epoch (\d+)/"
    finished = [int(epoch) for epoch in re.findall(pattern, stderr, re.MULTILINE)]
    # During the refit, after resuming member 2 where it stopped.
    _, stderr = kill_when(run_dir, lambda: any(state.glob("refit-*")))
    [after] = resumed_after(stderr)
    assert after >= finished[-1], "at most the epoch in progress is trained again"
    # While the run's files are written (each plot waits a few seconds first).
    _, stderr = kill_when(
        run_dir, lambda: (contents / "forecast_test.csv").exists(), "--slow-write", "5"
    )
    assert "resuming the unfinished run directory" in stderr
    final = train_process(run_dir)
    _, stderr = final.communicate(timeout=600)
    assert final.returncode == 0, stderr
    assert " epoch " not in stderr, "everything was trained before; the write is done again"
    for name in ("metrics.json", "history.csv", "forecast_test.csv", "scaler.json"):
        assert (run_dir / name).read_text() == (straight.path / name).read_text(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["model"] == straight.metrics["model"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["killed", "straight"]
