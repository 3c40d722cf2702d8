"""Stopping a run on SIGTERM, SIGHUP or Ctrl-C at a safe point.

An exception raised from a signal handler lands at an arbitrary point of the interpreter; inside
Keras' training loop that can leave TensorFlow's input pipeline half torn down (seen as a crash
at exit). While training, a signal therefore only asks to stop: the training loop stops after
the current batch and `train` then raises `KeyboardInterrupt`, which cleans up the run as any
failure does. Elsewhere a signal raises `KeyboardInterrupt` at once.

Only the first signal acts: once stopping, further signals (a scheduler sending SIGTERM twice,
an impatient second Ctrl-C) are ignored, so they cannot cut the clean-up short or end the
process with another code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

_deferring = False
_requested = False
_stopping = False


def handle_signal(signum: int, frame: Any) -> None:
    """Signal handler: interrupt now, or ask the running training loop to stop; ignore any
    signal after the first."""
    global _requested, _stopping
    if _stopping:
        return
    _stopping = True
    if _deferring:
        _requested = True
    else:
        raise KeyboardInterrupt


def stop_requested() -> bool:
    """Whether a signal arrived while interruptions were deferred."""
    return _requested


def stopping() -> bool:
    """Whether a signal arrived since the last `reset()`: the command is stopping."""
    return _stopping


def reset() -> None:
    """Forget earlier signals (a new command starts)."""
    global _deferring, _requested, _stopping
    _deferring = _requested = _stopping = False


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within the block a signal only sets `stop_requested()`; on leaving the block a request
    becomes `KeyboardInterrupt`."""
    global _deferring, _requested
    _deferring, _requested = True, False
    try:
        yield
    finally:
        _deferring = False
    if _requested:
        _requested = False
        raise KeyboardInterrupt
