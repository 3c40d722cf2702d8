"""Reading series: CSV/Parquet files or the synthetic sine-plus-noise, checked and split by id.

Every problem a user can fix raises `DataError` naming the file, the column and the fix.
"""

from __future__ import annotations

import difflib
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rnnforecast.config import DataConfig
from rnnforecast.errors import DataError, check_path, quoted, shorten
from rnnforecast.frequency import cadence

STEP_COLUMN = "step"
SYNTHETIC_TARGET = "value"
# A NUL byte in the first KiB marks a binary file, never CSV text (nor UTF-8 text of any kind).
BINARY_SNIFF_BYTES = 1024
# Values are refused beyond these magnitudes so that every metric stays finite (float64 ends
# near 1.8e308): the wildest forecast, a float32 network output (up to 3.4e38) in the units of
# a series spanning 2e100, errs by under 1e139, so squared errors stay below 1e278; percentage
# and scaled errors divide by an actual value (or a mean difference of such values), which a
# non-zero value of at least 1e-100 keeps above about 1e-116. Real data lie far inside both.
MAX_MAGNITUDE = 1e100
MIN_MAGNITUDE = 1e-100


@dataclass(frozen=True)
class Series:
    """One series: its id (None for a single series), timestamps and values.

    `values` has shape `(length, 1 + covariates + future covariates)`, float64 (original
    units keep their precision; scaling makes float32 inputs), the target in column 0.
    `time` is a `DatetimeIndex` or an integer index of steps.
    """

    id: str | None
    time: pd.Index
    values: np.ndarray

    @property
    def target(self) -> np.ndarray:
        """The target column, shape `(length,)`."""
        return self.values[:, 0]

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Dataset:
    """All series of one source, with what the pipeline needs to know about them."""

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


def series_label(source: str, series_id: str | None) -> str:
    """How messages name a series: the file, plus the (shortened) id in long format."""
    return source if series_id is None else f"{source} (series {quoted(series_id)})"


def load_dataset(config: DataConfig, path: Path | None = None) -> Dataset:
    """Read the series that `config` describes, optionally from another file with its columns.

    Args:
        config: the `data` section.
        path: read this file instead of `config.path` (new data for a trained run).

    Returns:
        A checked `Dataset`; each series has at least two points and regular timestamps.

    Example:
        `load_dataset(DataConfig(path=Path("data/a10.csv"), time_column="date", target="sales"))`
    """
    if config.source == "synthetic" and path is None:
        return synthetic_dataset(config)
    file = Path(path) if path is not None else config.path
    if file is None:
        raise DataError(f"`data.path` is required when `data.source` is {config.source!r}.")
    frame = read_table(file, config.source if path is None else None)
    return dataset_from_frame(frame, config, str(file), checksum=file_checksum(file))


def read_table(path: Path, source: str | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file into a frame; the format comes from `source` or the suffix.

    Binary files given as CSV, and files too large for the memory available, are refused
    before any parsing, in milliseconds whatever their size.
    """
    check_path(path, DataError, "the data file")
    if not path.exists():
        raise DataError(f"{path}: data file not found. Check `data.path` or --input.")
    if not path.is_file():
        raise DataError(
            f"{path}: not a regular file (a folder, device or pipe). Check `data.path` or --input."
        )
    kind = source if source in ("csv", "parquet") else None
    if kind is None:
        kind = "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"
    _check_readable(path, kind)
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; expected a header row and data.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise DataError(
            f"{path}: cannot read it as {kind.upper()}: {shorten(first_line, 200)}. "
            f"Check that the file is a valid {kind.upper()} file."
        ) from None
    except Exception as error:  # pyarrow raises its own types for corrupt files
        raise DataError(
            f"{path}: cannot read it as {kind.upper()}: {type(error).__name__}: "
            f"{shorten(str(error), 200)}"
        ) from None


def _check_readable(path: Path, kind: str) -> None:
    """Refuse a binary file given as CSV, or a file whose table would not fit in memory."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(BINARY_SNIFF_BYTES)
    except OSError as error:
        raise DataError(f"{path}: cannot read it ({shorten(str(error), 200)}).") from None
    if kind == "csv" and b"\0" in head:
        raise DataError(
            f"{path}: a binary file (it holds NUL bytes), not CSV text. Check `data.path` or "
            "--input; save text as UTF-8 CSV, and name Parquet files *.parquet."
        )
    # Parsing a CSV takes more memory than the text (numbers as float64, dates as objects); a
    # Parquet file's columns expand to their uncompressed size.
    needed = size if kind == "csv" else _parquet_size(path, size)
    available = available_memory()
    if available is not None and needed > available:
        raise DataError(
            f"{path}: too large for this machine: its table takes at least "
            f"{needed / 2**30:.1f} GiB of memory, and {available / 2**30:.1f} GiB are available. "
            "Use a smaller extract (e.g. the recent history) or a machine with more memory. "
            f"Received: size={size}"
        )


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


def file_checksum(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_from_frame(
    frame: pd.DataFrame, config: DataConfig, source: str, checksum: str | None = None
) -> Dataset:
    """Check a frame's columns and values and split it into series.

    Args:
        frame: one row per time step (per series in long format).
        config: names the time, target, id and covariate columns.
        source: how messages name the data (usually the file path).
        checksum: stored in the run manifest.
    """
    if frame.empty:
        raise DataError(f"{source}: no data rows; expected a header row and at least two rows.")
    frame.columns = [str(column) for column in frame.columns]
    target = config.target or _only_numeric_column(frame, config, source)
    roles = [
        ("data.time_column", config.time_column),
        ("data.target", target),
        ("data.id_column", config.id_column),
        *(("data.covariates", name) for name in config.covariates),
        *(("data.future_covariates", name) for name in config.future_covariates),
    ]
    expected = [column for _, column in roles if column is not None]
    for role, column in roles:
        if column is not None and column not in frame.columns:
            raise DataError(_missing_column_message(source, role, column, frame.columns, expected))
    value_columns = [target, *config.covariates, *config.future_covariates]
    numeric = {name: _numeric_column(frame[name], name, source) for name in value_columns}
    values = np.column_stack([numeric[name] for name in value_columns])
    groups = _group_rows(frame, config.id_column, source)
    times = _parse_times(frame, config.time_column, source)
    frequency = None
    grids: dict[tuple[pd.Timestamp, int], pd.DatetimeIndex] = {}
    series: list[Series] = []
    for series_id, rows in groups:
        label = series_label(source, series_id)
        if len(rows) < 2:
            raise DataError(f"{label}: only {len(rows)} row(s); a series needs at least two.")
        if isinstance(times, pd.DatetimeIndex) and frequency is None:
            # One frequency for all series: the first series' (or the configured one).
            frequency = config.frequency or _infer_frequency(times[rows], label)
        time = _series_time(times, rows, frequency, config.time_column, label, grids)
        series.append(Series(series_id, time, values[rows]))
    return Dataset(
        series=series,
        target=target,
        covariates=list(config.covariates),
        time_column=config.time_column,
        id_column=config.id_column,
        frequency=frequency,
        season_length=config.season_length or cadence(frequency).season_length,
        source=source,
        checksum=checksum,
        future_covariates=tuple(config.future_covariates),
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


def _only_numeric_column(frame: pd.DataFrame, config: DataConfig, source: str) -> str:
    reserved = {
        config.time_column,
        config.id_column,
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
    raise DataError(
        f"{source}: cannot tell which column to forecast (numeric candidates: {listed}). "
        "Set `data.target` to one of the columns."
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


def _numeric_column(column: pd.Series, name: str, source: str) -> np.ndarray:
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
    missing = np.flatnonzero(~np.isfinite(values))
    if len(missing):
        raise DataError(
            f"{source}: column {quoted(name)} has {len(missing)} missing or infinite value(s), "
            f"first at row {missing[0] + 2} of the file. Fill or interpolate them first "
            "(e.g. with pandas' interpolate)."
        )
    magnitude = np.abs(values)
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


def _parse_times(
    frame: pd.DataFrame, column: str | None, source: str
) -> pd.DatetimeIndex | np.ndarray | None:
    """The whole time column parsed once: dates, integer steps, or None without a column."""
    if column is None:
        return None
    raw = frame[column]
    _require_filled(raw, "data.time_column", "a timestamp", source)
    if pd.api.types.is_integer_dtype(raw):
        return raw.to_numpy(dtype=np.int64)
    if pd.api.types.is_numeric_dtype(raw):
        numbers = raw.to_numpy(dtype=np.float64)
        if np.all(numbers == np.round(numbers)):
            return numbers.astype(np.int64)
        raise DataError(
            f"{source}: column {quoted(column)} (`data.time_column`) holds numbers that are not "
            f"whole steps (e.g. {float(numbers[numbers != np.round(numbers)][0])!r}). Use dates "
            "such as 1974-02-01, or integer step numbers."
        )
    try:
        times = pd.DatetimeIndex(pd.to_datetime(raw, format="mixed"))
    except (ValueError, TypeError) as error:
        raise DataError(
            f"{source}: column {quoted(column)} (`data.time_column`) does not hold dates "
            f"({shorten(str(error), 200)}). Use ISO dates such as 2024-01-31, or integers."
        ) from None
    return times.tz_convert("UTC").tz_localize(None) if times.tz is not None else times


def _series_time(
    times: pd.DatetimeIndex | np.ndarray | None,
    rows: np.ndarray,
    frequency: str | None,
    column: str | None,
    label: str,
    grids: dict[tuple[pd.Timestamp, int], pd.DatetimeIndex],
) -> pd.Index:
    """One series' checked time index; `grids` caches the expected ranges, which long-format
    files with aligned series share."""
    if times is None or column is None:
        return pd.RangeIndex(len(rows))
    if not isinstance(times, pd.DatetimeIndex):
        return _integer_steps(times[rows], rows, column, label)
    time = times[rows]
    _check_order(time, rows, column, label)
    key = (time[0], len(time))
    if key not in grids:
        try:
            grids[key] = pd.date_range(time[0], periods=len(time), freq=frequency)
        except ValueError as error:
            raise DataError(
                f"{label}: `data.frequency` {quoted(frequency)} is not a pandas frequency alias "
                f"({shorten(str(error), 200)})."
            ) from None
    if not grids[key].equals(time):
        _check_gaps(time, frequency, column, label)
    return time


def _integer_steps(values: np.ndarray, rows: np.ndarray, column: str, label: str) -> pd.Index:
    steps = pd.Index(values)
    _check_order(steps, rows, column, label)
    differences = np.diff(steps.to_numpy())
    if len(differences) and (differences != differences[0]).any():
        at = int(np.flatnonzero(differences != differences[0])[0])
        raise DataError(
            f"{label}: column {quoted(column)} (`data.time_column`) has irregular steps: "
            f"{steps[at]} -> {steps[at + 1]} at row {rows[at + 1] + 2} while the first step is "
            f"{differences[0]}. Fill the missing steps first."
        )
    return steps


def _check_order(time: pd.Index, rows: np.ndarray, column: str, label: str) -> None:
    differences = np.diff(time.to_numpy())
    zero = differences == differences.dtype.type(0)
    if zero.any():
        at = int(np.flatnonzero(zero)[0])
        raise DataError(
            f"{label}: duplicated timestamp {time[at]} in column {quoted(column)} at rows "
            f"{rows[at] + 2} and {rows[at + 1] + 2}. Keep one row per timestamp "
            "(aggregate or drop duplicates)."
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas announces a change of return type
        if len(time) >= 3:
            frequency = pd.infer_freq(time)
            if frequency is not None:
                return str(frequency)
            # The whole index is irregular (gaps); the most common frequency of short runs
            # tells what it should have been, so the gap check can name what is missing.
            guesses = [pd.infer_freq(time[start : start + 3]) for start in range(len(time) - 2)]
            known = [str(guess) for guess in guesses if guess is not None]
            if known:
                return max(set(known), key=known.count)
        else:
            step = time[1] - time[0]
            return str(pd.tseries.frequencies.to_offset(step).freqstr)
    raise DataError(
        f"{label}: cannot infer the frequency of the timestamps. Set `data.frequency` to a "
        "pandas alias such as MS (month start), QS, W, D or h."
    )


def _check_gaps(time: pd.DatetimeIndex, frequency: str, column: str, label: str) -> None:
    try:
        expected = pd.date_range(time[0], time[-1], freq=frequency)
    except ValueError as error:
        raise DataError(
            f"{label}: `data.frequency` {quoted(frequency)} is not a pandas frequency alias "
            f"({shorten(str(error), 200)})."
        ) from None
    missing = expected.difference(time)
    extra = time.difference(expected)
    if len(missing) or len(extra):
        detail = (
            f"{len(missing)} missing timestamp(s), first {missing[0]}"
            if len(missing)
            else f"{len(extra)} timestamp(s) off the {quoted(frequency)} grid, first {extra[0]}"
        )
        raise DataError(
            f"{label}: column {quoted(column)} is not regular at frequency {quoted(frequency)}: "
            f"{detail}. Fill the gaps (e.g. resample and interpolate) or set `data.frequency`."
        )


def future_covariate_values(
    path: Path, dataset: Dataset, times: list[pd.Index]
) -> list[np.ndarray]:
    """The future covariates of each series at `times` (the steps after its end), read from
    `path`: `(len(times[i]), len(dataset.future_covariates))` per series.

    The file has the time column, the id column in long format and every future covariate;
    rows at other times are ignored. A missing or duplicated timestamp, or a value that is not
    a number at a needed time, raises `DataError` naming it.
    """
    source = str(path)
    check_path(path, DataError, "--future")
    if not Path(path).is_file():
        raise DataError(f"{source}: future covariates file not found. Check --future.")
    frame = read_table(Path(path))
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
    stamps = pd.Index(_parse_times(frame, time_column, source))
    groups = dict(_group_rows(frame, dataset.id_column, source))
    chosen = []
    for series, wanted in zip(dataset.series, times, strict=True):
        label = series_label(source, series.id)
        rows = groups.get(series.id, np.empty(0, dtype=np.int64))
        found = pd.Series(rows, index=stamps[rows])
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
