"""What a long command reports while it runs: its steps with their durations, and each epoch.

The library emits events; listeners decide what to do with them (a benchmark adds up the time
of each step, a progress printer writes lines). Nothing in the library prints an event itself.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """One thing that happened.

    Attributes:
        kind: `"step"` (a named step finished; `seconds` is its duration; the `fit` step of a
            member has `member`, `members` and `phase`), `"epoch"` (a training epoch finished;
            `fields` hold member, members, phase, epoch, epochs, the losses and the learning
            rate), `"run"` (name `"start"`: the folder being staged, its final path and the
            resolved config), `"fold"` (name `"start"` or `"end"` of a backtest fold; at the
            end its metrics), `"metrics"` (the final figures of a command), `"trial"` (a
            finished trial of `tune`) or `"note"` (something a user should know, e.g. that a
            stopped run resumes; `fields` hold its `text`).
        name: the step's name, e.g. `"fit"`; the phase for an epoch.
        seconds: how long the step took; for an epoch, the time since the command started.
        fields: anything else worth knowing, e.g. `{"member": 2, "epoch": 7, "loss": 0.1}`.
    """

    kind: str
    name: str
    seconds: float
    fields: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[Event], None]


class Events:
    """Where a command reports what it does; every listener receives every event.

    Example:
        >>> seen = []
        >>> events = Events(seen.append)
        >>> with events.step("load data"):
        ...     pass
        >>> seen[0].kind, seen[0].name
        ('step', 'load data')
    """

    def __init__(self, *listeners: Listener) -> None:
        self.listeners = list(listeners)
        self.started = time.perf_counter()
        self.labels: dict[str, Any] = {}

    def extended(self, *listeners: Listener, **labels: Any) -> Events:
        """Events reporting to these listeners and `listeners`, timed from the same start, with
        `labels` added to the fields of every event (a backtest's `fold`, say).

        Example:
            >>> seen = []
            >>> Events(seen.append).extended(fold=2).emit("epoch", "holdout", epoch=1)
            >>> seen[0].fields
            {'fold': 2, 'epoch': 1}
        """
        events = Events(*self.listeners, *listeners)
        events.started = self.started
        events.labels = {**self.labels, **labels}
        return events

    def emit(self, kind: str, name: str, seconds: float | None = None, **fields: Any) -> None:
        """Send one event to every listener; `seconds` defaults to the time since the start."""
        elapsed = time.perf_counter() - self.started if seconds is None else seconds
        event = Event(kind, name, elapsed, {**self.labels, **fields})
        for listener in self.listeners:
            listener(event)

    def note(self, text: str) -> None:
        """Report something a user should know as a `note` event (the CLI prints it on stderr)."""
        self.emit("note", "note", text=text)

    @contextlib.contextmanager
    def step(self, name: str, **fields: Any) -> Iterator[None]:
        """Time the block and report it as a `step` event when it ends (also on failure)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.emit("step", name, time.perf_counter() - start, **fields)


def step_seconds(events: list[Event]) -> dict[str, float]:
    """The total seconds of each named step, in order of first appearance.

    Example:
        >>> step_seconds([Event("step", "fit", 1.0), Event("step", "fit", 2.0)])
        {'fit': 3.0}
    """
    totals: dict[str, float] = {}
    for event in events:
        if event.kind == "step":
            totals[event.name] = totals.get(event.name, 0.0) + event.seconds
    return totals
