import pytest

from rnnforecast.config import load_config
from rnnforecast.data import synthetic_dataset
from rnnforecast.errors import ConfigError
from rnnforecast.splitting import check_split, default_lookback, resolve_defaults, split_points


def prepared(*overrides: str):
    config = load_config(None, list(overrides))
    dataset = synthetic_dataset(config.data)
    return config, dataset, split_points(dataset, config)


def test_split_is_chronological_train_validation_test():
    _, _, points = prepared("data.synthetic.length=100", "window.horizon=5")
    assert (points[0].train_end, points[0].validation_end, points[0].length) == (70, 80, 100)


def test_default_lookback_covers_two_seasons_within_the_training_part():
    _, dataset, points = prepared("data.synthetic.period=12", "window.horizon=6")
    assert default_lookback(dataset, points, horizon=6) == 24
    _, dataset, points = prepared(
        "data.synthetic.length=40", "data.synthetic.period=12", "window.horizon=4"
    )
    assert default_lookback(dataset, points, horizon=4) == (points[0].train_end - 4) // 2


def test_resolve_defaults_writes_the_chosen_values():
    config, dataset, points = prepared("data.synthetic.period=12")
    resolved = resolve_defaults(config, dataset, points)
    assert resolved.window.lookback == 24 and resolved.data.season_length == 12
    assert config.window.lookback is None, "the user's config is left as it was"


def test_lookback_too_long_for_the_training_part_names_the_keys():
    config, dataset, points = prepared("data.synthetic.length=100", "window.lookback=80")
    with pytest.raises(ConfigError) as error:
        check_split(dataset, points, config)
    message = str(error.value)
    assert "`window.lookback` + `window.horizon` (80 + 12) must fit in the training part" in message
    assert "split.test=0.2" in message


def test_validation_count_smaller_than_the_horizon_is_refused():
    config, dataset, points = prepared("split.validation=5", "window.horizon=10")
    with pytest.raises(ConfigError, match=r"validation part has 5 point\(s\), fewer than"):
        check_split(dataset, points, config)
