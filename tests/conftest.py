"""Shared fixtures: tiny seeded data and one trained run per session, CPU only."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent

# Small enough to train in a couple of seconds, large enough for every part to hold windows.
TINY_OVERRIDES = [
    "data.synthetic.length=240",
    "data.synthetic.period=24",
    "window.lookback=12",
    "window.horizon=4",
    "model.units=8",
    "training.epochs=2",
    "training.batch_size=32",
    "training.ensemble=1",
]

# Python code printing a child process's own peak memory in KiB: Linux's VmHWM starts afresh at
# exec, whereas ru_maxrss also counts the parent's memory at the fork (gigabytes once
# TensorFlow is loaded in the test process).
PEAK_RSS_KIB = (
    "next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM:'))"
)


def write_long_csv(path: Path, length: int = 60, ids: tuple[str, ...] = ("north", "south")) -> Path:
    """Monthly long-format file: `region,month,sales,price` with a seasonal pattern per id."""
    rng = np.random.default_rng(0)
    frames = []
    for offset, name in enumerate(ids):
        steps = np.arange(length)
        frames.append(
            pd.DataFrame(
                {
                    "region": name,
                    "month": pd.date_range("2015-01-01", periods=length, freq="MS").strftime(
                        "%Y-%m-%d"
                    ),
                    "sales": 100
                    + 10 * offset
                    + 10 * np.sin(2 * np.pi * steps / 12)
                    + rng.normal(0, 1, length),
                    "price": 5 + rng.normal(0, 0.1, length),
                }
            )
        )
    pd.concat(frames).to_csv(path, index=False)
    return path


def write_long_config(folder: Path, data_file: Path, extra: str = "") -> Path:
    config = folder / "long.yaml"
    config.write_text(
        f"""
data:
  path: {data_file.name}
  time_column: month
  id_column: region
  target: sales
  covariates: [price]
window: {{lookback: 12, horizon: 3}}
model: {{cell: gru, units: 8}}
training: {{epochs: 2, ensemble: 1}}
{extra}
"""
    )
    return config


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory):
    """One trained synthetic run shared by the tests that only read it; refit on the whole
    history, so the tests that read it also cover the refit."""
    from rnnforecast.config_file import load_config
    from rnnforecast.training import train

    folder = tmp_path_factory.mktemp("runs")
    config = load_config(None, [*TINY_OVERRIDES, "training.refit=true", f"output.dir={folder}"])
    return train(config, run_dir=folder / "tiny", progress="none")


@pytest.fixture(scope="session")
def long_run(tmp_path_factory: pytest.TempPathFactory):
    """One trained long-format run (two series, one covariate), refit on the whole history,
    with its config file."""
    from rnnforecast.config_file import load_config
    from rnnforecast.training import train

    folder = tmp_path_factory.mktemp("long")
    data_file = write_long_csv(folder / "sales.csv")
    config_file = write_long_config(folder, data_file)
    config = load_config(config_file, ["training.refit=true"])
    run = train(config, run_dir=folder / "run", progress="none")
    return run, config_file, data_file


FUTURE_CONFIG = """
data:
  path: sales.csv
  time_column: month
  id_column: region
  target: sales
  future_covariates: [price]
  calendar: auto
window: {lookback: 12, horizon: 3}
model: {cell: gru, units: 8, series_embedding: 2}
training: {epochs: 2, ensemble: 1}
"""


def write_future_file(path: Path, months: int = 3, start: str = "2020-01-01", drop: int = -1):
    """Prices of both regions for the months after the end of `write_long_csv`'s data;
    `drop` leaves out that row of north."""
    rows = []
    for region in ("north", "south"):
        for index, month in enumerate(pd.date_range(start, periods=months, freq="MS")):
            if not (region == "north" and index == drop):
                rows.append(f"{region},{month.date()},{5 + index / 10}")
    path.write_text("region,month,price\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="session")
def future_run(tmp_path_factory: pytest.TempPathFactory):
    """A global model with a future-known covariate, calendar features and series embedding."""
    from rnnforecast.config_file import load_config
    from rnnforecast.training import train

    folder = tmp_path_factory.mktemp("future")
    write_long_csv(folder / "sales.csv")
    (folder / "future.yaml").write_text(FUTURE_CONFIG)
    return train(load_config(folder / "future.yaml"), run_dir=folder / "run", progress="none")


def reseal(folder: Path, *edits: object) -> Path:
    """Record the files of run directory `folder` in its manifest again, after a test edited
    one (`edits`: what the edits returned, ignored): an edit that the checksums cannot tell
    from the original, for the checks behind them."""
    import json

    from rnnforecast.run import MANIFEST_FILE, file_records

    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["files"] = file_records(folder)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    return folder


def plan_of(*overrides: str):
    """A plan without data: every key the data would decide given a fixed value, then
    `overrides` (`key=value`, as `--set` takes them)."""
    from rnnforecast.config_file import load_config
    from rnnforecast.plan import Plan

    fixed = [
        "data.season_length=1",
        "data.calendar=[]",
        "transform.log=false",
        "window.lookback=6",
        "window.horizon=3",
        "model.units=4",
        "training.batch_size=8",
        "training.learning_rate=0.001",
        "training.epochs=1",
        "training.early_stopping=0",
        "training.ensemble=1",
    ]
    return Plan.of(load_config(None, [*fixed, *overrides]))


def predicted(run, input_file=None, no_bounds: bool = False, **options):
    """`predict` on the run's data (or `input_file`) as the table the CLI writes; without the
    interval bounds when `no_bounds`."""
    from rnnforecast.prediction import load_input, predict

    dataset = load_input(run, input_file)
    if no_bounds:
        options["levels"] = []
    return predict(run, dataset, **options).frame(dataset, origin=False)


def synthetic_split(*overrides: str):
    """The config of `overrides`, its synthetic series and the series' split points."""
    from rnnforecast.config_file import load_config
    from rnnforecast.data import synthetic_dataset
    from rnnforecast.splitting import split_points

    config = load_config(None, list(overrides))
    dataset = synthetic_dataset(config.data)
    return config, dataset, split_points(dataset, config)


# A search small enough for the tests: two folds, one model per fold, two trials.
TUNE_OVERRIDES = [
    *TINY_OVERRIDES,
    "training.refit=false",
    "tune.folds=2",
    "tune.trials=2",
    "tune.space={model.units: [4, 8], training.learning_rate: {low: 0.001, high: 0.01, log: true}}",
]


@pytest.fixture(scope="session")
def tiny_tune(tmp_path_factory: pytest.TempPathFactory):
    """One finished search on the tiny synthetic series, shared by the tests that read it."""
    from rnnforecast.config_file import load_config
    from rnnforecast.tuning import tune

    folder = tmp_path_factory.mktemp("tune")
    config = load_config(None, [*TUNE_OVERRIDES, f"output.dir={folder}"])
    return tune(config, folder / "search", train_best=True)


EXPORTS = REPO / "tests" / "data"


def train_minimal(folder: Path, data_file: Path, horizon: int = 3):
    """A run trained on `data_file` with a config that gives only the path and the horizon,
    plus the tiny network and epochs that keep tests fast."""
    from rnnforecast.config_file import load_config
    from rnnforecast.training import train

    config = folder / "minimal.yaml"
    config.write_text(f"data: {{path: {data_file}}}\nwindow: {{horizon: {horizon}}}\n")
    tiny = ["model.units=4", "training.epochs=1", "training.ensemble=1"]
    return train(load_config(config, tiny), run_dir=folder / "run", progress="none")


@pytest.fixture(scope="session")
def monthly_gzip_run(tmp_path_factory: pytest.TempPathFactory):
    """A run on the gzip-compressed monthly export (`tests/data/monthly.csv.gz`)."""
    return train_minimal(tmp_path_factory.mktemp("gzip"), EXPORTS / "monthly.csv.gz")


@pytest.fixture(scope="session")
def string_ids_run(tmp_path_factory: pytest.TempPathFactory):
    """A run on the long-format export whose ids have leading zeros and gaps."""
    return train_minimal(tmp_path_factory.mktemp("ids"), EXPORTS / "long_string_ids.csv")
