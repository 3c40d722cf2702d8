"""Writes the small exports in this folder, each shaped like a file from a real system.

Run `python tests/data/make_exports.py` to write them again; the output is the same every
time (seeded values, no timestamps in the gzip header). `tests/test_exports.py` reads them.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def weekly_with_missing_values() -> None:
    """A meter read every Monday: empty cells, a week without a row, and no first reading."""
    weeks = pd.date_range("2023-01-02", periods=60, freq="W-MON")
    rng = np.random.default_rng(1)
    reading = 50 + 5 * np.sin(2 * np.pi * np.arange(60) / 52) + rng.normal(0, 0.5, 60)
    lines = ["date,reading"]
    for index, (week, value) in enumerate(zip(weeks, reading, strict=True)):
        if index == 20:
            continue  # the row of a week is missing altogether
        cell = "" if index in (0, 7, 8, 33) else f"{value:.2f}"
        lines.append(f"{week.date()},{cell}")
    (HERE / "weekly_missing.csv").write_text("\n".join(lines) + "\n")


def hourly_across_summer_time() -> None:
    """Hourly load in Berlin local time with offsets: the clocks jump at 2023-03-26 02:00."""
    instants = pd.date_range("2023-03-24 00:00", periods=120, freq="h", tz="Europe/Berlin")
    hours = instants.tz_convert("UTC").hour.to_numpy()
    load = 400 + 80 * np.sin(2 * np.pi * (hours - 6) / 24)
    lines = ["timestamp,load_mw"]
    for instant, value in zip(instants, load, strict=True):
        lines.append(f"{instant.isoformat()},{value:.1f}")
    (HERE / "hourly_dst_offsets.csv").write_text("\n".join(lines) + "\n")


def european_spreadsheet() -> None:
    """A German spreadsheet export: `;`, decimal comma, day-first dates, Windows-1252."""
    days = pd.date_range("2023-01-01", periods=70, freq="D")
    rng = np.random.default_rng(2)
    sales = 1200 + 150 * np.sin(2 * np.pi * np.arange(70) / 7) + rng.normal(0, 20, 70)
    lines = ["Datum;Verkäufe (€);Bemerkung"]
    for day, value in zip(days, sales, strict=True):
        remark = "Feiertag" if day.day_of_week == 6 else "Prüfung"
        lines.append(f"{day:%d.%m.%Y};{f'{value:.2f}'.replace('.', ',')};{remark}")
    (HERE / "european_export.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


def monthly_gzip() -> None:
    """Monthly passengers, compressed: `monthly.csv.gz`."""
    months = pd.date_range("2018-01-01", periods=48, freq="MS")
    steps = np.arange(48)
    passengers = 300 + 2 * steps + 40 * np.sin(2 * np.pi * steps / 12)
    text = "month,passengers\n" + "".join(
        f"{month.date()},{value:.1f}\n" for month, value in zip(months, passengers, strict=True)
    )
    with (
        (HERE / "monthly.csv.gz").open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as handle,
    ):
        handle.write(text.encode())


def tab_separated_utc() -> None:
    """Six-hourly readings with UTC `Z` timestamps, tab separated."""
    instants = pd.date_range("2024-01-01", periods=80, freq="6h", tz="UTC")
    values = 20 + 3 * np.sin(2 * np.pi * np.arange(80) / 4)
    lines = ["time\tvalue"]
    for instant, value in zip(instants, values, strict=True):
        lines.append(f"{instant:%Y-%m-%dT%H:%M:%SZ}\t{value:.3f}")
    (HERE / "utc_z.tsv").write_text("\n".join(lines) + "\n")


def long_string_ids() -> None:
    """Daily sales of three stores whose ids have leading zeros; store 002 skips two days
    and has an empty cell."""
    days = pd.date_range("2024-01-01", periods=40, freq="D")
    lines = ["store_id,date,sales"]
    for offset, store in enumerate(("001", "002", "010")):
        for index, day in enumerate(days):
            if store == "002" and index in (10, 11):
                continue
            value = "" if store == "002" and index == 25 else f"{100 * (offset + 1) + index % 7}"
            lines.append(f"{store},{day.date()},{value}")
    (HERE / "long_string_ids.csv").write_text("\n".join(lines) + "\n")


def business_days_without_holidays() -> None:
    """Closing prices on business days; the exchange was closed on three holidays."""
    days = pd.bdate_range("2023-11-01", "2024-01-31")
    holidays = pd.DatetimeIndex(["2023-11-23", "2023-12-25", "2024-01-01"])
    days = days.difference(holidays)
    close = 100 + np.cumsum(np.random.default_rng(3).normal(0, 1, len(days)))
    lines = ["Date,Close"]
    for day, value in zip(days, close, strict=True):
        lines.append(f"{day.date()},{value:.2f}")
    (HERE / "business_days.csv").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    weekly_with_missing_values()
    hourly_across_summer_time()
    european_spreadsheet()
    monthly_gzip()
    tab_separated_utc()
    long_string_ids()
    business_days_without_holidays()
