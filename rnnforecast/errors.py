"""Errors the library raises on bad input, each carrying the CLI exit code for its kind.

The exit codes are part of the command-line contract (see README, "Exit codes"):
0 success, 1 unexpected internal error, 2 command-line usage error (Typer), 3 config error,
4 data error, 5 run-directory error, 6 output error, 130 interrupted.
"""

from __future__ import annotations


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


INTERRUPTED_EXIT_CODE = 130
