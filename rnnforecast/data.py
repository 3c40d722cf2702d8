"""Reading series: CSV/Parquet files or the synthetic sine-plus-noise, checked, made regular
and split by id.

Real exports are read as they come: the separator, decimal mark, encoding, time column and date
order are found from the file when the config leaves them out; offsets and `Z` are parsed; ids
stay text; empty cells and missing timestamps are filled by `data.missing`. What was found or
filled is recorded in `Dataset.notes` (and logged at INFO on `rnnforecast.data`, which the CLI
prints as `Note: ...` lines) rather than printed. Every problem a user can fix raises
`DataError` naming the file, the column and the fix.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import datetime
import difflib
import gzip
import hashlib
import logging
import lzma
import re
import warnings
import zipfile
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from rnnforecast.config import (
    COMPRESSION_SUFFIXES,
    NO_TIME_COLUMN,
    CsvConfig,
    DataConfig,
    source_of,
)
from rnnforecast.errors import DataError, check_path, quoted, shorten
from rnnforecast.frequency import cadence

LOGGER = logging.getLogger(__name__)

STEP_COLUMN = "step"
SYNTHETIC_TARGET = "value"
# Enough lines to tell the separator and the decimal mark, read without the whole file.
SAMPLE_BYTES = 64 * 1024
SAMPLE_LINES = 50
SEPARATORS = (",", ";", "\t", "|")
# Column names that say "time" in exports (Prophet's `ds` included), and integer columns that
# may be steps; a numeric column named otherwise is a value, never the time.
TIME_NAMES = frozenset(
    {"date", "ds", "time", "timestamp", "datetime", "period", "month", "week", "day", "year"}
    | {"quarter", "hour", "datum", "zeit", "fecha", "periodo", "mois", "monat", "jahr"}
)
TIME_WORDS = ("date", "time", "datum", "zeit", "fecha")
# Column names of series ids in long-format exports (besides `id` and `..._id`).
ID_NAMES = frozenset({"series", "key", "item", "sku", "store", "station", "sensor", "meter"})
STEP_NAMES = frozenset({"step", "t", "time", "period", "year", "index"})
DATE_LIKE = re.compile(
    r"\d{4}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{4}-?[Qq]\d|\d{1,2}:\d{2}"
)
# A NUL byte in the first KiB marks a binary file, never CSV text (nor UTF-8 text of any kind).
BINARY_SNIFF_BYTES = 1024
# Values are refused beyond these magnitudes so that every metric stays finite (float64 ends
# near 1.8e308): the wildest forecast, a float32 network output (up to 3.4e38) in the units of
# a series spanning 2e100, errs by under 1e139, so squared errors stay below 1e278; percentage
# and scaled errors divide by an actual value (or a mean difference of such values), which a
# non-zero value of at least 1e-100 keeps above about 1e-116. Real data lie far inside both.
MAX_MAGNITUDE = 1e100
MIN_MAGNITUDE = 1e-100
TRAILING_OFFSET = re.compile(r"\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")
ONE_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Series:
    """One series: its id (None for a single series), timestamps and values.

    `values` has shape `(length, 1 + covariates + future covariates)`, float64 (original
    units keep their precision; scaling makes float32 inputs), the target in column 0.
    `time` is a `DatetimeIndex` or an integer index of steps, regular at the dataset's
    frequency. `observed` has shape `(length,)`, bool: False where `data.missing` filled the
    target (an empty cell, or a row inserted at a missing timestamp); all True when nothing
    was filled. Filled covariates do not clear it.
    """

    id: str | None
    time: pd.Index
    values: np.ndarray
    observed: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.observed is None:
            object.__setattr__(self, "observed", np.ones(len(self.values), dtype=bool))

    @property
    def target(self) -> np.ndarray:
        """The target column, shape `(length,)`."""
        return self.values[:, 0]

    @property
    def observed_target(self) -> np.ndarray:
        """The target as observed, shape `(length,)`: NaN where `data.missing` filled it. What
        forecasts are scored against, so a filled point is never scored."""
        return np.where(self.observed, self.values[:, 0], np.nan)

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class MissingSummary:
    """What `data.missing` did to a dataset, for `metrics.json` and the printed note.

    Attributes:
        filled: per value column, the cells filled (those of inserted rows included).
        inserted: rows inserted at timestamps missing from the frequency.
        dropped: rows dropped at the start or end of series for want of a target value.
    """

    policy: str
    filled: dict[str, int]
    inserted: int = 0
    dropped: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: `{"policy", "filled": {column: count}, "inserted_rows", "dropped_rows"}`."""
        return {
            "policy": self.policy,
            "filled": dict(self.filled),
            "inserted_rows": self.inserted,
            "dropped_rows": self.dropped,
        }


@dataclass(frozen=True)
class TimeReading:
    """How a time column is read, so a second file of the same data (`--future`) is read alike.

    Attributes:
        date_format: strftime codes, `ISO8601`, or None to infer from the values.
        dayfirst: dates such as 01/02/2024 are day first; None to decide from the values.
        timezone: IANA zone naive local times are in (`data.timezone`).
        decimal_comma: the file writes 12,5: ambiguous dates are then day first.
    """

    date_format: str | None = None
    dayfirst: bool | None = None
    timezone: str | None = None
    decimal_comma: bool = False


@dataclass(frozen=True)
class ParsedTimes:
    """A whole time column parsed once.

    Attributes:
        values: naive timestamps (UTC when `in_utc`, else wall-clock) or integer steps.
        timezone: the zone forecasts are written in (IANA name, `+02:00` or `UTC`), or None.
        in_utc: sub-daily data with offsets or a zone: `values` are UTC, so an hour is an
            hour across a change of summer time.
        localize: IANA zone of naive sub-daily local times, converted to UTC per series
            (a repeated hour is told apart by its order).
        reading: the settings that read it, with the date order found.
    """

    values: pd.DatetimeIndex | np.ndarray
    timezone: str | None = None
    in_utc: bool = False
    localize: str | None = None
    reading: TimeReading = field(default_factory=TimeReading)


@dataclass(frozen=True)
class CsvDialect:
    """How one CSV file is written: separator, decimal mark, encoding."""

    sep: str
    decimal: str
    encoding: str
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dataset:
    """All series of one source, with what the pipeline needs to know about them.

    Attributes:
        time_column: the time column used, configured or found in the file (None: steps).
        timezone: the zone of the input's timestamps, forecasts are written in it (see
            `output_time`): `data.timezone`, else the offset of the latest timestamp
            (`+02:00`, `UTC`), None for naive timestamps.
        times_in_utc: the series' timestamps are naive UTC (sub-daily data with a zone),
            else wall-clock (dates keep their calendar day whatever the offset).
        notes: what was chosen or repaired while reading, one line each, for the caller to
            report (the column used as time, the date order, filled values ...).
        missing: counts of what `data.missing` filled; None for the synthetic series.
        time_reading: how the time column was read (date order found), for `--future`.
    """

    series: list[Series]
    target: str
    covariates: list[str]
    time_column: str | None
    id_column: str | None
    frequency: str | None
    season_length: int
    source: str
    checksum: str | None = None
    future_covariates: tuple[str, ...] = ()
    timezone: str | None = None
    times_in_utc: bool = False
    notes: tuple[str, ...] = ()
    missing: MissingSummary | None = None
    time_reading: TimeReading = field(default_factory=TimeReading)

    @property
    def features(self) -> int:
        """Value columns per step: the target, the past and the future covariates."""
        return 1 + len(self.covariates) + len(self.future_covariates)

    @property
    def value_columns(self) -> list[str]:
        """The names of the value columns, in order."""
        return [self.target, *self.covariates, *self.future_covariates]

    def label(self, series: Series) -> str:
        """How messages name a series: the file, plus the id in long format."""
        return series_label(self.source, series.id)

    def output_time(self, time: pd.Index) -> pd.Index:
        """Timestamps of this data as the input wrote them: in its zone or offset.

        Integer steps and data without a zone come back unchanged; UTC times (sub-daily data)
        are converted to the zone, wall-clock dates are labelled with it.

        Example:
            >>> data = Dataset([], "y", [], "time", None, "h", 24, "x.csv", timezone="+02:00",
            ...                times_in_utc=True)
            >>> str(data.output_time(pd.DatetimeIndex(["2024-03-31 01:00"]))[0])
            '2024-03-31 03:00:00+02:00'
        """
        if self.timezone is None or not isinstance(time, pd.DatetimeIndex):
            return time
        zone = time_zone(self.timezone)
        if self.times_in_utc:
            return time.tz_localize("UTC").tz_convert(zone)
        return time.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")


def series_label(source: str, series_id: str | None) -> str:
    """How messages name a series: the file, plus the (shortened) id in long format."""
    return source if series_id is None else f"{source} (series {quoted(series_id)})"


def time_zone(name: str) -> datetime.tzinfo:
    """A zone from its name: an IANA name, `UTC`, or a fixed offset such as `+02:00`."""
    match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", name)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        offset = datetime.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
        return datetime.timezone(sign * offset)
    return zoneinfo.ZoneInfo(name)


def load_dataset(config: DataConfig, path: Path | None = None) -> Dataset:
    """Read the series that `config` describes, optionally from another file with its columns.

    Args:
        config: the `data` section.
        path: read this file instead of `config.path` (new data for a trained run).

    Returns:
        A checked `Dataset`; each series has at least two points and regular timestamps
        (gaps filled by `data.missing`).

    Example:
        `load_dataset(DataConfig(path=Path("data/a10.csv"), time_column="date", target="sales"))`
    """
    if config.source == "synthetic" and path is None:
        return synthetic_dataset(config)
    file = Path(path) if path is not None else config.path
    if file is None and config.source == "dataframe":
        raise DataError(
            "the data came from a pandas DataFrame in Python (`data.source: dataframe`), so "
            "there is no file to read again: pass the data (--input FILE on the command line, "
            "`data=` in Python)."
        )
    if file is None:
        raise DataError(f"`data.path` is required when `data.source` is {config.source!r}.")
    source = config.source if path is None else None
    kind = source if source in ("csv", "parquet") else source_of(file) or "csv"
    check_data_file(file, kind, config.csv.encoding)
    dialect = csv_dialect(file, config.csv) if kind == "csv" else None
    text = [config.id_column] if config.id_column else []
    if config.id_column is None and dialect is not None:
        # Columns that may turn out to be the id are read as text, so `001` stays `001`.
        values = {config.target, *config.covariates, *config.future_covariates}
        text = [name for name in dialect.columns if _named_like_id(name) and name not in values]
    frame = read_table(file, kind, dialect, text_columns=text)
    return dataset_from_frame(
        frame,
        config,
        str(file),
        checksum=file_checksum(file),
        decimal_comma=dialect is not None and dialect.decimal == ",",
    )


def read_table(
    path: Path,
    source: str | None = None,
    dialect: CsvDialect | None = None,
    text_columns: list[str] | tuple[str, ...] = (),
) -> pd.DataFrame:
    """Read a CSV or Parquet file into a frame; the format comes from `source` or the suffixes
    (`.csv.gz` is CSV, anything unknown too).

    Binary files given as CSV, and files too large for the memory available, are refused
    before any parsing, in milliseconds whatever their size.

    Args:
        dialect: how the CSV is written; found from its first lines when None.
        text_columns: read as text exactly as written (ids: `001` stays `001`).
    """
    kind = source if source in ("csv", "parquet") else source_of(path) or "csv"
    check_data_file(path, kind, dialect.encoding if dialect is not None else None)
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
            for column in text_columns:
                if column in frame.columns:
                    frame[column] = frame[column].astype(str)
            return frame
        dialect = dialect or csv_dialect(path, CsvConfig())
        return _read_csv(path, dialect, text_columns)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; expected a header row and data.") from None
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path}: cannot read it as text in {error.encoding}: {error.reason} at byte "
            f"{error.start}. Set `data.csv.encoding` to the file's encoding (e.g. cp1252, "
            f"latin-1, utf-16). Received: encoding={error.encoding!r}."
        ) from None
    except (pd.errors.ParserError, ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise DataError(
            f"{path}: cannot read it as {kind.upper()}: {shorten(first_line, 200)}. "
            f"Check that the file is a valid {kind.upper()} file."
        ) from None
    except Exception as error:  # pyarrow and the decompressors raise their own types
        raise DataError(
            f"{path}: cannot read it as {kind.upper()}: {type(error).__name__}: "
            f"{shorten(str(error), 200)}"
        ) from None


def check_data_file(path: Path, kind: str, encoding: str | None = None) -> None:
    """Refuse a path that names no regular file, a binary file given as CSV (NUL bytes in its
    first KiB of text, decompressed by the suffix; `encoding` or a byte-order mark tells
    UTF-16 and UTF-32 text, whose characters hold NUL bytes), or a file whose table would not
    fit in memory."""
    check_path(path, DataError, "the data file")
    if not path.exists():
        raise DataError(f"{path}: data file not found. Check `data.path` or --input.")
    if not path.is_file():
        raise DataError(
            f"{path}: not a regular file (a folder, device or pipe). Check `data.path` or --input."
        )
    try:
        size = path.stat().st_size
        head = b""
        if kind == "csv":
            head = _compressed_head(path)
    except OSError as error:
        raise DataError(f"{path}: cannot read it ({shorten(str(error), 200)}).") from None
    if _holds_nul(head, encoding):
        raise DataError(
            f"{path}: a binary file (it holds NUL bytes), not CSV text. Check `data.path` or "
            "--input; save text as UTF-8 CSV, and name Parquet files *.parquet."
        )
    # Parsing a CSV takes more memory than the text (numbers as float64, dates as objects); a
    # Parquet file's columns expand to their uncompressed size.
    needed = _csv_size(path, size) if kind == "csv" else _parquet_size(path, size)
    available = available_memory()
    if available is not None and needed > available:
        raise DataError(
            f"{path}: too large for this machine: its table takes at least "
            f"{needed / 2**30:.1f} GiB of memory, and {available / 2**30:.1f} GiB are available. "
            "Use a smaller extract (e.g. the recent history) or a machine with more memory. "
            f"Received: size={size}"
        )


def _compressed_head(path: Path) -> bytes:
    """The first KiB of a CSV's text, decompressed by the suffix; a compressed file that
    cannot be opened gives its raw bytes' verdict to the reading that follows (which names
    the decompression error), so nothing here."""
    if path.suffix.lower() not in COMPRESSION_SUFFIXES:
        with path.open("rb") as handle:
            return handle.read(BINARY_SNIFF_BYTES)
    try:
        with _open_binary(path) as handle:
            return handle.read(BINARY_SNIFF_BYTES)
    except (EOFError, lzma.LZMAError, zipfile.BadZipFile, gzip.BadGzipFile, OSError):
        return b""


def _holds_nul(head: bytes, encoding: str | None) -> bool:
    wide = encoding or _bom_encoding(head)
    if wide is not None and codecs.lookup(wide).name.startswith(("utf-16", "utf-32")):
        return "\0" in head.decode(wide, errors="ignore")
    return b"\0" in head


def _bom_encoding(head: bytes) -> str | None:
    """UTF-32 or UTF-16 when the text starts with their byte-order mark (32 first: its
    little-endian mark starts with UTF-16's)."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _csv_size(path: Path, size: int) -> int:
    """A lower bound of a CSV's text size: the file's size, or for gzip the uncompressed size
    its trailer records (modulo 4 GiB, so never more than the truth)."""
    if path.suffix.lower() != ".gz" or size < 4:
        return size
    with path.open("rb") as handle:
        handle.seek(-4, 2)
        return max(size, int.from_bytes(handle.read(4), "little"))


def _parquet_size(path: Path, size: int) -> int:
    """The uncompressed size of a Parquet file's data (the file's size if it cannot tell)."""
    try:
        import pyarrow.parquet as pq

        metadata = pq.read_metadata(path)
        total = sum(
            metadata.row_group(index).total_byte_size for index in range(metadata.num_row_groups)
        )
    except Exception:  # not Parquet: reading it reports that
        return size
    return max(total, size)


def available_memory() -> int | None:
    """Bytes of memory this process can still take: Linux's MemAvailable, lowered by the
    cgroup's limit (a container) when it has one; None where neither can be read."""
    available = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit != "max":
            room = max(0, int(limit) - int(used))
            available = room if available is None else min(available, room)
    except (OSError, ValueError):
        pass
    return available


def _read_csv(
    path: Path, dialect: CsvDialect, text_columns: list[str] | tuple[str, ...]
) -> pd.DataFrame:
    def read(encoding: str) -> pd.DataFrame:
        return pd.read_csv(
            path,
            sep=dialect.sep,
            decimal=dialect.decimal,
            encoding=encoding,
            dtype=dict.fromkeys(text_columns, str),
        )

    try:
        return read(dialect.encoding)
    except UnicodeDecodeError:
        # The sample was UTF-8 but a later line is not: a spreadsheet export, most likely.
        if dialect.encoding != "utf-8-sig":
            raise
        return read("cp1252")


def csv_dialect(path: Path, settings: CsvConfig) -> CsvDialect:
    """The separator, decimal mark and encoding of a CSV file: those `settings` give, the rest
    found from its first lines (decompressed by the suffix).

    Example:
        A spreadsheet export `Datum;Wert\\n01.02.2024;12,5` in Windows-1252 gives
        `CsvDialect(sep=";", decimal=",", encoding="cp1252")` when it holds a non-ASCII byte.
    """
    check_path(path, DataError, "the data file")
    if not path.is_file():
        raise DataError(f"{path}: data file not found. Check `data.path` or --input.")
    try:
        with _open_binary(path) as handle:
            head = handle.read(SAMPLE_BYTES)
    except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile) as error:
        raise DataError(
            f"{path}: cannot decompress it ({shorten(str(error), 200)}). Check that the file "
            "is complete and that its suffix (.gz, .bz2, .zip, .xz) matches how it was compressed."
        ) from None
    if len(head) == SAMPLE_BYTES:  # the last line is cut
        head = head[: head.rfind(b"\n") + 1] or head
    encoding = settings.encoding or _guess_encoding(head)
    lines = head.decode(encoding, errors="replace").splitlines()[:SAMPLE_LINES]
    lines = [line for line in lines if line.strip()]
    sep = settings.sep or _guess_separator(lines, path)
    decimal = settings.decimal or _guess_decimal(lines, sep)
    header = next(csv.reader(lines[:1], delimiter=sep), [])
    return CsvDialect(sep, decimal, encoding, tuple(name.strip() for name in header))


def _open_binary(path: Path) -> IO[bytes]:
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, "rb")
    if suffix == ".bz2":
        return bz2.open(path, "rb")
    if suffix == ".xz":
        return lzma.open(path, "rb")
    if suffix == ".zip":
        archive = zipfile.ZipFile(path)
        members = [name for name in archive.namelist() if not name.endswith("/")]
        if len(members) != 1:
            raise OSError(f"the zip archive holds {len(members)} files; pandas reads one")
        return archive.open(members[0])
    return path.open("rb")


def _guess_encoding(head: bytes) -> str:
    marked = _bom_encoding(head)
    if marked is not None:
        return marked
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        # Windows-1252 is what spreadsheets call Latin-1; it leaves five bytes undefined.
        try:
            head.decode("cp1252")
        except UnicodeDecodeError:
            return "latin-1"
        return "cp1252"
    return "utf-8-sig"  # UTF-8 that skips a byte-order mark when there is one


def _guess_separator(lines: list[str], path: Path) -> str:
    """The candidate that splits every sampled line into the same number (> 1) of fields, the
    most fields if several do; else the one that splits the header most."""
    preferred = ("\t", *SEPARATORS) if ".tsv" in [s.lower() for s in path.suffixes] else SEPARATORS
    counts = {
        sep: [len(fields) for fields in csv.reader(lines, delimiter=sep)]
        for sep in dict.fromkeys(preferred)
    }
    consistent = [sep for sep, found in counts.items() if found and min(found) == max(found) > 1]
    if consistent:
        return max(consistent, key=lambda sep: counts[sep][0])
    header = {sep: found[0] for sep, found in counts.items() if found}
    best = max(header, key=lambda sep: header[sep], default=",")
    return best if header.get(best, 1) > 1 else ","


def _guess_decimal(lines: list[str], sep: str) -> str:
    if sep == "," or len(lines) < 2:
        return "."
    fields = [value.strip() for row in csv.reader(lines[1:], delimiter=sep) for value in row]
    comma = sum(bool(re.fullmatch(r"[+-]?\d+,\d+", value)) for value in fields)
    point = sum(bool(re.fullmatch(r"[+-]?\d+\.\d+", value)) for value in fields)
    return "," if comma and not point else "."


def file_checksum(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_from_frame(
    frame: pd.DataFrame,
    config: DataConfig,
    source: str,
    checksum: str | None = None,
    decimal_comma: bool = False,
) -> Dataset:
    """Check a frame's columns and values, make each series regular and split them by id.

    Args:
        frame: one row per time step (per series in long format).
        config: names the time, target, id and covariate columns and the missing-value policy.
        source: how messages name the data (usually the file path).
        checksum: stored in the run manifest.
        decimal_comma: the file writes numbers like 12,5 (ambiguous dates are day first).
    """
    if frame.empty:
        raise DataError(f"{source}: no data rows; expected a header row and at least two rows.")
    frame.columns = [str(column) for column in frame.columns]
    notes: list[str] = []
    time_column = _time_column(frame, config, source, notes)
    id_column = _id_column(frame, config, time_column, source, notes)
    target = config.target or _only_numeric_column(frame, config, time_column, id_column, source)
    roles = [
        ("data.time_column", time_column),
        ("data.target", target),
        ("data.id_column", id_column),
        *(("data.covariates", name) for name in config.covariates),
        *(("data.future_covariates", name) for name in config.future_covariates),
    ]
    expected = [column for _, column in roles if column is not None]
    for role, column in roles:
        if column is not None and column not in frame.columns:
            raise DataError(_missing_column_message(source, role, column, frame.columns, expected))
    value_columns = [target, *config.covariates, *config.future_covariates]
    strict = config.missing == "error"
    numeric = {name: _numeric_column(frame[name], name, source, strict) for name in value_columns}
    values = np.column_stack([numeric[name] for name in value_columns])
    groups = _group_rows(frame, id_column, source)
    reading = TimeReading(config.date_format, config.dayfirst, config.timezone, decimal_comma)
    parsed = _parse_times(frame, time_column, source, reading, notes)
    frequency = config.frequency
    grids: dict[tuple[Any, Any], pd.Index] = {}
    series: list[Series] = []
    filled = np.zeros(len(value_columns), dtype=np.int64)
    inserted = dropped = 0
    for series_id, rows in groups:
        label = series_label(source, series_id)
        if len(rows) < 2:
            raise DataError(f"{label}: only {len(rows)} row(s); a series needs at least two.")
        # One frequency for all series: the first series' (or the configured one).
        time, positions, frequency = _series_time(
            parsed, rows, frequency, time_column, label, grids, strict
        )
        block = values[rows]
        if len(time) > len(rows):
            block = np.full((len(time), values.shape[1]), np.nan)
            block[positions] = values[rows]
            inserted += len(time) - len(rows)
        start, end, block, observed, counts = _fill(
            block, config.missing, config.max_filled, value_columns, label
        )
        if end - start < 2:
            raise DataError(
                f"{label}: only {end - start} row(s) with a target value; a series needs at "
                "least two."
            )
        dropped += len(time) - (end - start)
        filled += counts
        series.append(Series(series_id, time[start:end], block, observed))
    summary = MissingSummary(
        config.missing,
        {name: int(count) for name, count in zip(value_columns, filled, strict=True)},
        inserted,
        dropped,
    )
    dates = parsed is not None and isinstance(parsed.values, pd.DatetimeIndex)
    notes.extend(_missing_notes(summary, source))
    for note in notes:
        LOGGER.info(note)
    return Dataset(
        series=series,
        target=target,
        covariates=list(config.covariates),
        time_column=time_column,
        id_column=id_column,
        frequency=frequency if dates else None,
        season_length=config.season_length or cadence(frequency if dates else None).season_length,
        source=source,
        checksum=checksum,
        future_covariates=tuple(config.future_covariates),
        timezone=parsed.timezone if parsed is not None else None,
        times_in_utc=parsed is not None and parsed.in_utc,
        notes=tuple(notes),
        missing=summary,
        time_reading=parsed.reading if parsed is not None else reading,
    )


def synthetic_dataset(config: DataConfig) -> Dataset:
    """The sine-plus-noise series: amplitude * sin(w t) + trend * t + noise, t = 0 .. length-1.

    With `frequency: 0.02` and `noise: {kind: uniform, scale: 2.0}` this is the classic
    tutorial series sin(0.02 t) + 2 U(0, 1).
    """
    spec = config.synthetic
    steps = np.arange(spec.length)
    rng = np.random.default_rng(spec.seed)
    if spec.noise.kind == "uniform":
        noise = spec.noise.scale * rng.uniform(0.0, 1.0, spec.length)
    else:
        noise = rng.normal(0.0, spec.noise.scale, spec.length) if spec.noise.scale else 0.0
    target = spec.amplitude * np.sin(spec.angular_frequency * steps) + spec.trend * steps + noise
    period = 2 * np.pi / spec.angular_frequency
    return Dataset(
        series=[Series(None, pd.RangeIndex(spec.length), target.reshape(-1, 1))],
        target=SYNTHETIC_TARGET,
        covariates=[],
        time_column=None,
        id_column=None,
        frequency=None,
        season_length=config.season_length or max(1, round(period)),
        source="synthetic series",
    )


def _only_numeric_column(
    frame: pd.DataFrame,
    config: DataConfig,
    time_column: str | None,
    id_column: str | None,
    source: str,
) -> str:
    reserved = {
        time_column,
        id_column,
        *config.covariates,
        *config.future_covariates,
    }
    candidates = [
        column
        for column in frame.columns
        if column not in reserved and pd.api.types.is_numeric_dtype(frame[column])
    ]
    if len(candidates) == 1:
        return candidates[0]
    # Only numeric columns' names are quoted: their values show the file is a table of data.
    listed = _names(candidates) or "none"
    hint = ""
    commas = [
        column
        for column in frame.columns
        if column not in reserved
        and not pd.api.types.is_numeric_dtype(frame[column])
        and frame[column].astype(str).str.fullmatch(r"\s*[+-]?\d+,\d+\s*").any()
    ]
    if commas:
        hint = (
            f" Column {quoted(commas[0])} holds numbers with a decimal comma: set "
            "`data.csv.decimal: ','` (and `data.csv.sep`, often ';')."
        )
    raise DataError(
        f"{source}: cannot tell which column to forecast (numeric candidates: {listed}). "
        f"Set `data.target` to one of the columns.{hint}"
    )


def _missing_column_message(
    source: str, role: str, column: str, columns: pd.Index, expected: list[str]
) -> str:
    """Name the missing column; list the file's columns only when it holds another expected
    one, so a file that is not the data (a key, a password file) is never quoted."""
    if not any(name in columns for name in expected):
        return (
            f"{source}: none of the configured columns ({_names(expected)}) is in the file's "
            f"header row ({len(columns)} column(s)), so it does not look like the data file. "
            "Check `data.path` (or --input) and the column names."
        )
    close = difflib.get_close_matches(column, list(columns), n=1, cutoff=0.6)
    hint = f" Did you mean {quoted(close[0])}?" if close else ""
    return (
        f"{source}: column {quoted(column)} (`{role}`) not found.{hint} "
        f"Columns in the file: {_names(list(columns))}."
    )


def _names(columns: list[str], limit: int = 20) -> str:
    """Column names for a message, each shortened, at most `limit` of them."""
    shown = ", ".join(quoted(str(name)) for name in columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


def _numeric_column(column: pd.Series, name: str, source: str, strict: bool = True) -> np.ndarray:
    """The column as float64, NaN where a cell is empty (an error when `strict`)."""
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        converted = pd.to_numeric(column, errors="coerce")
        bad = np.flatnonzero((converted.isna() & column.notna()).to_numpy())
        if len(bad):
            raise DataError(
                f"{source}: column {quoted(name)} must be numeric, but row {bad[0] + 2} holds "
                f"{quoted(column.iloc[bad[0]])} ({len(bad)} non-numeric value(s)). "
                "Fix or remove those rows, or pick another column."
            )
        column = converted
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.flatnonzero(np.isinf(values))
    if len(infinite):
        raise DataError(
            f"{source}: column {quoted(name)} holds {len(infinite)} infinite value(s), first at "
            f"row {infinite[0] + 2} of the file. Fix them in the data (or leave the cells empty to "
            "have them filled by `data.missing`)."
        )
    missing = np.flatnonzero(np.isnan(values))
    if strict and len(missing):
        raise DataError(
            f"{source}: column {quoted(name)} has {len(missing)} missing value(s), first at row "
            f"{missing[0] + 2} of the file, and `data.missing` is `error`. Set `data.missing` "
            "to interpolate, forward_fill or zero, or fill them first."
        )
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):  # NaN (an empty cell) is neither
        extreme = np.flatnonzero(
            (magnitude > MAX_MAGNITUDE) | ((magnitude < MIN_MAGNITUDE) & (values != 0))
        )
    if len(extreme):
        row = extreme[0]
        raise DataError(
            f"{source}: column {quoted(name)} holds {values[row]:g} at row {row + 2} of the file "
            f"({len(extreme)} value(s) beyond {MAX_MAGNITUDE:g} or non-zero within "
            f"{MIN_MAGNITUDE:g} of zero), where the metrics would overflow to infinity. Change "
            "the unit of the column (e.g. divide by a power of ten). "
            f"Received: {quoted(name)}={values[row]:g}"
        )
    return values


def _group_rows(
    frame: pd.DataFrame, id_column: str | None, source: str
) -> list[tuple[str | None, np.ndarray]]:
    if id_column is None:
        return [(None, np.arange(len(frame)))]
    ids = frame[id_column]
    _require_filled(ids, "data.id_column", "a series id", source)
    # One sort instead of one comparison of the whole column per series.
    codes, labels = pd.factorize(ids.astype(str).to_numpy())
    order = np.argsort(codes, kind="stable")
    ends = np.searchsorted(codes[order], np.arange(len(labels) + 1))
    return [
        (str(label), order[ends[index] : ends[index + 1]]) for index, label in enumerate(labels)
    ]


def _require_filled(column: pd.Series, role: str, what: str, source: str) -> None:
    empty = np.flatnonzero(column.isna().to_numpy())
    if len(empty):
        raise DataError(
            f"{source}: column {quoted(column.name)} (`{role}`) is empty at row {empty[0] + 2}. "
            f"Every row needs {what}."
        )


def _time_column(
    frame: pd.DataFrame, config: DataConfig, source: str, notes: list[str]
) -> str | None:
    """The configured time column, or the one found in the file (said in `notes`): a column
    of dates (those named like a time first), else an integer column named like steps."""
    if config.time_column == NO_TIME_COLUMN:
        return None
    if config.time_column is not None:
        return config.time_column
    reserved = {config.target, config.id_column, *config.covariates, *config.future_covariates}
    columns = [column for column in frame.columns if column not in reserved]
    dates = [column for column in columns if _holds_dates(frame[column], column)]
    steps = [
        column
        for column in columns
        if _time_name(column) in STEP_NAMES and pd.api.types.is_integer_dtype(frame[column])
    ]
    # A name that says time wins over column order.
    named = [column for column in dates if _named_like_time(column)]
    chosen = (named or dates or steps or [None])[0]
    if chosen is None:
        notes.append(
            f"{source}: no column of dates found; the rows are read as consecutive steps "
            "(set data.time_column to choose one)"
        )
    else:
        notes.append(
            f"{source}: using column {quoted(chosen)} as the time column (set data.time_column to "
            "choose; none for integer steps)"
        )
    return chosen


def _id_column(
    frame: pd.DataFrame, config: DataConfig, time_column: str | None, source: str, notes: list[str]
) -> str | None:
    """The configured id column; or, when timestamps repeat (long format), the column named
    like an id, else of text, that tells the rows apart (said in `notes`)."""
    if config.id_column is not None or time_column is None or time_column not in frame.columns:
        return config.id_column
    if not frame[time_column].duplicated().any():
        return None
    reserved = {time_column, config.target, *config.covariates, *config.future_covariates}
    columns = [column for column in frame.columns if column not in reserved]
    named = [column for column in columns if _named_like_id(column)]
    text = [
        column
        for column in columns
        if not pd.api.types.is_numeric_dtype(frame[column])
        and not pd.api.types.is_datetime64_any_dtype(frame[column])
    ]
    for column in dict.fromkeys([*named, *text]):
        if not frame.duplicated([column, time_column]).any():
            notes.append(
                f"{source}: timestamps repeat, so column {quoted(column)} is used as the series id "
                "(set data.id_column to choose)"
            )
            return column
    return None


def _named_like_id(column: str) -> bool:
    """`id`, `unique_id`, `store_id`, `Store ID`, `series`, `sku` ..."""
    name = _time_name(column)
    return bool(re.search(r"(^|_)id$", name)) or name in ID_NAMES


def _time_name(column: str) -> str:
    return re.sub(r"[\s-]+", "_", column.strip().lower())


def _named_like_time(column: str) -> bool:
    """`date`, `ds`, `Order Date`, `timestamp_utc`, `Zeitstempel` ..."""
    name = _time_name(column)
    return name in TIME_NAMES or any(word in name for word in TIME_WORDS)


def _holds_dates(column: pd.Series, name: str) -> bool:
    """Whether a column holds dates: datetime values, or text that reads as dates (looking like
    dates, or in a column named like a time)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return True
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return False
    sample = column.dropna().astype(str).str.strip().head(20)
    if sample.empty:
        return False
    looks = sample.str.contains(DATE_LIKE).all()
    if not looks and not _named_like_time(name):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when it parses element by element
        try:
            parsed = pd.to_datetime(sample, format="mixed", errors="coerce", utc=True)
        except (ValueError, TypeError, OverflowError):
            return False
    return bool(parsed.notna().all())


def _parse_times(
    frame: pd.DataFrame,
    column: str | None,
    source: str,
    reading: TimeReading | None = None,
    notes: list[str] | None = None,
) -> ParsedTimes | None:
    """The whole time column parsed once: dates, integer steps, or None without a column.

    Offsets and `Z` are read as instants; sub-daily data with a zone is kept in UTC (an hour
    is an hour across a change of summer time), daily and coarser data keeps its calendar
    dates (the offset is dropped, a day stays a day).
    """
    if column is None:
        return None
    reading = reading or TimeReading()
    raw = frame[column]
    _require_filled(raw, "data.time_column", "a timestamp", source)
    if pd.api.types.is_integer_dtype(raw):
        return ParsedTimes(raw.to_numpy(dtype=np.int64), reading=reading)
    if pd.api.types.is_numeric_dtype(raw):
        numbers = raw.to_numpy(dtype=np.float64)
        if np.all(numbers == np.round(numbers)):
            return ParsedTimes(numbers.astype(np.int64), reading=reading)
        raise DataError(
            f"{source}: column {quoted(column)} (`data.time_column`) holds numbers that are not "
            f"whole steps (e.g. {float(numbers[numbers != np.round(numbers)][0])!r}). Use dates "
            "such as 1974-02-01, or integer step numbers."
        )
    if pd.api.types.is_datetime64_any_dtype(raw):  # Parquet, or parsed by the caller
        times, chosen = pd.DatetimeIndex(raw), (None, reading.dayfirst)
        written = times.tz
        utc = times.tz_convert("UTC").tz_localize(None) if written is not None else times
    else:
        text = raw.astype(str).str.strip()
        instants, chosen = _read_dates(text, column, source, reading, notes)
        written = _latest_zone(text, instants, chosen)
        utc = instants.tz_localize(None)
    reading = TimeReading(reading.date_format, chosen[1], reading.timezone, reading.decimal_comma)
    sub_daily = _sub_daily(utc)
    if written is not None:
        zone = reading.timezone or _zone_name(written)
        if sub_daily:
            return ParsedTimes(utc, zone, True, reading=reading)
        # Dates with offsets (often midnight in summer and winter time): keep the local dates.
        if isinstance(raw.dtype, pd.DatetimeTZDtype):
            return ParsedTimes(times.tz_localize(None), zone, False, reading=reading)
        return ParsedTimes(_wall_dates(text, chosen, column, source), zone, False, reading=reading)
    if reading.timezone is not None and sub_daily:
        return ParsedTimes(utc, reading.timezone, True, localize=reading.timezone, reading=reading)
    return ParsedTimes(utc, reading.timezone, False, reading=reading)


def _read_dates(
    text: pd.Series, column: str, source: str, reading: TimeReading, notes: list[str] | None
) -> tuple[pd.DatetimeIndex, tuple[str, bool | None]]:
    """Text parsed as UTC instants (naive values taken as they are) and the (format, dayfirst)
    that read it: the configured format, else the one inferred from the first value, trying
    day first and month first when the first value could be either."""
    first = text.iloc[0]
    if reading.date_format is not None:
        candidates = [(reading.date_format, bool(reading.dayfirst))]
    elif re.match(r"\d{4}-\d{1,2}", first):
        candidates = [("ISO8601", False)]
    else:
        orders = [reading.dayfirst] if reading.dayfirst is not None else [False, True]
        candidates = [(guess_datetime_format(first, dayfirst=d) or "mixed", d) for d in orders]
    results: list[tuple[pd.DatetimeIndex, tuple[str, bool]]] = []
    errors: list[str] = []
    for format, dayfirst in dict.fromkeys(candidates):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = pd.to_datetime(text, format=format, dayfirst=dayfirst, utc=True)
            results.append((pd.DatetimeIndex(parsed), (format, dayfirst)))
        except (ValueError, TypeError, OverflowError) as error:
            errors.append(shorten(str(error).splitlines()[0], 200))
    if not results and reading.date_format is None and candidates[0][0] != "mixed":
        # Formats that vary from row to row: each value on its own, as a last resort.
        dayfirst = bool(reading.dayfirst)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = pd.to_datetime(text, format="mixed", dayfirst=dayfirst, utc=True)
            results.append((pd.DatetimeIndex(parsed), ("mixed", dayfirst)))
        except (ValueError, TypeError, OverflowError) as error:
            errors.append(shorten(str(error).splitlines()[0], 200))
    if not results:
        raise DataError(
            f"{source}: column {quoted(column)} (`data.time_column`) does not hold dates "
            f"({errors[0]}). Use ISO dates such as 2024-01-31, or set `data.date_format` "
            f"(e.g. '%d.%m.%Y %H:%M'), or integers. Received: {quoted(first)} (row 2)."
        )
    if len(results) == 2 and not results[0][0].equals(results[1][0]):
        # Every value reads both ways (no day above 12): dots and decimal commas are European.
        dayfirst = "." in first or reading.decimal_comma
        if notes is not None:
            notes.append(
                f"{source}: dates such as {quoted(first)} read both day first and month first; "
                f"read {'day' if dayfirst else 'month'} first (set data.dayfirst to choose)"
            )
        return results[1] if dayfirst else results[0]
    return results[0]


def _latest_zone(
    text: pd.Series, instants: pd.DatetimeIndex, chosen: tuple[str | None, bool | None]
) -> datetime.tzinfo | None:
    """The zone or offset the latest timestamp is written with, None for a naive one."""
    latest = int(np.argmax(instants.asi8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = pd.to_datetime(
            text.iloc[[latest]], format=chosen[0] or "mixed", dayfirst=bool(chosen[1])
        )
    return one.dt.tz


def _zone_name(zone: datetime.tzinfo) -> str:
    """An IANA name when the zone has one (Parquet keeps it), else `UTC` or a fixed offset
    such as `+02:00` (what text timestamps carry)."""
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    offset = zone.utcoffset(None)
    if offset is None or offset == datetime.timedelta(0):
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _wall_dates(
    text: pd.Series, chosen: tuple[str | None, bool | None], column: str, source: str
) -> pd.DatetimeIndex:
    """The local dates and times as written, without their offsets."""
    format = (chosen[0] or "mixed").replace("%z", "").replace("%Z", "").strip()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pd.DatetimeIndex(
                pd.to_datetime(
                    text.str.replace(TRAILING_OFFSET, "", regex=True),
                    format=format,
                    dayfirst=bool(chosen[1]),
                )
            )
    except (ValueError, TypeError) as error:
        raise DataError(
            f"{source}: column {quoted(column)} (`data.time_column`): cannot read the local "
            f"dates without their offsets ({shorten(str(error).splitlines()[0], 200)}). Set "
            "`data.date_format`."
        ) from None


def _sub_daily(time: pd.DatetimeIndex) -> bool:
    """Whether most steps between distinct timestamps are shorter than a day."""
    steps = np.diff(np.unique(time.to_numpy()))
    return len(steps) > 0 and bool(np.median(steps) < ONE_DAY.to_timedelta64())


def _series_time(
    parsed: ParsedTimes | None,
    rows: np.ndarray,
    frequency: str | None,
    column: str | None,
    label: str,
    grids: dict[tuple[Any, Any], pd.Index],
    strict: bool = True,
) -> tuple[pd.Index, np.ndarray, str | None]:
    """One series' regular time index, where its rows sit on it, and the frequency (inferred
    from the first series when not given).

    Timestamps missing from the frequency are inserted (an error when `strict`); `grids`
    caches the ranges, which long-format files with aligned series share.
    """
    if parsed is None or column is None:
        return pd.RangeIndex(len(rows)), np.arange(len(rows)), frequency
    if not isinstance(parsed.values, pd.DatetimeIndex):
        steps, positions = _integer_steps(parsed.values[rows], rows, column, label, strict)
        return steps, positions, frequency
    time = parsed.values[rows]
    if parsed.localize is not None:
        time = _local_to_utc(time, parsed.localize, column, label)
    _check_order(time, rows, column, label, naive=not parsed.in_utc and parsed.timezone is None)
    frequency = frequency or _infer_frequency(time, label)
    key = (time[0], time[-1])
    if key not in grids:
        try:
            grids[key] = pd.date_range(time[0], time[-1], freq=frequency)
        except ValueError as error:
            raise DataError(
                f"{label}: `data.frequency` {quoted(frequency)} is not a pandas frequency alias "
                f"({error})."
            ) from None
    grid = grids[key]
    if len(grid) == len(time) and grid.equals(time):
        return time, np.arange(len(time)), frequency
    positions = grid.get_indexer(time)
    off = np.flatnonzero(positions < 0)
    if len(off):
        raise DataError(
            f"{label}: column {quoted(column)} is not regular at frequency {quoted(frequency)}: "
            f"{len(off)} timestamp(s) off the {quoted(frequency)} grid, first {time[off[0]]} (row "
            f"{rows[off[0]] + 2}). Set `data.frequency` to the data's frequency, or resample "
            "the data to it."
        )
    if strict:
        missing = grid.difference(time)
        raise DataError(
            f"{label}: column {quoted(column)} is not regular at frequency {quoted(frequency)}: "
            f"{len(missing)} missing timestamp(s), first {missing[0]}, and `data.missing` is "
            "`error`. Set `data.missing` to interpolate, forward_fill or zero to fill the gaps, "
            "or fill them first (e.g. resample and interpolate)."
        )
    return grid, positions, frequency


def _local_to_utc(time: pd.DatetimeIndex, zone: str, column: str, label: str) -> pd.DatetimeIndex:
    """Naive local times in `zone` as naive UTC; the hour repeated where summer time ends is
    told apart by its order (first the summer one)."""
    try:
        local = time.tz_localize(zone, ambiguous="infer", nonexistent="raise")
    except (ValueError, TypeError) as error:  # pandas' ambiguous and nonexistent time errors
        raise DataError(
            f"{label}: column {quoted(column)} holds local times that do not fit `data.timezone` "
            f"{quoted(zone)}: {shorten(str(error).splitlines()[0], 200)}. Check that the times "
            "are sorted and that a repeated hour at the end of summer time appears twice; or "
            f"write the times with their offsets (+01:00). Received: timezone={quoted(zone)}."
        ) from None
    return local.tz_convert("UTC").tz_localize(None)


def _integer_steps(
    values: np.ndarray, rows: np.ndarray, column: str, label: str, strict: bool = True
) -> tuple[pd.Index, np.ndarray]:
    steps = pd.Index(values)
    _check_order(steps, rows, column, label)
    differences = np.diff(steps.to_numpy())
    if not len(differences) or (differences == differences[0]).all():
        return steps, np.arange(len(steps))
    step = int(differences.min())
    uneven = differences % step != 0
    if strict or uneven.any():
        at = int(np.flatnonzero(uneven if uneven.any() else differences != step)[0])
        raise DataError(
            f"{label}: column {quoted(column)} (`data.time_column`) has irregular steps: "
            f"{steps[at]} -> {steps[at + 1]} at row {rows[at + 1] + 2} while the smallest step "
            f"is {step}. "
            + (
                "Fill the missing steps first, or set `data.missing` to fill them."
                if strict and not uneven.any()
                else "Use evenly spaced steps, or dates."
            )
        )
    first = int(values[0])
    grid = pd.Index(np.arange(first, int(values[-1]) + step, step))
    return grid, (values - first) // step


def _check_order(
    time: pd.Index, rows: np.ndarray, column: str, label: str, naive: bool = False
) -> None:
    """Refuse duplicated and unsorted timestamps; `naive`: dates without a zone, where a
    duplicated hour may be the one repeated when summer time ends."""
    differences = np.diff(time.to_numpy())
    zero = differences == differences.dtype.type(0)
    if zero.any():
        at = int(np.flatnonzero(zero)[0])
        hint = ""
        if naive and isinstance(time, pd.DatetimeIndex) and _sub_daily(time):
            hint = (
                " If these are local times and the hour repeats where summer time ends, set "
                "`data.timezone` (e.g. Europe/Berlin) to tell the two apart."
            )
        raise DataError(
            f"{label}: duplicated timestamp {time[at]} in column {quoted(column)} at rows "
            f"{rows[at] + 2} and {rows[at + 1] + 2}. Keep one row per timestamp "
            f"(aggregate or drop duplicates).{hint}"
        )
    backwards = differences < differences.dtype.type(0)
    if backwards.any():
        at = int(np.flatnonzero(backwards)[0])
        raise DataError(
            f"{label}: timestamps in column {quoted(column)} are not sorted: {time[at]} comes "
            f"before {time[at + 1]} (rows {rows[at] + 2}-{rows[at + 1] + 2}). Sort the file by "
            "time (per series)."
        )


def _infer_frequency(time: pd.DatetimeIndex, label: str) -> str:
    """The frequency of sorted, unique timestamps, which may have gaps: pandas' inference on
    the whole index, else the most common one over short runs of a sample of them. Daily dates
    that never fall on a weekend are business days (holidays are then gaps)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas announces a change of return type
        if len(time) >= 3:
            frequency = pd.infer_freq(time)
            if frequency is None:
                # The whole index is irregular (gaps); the most common frequency of short runs
                # tells what it should have been. A sample of runs is enough and stays fast.
                starts = np.unique(np.linspace(0, len(time) - 3, min(len(time) - 2, 200)))
                guesses = [pd.infer_freq(time[start : start + 3]) for start in starts.astype(int)]
                known = [str(guess) for guess in guesses if guess is not None]
                frequency = max(set(known), key=known.count) if known else None
            if frequency is not None:
                frequency = str(frequency)
                if frequency == "D" and (time.dayofweek < 5).all() and len(time) >= 10:
                    return "B"
                return frequency
        else:
            step = time[1] - time[0]
            return str(pd.tseries.frequencies.to_offset(step).freqstr)
    raise DataError(
        f"{label}: cannot infer the frequency of the timestamps. Set `data.frequency` to a "
        "pandas alias such as MS (month start), QS, W, D or h."
    )


def _fill(
    block: np.ndarray, policy: str, max_filled: float, columns: list[str], label: str
) -> tuple[int, int, np.ndarray, np.ndarray, np.ndarray]:
    """Fill the empty cells of one series `(length, values)` by `policy`.

    Returns:
        The first and past-the-last rows kept (leading and trailing rows without a target are
        dropped, except with `zero`), the filled values of those rows, the `observed` mask
        `(kept,)` of the target, and the filled cells per column `(values,)`.
    """
    empty = np.isnan(block)
    if not empty.any():
        return 0, len(block), block, np.ones(len(block), dtype=bool), np.zeros(block.shape[1], int)
    observed = ~empty[:, 0]
    if not observed.any():
        raise DataError(
            f"{label}: column {quoted(columns[0])} (the target) has no values. Remove the series "
            "or fill the column."
        )
    start, end = 0, len(block)
    if policy != "zero":
        # Nothing to interpolate the target from before its first value or after its last.
        present = np.flatnonzero(observed)
        start, end = int(present[0]), int(present[-1]) + 1
    counts = empty[start:end].sum(axis=0)
    share = counts / (end - start)
    worst = int(np.argmax(share))
    if share[worst] > max_filled:
        raise DataError(
            f"{label}: column {quoted(columns[worst])} would have {share[worst]:.0%} of its values "
            f"filled ({counts[worst]} of {end - start}), more than `data.max_filled` "
            f"({max_filled:g}). Check the file (a wrong frequency or time column?), remove the "
            f"series, or raise `data.max_filled`. Received: filled={counts[worst]}, "
            f"points={end - start}."
        )
    # The whole block, so covariates fill from their values in the rows dropped for want of
    # a target too; the ends of a column take its nearest value.
    frame = pd.DataFrame(block)
    if policy == "interpolate":
        frame = frame.interpolate(method="linear", limit_direction="both")
    elif policy == "forward_fill":
        frame = frame.ffill().bfill()
    else:
        frame = frame.fillna(0.0)
    return start, end, frame.to_numpy(dtype=np.float64)[start:end], observed[start:end], counts


def _missing_notes(summary: MissingSummary, source: str) -> list[str]:
    notes = []
    cells = sum(summary.filled.values())
    if cells:
        per_column = ", ".join(
            f"{name}: {count}" for name, count in summary.filled.items() if count
        )
        inserted = (
            f"inserted {summary.inserted} row(s) at timestamps missing from the frequency; "
            if summary.inserted
            else ""
        )
        notes.append(
            f"{source}: {inserted}filled {cells} missing value(s) ({per_column}) by "
            f"`data.missing: {summary.policy}`"
        )
    if summary.dropped:
        notes.append(
            f"{source}: dropped {summary.dropped} row(s) without a target value at the start or "
            "end of a series"
        )
    return notes


def frame_checksum(frame: pd.DataFrame) -> str:
    """SHA-256 of a DataFrame's values and index (pandas' row hashes), the checksum of data
    given in Python."""
    rows = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    columns = "\0".join(map(str, frame.columns)).encode()
    return hashlib.sha256(columns + rows.tobytes()).hexdigest()


def future_covariate_values(
    path: Path | pd.DataFrame, dataset: Dataset, times: list[pd.Index]
) -> list[np.ndarray]:
    """The future covariates of each series at `times` (the steps after its end), read from
    `path` (or a DataFrame with its columns): `(len(times[i]), len(dataset.future_covariates))`
    per series.

    The file has the time column, the id column in long format and every future covariate;
    rows at other times are ignored. A missing or duplicated timestamp, or a value that is not
    a number at a needed time, raises `DataError` naming it.
    """
    if isinstance(path, pd.DataFrame):
        source, frame = "the future covariates (DataFrame)", path.copy()
        if dataset.id_column is not None and dataset.id_column in frame.columns:
            frame[dataset.id_column] = frame[dataset.id_column].astype(str)
    else:
        source = str(path)
        check_path(path, DataError, "--future")
        if not Path(path).is_file():
            raise DataError(f"{source}: future covariates file not found. Check --future.")
        ids = [dataset.id_column] if dataset.id_column else []
        frame = read_table(Path(path), text_columns=ids)
    frame.columns = [str(column) for column in frame.columns]
    time_column = dataset.time_column or STEP_COLUMN
    needed = [time_column, *dataset.future_covariates]
    if dataset.id_column is not None:
        needed.insert(0, dataset.id_column)
    for column in needed:
        if column not in frame.columns:
            raise DataError(
                _missing_column_message(source, "future covariates", column, frame.columns, needed)
            )
    # Read like the data: the same date order and zone, so the timestamps meet.
    parsed = _parse_times(frame, time_column, source, dataset.time_reading)
    groups = dict(_group_rows(frame, dataset.id_column, source))
    chosen = []
    for series, wanted in zip(dataset.series, times, strict=True):
        label = series_label(source, series.id)
        rows = groups.get(series.id, np.empty(0, dtype=np.int64))
        stamps = pd.Index(parsed.values[rows])
        if parsed.localize is not None and len(rows):
            stamps = _local_to_utc(pd.DatetimeIndex(stamps), parsed.localize, time_column, label)
        found = pd.Series(rows, index=stamps)
        found = found[found.index.isin(wanted)]
        twice = found.index[found.index.duplicated()]
        if len(twice):
            raise DataError(
                f"{label}: {len(twice)} timestamp(s) appear more than once in the future "
                f"covariates, first {twice[0]}. Keep one row per timestamp."
            )
        positions = found.reindex(pd.Index(wanted))
        missing = positions.index[positions.isna().to_numpy()]
        if len(missing):
            shown = ", ".join(str(stamp) for stamp in missing[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            raise DataError(
                f"{label}: no future covariates ({', '.join(dataset.future_covariates)}) at "
                f"{shown}{more}. The forecast needs a row for each of the {len(wanted)} step(s) "
                f"after the end of the data ({wanted[0]} to {wanted[-1]})."
            )
        chosen.append(positions.to_numpy(dtype=np.int64))
    # Only the rows at needed times must hold numbers; the others keep their row numbers.
    used = np.zeros(len(frame), dtype=bool)
    used[np.concatenate(chosen)] = True
    values = np.column_stack(
        [
            _numeric_column(frame[name].where(used, 0), name, source)
            for name in dataset.future_covariates
        ]
    )
    return [values[rows] for rows in chosen]
