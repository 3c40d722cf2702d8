from pathlib import Path

import pytest

from rnnforecast.config_file import load_config
from rnnforecast.errors import ConfigError
from rnnforecast.space import apply, default_space, dimensions, leaf_keys


def space_file(tmp_path: Path, space: str) -> Path:
    path = tmp_path / "tune.yaml"
    path.write_text(f"tune:\n  space:\n{space}")
    return path


def test_a_space_of_choices_and_ranges(tmp_path: Path):
    path = space_file(
        tmp_path,
        "    model.cell: [lstm, gru]\n"
        "    model.units: {low: 16, high: 128, log: true}\n"
        "    training.learning_rate: {low: 1.0e-4, high: 1.0e-2, log: true}\n"
        "    window.lookback: [24, 48, 96]\n"
        "    model.dropout: {low: 0, high: 0.3}\n",
    )
    dims = {dim.key: dim for dim in dimensions(load_config(path))}
    assert dims["model.cell"].choices == ("lstm", "gru")
    assert dims["model.units"].integer and dims["model.units"].log
    assert dims["model.units"].describe() == "16 to 128 (log, whole numbers)"
    assert not dims["training.learning_rate"].integer
    assert not dims["model.dropout"].integer, "a float key takes real numbers from 0 and 0.3"
    assert dims["window.lookback"].choices == (24, 48, 96)


def test_keys_given_nested_or_with_set_are_dotted():
    config = load_config(None, ["tune.space.model.cell=[gru]", "tune.space.window.lookback=[8]"])
    assert list(config.tune.space or {}) == ["model.cell", "window.lookback"]


@pytest.mark.parametrize(
    ("space", "message"),
    [
        (
            "    model.unit: [3]\n",
            "tune.space: `model.unit` is not a config key; did you mean `model.units`?",
        ),
        ("    model: [3]\n", "tune.space: `model` is not a config key"),
        ("    output.dir: [a, b]\n", "tune.space: `output.dir` cannot be searched"),
        (
            "    model.cell: [lstm, transformer]\n",
            "tune.space: `model.cell`: the choice transformer is refused: must be one of "
            "'simple_rnn', 'lstm' or 'gru' (got 'transformer'). Fix or remove it. "
            "Received: model.cell=transformer",
        ),
        (
            "    model.units: {low: 128, high: 16}\n",
            "tune.space: `model.units`: `low` must not be above `high`. Received: low=128, high=16",
        ),
        (
            "    training.learning_rate: {low: 0, high: 0.1, log: true}\n",
            "`training.learning_rate`: a log range needs `low` > 0",
        ),
        (
            "    training.learning_rate: {low: 0, high: 0.1}\n",
            "`training.learning_rate`: the range end 0 is refused: must be > 0",
        ),
        ("    model.units: {low: 16, hi: 64}\n", "`model.units`: `high` is required"),
        ("    model.bidirectional: {low: 0, high: 1}\n", "a range needs a numeric key"),
        ("    model.cell: []\n", "`model.cell` lists no choices"),
        ("    model.cell: lstm\n", "`model.cell` must be a list of choices or a range"),
    ],
)
def test_bad_spaces_are_config_errors_naming_the_file_and_key(
    tmp_path: Path, space: str, message: str
):
    path = space_file(tmp_path, space)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: tune.space")
    assert message in str(error.value)


def test_suggestions_stay_in_the_space_and_lists_come_back_as_lists():
    import optuna

    config = load_config(
        None,
        [
            "tune.space.model.units=[[32, 16], 8]",
            "tune.space.training.learning_rate={low: 0.001, high: 0.01, log: true}",
            "tune.space.window.lookback={low: 8, high: 32, step: 8}",
        ],
    )
    dims = dimensions(config)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(12):
        trial = study.ask()
        values = {dim.key: dim.suggest(trial) for dim in dims}
        assert values["model.units"] in ([32, 16], 8)
        assert 0.001 <= values["training.learning_rate"] <= 0.01
        assert values["window.lookback"] in (8, 16, 24, 32)
        trial_config = apply(config, values)
        assert trial_config.model.units in ([32, 16], [8])
        seen.add(str(values["model.units"]))
        stored = trial.params["model.units"]
        assert dims[0].value_of(stored) == values["model.units"]
        study.tell(trial, 1.0)
    assert seen == {"[32, 16]", "8"}


def test_values_that_conflict_are_a_config_error():
    config = load_config(None, ["transform.difference=true"])
    with pytest.raises(ConfigError, match=r"`transform\.difference` needs the window.s level"):
        apply(config, {"model.baseline": "none"}, "trial 3")


def test_the_default_space_keeps_lookbacks_that_leave_room_for_windows():
    space = default_space(season_length=12, horizon=12, training_part=120)
    assert space["window.lookback"] == [12, 24, 36]
    assert default_space(12, 12, 50)["window.lookback"] == [12]
    assert default_space(12, 12, 30)["window.lookback"] == [12], "the longest that fits"
    assert "window.lookback" not in default_space(12, 12, 20)
    assert set(space) == {
        "model.cell",
        "model.units",
        "model.dropout",
        "training.learning_rate",
        "window.lookback",
    }
    config = load_config(None, [f"tune.space={space}"])
    assert len(dimensions(config)) == 5, "the default space passes its own checks"


def test_leaf_keys_are_dotted_values_not_sections():
    keys = leaf_keys()
    assert "model.units" in keys and "data.synthetic.noise.scale" in keys
    assert "model" not in keys and "data.synthetic" not in keys
