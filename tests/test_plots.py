import numpy as np
import pandas as pd

from rnnforecast.plots import MAX_PANELS, SeriesPanel, forecast_figure, loss_figure, save_figure


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
