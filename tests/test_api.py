"""The Python API: train from a DataFrame, forecasts, scores and figures back as pandas and
matplotlib objects, nothing written unless asked; the README's example runs as written."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import rnnforecast
from rnnforecast.errors import ConfigError, DataError
from tests.conftest import REPO

TINY = {"model": {"units": 4}, "training": {"epochs": 2, "ensemble": 1, "refit": True}}


def stores(months: int = 60) -> pd.DataFrame:
    """Monthly sales of two stores in long format, ids with leading zeros."""
    index = pd.date_range("2020-01-01", periods=months, freq="MS")
    season = 10 * np.sin(2 * np.pi * np.arange(months) / 12)
    return pd.concat(
        [
            pd.DataFrame({"store": store, "month": index, "sales": level + season})
            for store, level in (("001", 100.0), ("002", 150.0))
        ],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory):
    """A model trained in memory, from a folder that must stay empty."""
    folder = tmp_path_factory.mktemp("nothing-written")
    frame = stores()
    frame.loc[7, "sales"] = np.nan
    before = Path.cwd()
    os.chdir(folder)
    try:
        trained = rnnforecast.fit(
            frame, data={"id_column": "store"}, window={"horizon": 6}, progress="none", **TINY
        )
    finally:
        os.chdir(before)
    assert list(folder.iterdir()) == [], "fit wrote files without save_to"
    return trained


def test_fit_from_a_dataframe_gives_the_test_figures_and_forecasts(model):
    assert model.path is None and "not saved" in repr(model)
    assert model.metrics["part"] == "test" and model.metrics["missing"]["filled"] == {"sales": 1}
    assert model.config.data.source == "dataframe" and model.config.data.time_column == "month"
    assert any("'month' as the time column" in note for note in model.notes)
    forecasts = model.forecast(levels=[80])
    assert forecasts.columns.tolist() == ["store", "month", "forecast", "lower_80", "upper_80"]
    assert forecasts["store"].tolist() == ["001"] * 6 + ["002"] * 6
    assert forecasts["month"].iloc[0] == pd.Timestamp("2025-01-01")
    assert (forecasts["lower_80"] <= forecasts["upper_80"]).all()
    assert "holdout" in set(model.history["phase"]) <= {"holdout", "refit"}
    assert "actual" in model.test_forecasts.columns


def test_evaluate_and_plot_new_data_given_as_a_dataframe(model):
    newer = stores(months=72)
    scores = model.evaluate(newer)
    assert scores["part"] == "newer than training" and scores["windows"] == 2 * (12 - 6 + 1)
    assert model.evaluate()["stored"] is True  # nothing newer than the training data
    assert len(model.forecast(data=newer)) == 12
    figure = model.plot(newer, last=24)
    assert isinstance(figure, Figure) and len(figure.get_axes()) == 2


def test_save_then_load_gives_the_same_forecasts(model, tmp_path: Path):
    path = model.save(tmp_path / "run")
    assert model.path == path and (path / "metrics.json").is_file()
    loaded = rnnforecast.load(path)
    pd.testing.assert_frame_equal(loaded.forecast(data=stores()), model.forecast(data=stores()))
    # The directory has no data file to read again: new data must be given.
    with pytest.raises(DataError, match="came from a pandas DataFrame in Python"):
        loaded.forecast()
    copy = loaded.save(tmp_path / "copy")
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in path.iterdir())


def test_fit_a_file_with_a_config_dict_and_sections(tmp_path: Path):
    data = tmp_path / "sales.csv"
    stores().to_csv(data, index=False)
    config = {"data": {"id_column": "store"}, "window": {"horizon": 6, "lookback": 12}}
    saved = rnnforecast.fit(
        data,
        config,
        save_to=tmp_path / "run",
        progress="none",
        training={"epochs": 1},
        **{"model": {"units": 4}},
    )
    assert saved.path == tmp_path / "run" and saved.config.data.path == data
    assert saved.config.training.epochs == 1 and saved.config.window.lookback == 12
    with pytest.raises(ConfigError, match=r"unknown config section\(s\) 'windw'"):
        rnnforecast.fit(data, config, windw={"horizon": 3})
    with pytest.raises(ConfigError, match=r"window\.horizon: must be > 0"):
        rnnforecast.fit(data, config, window={"horizon": 0})


def test_the_readme_example_runs_as_written(tmp_path: Path, monkeypatch):
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Python API", 1)[1]
    [code] = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.DOTALL)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert (tmp_path / "runs" / "stores" / "metrics.json").is_file()
    assert namespace["forecasts"].columns.tolist()[:3] == ["store", "month", "forecast"]
    assert namespace["scores"]["part"] == "last 12 points"
    assert isinstance(namespace["figure"], Figure)


def test_importing_the_package_and_its_api_loads_no_tensorflow():
    code = (
        "import sys, rnnforecast\n"
        "rnnforecast.fit, rnnforecast.load, rnnforecast.Model\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.stdout.split() == ["False", "False"], result.stderr
