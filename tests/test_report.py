"""The HTML report: self-contained, for each kind of folder, and opened in a real browser."""

import base64
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rnnforecast.cli import app
from rnnforecast.errors import RunError
from rnnforecast.report import folder_kind, interval_coverage, render, write_report
from tests.conftest import TINY_OVERRIDES

runner = CliRunner()
IMAGE = re.compile(r"<img alt='[^']*' src='data:image/png;base64,([A-Za-z0-9+/=]+)'>")


def assert_self_contained(page: str) -> int:
    """No reference outside the page; every image a valid inline PNG. Returns the images."""
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:|//)", page)
    assert "<script" not in page and "<link" not in page
    images = IMAGE.findall(page)
    assert page.count("<img") == len(images), "every image is inline"
    for encoded in images:
        assert base64.b64decode(encoded)[:8] == b"\x89PNG\r\n\x1a\n"
    return len(images)


@pytest.fixture(scope="module")
def tiny_backtest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rnnforecast.backtest import run_backtest
    from rnnforecast.config_file import load_config

    folder = tmp_path_factory.mktemp("backtest") / "bt"
    config = load_config(None, TINY_OVERRIDES)
    run_backtest(config, folder, folds=2, step=None, refit_each_fold=False, progress="none")
    return folder


def test_a_run_report_says_what_was_trained_and_how_it_compares(tiny_run):
    page = render(tiny_run.path)
    assert assert_self_contained(page) == 3, "forecast.png, test windows, loss.png"
    metrics = tiny_run.metrics
    assert "<tr class='model'><td>model</td>" in page
    assert f"<td>{metrics['model']['mase']:.4g}</td>" in page
    best = metrics["best_baseline"]
    assert f"<tr class='best'><td>{best}</td>" in page
    verdict = "beats the best naive baseline" if metrics["skill"] > 0 else "does NOT beat"
    assert verdict in page and f"({best})" in page
    assert "Values chosen from the data" in page and "<td>lookback</td><td>12</td>" in page
    assert "rnnforecast train config.yaml" in page and "horizon: 4" in page
    model = metrics["intervals"]["80"]["model"]
    assert (
        f"<tr class='model'><td>80%</td><td>model</td><td>{model['coverage']:.1%}</td>"
        f"<td>{model['width']:.4g}</td>" in page
    ), "the interval figures of metrics.json"
    if metrics["guard"]["choice"] not in ("network", "blend"):
        assert f"and chose {metrics['guard']['choice']}" in page


def test_a_run_report_says_when_the_guard_chose_the_blend(tiny_run, tmp_path: Path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run.path, run)
    metrics = json.loads((run / "metrics.json").read_text())
    scores = {"model": 0.9, "naive": 1.2, "seasonal_naive": 1.0, "blend": 0.8}
    metrics["guard"] = {"enabled": True, "margin": 0, "choice": "blend", "validation_mase": scores}
    (run / "metrics.json").write_text(json.dumps(metrics))
    page = render(run)
    assert (
        "(MASE: model 0.9, naive 1.2, seasonal_naive 1, blend 0.8) and chose an even blend of "
        "the network and seasonal naive with drift: this run forecasts with an even blend" in page
    )


def test_without_interval_figures_the_coverage_comes_from_the_bounds(tiny_run, tmp_path: Path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run.path, run)
    pairs = pd.read_csv(run / "forecast_test.csv")
    pairs = pairs.drop(columns=[column for column in pairs if column.endswith("_95")])
    pairs["lower_80"] = pairs["forecast"] - 0.5
    pairs["upper_80"] = pairs["forecast"] + 0.5
    pairs.to_csv(run / "forecast_test.csv", index=False)
    metrics = json.loads((run / "metrics.json").read_text())
    del metrics["intervals"]
    (run / "metrics.json").write_text(json.dumps(metrics))
    inside = ((pairs["actual"] - pairs["forecast"]).abs() <= 0.5).mean()
    [(level, coverage, width, points)] = interval_coverage(pairs)
    assert (level, points) == (80.0, len(pairs))
    assert coverage == pytest.approx(inside) and width == pytest.approx(1.0)
    page = render(run)
    assert f"<tr><td>80%</td><td>{inside:.1%}</td><td>1</td>" in page


def test_many_series_show_the_worst_and_the_best(long_run, tmp_path: Path):
    source, _, _ = long_run
    run = tmp_path / "run"
    shutil.copytree(source.path, run)
    pairs = pd.read_csv(run / "forecast_test.csv")
    copies = []
    for index in range(8):
        copy = pairs[pairs["region"] == "north"].copy()
        copy["region"] = f"r{index}"
        copy["forecast"] = copy["actual"] + index  # r0 is exact, r7 the worst
        copies.append(copy)
    pd.concat(copies).to_csv(run / "forecast_test.csv", index=False)
    page = render(run)
    assert "8 series: the 3 worst and the 3 best" in page
    assert "<td>r0</td><td>0</td>" in page, "every series' score in the table"


def test_a_backtest_report(tiny_backtest):
    assert folder_kind(tiny_backtest) == "backtest"
    page = render(tiny_backtest)
    assert assert_self_contained(page) == 2, "backtest.png and the fold forecasts"
    assert "All folds together" in page and "<td>2</td>" in page
    assert "rnnforecast backtest config.yaml --folds 2 --no-refit" in page


def test_a_tune_report(tiny_tune):
    assert folder_kind(tiny_tune.folder) == "tune"
    page = render(tiny_tune.folder)
    assert assert_self_contained(page) == 2, "trials.png and importance.png"
    summary = tiny_tune.summary
    assert f"<td>defaults (trial 0)</td><td>{summary['defaults']['score']:.4g}</td>" in page
    assert "<td>model.units</td><td>[4, 8]</td>" in page
    expected = "lower than the config as given" if summary["beats_defaults"] else "No trial beat"
    assert expected in page
    assert "rnnforecast train best.yaml" in page


def test_other_folders_are_run_errors(tmp_path: Path):
    with pytest.raises(RunError, match="folder not found"):
        folder_kind(tmp_path / "missing")
    with pytest.raises(RunError, match="not a run directory"):
        folder_kind(tmp_path)
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 5 and result.stderr.startswith("Error: ")


def test_report_command_writes_the_page(tiny_run, tmp_path: Path):
    output = tmp_path / "run.html"
    result = runner.invoke(app, ["report", str(tiny_run.path), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert output.read_text().startswith("<!DOCTYPE html>")
    result = runner.invoke(app, ["report", "--help"])
    assert "Example: rnnforecast report" in result.stdout


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


def open_in_chromium(page: Path, screenshot: Path) -> str:
    """Load `page` in headless Chromium, save a screenshot, return its console messages."""
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                chromium() or "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                "--hide-scrollbars",
                "--window-size=1100,1500",
                f"--screenshot={screenshot}",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert screenshot.is_file(), result.stderr
    return "\n".join(line for line in result.stderr.splitlines() if ":CONSOLE" in line)


@pytest.mark.skipif(
    chromium() is None,
    reason="needs Debian's chromium (apt-get install -y chromium); .ci/run installs it",
)
def test_the_report_opens_in_a_real_browser_without_errors(tiny_run, tmp_path: Path):
    from matplotlib.image import imread

    # The console is really captured: a page that logs an error shows it.
    control = tmp_path / "control.html"
    control.write_text("<p>x</p><script>console.error('control-error-17')</script>")
    assert "control-error-17" in open_in_chromium(control, tmp_path / "control.png")
    page = tmp_path / "report.html"
    write_report(tiny_run.path, page)
    console = open_in_chromium(page, tmp_path / "report.png")
    assert console == "", console
    pixels = (imread(tmp_path / "report.png")[:, :, :3] * 255).round().astype(int)
    assert pixels.shape[:2] == (1500, 1100)
    assert (pixels < 250).any(axis=2).mean() > 0.03, "not a blank page"

    def count(colour: tuple[int, int, int], tolerance: int = 3) -> int:
        return int((np.abs(pixels - np.array(colour)) <= tolerance).all(axis=2).sum())

    assert count((255, 247, 230)) > 500, "the model's row of the metrics table is drawn"
    assert count((214, 39, 40), tolerance=25) > 200, "the forecast figure (red model line)"
