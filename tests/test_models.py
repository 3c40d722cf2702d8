from pathlib import Path

import numpy as np
import pytest

from rnnforecast.models import ModelShape, build_model, compile_model
from rnnforecast.plan import Plan
from rnnforecast.run import Run, member_file
from rnnforecast.scaling import Scaler
from tests.conftest import plan_of


def built(plan: Plan, shape: ModelShape):
    return build_model(plan, plan.members[0], shape)


@pytest.mark.parametrize(
    ("cell", "layer"), [("simple_rnn", "SimpleRNN"), ("lstm", "LSTM"), ("gru", "GRU")]
)
def test_each_cell_maps_windows_to_the_horizon(cell: str, layer: str):
    model = built(plan_of(f"model.cell={cell}"), ModelShape(6, 2, 3))
    output = model.predict({"window": np.zeros((5, 6, 2), dtype="float32")}, verbose=0)
    assert output.shape == (5, 3)
    assert type(model.get_layer(f"{cell}_0")).__name__ == layer


def test_stacked_bidirectional_layers_and_dense_head():
    plan = plan_of(
        "model.cell=gru",
        "model.units=[8, 4]",
        "model.bidirectional=true",
        "model.dense=[5]",
        "model.dropout=0.1",
        "model.baseline=none",
        "window.lookback=10",
        "window.horizon=2",
    )
    model = built(plan, ModelShape(10, 1, 2))
    names = [layer.name for layer in model.layers]
    assert names == ["window", "bidirectional_0", "bidirectional_1", "dense_0", "forecast"]
    assert model.get_layer("bidirectional_0").forward_layer.return_sequences is True
    assert model.get_layer("bidirectional_1").forward_layer.return_sequences is False
    assert model.output_shape == (None, 2)


def test_tutorial_architecture_has_the_classic_parameter_count():
    plan = plan_of(
        "model.cell=simple_rnn",
        "model.units=32",
        "model.activation=relu",
        "model.dense=[8, 12, 8]",
        "model.baseline=none",
        "window.lookback=4",
        "window.horizon=1",
    )
    model = built(plan, ModelShape(4, 1, 1))
    # SimpleRNN(32): 32*(1+32+1); Dense 8, 12, 8, 1 on top.
    expected = 32 * 34 + (32 * 8 + 8) + (8 * 12 + 12) + (12 * 8 + 8) + (8 + 1)
    assert model.count_params() == expected


@pytest.mark.parametrize(
    ("baseline", "season", "expected"),
    [
        ("naive", 1, [3.0, 3.0, 3.0]),
        ("mean", 1, [2.0, 2.0, 2.0]),
        ("seasonal_naive", 2, [2.0, 3.0, 2.0]),
        ("auto", 2, [2.0, 3.0, 2.0]),
        ("auto", 1, [3.0, 3.0, 3.0]),
        ("seasonal_naive", 5, [3.0, 3.0, 3.0]),  # a season longer than the window: naive
    ],
)
def test_an_untrained_model_starts_from_the_baseline(
    baseline: str, season: int, expected: list[float]
):
    plan = plan_of(
        "model.units=3",
        f"model.baseline={baseline}",
        f"data.season_length={season}",
        "window.lookback=3",
    )
    model = built(plan, ModelShape(3, 2, 3))
    head = model.get_layer("forecast")
    head.set_weights([np.zeros_like(weights) for weights in head.get_weights()])
    window = np.array([[[1.0, 50.0], [2.0, 60.0], [3.0, 70.0]]], dtype="float32")
    # Before training the linear part is the baseline; with the network's head at zero the
    # forecast is exactly the baseline.
    assert model.predict({"window": window}, verbose=0).tolist() == [expected]


def test_model_with_baseline_layer_saves_and_loads(tmp_path: Path):
    plan = plan_of("model.units=3", "data.season_length=2", "window.lookback=4")
    model = built(plan, ModelShape(4, 1, 3))
    (tmp_path / "models").mkdir()
    model.save(tmp_path / member_file(1))
    window = np.random.default_rng(0).normal(size=(2, 4, 1)).astype("float32")
    scaler = Scaler("none", {"": [0.0]}, {"": [1.0]})
    loaded = Run(tmp_path, plan, scaler, {}, {}, {}).load_forecaster().members[0].model
    np.testing.assert_allclose(
        loaded.predict({"window": window}, verbose=0), model.predict({"window": window}, verbose=0)
    )


@pytest.mark.parametrize(
    ("optimizer", "name"), [("adam", "Adam"), ("rmsprop", "RMSprop"), ("sgd", "SGD")]
)
def test_compile_uses_the_named_optimizer_and_rate(optimizer: str, name: str):
    plan = plan_of(
        "model.units=2",
        "window.lookback=3",
        "window.horizon=1",
        f"training.optimizer={optimizer}",
        "training.learning_rate=0.01",
        "training.loss=huber",
    )
    model = built(plan, ModelShape(3, 1, 1))
    compile_model(model, plan)
    assert type(model.optimizer).__name__ == name
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def test_future_values_and_series_embedding_are_model_inputs():
    plan = plan_of("model.series_embedding=3", "window.horizon=2")
    model = built(plan, ModelShape(6, 3, 2, known=2, series=5))
    assert {tensor.name for tensor in model.inputs} == {"window", "future", "series"}
    rng = np.random.default_rng(0)
    inputs = {
        "window": rng.normal(size=(4, 6, 3)).astype("float32"),
        "future": rng.normal(size=(4, 2, 2)).astype("float32"),
        "series": np.array([0, 1, 4, 4], dtype="int32"),
    }
    assert model.predict(inputs, verbose=0).shape == (4, 2)
    assert model.get_layer("series_embedding").input_dim == 5


def test_differencing_forecasts_changes_summed_onto_the_last_value():
    plan = plan_of(
        "model.units=3", "model.baseline=naive", "transform.difference=true", "window.lookback=4"
    )
    model = built(plan, ModelShape(4, 1, 3))
    head = model.get_layer("forecast")
    weights, bias = head.get_weights()
    head.set_weights([np.zeros_like(weights), np.ones_like(bias)])
    window = np.array([[[1.0], [2.0], [4.0], [7.0]]], dtype="float32")
    # A change of +1 per step from the last value 7: the running sum is 8, 9, 10.
    assert model.predict({"window": window}, verbose=0).tolist() == [[8.0, 9.0, 10.0]]


def test_quantile_bands_never_cross_and_start_from_the_spread():
    plan = plan_of("intervals.method=quantile", "intervals.levels=[50, 80, 95]")
    model = built(plan, ModelShape(6, 1, 3, spread=(1.0, 2.0, 3.0)))
    window = np.random.default_rng(0).normal(size=(4, 6, 1)).astype("float32")
    output = model.predict({"window": window}, verbose=0)
    assert output.shape == (4, 3, 7)  # the forecast, 3 lower and 3 upper quantiles
    point, lower, upper = output[..., 0], output[..., 1:4], output[..., 4:]
    # Lower quantiles from the narrowest level down, upper ones up: never crossing.
    assert (np.diff(lower, axis=-1) < 0).all() and (np.diff(upper, axis=-1) > 0).all()
    assert (lower[..., 0] < point).all() and (upper[..., 0] > point).all()
    # Untrained, each band is a normal distribution's with the spread of its step.
    np.testing.assert_allclose(upper[..., 2] - point, [[1.96, 3.92, 5.88]] * 4, rtol=1e-3)
    np.testing.assert_allclose(point - lower[..., 1], [[1.2816, 2.5631, 3.8447]] * 4, rtol=1e-3)


def test_quantiles_leave_the_forecast_and_its_training_unchanged():
    """The quantile head is built last and holds the forecast constant for its gradient: the
    same seed gives the same forecast, before and after a training step."""
    from rnnforecast.backend import seed_everything

    rng = np.random.default_rng(1)
    window = rng.normal(size=(16, 6, 1)).astype("float32")
    target = rng.normal(size=(16, 3)).astype("float32")
    forecasts = []
    for method in ("conformal", "quantile"):
        plan = plan_of(f"intervals.method={method}")
        seed_everything(7)
        model = built(plan, ModelShape(6, 1, 3))
        compile_model(model, plan)
        model.fit({"window": window}, target, epochs=3, batch_size=8, shuffle=False, verbose=0)
        output = model.predict({"window": window}, verbose=0)
        forecasts.append(output if method == "conformal" else output[..., 0])
    np.testing.assert_allclose(forecasts[1], forecasts[0], rtol=1e-6, atol=1e-6)


def test_the_quantile_loss_adds_the_pinball_loss_to_the_point_loss():
    from rnnforecast.layers import point_quantile_loss

    y_true = np.array([[1.0, 2.0]], dtype="float32")
    # Forecast 1 and 2 (no point error), lower quantile (tau 0.1) 0 and 3, upper (0.9) 4 and 2.
    y_pred = np.array([[[1.0, 0.0, 4.0], [2.0, 3.0, 2.0]]], dtype="float32")
    loss = np.asarray(point_quantile_loss(y_true, y_pred, "mean_squared_error", [0.1, 0.9]))
    # Pinball, lower: 0.1 * 1 (above by 1), 0.9 * 1 (actual 2 below the lower quantile 3);
    # upper: 0.1 * 3 (below the upper quantile 4 by 3), 0.
    assert loss.tolist() == pytest.approx([(0.1 + 0.9 + 0.1 * 3 + 0) / 4])


def test_a_quantile_model_saves_and_loads(tmp_path: Path):
    plan = plan_of("intervals.method=quantile", "window.lookback=4")
    model = built(plan, ModelShape(4, 1, 3, spread=(0.5, 0.5, 0.5)))
    (tmp_path / "models").mkdir()
    model.save(tmp_path / member_file(1))
    window = np.random.default_rng(0).normal(size=(2, 4, 1)).astype("float32")
    scaler = Scaler("none", {"": [0.0]}, {"": [1.0]})
    forecaster = Run(tmp_path, plan, scaler, {}, {}, {}).load_forecaster()
    assert forecaster.quantiles == (80.0, 95.0)
    np.testing.assert_allclose(
        forecaster.members[0].model.predict({"window": window}, verbose=0),
        model.predict({"window": window}, verbose=0),
    )
