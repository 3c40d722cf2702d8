import numpy as np

from rnnforecast.windowing import (
    cut_windows,
    fully_observed,
    observed_windows,
    stack_windows,
    window_index,
    window_origins,
)


def loop_windows(values: np.ndarray, origins, lookback: int, horizon: int):
    inputs = [values[o - lookback : o] for o in origins]
    targets = [values[o : o + horizon, 0] for o in origins]
    return np.array(inputs), np.array(targets)


def test_windows_of_arange_are_exact():
    values = np.arange(10.0).reshape(-1, 1)
    x, y, _ = cut_windows(values, np.array([3, 7]), lookback=3, horizon=2)
    assert x.shape == (2, 3, 1)
    assert x[:, :, 0].tolist() == [[0, 1, 2], [4, 5, 6]]
    assert y.tolist() == [[3, 4], [7, 8]]


def test_strided_windows_match_a_plain_loop_with_covariates():
    values = np.random.default_rng(1).normal(size=(50, 3))
    origins = window_origins(50, lookback=7, horizon=4, start=0, end=50)
    x, y, _ = cut_windows(values, origins, 7, 4)
    expected_x, expected_y = loop_windows(values, origins, 7, 4)
    np.testing.assert_array_equal(x, expected_x)
    np.testing.assert_array_equal(y, expected_y)


def test_origins_keep_targets_inside_the_part_and_align_strides_to_its_end():
    assert window_origins(20, lookback=4, horizon=3, start=10, end=16).tolist() == [10, 11, 12, 13]
    assert window_origins(20, lookback=4, horizon=2, start=0, end=20, stride=5).tolist() == [
        8,
        13,
        18,
    ]
    assert window_origins(5, lookback=4, horizon=3, start=0, end=5).size == 0


def test_stack_windows_remembers_series_and_origins():
    a = np.arange(10.0).reshape(-1, 1)
    b = 100 + np.arange(8.0).reshape(-1, 1)
    windows = stack_windows([a, b], [(6, 10), (6, 8)], lookback=2, horizon=2)
    assert windows.series.tolist() == [0, 0, 0, 1]
    assert windows.origins.tolist() == [6, 7, 8, 6]
    assert windows.targets.tolist() == [[6, 7], [7, 8], [8, 9], [106, 107]]


def test_known_columns_are_cut_over_the_horizon_only():
    values = np.column_stack([np.arange(10.0), 100 + np.arange(10.0), 200 + np.arange(10.0)])
    x, y, future = cut_windows(values, np.array([4]), lookback=3, horizon=2, known=(2,))
    assert x[0, :, 2].tolist() == [201, 202, 203]
    assert future.shape == (1, 2, 1) and future[0, :, 0].tolist() == [204, 205]
    assert y.tolist() == [[4, 5]]


def test_windows_with_a_filled_target_are_left_out_whatever_their_inputs():
    a = np.arange(10.0).reshape(-1, 1)
    b = 100 + np.arange(8.0).reshape(-1, 1)
    windows = stack_windows([a, b], [(0, 10), (0, 8)], lookback=2, horizon=2)
    observed = [np.ones(10, dtype=bool), np.ones(8, dtype=bool)]
    observed[0][5] = False  # a target of the windows at 4 and 5, an input of those after
    observed[1][7] = False  # the last target of series b's last window
    kept = observed_windows(windows, observed)
    assert kept.origins[kept.series == 0].tolist() == [2, 3, 6, 7, 8]
    assert kept.origins[kept.series == 1].tolist() == [2, 3, 4, 5]
    assert kept.targets.tolist()[:2] == [[2, 3], [3, 4]] and len(kept.inputs) == 9
    all_observed = [np.ones(10, dtype=bool), np.ones(8, dtype=bool)]
    assert observed_windows(windows, all_observed) is windows


def test_fully_observed_checks_each_horizon():
    mask = np.array([True, False, True, True, True])
    assert fully_observed(np.array([0, 1, 2, 3]), mask, 2).tolist() == [False, False, True, True]


def test_windows_cut_from_the_index_equal_the_materialised_ones():
    rng = np.random.default_rng(2)
    series = [rng.normal(size=(n, 3)).astype(np.float32) for n in (30, 17, 25)]
    bounds = [(0, 30), (5, 17), (10, 20)]
    expected = stack_windows(series, bounds, lookback=6, horizon=3, stride=2, known=(2,))
    index = window_index(series, bounds, lookback=6, horizon=3, stride=2, known=(2,))
    assert len(index) == len(expected) and index.values.shape == (72, 3)
    every = index.gather(np.arange(len(index)))
    for name in ("inputs", "targets", "series", "origins", "future"):
        np.testing.assert_array_equal(getattr(every, name), getattr(expected, name), name)
    np.testing.assert_array_equal(index.origins, expected.origins)
    # Any order, e.g. a shuffled batch: the same windows in that order.
    order = rng.permutation(len(index))[:5]
    np.testing.assert_array_equal(index.gather(order).inputs, expected.inputs[order])


def test_the_index_keeps_the_windows_observed_windows_keeps():
    series = [np.arange(12.0).reshape(-1, 1), np.arange(9.0).reshape(-1, 1)]
    masks = [np.ones(12, dtype=bool), np.ones(9, dtype=bool)]
    masks[0][7], masks[1][4] = False, False
    bounds = [(0, 12), (0, 9)]
    expected = observed_windows(stack_windows(series, bounds, 3, 2), masks)
    index = window_index(series, bounds, 3, 2).observed(masks)
    assert index.origins.tolist() == expected.origins.tolist() == [3, 4, 5, 8, 9, 10, 5, 6, 7]
    every = index.gather(np.arange(len(index)))
    np.testing.assert_array_equal(every.inputs, expected.inputs)
    np.testing.assert_array_equal(every.series, expected.series)
