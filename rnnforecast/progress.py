"""Listeners that show a long command's events: one text line per epoch for logs, or one JSON
object per event for schedulers.

The library emits events (`events.Events`); these listeners write them to stderr, so stdout
keeps the command's result. Keras' own progress bar is for a terminal only; off a terminal
`EpochLines` replaces it with a line that says which member, phase and fold an epoch belongs
to, e.g. ``fold 2/3 member 2/5 holdout epoch 7/120 12.3s loss 0.0412 val_loss 0.0533``.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import sys
from typing import Any, TextIO

from rnnforecast.events import Event, Events

PROGRESS_CHOICES = ("auto", "bar", "epoch", "none")
# The losses go last, in this order, then any other figure Keras logs.
LOSS_ORDER = ("loss", "val_loss")
FIT_STEP = "fit"


def resolved_progress(progress: str) -> str:
    """`auto` as what it means here: Keras' bar on a terminal, one line per epoch otherwise
    (a cron log, a pipe); the other choices as they are.

    Example:
        >>> resolved_progress("none")
        'none'
    """
    if progress not in PROGRESS_CHOICES:
        raise ValueError(f"progress must be one of {', '.join(PROGRESS_CHOICES)}: {progress!r}")
    if progress == "auto":
        return "bar" if sys.stdout.isatty() else "epoch"
    return progress


def with_progress(events: Events | None, progress: str) -> Events:
    """`events` (new ones when None), plus `EpochLines` on stderr when `progress` resolves to
    one line per epoch."""
    events = events or Events()
    if resolved_progress(progress) == "epoch":
        return events.extended(EpochLines())
    return events


def _stream(stream: TextIO | None) -> TextIO:
    # Looked up at each write, so a redirected stderr (a test runner's) is the one written.
    return stream if stream is not None else sys.stderr


def _write(stream: TextIO | None, line: str) -> None:
    # A progress line that cannot be written (stderr closed) must not stop the training.
    with contextlib.suppress(OSError, ValueError):
        out = _stream(stream)
        out.write(line + "\n")
        out.flush()


class EpochLines:
    """Writes one line per finished epoch: fold (in a backtest), member, phase, epoch, the
    time since the command started and the losses."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def __call__(self, event: Event) -> None:
        if event.kind == "epoch":
            _write(self.stream, epoch_line(event))


def epoch_line(event: Event) -> str:
    """The text line of an `epoch` event.

    Example:
        >>> fields = {"member": 2, "members": 5, "epoch": 7, "epochs": 120, "loss": 0.04123}
        >>> epoch_line(Event("epoch", "holdout", 12.34, fields))
        'member 2/5 holdout epoch 7/120 12.3s loss 0.04123'
    """
    fields = event.fields
    parts = []
    if "fold" in fields:
        parts.append(f"fold {fields['fold']}/{fields.get('folds', '?')}")
    parts += [
        f"member {fields.get('member', 1)}/{fields.get('members', 1)}",
        event.name,
        f"epoch {fields.get('epoch')}/{fields.get('epochs')}",
        f"{event.seconds:.1f}s",
    ]
    parts += [f"{name} {value:.4g}" for name, value in _figures(fields)]
    return " ".join(parts)


def _figures(fields: dict[str, Any]) -> list[tuple[str, float]]:
    """The losses (then any other figure Keras logged) among an epoch's fields."""
    known = {"fold", "folds", "member", "members", "epoch", "epochs"}
    names = [name for name in LOSS_ORDER if name in fields]
    names += sorted(name for name in fields if name not in known and name not in LOSS_ORDER)
    return [(name, float(fields[name])) for name in names if _is_number(fields[name])]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class JsonLines:
    """Writes one JSON object per line: each library event, and what the command adds (start,
    notes, the result written, an error with its exit code).

    Every object has `event` (its kind) and `time` (UTC, ISO 8601); a number that is not finite
    (a diverged loss) is written as null, so each line is valid JSON. The events:

    - `start`: `command`, `version` and the command's arguments;
    - `epoch`: `phase` (`holdout` or `refit`), `member`, `members`, `epoch`, `epochs`,
      `elapsed` (seconds since the start) and the losses (`loss`, `val_loss`), plus `fold` and
      `folds` in a backtest;
    - `member_done`: a member's fit ended: `phase`, `member`, `members`, `seconds` (and fold);
      members that trained together as one model end together, in one object with their
      numbers in `packed` (`member` is the first);
    - `step`: another step ended: `name`, `seconds`;
    - `note`: what reading the data found or repaired, or that a stopped run resumes:
      `message`;
    - `run_written` / `backtest_written`: `path` and the headline figures;
    - `error`: `exit_code` and `message`, the `Error:` line text mode prints.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def __call__(self, event: Event) -> None:
        if event.kind == "epoch":
            self.write("epoch", phase=event.name, **event.fields, elapsed=round(event.seconds, 3))
        elif event.kind == "step" and event.name == FIT_STEP:
            self.write("member_done", **event.fields, seconds=round(event.seconds, 3))
        elif event.kind == "step":
            self.write("step", name=event.name, **event.fields, seconds=round(event.seconds, 4))
        elif event.kind == "note":
            self.write("note", message=event.fields["text"])

    def write(self, kind: str, /, **fields: Any) -> None:
        """Write one object: `{"event": kind, "time": ..., **fields}`."""
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        record = {"event": kind, "time": now.replace("+00:00", "Z"), **fields}
        _write(self.stream, json.dumps(_finite(record), default=str))


def _finite(value: Any) -> Any:
    """`value` with every non-finite float (NaN, infinity) as None, which JSON can hold."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
