import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from rnnforecast.errors import OutputError
from rnnforecast.plots import (
    DEFAULT_LAST_POINTS,
    MAX_PANELS,
    SeriesPanel,
    figure_format,
    forecast_figure,
    loss_figure,
    save_figure,
)


def panel(title: str) -> SeriesPanel:
    time = pd.date_range("2020-01-01", periods=30, freq="MS")
    fitted = np.full(30, np.nan)
    fitted[10:] = np.arange(20.0)
    return SeriesPanel(
        title=title,
        time=time,
        actual=np.arange(30.0),
        fitted=fitted,
        parts=[("validation", 20, 25), ("test", 25, 30)],
        future=(pd.date_range("2022-07-01", periods=3, freq="MS"), np.ones(3)),
    )


def test_forecast_figure_shows_actual_model_future_and_parts(tmp_path):
    figure = forecast_figure([panel("a"), panel("b")], target="sales")
    axes = figure.get_axes()
    assert [axis.get_title() for axis in axes] == ["a", "b"]
    labels = [line.get_label() for line in axes[0].get_lines()]
    assert [label for label in labels if not label.startswith("_")] == [
        "actual",
        "model",
        "forecast",
    ]
    shaded = [patch.get_label() for patch in axes[0].patches]
    assert shaded == ["validation part", "test part"]
    save_figure(figure, str(tmp_path / "f.png"))
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


def test_forecast_figure_caps_the_number_of_panels():
    figure = forecast_figure([panel(str(index)) for index in range(9)], target="y")
    assert len(figure.get_axes()) == MAX_PANELS
    assert figure._suptitle.get_text() == f"first {MAX_PANELS} of 9 series"
    figure = forecast_figure([panel("a")], target="y", total=1000)
    assert figure._suptitle.get_text() == "first 1 of 1000 series"


def test_loss_figure_plots_training_and_validation():
    history = pd.DataFrame({"epoch": [1, 2, 3], "loss": [3.0, 2.0, 1.0], "val_loss": [4, 3, 2]})
    [axis] = loss_figure(history).get_axes()
    assert [line.get_label() for line in axis.get_lines()] == ["training", "validation"]
    assert axis.get_lines()[0].get_xdata().tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    ("suffix", "start"), [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")]
)
def test_the_suffix_decides_the_format(tmp_path, suffix, start):
    save_figure(forecast_figure([panel("a")], target="y"), str(tmp_path / f"f{suffix}"))
    assert (tmp_path / f"f{suffix}").read_bytes().startswith(start)
    # A temporary name keeps the format of the real output file.
    save_figure(
        forecast_figure([panel("a")], "y"), str(tmp_path / "t.tmp"), figure_format(f"x{suffix}")
    )
    assert (tmp_path / "t.tmp").read_bytes().startswith(start)


def test_an_unsupported_suffix_names_the_supported_ones(tmp_path):
    with pytest.raises(OutputError, match=r"suffix '\.jpg'; expected one of \.png, \.svg, \.pdf"):
        save_figure(forecast_figure([panel("a")], target="y"), str(tmp_path / "f.jpg"))
    assert not (tmp_path / "f.jpg").exists()


def hourly_panel(hours: int) -> SeriesPanel:
    time = pd.date_range("2024-01-01", periods=hours, freq="h")
    values = np.sin(2 * np.pi * np.arange(hours) / 24)
    return SeriesPanel(
        "load",
        time,
        values,
        values.copy(),
        parts=[("validation", hours - 200, hours - 100), ("test", hours - 100, hours)],
        future=(pd.date_range(time[-1], periods=25, freq="h")[1:], np.zeros(24)),
    )


def actual_points(axis) -> int:
    [actual] = [line for line in axis.get_lines() if line.get_label() == "actual"]
    return len(actual.get_xdata())


def test_a_long_series_is_drawn_over_its_last_points_by_default_and_last_chooses():
    [axis] = forecast_figure([hourly_panel(8760)], target="MW").get_axes()
    assert actual_points(axis) == DEFAULT_LAST_POINTS
    assert axis.get_title() == f"load (last {DEFAULT_LAST_POINTS} of 8760 points)"
    [axis] = forecast_figure([hourly_panel(8760)], target="MW", last=48).get_axes()
    assert actual_points(axis) == 48
    # The parts before the window are left out, the test part is cut to it.
    assert [patch.get_label() for patch in axis.patches] == ["test part"]
    [axis] = forecast_figure([hourly_panel(300)], target="MW").get_axes()
    assert actual_points(axis) == 300 and axis.get_title() == "load"


def test_loss_figure_gives_each_member_a_colour_and_keeps_the_legend_off_the_curves():
    history = pd.concat(
        [
            pd.DataFrame(
                {
                    "epoch": [1, 2, 3],
                    "loss": [3.0, 2.0, 1.0],
                    "val_loss": [4.0, 3.0, 2.0] if phase == "holdout" else np.nan,
                    "member": member,
                    "phase": phase,
                }
            )
            for phase in ("holdout", "refit")
            for member in range(1, 6)
        ]
    )
    figure = loss_figure(history)
    holdout, refit = figure.get_axes()
    assert (holdout.get_title(), refit.get_title()) == ("holdout", "refit")
    colours = [to_hex(line.get_color()) for line in holdout.get_lines()[::2]]
    assert len(set(colours)) == 5
    assert [to_hex(line.get_color()) for line in refit.get_lines()] == colours
    assert [line.get_linestyle() for line in holdout.get_lines()[:2]] == ["-", "--"]
    assert holdout.get_legend() is None and refit.get_legend() is None
    [legend] = figure.legends
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels == [f"member {n}" for n in range(1, 6)] + ["training", "validation"]


def test_loss_figure_of_an_untrained_run_says_so():
    history = pd.DataFrame({"epoch": [], "loss": [], "member": [], "phase": []})
    [axis] = loss_figure(history).get_axes()
    assert axis.texts[0].get_text() == "no epochs: the model is its untrained baseline"
