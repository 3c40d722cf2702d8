import pytest

from rnnforecast.config import MAX_DEFAULT_EPOCHS, MIN_DEFAULT_EPOCHS, load_config
from rnnforecast.data import synthetic_dataset
from rnnforecast.defaults import (
    chosen_summary,
    default_batch_size,
    resolve_defaults,
    training_windows,
)
from rnnforecast.splitting import split_points


def resolved(*overrides: str):
    config = load_config(None, list(overrides))
    dataset = synthetic_dataset(config.data)
    points = split_points(dataset, config)
    return config, resolve_defaults(config, dataset, points), points


def test_small_data_gets_a_small_network_small_batches_and_enough_epochs():
    _, config, points = resolved("data.synthetic.length=200", "data.synthetic.period=12")
    windows = training_windows(points, config.window.lookback, config.window.horizon, 1)
    assert windows == 140 - 24 - 12 + 1
    assert config.model.units == [32]
    assert config.training.batch_size == 8
    assert MIN_DEFAULT_EPOCHS <= config.training.epochs <= MAX_DEFAULT_EPOCHS
    assert config.training.early_stopping == max(10, config.training.epochs // 10)


def test_large_data_gets_more_units_and_full_batches():
    _, config, _ = resolved("data.synthetic.length=20000", "data.synthetic.period=24")
    assert config.model.units == [64] and config.training.batch_size == 32
    assert config.training.epochs == MIN_DEFAULT_EPOCHS  # 13,900 windows: few epochs suffice


def test_given_values_are_kept_and_the_summary_names_the_choices():
    given, config, _ = resolved(
        "model.units=[5, 3]", "training.epochs=7", "training.batch_size=4", "data.calendar=none"
    )
    assert config.model.units == [5, 3] and config.training.epochs == 7
    assert config.training.batch_size == 4 and config.training.early_stopping == 10
    assert given.training.early_stopping is None, "the user's config is left as it was"
    assert "lookback 100" in chosen_summary(config) and "epochs 7" in chosen_summary(config)


@pytest.mark.parametrize(("windows", "batch"), [(10, 8), (400, 20), (640, 32), (10**6, 32)])
def test_batch_size_keeps_about_twenty_steps_an_epoch(windows: int, batch: int):
    assert default_batch_size(windows) == batch


def test_learning_rate_follows_the_square_root_of_the_batch_size():
    _, config, _ = resolved("data.synthetic.length=200", "data.synthetic.period=12")
    assert config.training.batch_size == 8 and config.training.learning_rate == 0.0005
    _, config, _ = resolved("training.learning_rate=0.01")
    assert config.training.learning_rate == 0.01


def test_a_series_too_short_for_a_validation_part_trains_briefly():
    # 54 monthly points, horizon 18: test 18 leaves 36, too few to also hold out 18 more.
    _, config, points = resolved(
        "data.synthetic.length=54", "data.synthetic.period=12", "window.horizon=18"
    )
    assert points[0].validation_end == points[0].train_end == 36
    assert config.window.lookback == 12, "one season, so the seasonal baseline still applies"
    assert config.training.epochs == MIN_DEFAULT_EPOCHS


def test_log_is_decided_on_the_training_part_and_checked_on_the_rest(tmp_path):
    from rnnforecast.data import load_dataset
    from rnnforecast.errors import DataError
    from rnnforecast.training import prepare

    path = tmp_path / "d.csv"
    values = [10 + t % 12 for t in range(58)] + [0, 0]  # zeros in the test part only
    path.write_text("t,y\n" + "".join(f"{t},{v}\n" for t, v in enumerate(values)))
    config = load_config(None, [f"data.path={path}", "data.time_column=t"])
    dataset = load_dataset(config.data)
    points = split_points(dataset, config)
    assert resolve_defaults(config, dataset, points).transform.log is True
    with pytest.raises(DataError, match=r"chosen because the training part is positive"):
        prepare(config, dataset, points)


def test_log_is_on_for_positive_series_only(tmp_path):
    from rnnforecast.data import load_dataset

    path = tmp_path / "d.csv"
    path.write_text("t,y\n" + "".join(f"{t},{10 + t % 12}\n" for t in range(60)))
    config = load_config(None, [f"data.path={path}", "data.time_column=t"])
    dataset = load_dataset(config.data)
    assert resolve_defaults(config, dataset, split_points(dataset, config)).transform.log is True
    _, negative, _ = resolved()  # the synthetic sine goes below zero
    assert negative.transform.log is False
    _, forced, _ = resolved("transform.log=false")
    assert forced.transform.log is False


@pytest.mark.parametrize(("length", "members"), [(200, 5), (4000, 4), (20000, 1)])
def test_small_data_gets_an_ensemble(length: int, members: int):
    _, config, _ = resolved(f"data.synthetic.length={length}", "data.synthetic.period=12")
    assert config.training.ensemble == members
    _, given, _ = resolved("training.ensemble=2")
    assert given.training.ensemble == 2
