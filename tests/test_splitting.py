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
    _, _, points = prepared("data.synthetic.length=100", "window.horizon=5")
    assert (points[0].train_end, points[0].validation_end, points[0].length) == (70, 80, 100)


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
