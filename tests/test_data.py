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
    gap = text + "c,2020-01-01,1\nc,2020-02-01,1\nc,2020-04-01,1\n"
    with pytest.raises(DataError, match=r"\(series 'c'\): .* 1 missing timestamp\(s\)"):
        load_dataset(config(csv(tmp_path, gap), id_column="id"))


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
        ("date,y\n2020-01-01,1\n2020-01-02,\n2020-01-03,2\n", {}, "1 missing or infinite"),
        ("date,y\n2020-01-01,1\n2020-01-01,2\n", {}, "duplicated timestamp 2020-01-01"),
        ("date,y\n2020-01-02,1\n2020-01-01,2\n", {}, "timestamps in column 'date' are not sorted"),
        (
            "date,y\n2020-01-01,1\n2020-02-01,2\n2020-03-01,2\n2020-05-01,3\n2020-06-01,3\n",
            {},
            "1 missing timestamp(s), first 2020-04-01",
        ),
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
