"""Helpers shared by the benchmark scripts: plain-text tables and timed child processes."""

from __future__ import annotations

import subprocess
import time


def timed_run(
    command: list[str], environment: dict[str, str], timeout: float
) -> tuple[subprocess.CompletedProcess, float]:
    """Run `command` to completion, capturing its text output; the result and its wall time."""
    start = time.perf_counter()
    finished = subprocess.run(
        command, capture_output=True, text=True, env=environment, timeout=timeout, check=False
    )
    return finished, time.perf_counter() - start


def table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell; the first left-aligned, the others right-aligned."""
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]

    def line(row: list[str]) -> str:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])
