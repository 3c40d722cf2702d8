"""The accuracy benchmark's development set: every data file it names is present and usable.

A broken or edited data file fails here instead of hours into `benchmarks/accuracy.py`. Reads
files only; no TensorFlow.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from rnnforecast.config import DataConfig
from rnnforecast.data import load_dataset

REPO = Path(__file__).resolve().parent.parent


def _import_devset():
    """`benchmarks/devset.py`, which is a script's neighbour rather than an installed module."""
    path = REPO / "benchmarks" / "devset.py"
    spec = importlib.util.spec_from_file_location("devset", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("devset", module)
    spec.loader.exec_module(module)
    return module


devset = _import_devset()
ENTRIES = devset.load_manifest()


def test_the_manifest_lists_both_halves_of_about_equal_size():
    halves = Counter(entry.half for entry in ENTRIES)
    assert set(halves) == set(devset.HALVES)
    assert abs(halves["tuning"] - halves["checking"]) <= 1


def test_the_halves_follow_the_documented_rule():
    assert {entry.name: entry.half for entry in ENTRIES} == devset.halves_by_rule(ENTRIES)


def test_the_rule_alternates_within_frequency_and_shape():
    made = [
        replace(ENTRIES[0], name=name, frequency=devset.FREQUENCIES[kind], shape=shape)
        for name, kind, shape in (
            ("d", "quarterly", "seasonal"),
            ("c", "quarterly", "panel"),
            ("b", "yearly", "trend"),
            ("a", "yearly", "trend"),
        )
    ]
    expected = {"a": "tuning", "b": "checking", "c": "tuning", "d": "checking"}
    assert devset.halves_by_rule(made) == expected


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.name)
def test_each_file_loads_complete_and_regular_at_its_frequency(entry):
    assert entry.file.is_file(), f"{entry.file} is missing"
    frame = pd.read_csv(entry.file)
    assert set(entry.columns) <= set(frame.columns)
    assert not frame.isna().any().any(), f"{entry.file} has missing values"

    config = DataConfig(
        path=entry.file,
        time_column=entry.time_column,
        target=entry.target,
        id_column=entry.id_column,
        covariates=list(entry.covariates),
        future_covariates=list(entry.future_covariates),
        frequency=entry.frequency.alias,
    )
    # load_dataset refuses missing values, duplicated, unsorted or missing timestamps, and
    # timestamps off the frequency's grid.
    dataset = load_dataset(config)

    if entry.frequency.alias is None:
        assert dataset.frequency is None
        assert all(isinstance(series.time, pd.Index) for series in dataset.series)
    else:
        inferred = pd.tseries.frequencies.to_offset(pd.infer_freq(dataset.series[0].time))
        assert inferred == pd.tseries.frequencies.to_offset(entry.frequency.alias)
    assert (entry.id_column is not None) == (len(dataset.series) > 1) == (entry.shape == "panel")


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.name)
def test_each_series_has_history_for_at_least_one_origin(entry):
    frame = pd.read_csv(entry.file)
    lengths = frame.groupby(entry.id_column).size() if entry.id_column else [len(frame)]
    needed = devset.minimum_history(entry.horizon, entry.season_length) + entry.horizon
    assert min(lengths) >= needed
