"""Progress off a terminal (one line per epoch) and JSON lines for schedulers."""

import io
import json

import pytest

from rnnforecast.events import Event, Events
from rnnforecast.progress import EpochLines, JsonLines, epoch_line, resolved_progress, with_progress


def epoch(**fields) -> Event:
    base = {"member": 2, "members": 5, "epoch": 7, "epochs": 120}
    return Event("epoch", "holdout", 12.34, {**base, **fields})


def test_an_epoch_line_says_member_phase_epoch_time_and_losses():
    assert epoch_line(epoch(val_loss=0.05331, loss=0.04123)) == (
        "member 2/5 holdout epoch 7/120 12.3s loss 0.04123 val_loss 0.05331"
    )
    assert epoch_line(epoch(fold=2, folds=3, loss=0.5)) == (
        "fold 2/3 member 2/5 holdout epoch 7/120 12.3s loss 0.5"
    )


def test_epoch_lines_write_epochs_only():
    stream = io.StringIO()
    lines = EpochLines(stream)
    lines(Event("step", "fit", 1.0, {"member": 1}))
    lines(epoch(loss=0.1))
    assert stream.getvalue() == "member 2/5 holdout epoch 7/120 12.3s loss 0.1\n"


def test_off_a_terminal_auto_is_one_line_per_epoch(capsys):
    # Under pytest stdout is captured: not a terminal.
    assert resolved_progress("auto") == "epoch" and resolved_progress("bar") == "bar"
    with pytest.raises(ValueError, match="progress must be one of"):
        resolved_progress("loud")
    events = with_progress(None, "auto")
    events.emit("epoch", "refit", member=1, members=1, epoch=1, epochs=2, loss=0.25)
    assert capsys.readouterr().err == f"member 1/1 refit epoch 1/2 {0.0:.1f}s loss 0.25\n"
    quiet = with_progress(Events(), "none")
    quiet.emit("epoch", "refit", member=1, members=1, epoch=1, epochs=2, loss=0.25)
    assert capsys.readouterr().err == ""


def test_json_lines_are_valid_json_one_object_per_event():
    stream = io.StringIO()
    log = JsonLines(stream)
    log(epoch(loss=float("nan"), val_loss=0.5))
    log(Event("step", "fit", 3.21, {"member": 2, "members": 5, "phase": "refit"}))
    log(Event("step", "plots", 0.5))
    log.write("error", exit_code=4, message="data.csv: ...")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [record["event"] for record in records] == ["epoch", "member_done", "step", "error"]
    assert records[0]["loss"] is None and records[0]["val_loss"] == 0.5
    assert records[0]["phase"] == "holdout" and records[0]["elapsed"] == 12.34
    assert records[1] == {**records[1], "member": 2, "phase": "refit", "seconds": 3.21}
    assert records[2]["name"] == "plots" and records[3]["exit_code"] == 4
    assert all(record["time"].endswith("Z") for record in records)
