import numpy as np
import pandas as pd
import pytest

from rnnforecast.config import load_config
from rnnforecast.data import synthetic_dataset
from rnnforecast.defaults import default_lookback, resolve_defaults
from rnnforecast.errors import ConfigError
from rnnforecast.splitting import check_split, split_points


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


def test_one_short_series_is_named_instead_of_shrinking_every_window(tmp_path):
    from rnnforecast.data import load_dataset

    months = pd.date_range("2020-01", periods=80, freq="MS").date
    rows = [f"{name},{day},{value}" for name in "ac" for value, day in enumerate(months)]
    rows += [f"b,{day},1" for day in pd.date_range("2020-01", periods=10, freq="MS").date]
    path = tmp_path / "long.csv"
    path.write_text("id,date,y\n" + "\n".join(rows) + "\n")
    config = load_config(
        None,
        [
            f"data.path={path}",
            "data.time_column=date",
            "data.id_column=id",
            "data.target=y",
            "window.horizon=3",
        ],
    )
    dataset = load_dataset(config.data)
    points = split_points(dataset, config)
    resolved = resolve_defaults(config, dataset, points)
    assert resolved.window.lookback == 24
    with pytest.raises(ConfigError, match=r"\(series 'b'\): `window.lookback` \+ `window.horizon`"):
        check_split(dataset, points, resolved)


def test_a_covariate_constant_over_training_is_refused(tmp_path):
    from rnnforecast.data import load_dataset
    from rnnforecast.errors import DataError
    from rnnforecast.splitting import check_covariates

    path = tmp_path / "d.csv"
    path.write_text("t,y,law\n" + "\n".join(f"{t},{t % 5},{int(t > 90)}" for t in range(100)))
    config = load_config(
        None,
        [f"data.path={path}", "data.time_column=t", "data.target=y", "data.covariates=[law]"],
    )
    dataset = load_dataset(config.data)
    with pytest.raises(DataError, match="covariate 'law' is constant \\(0\\) over the training"):
        check_covariates(dataset, split_points(dataset, config))


def test_boundaries_survive_newer_and_shorter_data():
    from rnnforecast.data import Dataset, Series
    from rnnforecast.splitting import boundary_times, points_at_times

    _, dataset, points = prepared("data.synthetic.length=100", "window.horizon=5")
    stored = boundary_times(dataset, points)
    assert stored == {"": {"validation_start": "70", "test_start": "80", "end": "99"}}
    newer = Dataset(
        **{**dataset.__dict__, "series": [Series(None, pd.RangeIndex(50, 130), np.zeros((80, 1)))]}
    )
    [point] = points_at_times(newer, stored)
    assert (point.train_end, point.validation_end, point.length) == (20, 30, 50)
