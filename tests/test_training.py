import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import yaml

from rnnforecast.config_file import load_config
from rnnforecast.data import synthetic_dataset
from rnnforecast.errors import ConfigError, DataError
from rnnforecast.metrics import interval_scores, mase_scale, score
from rnnforecast.plan import make_plan
from rnnforecast.run import (
    CONFIG_FILE,
    FORECAST_PLOT_FILE,
    FORECAST_TEST_FILE,
    FORECASTER_FILE,
    HISTORY_FILE,
    LOSS_PLOT_FILE,
    MANIFEST_FILE,
    METRICS_FILE,
    MODELS_DIR,
    SCALER_FILE,
    SPLIT_FILE,
    member_file,
)
from rnnforecast.splitting import split_points
from rnnforecast.training import fit_forecaster, refit, train
from tests.conftest import TINY_OVERRIDES


def test_by_default_the_saved_model_is_the_one_scored_not_refit(tmp_path):
    overrides = [*TINY_OVERRIDES, "model.guard=false"]  # the network is kept, so it trains
    config = load_config(None, overrides)
    assert config.training.refit is False
    run = train(config, run_dir=tmp_path / "run", progress="none")
    history = pd.read_csv(run.path / HISTORY_FILE)
    assert set(history["phase"]) == {"holdout"} and len(history) == 2
    assert run.metrics["models"]["saved"] == "the same model"
    assert "refit_epochs" not in run.metrics["training"]
    assert run.metrics["calibration"]["origins"] == "validation"


def test_run_directory_is_self_contained(tiny_run):
    names = {path.name for path in tiny_run.path.iterdir()}
    assert names == {
        MODELS_DIR,
        SCALER_FILE,
        CONFIG_FILE,
        METRICS_FILE,
        SPLIT_FILE,
        FORECASTER_FILE,
        HISTORY_FILE,
        FORECAST_TEST_FILE,
        FORECAST_PLOT_FILE,
        LOSS_PLOT_FILE,
        MANIFEST_FILE,
    }
    for plot in (FORECAST_PLOT_FILE, LOSS_PLOT_FILE):
        assert (tiny_run.path / plot).read_bytes()[:4] == b"\x89PNG"
    manifest = json.loads((tiny_run.path / MANIFEST_FILE).read_text())
    assert manifest["seed"] == 42 and manifest["packages"]["tensorflow"].startswith("2.21")
    resolved = yaml.safe_load((tiny_run.path / CONFIG_FILE).read_text())
    assert resolved["window"]["lookback"] == 12 and resolved["data"]["season_length"] == 24
    assert (tiny_run.path / member_file(1)).is_file()
    history = pd.read_csv(tiny_run.path / HISTORY_FILE)
    # Two epochs early-stopped on validation, then the refit for the best epoch count, unless
    # the guard chose a baseline (two epochs rarely beat seasonal naive on a clean sine).
    assert history["phase"].tolist()[:2] == ["holdout", "holdout"]
    refit_epochs = tiny_run.metrics["training"]["refit_epochs"]
    best = 0 if tiny_run.fallback else tiny_run.metrics["training"]["best_epoch"]
    assert refit_epochs == [best]
    assert (history["phase"] == "refit").sum() == refit_epochs[0]


def test_metrics_compare_model_and_baselines_on_the_same_test_windows(tiny_run):
    metrics = tiny_run.metrics
    pairs = pd.read_csv(tiny_run.path / FORECAST_TEST_FILE)
    # 240 points: test is the last 48, so 48 - 4 + 1 windows of 4 steps.
    assert metrics["windows"] == 45 and len(pairs) == 45 * 4
    assert pairs.columns.tolist() == [
        "origin",
        "step",
        "horizon_step",
        "actual",
        "forecast",
        "lower_80",
        "upper_80",
        "lower_95",
        "upper_95",
        "naive",
        "seasonal_naive",
        "drift",
        "mean",
    ]
    series = synthetic_dataset(load_config(None, TINY_OVERRIDES).data).series[0].target
    scale = np.full(45, mase_scale(series[:168].astype(float), 24))
    for level in ("80", "95"):
        bounds = [pairs[f"{side}_{level}"].to_numpy().reshape(45, 4) for side in ("lower", "upper")]
        recomputed = interval_scores(
            pairs["actual"].to_numpy().reshape(45, 4), *bounds, float(level), scale
        )
        assert recomputed == pytest.approx(metrics["intervals"][level]["model"])
    for name in ("forecast", "naive", "seasonal_naive", "drift", "mean"):
        key = "model" if name == "forecast" else name
        recomputed = score(
            pairs["actual"].to_numpy().reshape(45, 4), pairs[name].to_numpy().reshape(45, 4), scale
        )
        assert recomputed == pytest.approx(metrics[key])
    assert metrics["skill"] == pytest.approx(
        1 - metrics["model"]["mase"] / metrics[metrics["best_baseline"]]["mase"]
    )


def test_test_targets_are_only_from_the_test_part(tiny_run):
    pairs = pd.read_csv(tiny_run.path / FORECAST_TEST_FILE)
    target_positions = pairs["step"]
    assert target_positions.min() == 192 and target_positions.max() == 239
    # Each forecast's last input is exactly `horizon_step` steps before its target.
    assert (target_positions - pairs["origin"] == pairs["horizon_step"]).all()


def test_the_scored_model_never_sees_the_test_part_and_the_saved_one_sees_everything():
    config = load_config(None, TINY_OVERRIDES)
    dataset = synthetic_dataset(config.data)
    points = split_points(dataset, config)
    plan = make_plan(config, dataset, points)
    holdout = fit_forecaster(plan, dataset, points, "none")
    series = dataset.series[0].target
    train_end = 240 - 48 - 24  # validation 0.1 * 240 = 24, test 0.2 * 240 = 48
    assert holdout.forecaster.scaler.center[""][0] == pytest.approx(series[:train_end].mean())
    final = refit(plan, dataset, holdout, "none")
    assert final.forecaster.scaler.center[""][0] == pytest.approx(series.mean())
    assert final.summaries[0]["windows"]["training"] == 240 - 12 - 4 + 1


def test_the_holdout_model_ignores_whatever_follows_its_training_part():
    """Leak check: replacing everything after the training part changes nothing it learns."""
    config = load_config(None, TINY_OVERRIDES)
    dataset = synthetic_dataset(config.data)
    points = split_points(dataset, config)
    plan = make_plan(config, dataset, points)
    values = dataset.series[0].values.copy()
    values[points[0].validation_end :] = 1e6
    tampered = replace(dataset, series=[replace(dataset.series[0], values=values)])
    original = fit_forecaster(plan, dataset, points, "none")
    changed = fit_forecaster(plan, tampered, points, "none")
    assert changed.forecaster.scaler == original.forecaster.scaler
    origins = [np.array([100, 150])]
    np.testing.assert_allclose(
        changed.forecaster.forecast(tampered, origins).point,
        original.forecaster.forecast(dataset, origins).point,
        rtol=1e-6,
    )


def test_same_seed_and_data_give_the_same_metrics(tiny_run, tmp_path):
    again = train(load_config(None, TINY_OVERRIDES), run_dir=tmp_path / "again", progress="none")
    assert again.metrics["model"] == tiny_run.metrics["model"]


def test_long_format_trains_one_global_model_with_per_series_scaling(long_run):
    run, _, _ = long_run
    assert set(run.scaler.center) == {"north", "south"}
    assert run.scaler.center["south"][0] > run.scaler.center["north"][0]
    pairs = pd.read_csv(run.path / FORECAST_TEST_FILE)
    assert set(pairs["region"]) == {"north", "south"}
    assert run.metrics["season_length"] == 12


def test_an_ensemble_saves_every_member_and_forecasts_their_median(tmp_path):
    overrides = [*TINY_OVERRIDES, "training.ensemble=3", "training.ensemble_lookbacks=[8, 12]"]
    overrides.append("model.guard=false")  # the members' own forecasts, not a baseline's
    run = train(load_config(None, overrides), run_dir=tmp_path / "ensemble", progress="none")
    assert sorted(path.name for path in (run.path / MODELS_DIR).iterdir()) == [
        "member-1.keras",
        "member-2.keras",
        "member-3.keras",
    ]
    forecaster = run.load_forecaster()
    assert [member.lookback for member in forecaster.members] == [8, 12, 8]
    dataset = synthetic_dataset(run.config.data)
    origins = [np.array([200])]
    each = [
        replace(forecaster, members=[member]).forecast(dataset, origins).point
        for member in forecaster.members
    ]
    ensemble = forecaster.forecast(dataset, origins)
    np.testing.assert_allclose(ensemble.point, np.median(np.stack(each), axis=0), rtol=1e-5)
    np.testing.assert_allclose(ensemble.members, np.stack(each), rtol=1e-5)
    assert len(run.metrics["training"]["members"]) == 3


@pytest.mark.parametrize("patience", ["training.early_stopping=5", "training.early_stopping=0"])
def test_when_no_epoch_beats_the_baseline_the_untrained_model_is_kept(tmp_path, patience):
    # A noiseless sine with a whole period: seasonal naive is exact, nothing can beat it.
    overrides = [
        *TINY_OVERRIDES,
        "data.synthetic.period=12",
        "data.synthetic.noise.scale=0",
        "training.epochs=3",
        "training.refit=true",
        patience,
    ]
    run = train(load_config(None, overrides), run_dir=tmp_path / "exact", progress="none")
    summary = run.metrics["training"]
    assert summary["best_epoch"] == 0 and summary["epochs_run"] >= 1
    assert summary["refit_epochs"] == [0]
    pairs = pd.read_csv(run.path / FORECAST_TEST_FILE)
    np.testing.assert_allclose(pairs["forecast"], pairs["seasonal_naive"], atol=1e-4)


def test_series_too_short_for_validation_keep_their_baseline(tmp_path):
    # 54 points, horizon 18: the validation fraction is dropped, nothing can check training.
    overrides = [
        "data.synthetic.length=54",
        "data.synthetic.period=12",
        "window.horizon=18",
        "model.units=4",
        "training.ensemble=1",
        "training.refit=true",
    ]
    run = train(load_config(None, overrides), run_dir=tmp_path / "short", progress="none")
    assert run.metrics["training"]["best_epoch"] == 0
    assert run.metrics["training"]["refit_epochs"] == [0]
    assert "untrained seasonal_naive baseline" in run.metrics["models"]["test"]
    pairs = pd.read_csv(run.path / FORECAST_TEST_FILE)
    np.testing.assert_allclose(pairs["forecast"], pairs["seasonal_naive"], rtol=1e-5)


def test_train_reports_each_step_and_each_epoch(tmp_path):
    from rnnforecast.events import Events, step_seconds

    seen = []
    config = load_config(None, [*TINY_OVERRIDES, "training.ensemble=2"])
    train(config, run_dir=tmp_path / "run", progress="none", events=Events(seen.append))
    steps = step_seconds(seen)
    for name in ("data + split", "scaling + windows", "build + compile", "fit", "save run"):
        assert steps[name] > 0, name
    epochs = [event for event in seen if event.kind == "epoch"]
    holdout = [event for event in epochs if event.name == "holdout"]
    assert [(e.fields["member"], e.fields["epoch"]) for e in holdout] == [
        (1, 1),
        (1, 2),
        (2, 1),
        (2, 2),
    ]
    assert all(e.fields["members"] == 2 and "val_loss" in e.fields for e in holdout)
    assert {event.name for event in epochs} <= {"holdout", "refit"}
    assert all(e.fields["learning_rate"] == pytest.approx(0.001) for e in epochs)
    [start] = [event for event in seen if event.kind == "run"]
    assert start.fields["final"] == tmp_path / "run"
    # The staging folder beside the run holds the contents and the training state apart.
    assert start.fields["folder"] == tmp_path / ".run.rnnforecast-staging" / "contents"
    assert start.fields["config"].model.units == [8]
    [final] = [event for event in seen if event.kind == "metrics"]
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert final.fields["metrics"]["model"]["mase"] == pytest.approx(saved["model"]["mase"])


@pytest.mark.parametrize("kind", ["MemoryError", "ResourceExhaustedError"])
def test_running_out_of_memory_is_a_config_error_naming_the_sizes(tmp_path, monkeypatch, kind):
    import tensorflow as tf

    import rnnforecast.training

    def out_of_memory(*args, **kwargs):
        if kind == "MemoryError":
            raise MemoryError()
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")

    monkeypatch.setattr(rnnforecast.training, "build_pack", out_of_memory)
    config = load_config(None, [*TINY_OVERRIDES, "model.units=[4096, 4096]"])
    with pytest.raises(ConfigError) as error:
        train(config, run_dir=tmp_path / "run", progress="none")
    message = str(error.value)
    assert message.startswith(f"training ran out of memory ({kind})")
    assert "Received: model.units=[4096, 4096], model.dense=[], training.batch_size=32" in message
    assert list(tmp_path.iterdir()) == []


def test_the_largest_seed_trains_every_member(tmp_path):
    overrides = [*TINY_OVERRIDES, "training.seed=4294967295", "training.ensemble=2"]
    overrides += ["training.epochs=1", "training.refit=false"]
    run = train(load_config(None, overrides), run_dir=tmp_path / "run", progress="none")
    assert len(run.metrics["training"]["members"]) == 2


def with_filled(dataset, positions):
    """The dataset with its target at `positions` marked as filled by `data.missing`."""
    [series] = dataset.series
    observed = np.ones(len(series), dtype=bool)
    observed[positions] = False
    return replace(dataset, series=[replace(series, observed=observed)])


def test_windows_whose_targets_were_filled_do_not_teach_the_model():
    config = load_config(None, TINY_OVERRIDES)
    dataset = synthetic_dataset(config.data)
    points = split_points(dataset, config)
    plan = make_plan(config, dataset, points)
    # Training part 0-167 (windows 12..164), validation 168-191 (windows 168..188).
    filled = with_filled(dataset, [30, 100, 101, 180])
    fitted = fit_forecaster(plan, filled, points, "none")
    assert fitted.summaries[0]["windows"] == {"training": 153 - 4 - 5, "validation": 21 - 4}
    plain = fit_forecaster(plan, dataset, points, "none")
    assert plain.summaries[0]["windows"] == {"training": 153, "validation": 21}


def test_no_training_window_left_without_a_filled_target_is_a_data_error():
    config = load_config(None, TINY_OVERRIDES)
    dataset = synthetic_dataset(config.data)
    points = split_points(dataset, config)
    every_fourth = with_filled(dataset, list(range(0, 240, 4)))
    with pytest.raises(DataError, match=r"every training window of 4 step\(s\) has a target value"):
        make_plan(config, every_fourth, points)
