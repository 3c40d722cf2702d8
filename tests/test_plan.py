import dataclasses

import pandas as pd
import pytest

from rnnforecast.config import MAX_DEFAULT_EPOCHS, MIN_DEFAULT_EPOCHS
from rnnforecast.config_file import load_config
from rnnforecast.data import synthetic_dataset
from rnnforecast.errors import ConfigError
from rnnforecast.plan import (
    Plan,
    default_batch_size,
    default_lookback,
    make_plan,
    resolve_config,
    training_windows,
)
from rnnforecast.splitting import split_points
from tests.conftest import synthetic_split


def resolved(*overrides: str):
    """The user's config, the plan made from it on the synthetic series, and the split."""
    config = load_config(None, list(overrides))
    dataset = synthetic_dataset(config.data)
    points = split_points(dataset, config)
    return config, make_plan(config, dataset, points), points


def test_small_data_gets_a_small_network_small_batches_and_enough_epochs():
    _, plan, points = resolved("data.synthetic.length=200", "data.synthetic.period=12")
    windows = training_windows(points, plan.lookback, plan.horizon, 1)
    assert windows == (200 - 40 - 36) - 24 - 12 + 1  # test 20 %, validation three horizons
    assert plan.units == (32,)
    assert plan.batch_size == 8
    assert MIN_DEFAULT_EPOCHS <= plan.epochs <= MAX_DEFAULT_EPOCHS
    assert plan.patience == max(10, plan.epochs // 10)


def test_large_data_gets_more_units_and_full_batches():
    _, plan, _ = resolved("data.synthetic.length=20000", "data.synthetic.period=24")
    assert plan.units == (64,) and plan.batch_size == 32
    assert plan.epochs == MIN_DEFAULT_EPOCHS  # 13,900 windows: few epochs suffice


def test_given_values_are_kept_and_the_summary_names_the_choices():
    given, plan, _ = resolved(
        "model.units=[5, 3]", "training.epochs=7", "training.batch_size=4", "data.calendar=none"
    )
    assert plan.units == (5, 3) and plan.epochs == 7
    assert plan.batch_size == 4 and plan.patience == 10
    assert given.training.early_stopping is None, "the user's config is left as it was"
    assert "lookback 100" in plan.summary() and "epochs 7" in plan.summary()


def test_every_value_the_data_decides_is_in_the_plan_and_its_stored_config():
    """A config that leaves every data-driven key out gets a plan with no value missing, and
    the resolved config it stores rebuilds exactly that plan (as a saved run does)."""
    config = load_config(None, ["data.synthetic.length=300", "data.synthetic.period=12"])
    assert config.window.lookback is None and config.training.ensemble is None
    dataset = synthetic_dataset(config.data)
    plan = make_plan(config, dataset, split_points(dataset, config))
    for field in dataclasses.fields(plan):
        if field.name != "config":
            assert getattr(plan, field.name) is not None, field.name
    for member in plan.members:
        assert None not in dataclasses.astuple(member)
    assert plan.baseline == "seasonal_naive" and plan.log is False
    assert Plan.of(plan.config) == plan


def test_a_config_that_is_not_resolved_has_no_plan():
    with pytest.raises(ConfigError, match=r"leaves `data.season_length`, .* `training.ensemble`"):
        Plan.of(load_config(None))


def test_members_get_their_own_seeds_lookbacks_and_baselines():
    _, plan, _ = resolved(
        "data.synthetic.period=12",
        "window.lookback=24",
        "training.ensemble=3",
        "training.ensemble_lookbacks=[24, 8]",
        "training.seed=7",
    )
    assert [(m.number, m.lookback, m.seed) for m in plan.members] == [
        (1, 24, 7),
        (2, 8, 8),
        (3, 24, 9),
    ]
    # The second member's window is shorter than a season: it starts from the naive forecast.
    assert [m.baseline for m in plan.members] == ["seasonal_naive", "naive", "seasonal_naive"]
    assert plan.max_lookback == 24


@pytest.mark.parametrize(("windows", "batch"), [(10, 8), (400, 20), (640, 32), (10**6, 32)])
def test_batch_size_keeps_about_twenty_steps_an_epoch(windows: int, batch: int):
    assert default_batch_size(windows) == batch


def test_learning_rate_follows_the_square_root_of_the_batch_size():
    _, plan, _ = resolved("data.synthetic.length=200", "data.synthetic.period=12")
    assert plan.batch_size == 8 and plan.learning_rate == 0.0005
    _, plan, _ = resolved("training.learning_rate=0.01")
    assert plan.learning_rate == 0.01


def test_a_series_too_short_for_a_validation_part_trains_briefly():
    # 54 monthly points, horizon 18: test 18 leaves 36, too few to also hold out 18 more.
    _, plan, points = resolved(
        "data.synthetic.length=54", "data.synthetic.period=12", "window.horizon=18"
    )
    assert points[0].validation_end == points[0].train_end == 36
    assert plan.lookback == 12, "one season, so the seasonal baseline still applies"
    assert plan.epochs == MIN_DEFAULT_EPOCHS


def test_log_is_decided_on_the_training_part_and_checked_on_the_rest(tmp_path):
    from rnnforecast.data import load_dataset
    from rnnforecast.errors import DataError

    path = tmp_path / "d.csv"
    values = [10 + t % 12 for t in range(58)] + [0, 0]  # zeros in the test part only
    path.write_text("t,y\n" + "".join(f"{t},{v}\n" for t, v in enumerate(values)))
    config = load_config(None, [f"data.path={path}", "data.time_column=t"])
    dataset = load_dataset(config.data)
    points = split_points(dataset, config)
    assert resolve_config(config, dataset, points).transform.log is True
    with pytest.raises(DataError, match=r"chosen because the training part is positive"):
        make_plan(config, dataset, points)


def test_log_is_on_for_positive_series_only(tmp_path):
    from rnnforecast.data import load_dataset

    path = tmp_path / "d.csv"
    path.write_text("t,y\n" + "".join(f"{t},{10 + t % 12}\n" for t in range(60)))
    config = load_config(None, [f"data.path={path}", "data.time_column=t"])
    dataset = load_dataset(config.data)
    assert make_plan(config, dataset, split_points(dataset, config)).log is True
    _, negative, _ = resolved()  # the synthetic sine goes below zero
    assert negative.log is False
    _, forced, _ = resolved("transform.log=false")
    assert forced.log is False


@pytest.mark.parametrize(("length", "members"), [(200, 5), (4000, 4), (20000, 1)])
def test_small_data_gets_an_ensemble(length: int, members: int):
    _, plan, _ = resolved(f"data.synthetic.length={length}", "data.synthetic.period=12")
    assert len(plan.members) == members
    _, given, _ = resolved("training.ensemble=2")
    assert len(given.members) == 2


def test_default_lookback_covers_two_seasons_within_the_training_part():
    _, dataset, points = synthetic_split("data.synthetic.period=12", "window.horizon=6")
    assert default_lookback(dataset, points, horizon=6) == 24
    _, dataset, points = synthetic_split(
        "data.synthetic.length=40",
        "data.synthetic.period=12",
        "window.horizon=4",
        "split.validation=4",
    )
    assert default_lookback(dataset, points, horizon=4) == (points[0].train_end - 4) // 2


def test_the_plan_writes_the_chosen_values_into_its_config():
    config, dataset, points = synthetic_split("data.synthetic.period=12")
    resolved = make_plan(config, dataset, points).config
    assert resolved.window.lookback == 24 and resolved.data.season_length == 12
    assert config.window.lookback is None, "the user's config is left as it was"


def test_lookback_too_long_for_the_training_part_names_the_keys():
    config, dataset, points = synthetic_split("data.synthetic.length=100", "window.lookback=80")
    with pytest.raises(ConfigError) as error:
        make_plan(config, dataset, points)
    message = str(error.value)
    assert "`window.lookback` + `window.horizon` (80 + 12) must fit in the training part" in message
    assert "split.test=0.2" in message


def test_validation_count_smaller_than_the_horizon_is_refused():
    config, dataset, points = synthetic_split("split.validation=5", "window.horizon=10")
    with pytest.raises(ConfigError, match=r"validation part has 5 point\(s\), fewer than"):
        make_plan(config, dataset, points)


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
    assert resolve_config(config, dataset, points).window.lookback == 24
    with pytest.raises(ConfigError, match=r"\(series 'b'\): `window.lookback` \+ `window.horizon`"):
        make_plan(config, dataset, points)


def test_a_covariate_constant_over_training_is_refused(tmp_path):
    from rnnforecast.data import load_dataset
    from rnnforecast.errors import DataError
    from rnnforecast.plan import check_covariates

    path = tmp_path / "d.csv"
    path.write_text("t,y,law\n" + "\n".join(f"{t},{t % 5},{int(t > 90)}" for t in range(100)))
    config = load_config(
        None,
        [f"data.path={path}", "data.time_column=t", "data.target=y", "data.covariates=[law]"],
    )
    dataset = load_dataset(config.data)
    with pytest.raises(DataError, match="covariate 'law' is constant \\(0\\) over the training"):
        check_covariates(dataset, split_points(dataset, config))
