import numpy as np
import pandas as pd

from rnnforecast.config import load_config
from rnnforecast.data import synthetic_dataset
from rnnforecast.splitting import split_points


def prepared(*overrides: str):
    config = load_config(None, list(overrides))
    dataset = synthetic_dataset(config.data)
    return config, dataset, split_points(dataset, config)


def test_split_is_chronological_train_validation_test():
    _, _, points = prepared("data.synthetic.length=100", "window.horizon=2")
    assert (points[0].train_end, points[0].validation_end, points[0].length) == (70, 80, 100)


def test_a_validation_fraction_spans_at_least_three_horizons():
    # 10 % of 100 is 10 points, fewer than 3 horizons of 5: the validation part takes 15,
    # so its windows start at 11 origins instead of 6.
    _, _, points = prepared("data.synthetic.length=100", "window.horizon=5")
    assert (points[0].train_end, points[0].validation_end) == (65, 80)
    _, _, points = prepared("data.synthetic.length=100", "window.horizon=5", "split.validation=7")
    assert (points[0].train_end, points[0].validation_end) == (73, 80), "a count is kept"


def test_a_short_series_shrinks_its_validation_part_before_dropping_it():
    # Horizon 6, season 12: a training part worth a validation part holds a season and two
    # horizons (24 points). 60 points leave 48 before the test part: all 18 asked for fit.
    # 45 points leave 36: the validation part shrinks to 12. 34 leave 27: not even one
    # horizon fits, so there is none.
    _, _, points = prepared(
        "data.synthetic.length=60", "data.synthetic.period=12", "window.horizon=6"
    )
    assert (points[0].train_end, points[0].validation_end) == (30, 48)
    _, _, points = prepared(
        "data.synthetic.length=45", "data.synthetic.period=12", "window.horizon=6"
    )
    assert (points[0].train_end, points[0].validation_end) == (24, 36), "shrunk to 12"
    _, _, points = prepared(
        "data.synthetic.length=34", "data.synthetic.period=12", "window.horizon=6"
    )
    assert points[0].train_end == points[0].validation_end == 27, "dropped"


def test_boundaries_survive_newer_and_shorter_data():
    from rnnforecast.data import Dataset, Series
    from rnnforecast.splitting import boundary_times, points_at_times

    _, dataset, points = prepared("data.synthetic.length=100", "window.horizon=2")
    stored = boundary_times(dataset, points)
    assert stored == {"": {"validation_start": "70", "test_start": "80", "end": "99"}}
    newer = Dataset(
        **{**dataset.__dict__, "series": [Series(None, pd.RangeIndex(50, 130), np.zeros((80, 1)))]}
    )
    [point] = points_at_times(newer, stored)
    assert (point.train_end, point.validation_end, point.length) == (20, 30, 50)
