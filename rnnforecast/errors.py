"""Errors the library raises on bad input, each carrying the CLI exit code for its kind, and the
helpers that keep what their messages quote of the input short.

The exit codes are part of the command-line contract (see README, "Exit codes"):
0 success, 1 unexpected internal error, 2 command-line usage error (Typer), 3 config error,
4 data error, 5 run-directory error, 6 output error, 7 busy (another process writes the same run
directory), 8 worker error (a worker died, or Ray could not be used), 130 interrupted, 141 stdout
closed.
"""

from __future__ import annotations

import reprlib
from pathlib import Path

# A message quotes at most this much of any one input value (a key, a value, a path).
MAX_QUOTED = 80

_repr = reprlib.Repr()
_repr.maxstring = MAX_QUOTED
_repr.maxother = MAX_QUOTED
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxdict = 6
_repr.maxlevel = 3


class RnnForecastError(Exception):
    """A problem the user can fix, reported as `Error: <message>` without a traceback."""

    exit_code = 1


class ConfigError(RnnForecastError):
    """The YAML config or a `--set` override is missing, malformed or inconsistent."""

    exit_code = 3


class DataError(RnnForecastError):
    """An input data file is missing, unreadable, or its columns or values are unusable."""

    exit_code = 4


class RunError(RnnForecastError):
    """A run directory is missing, incomplete, or was written by an incompatible version."""

    exit_code = 5


class OutputError(RnnForecastError):
    """A run directory or output file cannot be written where it was asked for."""

    exit_code = 6


class BusyError(RnnForecastError):
    """Another process holds the lock of the run directory or backtest folder asked for: it is
    writing it right now. Nothing was touched; waiting for that process and retrying is safe."""

    exit_code = 7


class WorkerError(RnnForecastError):
    """A worker process (or Ray worker) died while it ran a job, or the Ray cluster could not be
    started or reached. What finished is kept in the staging folder: run again to resume."""

    exit_code = 8


INTERRUPTED_EXIT_CODE = 130
# 128 + SIGPIPE: what a shell reports for a command whose reader (`head`) stopped reading.
CLOSED_PIPE_EXIT_CODE = 141


def shorten(text: str, limit: int = MAX_QUOTED) -> str:
    """`text` on one line and at most `limit` characters, "..." marking a cut.

    Example:
        >>> shorten("x" * 100, 10)
        'xxxxxxx...'
    """
    flat = text.replace("\r", "\\r").replace("\n", "\\n")
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def quoted(value: object) -> str:
    """A short repr of any input value, however large or deeply nested, in bounded time."""
    return shorten(_repr.repr(value))


def check_path(path: Path | str, error: type[RnnForecastError], role: str) -> None:
    """Raise `error` naming `role` when `path` holds a NUL byte, which no file name can hold
    (the operating system would refuse it with a bare ValueError)."""
    if "\0" in str(path):
        raise error(
            f"{role}: a path cannot hold a NUL byte (\\0). Give a path without it. "
            f"Received: path={quoted(str(path))}"
        )
