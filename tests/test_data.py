import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnforecast.config import DataConfig, SyntheticConfig
from rnnforecast.data import (
    MIN_MAGNITUDE,
    available_memory,
    load_dataset,
    read_table,
    synthetic_dataset,
)
from rnnforecast.errors import DataError
from rnnforecast.metrics import score
from tests.conftest import PEAK_RSS_KIB, REPO, write_long_csv


def csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(text)
    return path


def config(path: Path, **keys) -> DataConfig:
    return DataConfig(path=path, **{"time_column": "date", "target": "y", **keys})


def test_synthetic_reproduces_the_tutorial_formula():
    spec = SyntheticConfig(length=1000, frequency=0.02, noise={"kind": "uniform", "scale": 2.0})
    series = synthetic_dataset(DataConfig(synthetic=spec)).series[0]
    steps = np.arange(1000)
    expected = np.sin(0.02 * steps) + 2 * np.random.default_rng(0).uniform(0, 1, 1000)
    np.testing.assert_allclose(series.target, expected, rtol=1e-6)
    assert list(series.time[:3]) == [0, 1, 2]


def test_synthetic_period_sets_the_season_length():
    dataset = synthetic_dataset(DataConfig(synthetic={"period": 24}))
    assert dataset.season_length == 24


def test_reads_a_real_monthly_file():
    dataset = load_dataset(
        DataConfig(path=REPO / "data/a10.csv", time_column="date", target="sales")
    )
    series = dataset.series[0]
    assert (len(series), dataset.frequency, dataset.season_length) == (204, "MS", 12)
    assert series.time[0] == pd.Timestamp("1991-07-01")
    assert dataset.checksum is not None and len(dataset.checksum) == 64


def test_reads_parquet(tmp_path: Path):
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=10), "y": np.arange(10.0)})
    frame.to_parquet(tmp_path / "d.parquet")
    dataset = load_dataset(config(tmp_path / "d.parquet"))
    assert (dataset.frequency, dataset.season_length) == ("D", 7)


def test_long_format_splits_series_with_covariates(tmp_path: Path):
    path = write_long_csv(tmp_path / "long.csv", length=30)
    dataset = load_dataset(
        DataConfig(
            path=path,
            time_column="month",
            id_column="region",
            target="sales",
            covariates=["price"],
        )
    )
    assert [series.id for series in dataset.series] == ["north", "south"]
    assert dataset.series[1].values.shape == (30, 2)
    assert dataset.features == 2


def test_interleaved_long_rows_keep_first_appearance_order_and_their_own_checks(tmp_path: Path):
    text = (
        "id,date,y\nb,2020-01-01,1\na,2020-01-01,5\nb,2020-02-01,2\na,2020-02-01,6\n"
        "b,2020-03-01,3\na,2020-03-01,7\n"
    )
    dataset = load_dataset(config(csv(tmp_path, text), id_column="id"))
    assert [(s.id, s.target.tolist()) for s in dataset.series] == [
        ("b", [1, 2, 3]),
        ("a", [5, 6, 7]),
    ]
    gap = text + "c,2020-01-01,1\nc,2020-02-01,1\nc,2020-04-01,4\n"
    with pytest.raises(DataError, match=r"\(series 'c'\): .* 1 missing timestamp\(s\)"):
        load_dataset(config(csv(tmp_path, gap), id_column="id", missing="error"))
    dataset = load_dataset(config(csv(tmp_path, gap), id_column="id"))
    assert dataset.series[2].target.tolist() == [1, 1, 2.5, 4]
    assert dataset.series[2].observed.tolist() == [True, True, False, True]
    assert dataset.series[0].observed.all() and dataset.missing.inserted == 1


def test_target_is_picked_when_only_one_numeric_column(tmp_path: Path):
    path = csv(tmp_path, "date,y\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n")
    assert load_dataset(DataConfig(path=path, time_column="date")).target == "y"


def test_integer_time_column_gives_steps(tmp_path: Path):
    path = csv(tmp_path, "t,y\n10,1\n11,2\n12,3\n")
    dataset = load_dataset(DataConfig(path=path, time_column="t", target="y"))
    assert list(dataset.series[0].time) == [10, 11, 12] and dataset.frequency is None


@pytest.mark.parametrize(
    ("text", "keys", "message"),
    [
        ("date,y\n", {}, "no data rows"),
        ("", {}, "the file is empty"),
        ("date,y\n2020-01-01,1\n", {"target": "sales"}, "column 'sales' (`data.target`) not found"),
        ("date,sale\n2020-01-01,1\n", {"target": "sales"}, "Did you mean 'sale'?"),
        ("date,y\n2020-01-01,1\n2020-01-02,abc\n", {}, "column 'y' must be numeric, but row 3"),
        (
            "date,y\n2020-01-01,1\n2020-01-02,\n2020-01-03,2\n",
            {"missing": "error"},
            "column 'y' has 1 missing value(s), first at row 3 of the file, and `data.missing` "
            "is `error`",
        ),
        ("date,y\n2020-01-01,1\n2020-01-02,inf\n2020-01-03,2\n", {}, "1 infinite value(s)"),
        ("date,y\n2020-01-01,1\n2020-01-01,2\n", {}, "duplicated timestamp 2020-01-01"),
        ("date,y\n2020-01-02,1\n2020-01-01,2\n", {}, "timestamps in column 'date' are not sorted"),
        (
            "date,y\n2020-01-01,1\n2020-02-01,2\n2020-03-01,2\n2020-05-01,3\n2020-06-01,3\n",
            {"missing": "error"},
            "1 missing timestamp(s), first 2020-04-01",
        ),
        (
            "date,y\n2020-01-01,1\n2020-01-02,2\n2020-01-03,2\n2020-01-03 12:00,3\n",
            {"frequency": "D"},
            "1 timestamp(s) off the 'D' grid, first 2020-01-03 12:00:00 (row 5)",
        ),
        ("date,y\n2020-01-01,\n2020-01-02,\n2020-01-03,\n", {}, "(the target) has no values"),
        ("date,y\nmonday,1\ntuesday,2\n", {}, "does not hold dates"),
        ("date,y\n2020-01-01,1\n", {}, "only 1 row(s)"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path: Path, text, keys, message):
    path = csv(tmp_path, text)
    with pytest.raises(DataError) as error:
        load_dataset(config(path, **keys))
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


def test_missing_and_unreadable_files(tmp_path: Path):
    with pytest.raises(DataError, match="data file not found"):
        load_dataset(config(tmp_path / "absent.csv"))
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not a parquet file")
    with pytest.raises(DataError, match="cannot read it as PARQUET"):
        load_dataset(config(broken))


def test_values_keep_their_precision_in_original_units(tmp_path: Path):
    path = csv(tmp_path, "t,y\n0,20000000.4\n1,20000000.1\n2,20000000.3\n")
    dataset = load_dataset(DataConfig(path=path, time_column="t", target="y"))
    assert dataset.series[0].target.tolist() == [20000000.4, 20000000.1, 20000000.3]


def test_fractional_numeric_time_is_refused_and_whole_numbers_are_steps(tmp_path: Path):
    with pytest.raises(DataError, match=r"not whole steps \(e\.g\. 1974\.083"):
        load_dataset(config(csv(tmp_path, "date,y\n1974.0,1\n1974.083,2\n1974.167,3\n")))
    dataset = load_dataset(config(csv(tmp_path, "date,y\n1.0,1\n2.0,2\n3.0,3\n")))
    assert list(dataset.series[0].time) == [1, 2, 3]


def test_messages_name_the_file_and_row_whatever_the_index(tmp_path: Path):
    frame = pd.DataFrame({"date": ["2020-01-01", "2020-01-02"], "y": ["1", "x"]}, index=["a", "b"])
    frame.to_parquet(tmp_path / "d.parquet")
    with pytest.raises(DataError, match=r"d\.parquet: column 'y' must be numeric, but row 3"):
        load_dataset(config(tmp_path / "d.parquet"))
    path = csv(tmp_path, "id,date,y\na,2020-01-01,1\n,2020-01-02,2\n")
    with pytest.raises(DataError, match=r"data\.csv: column 'id' .* is empty at row 3"):
        load_dataset(config(path, id_column="id"))


def test_a_binary_file_given_as_csv_is_refused_before_parsing(tmp_path: Path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"date,y\n\x00\x01\x02" + bytes(2000))
    with pytest.raises(DataError, match=r"a binary file \(it holds NUL bytes\), not CSV text"):
        load_dataset(config(path))


def test_a_huge_file_of_nul_bytes_is_refused_in_bounded_time_and_memory(tmp_path: Path):
    """2 GiB of NUL bytes as data took 10 GB of memory before; the file here is sparse."""
    path = tmp_path / "zeros.csv"
    with path.open("wb") as handle:
        handle.truncate(2 << 30)
    code = (
        "import time\n"
        "from pathlib import Path\n"
        "from rnnforecast.data import read_table\n"
        "from rnnforecast.errors import DataError\n"
        "start = time.perf_counter()\n"
        "try:\n"
        f"    read_table(Path({str(path)!r}))\n"
        "except DataError as error:\n"
        "    print(error)\n"
        "print(time.perf_counter() - start)\n"
        f"print({PEAK_RSS_KIB})\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    message, seconds, peak_kib = result.stdout.splitlines()
    assert "a binary file" in message
    assert float(seconds) < 2.0
    assert int(peak_kib) < 400 * 1024


def test_a_file_larger_than_the_memory_available_is_refused(tmp_path: Path, monkeypatch):
    path = csv(tmp_path, "date,y\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n")
    monkeypatch.setattr("rnnforecast.data.available_memory", lambda: 10)
    with pytest.raises(DataError, match=r"too large for this machine.*Received: size=46"):
        load_dataset(config(path))
    monkeypatch.setattr("rnnforecast.data.available_memory", lambda: None)  # not Linux
    assert len(load_dataset(config(path)).series[0]) == 3


def test_available_memory_is_read_on_linux():
    if not Path("/proc/meminfo").is_file():
        pytest.skip("no /proc/meminfo")
    assert available_memory() > 0


@pytest.mark.parametrize(
    "secret", ["password=hunter2\ntoken=abc123\n", "-----BEGIN KEY-----\nMIIEsecret\nmore\n"]
)
def test_a_file_that_is_not_the_data_is_never_quoted(tmp_path: Path, secret: str):
    path = tmp_path / "secrets.txt"
    path.write_text(secret)
    for keys in ({}, {"time_column": None, "target": "sales"}):
        with pytest.raises(DataError) as error:
            load_dataset(config(path, source="csv", **keys))
        message = str(error.value)
        assert "hunter2" not in message and "password" not in message and "MIIE" not in message
        assert "BEGIN" not in message and "abc123" not in message
    assert "does not look like the data file" in message


def test_columns_are_listed_once_the_file_has_an_expected_one(tmp_path: Path):
    path = csv(tmp_path, "date,sale,other\n2020-01-01,1,2\n")
    with pytest.raises(DataError) as error:
        load_dataset(config(path, target="sales"))
    assert "Did you mean 'sale'? Columns in the file: 'date', 'sale', 'other'." in str(error.value)


def test_a_quoted_value_is_cut_short(tmp_path: Path):
    path = csv(tmp_path, "date,y\n2020-01-01,1\n2020-01-02," + "z" * 10_000 + "\n")
    with pytest.raises(DataError) as error:
        load_dataset(config(path))
    assert "row 3 holds 'zzz" in str(error.value) and len(str(error.value)) < 400


@pytest.mark.parametrize("value", ["1e307", "-2e150", "1e-200", "-3e-101"])
def test_values_beyond_the_magnitude_bounds_are_a_data_error(tmp_path: Path, value: str):
    path = csv(tmp_path, f"date,y\n2020-01-01,1\n2020-01-02,{value}\n2020-01-03,2\n")
    with pytest.raises(DataError) as error:
        load_dataset(config(path))
    message = str(error.value)
    assert f"column 'y' holds {float(value):g} at row 3" in message
    assert "the metrics would overflow" in message and f"Received: 'y'={float(value):g}" in message


def test_values_at_the_magnitude_bounds_keep_every_metric_finite(tmp_path: Path):
    path = csv(tmp_path, "date,y\n2020-01-01,1e100\n2020-01-02,-1e-100\n2020-01-03,0\n")
    values = load_dataset(config(path)).series[0].target
    actual = np.tile(values, (1000, 1))
    # The worst forecast a float32 network can make in original units of a series this wide.
    forecast = np.full_like(actual, -float(np.finfo(np.float32).max) * 2e100)
    scores = score(actual, forecast, np.full(1000, MIN_MAGNITUDE))
    assert all(np.isfinite(value) for value in scores.values()), scores


def test_a_nul_byte_in_a_data_path_is_a_data_error(tmp_path: Path):
    with pytest.raises(DataError, match="cannot hold a NUL byte"):
        read_table(tmp_path / "a\0b.csv")


# Exports shaped like files from real systems (tests/data/make_exports.py), each read with a
# config that gives only the path: everything else is found in the file.
EXPORTS = REPO / "tests" / "data"


def minimal(name: str) -> DataConfig:
    return DataConfig(path=EXPORTS / name)


def test_weekly_readings_with_empty_cells_and_a_missing_week():
    dataset = load_dataset(minimal("weekly_missing.csv"))
    [series] = dataset.series
    assert (dataset.time_column, dataset.target, dataset.frequency) == ("date", "reading", "W-MON")
    # The first week has no reading: dropped; week 20 has no row: inserted.
    assert series.time[0] == pd.Timestamp("2023-01-09") and len(series) == 59
    assert series.time[-1] == pd.Timestamp("2024-02-19")
    assert np.flatnonzero(~series.observed).tolist() == [6, 7, 19, 32]
    np.testing.assert_allclose(
        series.target[6:8], [53.05 + (54.57 - 53.05) / 3 * k for k in (1, 2)]
    )
    assert dataset.missing.to_dict() == {
        "policy": "interpolate",
        "filled": {"reading": 4},
        "inserted_rows": 1,
        "dropped_rows": 1,
    }
    assert any("inserted 1 row(s)" in note and "filled 4" in note for note in dataset.notes)
    assert any("dropped 1 row(s)" in note for note in dataset.notes)


def test_hourly_offsets_across_a_change_to_summer_time_are_one_regular_utc_series():
    dataset = load_dataset(minimal("hourly_dst_offsets.csv"))
    [series] = dataset.series
    assert (dataset.time_column, dataset.frequency, dataset.season_length) == ("timestamp", "h", 24)
    # 01:00+01:00 is followed by 03:00+02:00: one hour later, nothing missing.
    assert len(series) == 120 and series.observed.all()
    assert series.time[0] == pd.Timestamp("2023-03-23 23:00")  # 00:00+01:00 in UTC
    assert (dataset.timezone, dataset.times_in_utc) == ("+02:00", True)
    assert str(dataset.output_time(series.time[-1:])[0]) == "2023-03-29 00:00:00+02:00"


def test_european_spreadsheet_export():
    dataset = load_dataset(minimal("european_export.csv"))
    [series] = dataset.series
    assert (dataset.time_column, dataset.target, dataset.frequency) == (
        "Datum",
        "Verkäufe (€)",
        "D",
    )
    assert series.time[0] == pd.Timestamp("2023-01-01") and series.time[12] == pd.Timestamp(
        "2023-01-13"
    )
    assert series.target[:2].tolist() == [1203.78, 1306.82]
    assert dataset.timezone is None


def test_gzip_compressed_monthly_file():
    dataset = load_dataset(minimal("monthly.csv.gz"))
    [series] = dataset.series
    assert (dataset.time_column, dataset.target, dataset.frequency) == ("month", "passengers", "MS")
    assert (len(series), series.time[-1]) == (48, pd.Timestamp("2021-12-01"))
    assert series.target[:2].tolist() == [300.0, 322.0]


def test_tab_separated_file_with_utc_z_timestamps():
    dataset = load_dataset(minimal("utc_z.tsv"))
    [series] = dataset.series
    assert (dataset.time_column, dataset.target, dataset.frequency) == ("time", "value", "6h")
    assert series.time[1] == pd.Timestamp("2024-01-01 06:00") and len(series) == 80
    assert dataset.timezone == "UTC"
    assert str(dataset.output_time(series.time[:1])[0]) == "2024-01-01 00:00:00+00:00"


def test_long_format_with_string_ids_with_leading_zeros_and_gaps():
    dataset = load_dataset(minimal("long_string_ids.csv"))
    assert (dataset.time_column, dataset.id_column, dataset.target) == ("date", "store_id", "sales")
    assert [series.id for series in dataset.series] == ["001", "002", "010"]
    store = dataset.series[1]
    assert len(store) == 40 and np.flatnonzero(~store.observed).tolist() == [10, 11, 25]
    assert store.target[9:13].tolist() == [202, 203, 204, 205]  # interpolated across the gap
    assert any("'store_id' is used as the series id" in note for note in dataset.notes)


def test_business_days_with_holidays_missing():
    dataset = load_dataset(minimal("business_days.csv"))
    [series] = dataset.series
    assert (dataset.frequency, dataset.season_length) == ("B", 5)
    holidays = ["2023-11-23", "2023-12-25", "2024-01-01"]
    assert series.time[~series.observed].strftime("%Y-%m-%d").tolist() == holidays
    assert series.time.equals(pd.bdate_range("2023-11-01", "2024-01-31"))


def test_time_column_is_found_and_said_and_none_keeps_steps(tmp_path: Path):
    path = csv(tmp_path, "station,Order Date,y\na,2020-01-01,1\na,2020-01-02,2\na,2020-01-03,3\n")
    dataset = load_dataset(DataConfig(path=path))
    assert dataset.time_column == "Order Date" and dataset.frequency == "D"
    assert dataset.notes[0] == (
        f"{path}: using column 'Order Date' as the time column (set data.time_column to "
        "choose; none for integer steps)"
    )
    steps = load_dataset(DataConfig(path=path, time_column="none"))
    assert steps.time_column is None and list(steps.series[0].time) == [0, 1, 2]
    assert not any("time column" in note for note in steps.notes)
    integers = load_dataset(DataConfig(path=csv(tmp_path, "t,y\n5,1\n6,2\n7,3\n")))
    assert integers.time_column == "t" and list(integers.series[0].time) == [5, 6, 7]
    values = load_dataset(DataConfig(path=csv(tmp_path, "y\n1\n2\n3\n")))
    assert values.time_column is None and "no column of dates found" in values.notes[0]


def test_a_column_of_datetimes_in_parquet_is_the_time_column(tmp_path: Path):
    frame = pd.DataFrame({"y": [1.0, 2, 3], "when": pd.date_range("2020-01-01", periods=3)})
    frame.to_parquet(tmp_path / "d.parquet")
    dataset = load_dataset(DataConfig(path=tmp_path / "d.parquet"))
    assert (dataset.time_column, dataset.frequency) == ("when", "D")
    # A zone stored with the timestamps is kept by name, so forecasts follow its summer time.
    hours = pd.date_range("2023-03-25 12:00", periods=36, freq="h", tz="Europe/Berlin")
    pd.DataFrame({"when": hours, "y": np.arange(36.0)}).to_parquet(tmp_path / "d.parquet")
    dataset = load_dataset(DataConfig(path=tmp_path / "d.parquet"))
    assert (dataset.timezone, dataset.times_in_utc, dataset.frequency) == (
        "Europe/Berlin",
        True,
        "h",
    )
    assert dataset.output_time(dataset.series[0].time).equals(hours)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("interpolate", [1, 2, 3, 4, 5]),
        ("forward_fill", [1, 2, 2, 2, 5]),
        ("zero", [0, 2, 0, 0, 5]),
    ],
)
def test_missing_policies_fill_cells_and_gaps(tmp_path: Path, policy, expected):
    # 2020-01-01 has no value, 2020-01-03 an empty cell, 2020-01-04 no row.
    text = "date,y,x\n2020-01-01,,1\n2020-01-02,2,\n2020-01-03,,3\n2020-01-05,5,5\n2020-01-06,6,6\n"
    dataset = load_dataset(config(csv(tmp_path, text), missing=policy, covariates=["x"]))
    [series] = dataset.series
    start = 0 if policy == "zero" else 1
    assert series.target.tolist() == [*expected, 6][start:]
    assert series.observed.tolist() == [False, True, False, False, True, True][start:]
    assert series.time[0] == pd.Timestamp("2020-01-01") + pd.Timedelta(days=start)
    covariate = {"interpolate": 2, "forward_fill": 1, "zero": 0}[policy]
    assert series.values[1 - start, 1] == covariate
    assert dataset.missing.inserted == 1 and dataset.missing.dropped == start


def test_a_mostly_missing_series_is_a_data_error_naming_it(tmp_path: Path):
    text = "id,date,y\n" + "".join(
        f"{name},2020-01-0{day},{'' if name == 'b' and day in (2, 3, 4, 5) else day}\n"
        for name in ("a", "b")
        for day in range(1, 8)
    )
    with pytest.raises(DataError) as error:
        load_dataset(config(csv(tmp_path, text), id_column="id"))
    assert "(series 'b'): column 'y' would have 57% of its values filled (4 of 7)" in str(
        error.value
    )
    dataset = load_dataset(config(csv(tmp_path, text), id_column="id", max_filled=0.6))
    assert dataset.missing.filled == {"y": 4}


def test_a_missing_hour_of_naive_local_times_is_filled(tmp_path: Path):
    # Local times skip 02:00 on the night summer time starts.
    hours = [f"2023-03-26 {hour:02d}:00" for hour in range(6) if hour != 2]
    text = "time,y\n" + "".join(f"{hour},{index}\n" for index, hour in enumerate(hours))
    dataset = load_dataset(DataConfig(path=csv(tmp_path, text)))
    series = dataset.series[0]
    assert len(series) == 6 and series.observed.tolist() == [True, True, False, True, True, True]
    assert dataset.timezone is None


def test_a_repeated_local_hour_needs_the_time_zone(tmp_path: Path):
    # Local times repeat 02:00 on the night summer time ends.
    hours = ["00:00", "01:00", "02:00", "02:00", "03:00", "04:00"]
    text = "time,y\n" + "".join(f"2023-10-29 {hour},{index}\n" for index, hour in enumerate(hours))
    path = csv(tmp_path, text)
    with pytest.raises(DataError, match=r"duplicated timestamp .* set `data.timezone` \(e\.g\."):
        load_dataset(DataConfig(path=path))
    dataset = load_dataset(DataConfig(path=path, timezone="Europe/Berlin"))
    series = dataset.series[0]
    assert series.time[0] == pd.Timestamp("2023-10-28 22:00") and len(series) == 6
    assert series.observed.all() and dataset.frequency == "h"
    local = dataset.output_time(series.time).strftime("%H:%M%z").tolist()
    assert local[2:4] == ["02:00+0200", "02:00+0100"]


def test_daily_dates_with_offsets_keep_their_calendar_days(tmp_path: Path):
    text = (
        "date,y\n2023-03-25T00:00:00+01:00,1\n2023-03-26T00:00:00+01:00,2\n"
        "2023-03-27T00:00:00+02:00,3\n2023-03-28T00:00:00+02:00,4\n"
    )
    dataset = load_dataset(DataConfig(path=csv(tmp_path, text)))
    assert dataset.frequency == "D" and dataset.series[0].time[0] == pd.Timestamp("2023-03-25")
    assert (dataset.timezone, dataset.times_in_utc) == ("+02:00", False)
    assert str(dataset.output_time(dataset.series[0].time[-1:])[0]) == "2023-03-28 00:00:00+02:00"


def test_ids_stay_text_in_csv_and_parquet(tmp_path: Path):
    text = "id,date,y\n001,2020-01-01,1\n001,2020-01-02,2\n010,2020-01-01,3\n010,2020-01-02,4\n"
    dataset = load_dataset(config(csv(tmp_path, text), id_column="id"))
    assert [series.id for series in dataset.series] == ["001", "010"]
    frame = pd.read_csv(tmp_path / "data.csv", dtype={"id": str})
    frame.to_parquet(tmp_path / "d.parquet")
    dataset = load_dataset(config(tmp_path / "d.parquet", id_column="id"))
    assert [series.id for series in dataset.series] == ["001", "010"]


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".tsv.gz"])
def test_compressed_files_are_read_by_their_suffix(tmp_path: Path, suffix: str):
    frame = pd.DataFrame({"date": ["2020-01-01", "2020-01-02", "2020-01-03"], "y": [1.5, 2, 3]})
    path = tmp_path / f"data{suffix}"
    frame.to_csv(path, index=False, sep="\t" if ".tsv" in suffix else ",")
    dataset = load_dataset(DataConfig(path=path))
    assert dataset.series[0].target.tolist() == [1.5, 2, 3] and dataset.frequency == "D"


def test_csv_settings_override_what_is_found(tmp_path: Path):
    path = tmp_path / "data.csv"
    path.write_bytes("Zeit|Wert\n2020-01-01|1,5\n2020-01-02|2,5\n2020-01-03|3\n".encode("latin-1"))
    dataset = load_dataset(DataConfig(path=path, csv={"sep": "|", "decimal": ","}))
    assert dataset.series[0].target.tolist() == [1.5, 2.5, 3.0]
    path.write_bytes("date;y\n2020-01-01;1,5\n2020-01-02;2\n".encode("utf-16"))
    dataset = load_dataset(DataConfig(path=path, csv={"encoding": "utf-16"}))
    assert dataset.series[0].target.tolist() == [1.5, 2.0]


def test_a_decimal_comma_that_was_not_found_is_named_in_the_error(tmp_path: Path):
    path = csv(tmp_path, "date;y\n2020-01-01;1,5\n2020-01-02;2,5\n")
    with pytest.raises(DataError, match=r"decimal comma: set `data.csv.decimal: ','`"):
        load_dataset(DataConfig(path=path, csv={"decimal": "."}))


def test_date_order_is_found_said_when_ambiguous_and_configurable(tmp_path: Path):
    months = "date,y\n01/02/2020,1\n01/03/2020,2\n01/04/2020,3\n"
    dataset = load_dataset(DataConfig(path=csv(tmp_path, months)))
    assert dataset.series[0].time[0] == pd.Timestamp("2020-01-02")
    assert "read month first (set data.dayfirst to choose)" in dataset.notes[-1]
    dataset = load_dataset(DataConfig(path=csv(tmp_path, months), dayfirst=True))
    assert dataset.series[0].time[0] == pd.Timestamp("2020-02-01") and dataset.frequency == "MS"
    dataset = load_dataset(DataConfig(path=csv(tmp_path, months), date_format="%d/%m/%Y"))
    assert dataset.series[0].time[0] == pd.Timestamp("2020-02-01")
    late = "date,y\n12/01/2020,1\n13/01/2020,2\n14/01/2020,3\n"
    assert load_dataset(DataConfig(path=csv(tmp_path, late))).series[0].time[0] == pd.Timestamp(
        "2020-01-12"
    )


def test_integer_steps_with_gaps_are_filled(tmp_path: Path):
    dataset = load_dataset(DataConfig(path=csv(tmp_path, "t,y\n0,0\n2,2\n3,3\n4,4\n")))
    assert list(dataset.series[0].time) == [0, 1, 2, 3, 4]
    assert dataset.series[0].target.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(DataError, match="irregular steps: 0 -> 2"):
        load_dataset(DataConfig(path=csv(tmp_path, "t,y\n0,0\n2,2\n3,3\n"), missing="error"))
