"""With `training.pack_members`, members that share a lookback train side by side as one
model, each as if alone."""

from dataclasses import replace

import numpy as np
import pytest

import rnnforecast.training
from rnnforecast import inference
from rnnforecast.config_file import load_config
from rnnforecast.data import synthetic_dataset
from rnnforecast.plan import make_plan
from rnnforecast.splitting import split_points
from rnnforecast.training import fit_forecaster, packs
from tests.conftest import TINY_OVERRIDES

# Early stopping with a short patience, dropout and a shuffled order: each member's own state.
OVERRIDES = [
    *TINY_OVERRIDES,
    "training.ensemble=3",
    "training.epochs=15",
    "training.early_stopping=2",
    "training.batch_size=16",
    "training.learning_rate=0.02",
    "model.dropout=0.1",
    "training.pack_members=true",
]


def fit_inputs(overrides):
    config = load_config(None, overrides)
    dataset = synthetic_dataset(config.data)
    points = split_points(dataset, config)
    return make_plan(config, dataset, points), dataset, points


def alone(plan, number):
    """The plan of member `number` trained on its own."""
    member = plan.members[number - 1]
    return replace(plan, members=(member,))


@pytest.fixture(scope="module")
def packed():
    plan, dataset, points = fit_inputs(OVERRIDES)
    assert [len(group) for group in packs(plan.members, True)] == [3], "one pack of three"
    return plan, dataset, points, fit_forecaster(plan, dataset, points, "none")


def test_each_member_stops_at_its_own_epoch(packed):
    *_, together = packed
    runs = [summary["epochs_run"] for summary in together.summaries]
    assert len(set(runs)) == 3 and max(runs) < 15, runs
    best = [summary["best_epoch"] for summary in together.summaries]
    assert best == [run - 2 for run in runs], "patience 2: the best epoch is two before the end"


@pytest.mark.parametrize("number", [1, 2, 3])
def test_a_packed_member_ends_as_the_same_member_trained_alone(packed, number):
    plan, dataset, points, together = packed
    single = fit_forecaster(alone(plan, number), dataset, points, "none")
    mine = together.forecaster.members[number - 1].model.get_weights()
    for value, reference in zip(
        mine, single.forecaster.members[0].model.get_weights(), strict=True
    ):
        np.testing.assert_allclose(value, reference, rtol=1e-5, atol=1e-6)
    assert together.summaries[number - 1]["epochs_run"] == single.summaries[0]["epochs_run"]
    assert together.summaries[number - 1]["best_epoch"] == single.summaries[0]["best_epoch"]
    history = together.history[together.history["member"] == number].drop(columns="member")
    np.testing.assert_allclose(
        history.to_numpy(), single.history.drop(columns="member").to_numpy(), rtol=1e-5
    )


def test_members_differ_and_a_fit_repeats_exactly(packed):
    plan, dataset, points, together = packed
    weights = [member.model.get_weights()[0] for member in together.forecaster.members]
    assert not np.array_equal(weights[0], weights[1]), "each member its own seed"
    again = fit_forecaster(plan, dataset, points, "none")
    for first, second in zip(together.forecaster.members, again.forecaster.members, strict=True):
        for value, reference in zip(
            first.model.get_weights(), second.model.get_weights(), strict=True
        ):
            np.testing.assert_array_equal(value, reference)
    assert together.summaries == again.summaries


def test_members_of_different_lookbacks_train_in_packs_of_their_own():
    plan, dataset, points = fit_inputs(
        [
            *TINY_OVERRIDES,
            "training.ensemble=3",
            "training.ensemble_lookbacks=[12, 8]",
            "training.pack_members=true",
        ]
    )
    groups = packs(plan.members, True)
    assert [[member.number for member in group] for group in groups] == [[1, 3], [2]]
    fitted = fit_forecaster(plan, dataset, points, "none")
    assert [member.lookback for member in fitted.forecaster.members] == [12, 8, 12]
    assert fitted.history["member"].unique().tolist() == [1, 2, 3]


def test_a_refit_trains_each_packed_member_for_its_own_epochs(packed):
    plan, dataset, points, _ = packed
    whole = [
        replace(point, train_end=point.length, validation_end=point.length) for point in points
    ]
    together = fit_forecaster(plan, dataset, whole, "none", epochs=[3, 0, 1])
    assert [summary["epochs_run"] for summary in together.summaries] == [3, 0, 1]
    assert together.history.groupby("member").size().to_dict() == {1: 3, 3: 1}
    for number, epochs in ((1, 3), (2, 0), (3, 1)):
        single = fit_forecaster(alone(plan, number), dataset, whole, "none", epochs=[epochs] * 3)
        mine = together.forecaster.members[number - 1].model.get_weights()
        theirs = single.forecaster.members[0].model.get_weights()
        for value, reference in zip(mine, theirs, strict=True):
            np.testing.assert_allclose(value, reference, rtol=1e-5, atol=1e-6)


def test_by_default_each_member_trains_alone():
    plan, *_ = fit_inputs([*TINY_OVERRIDES, "training.ensemble=3"])
    assert [[member.number for member in group] for group in packs(plan.members, False)] == [
        [1],
        [2],
        [3],
    ]
    assert plan.config.training.pack_members is False


def test_members_trained_one_after_another_share_one_compiled_model(monkeypatch):
    """Members 2 and 3 train in the model member 1 compiled (one trace of its training step),
    each from its own seed's weights, dropout state and a fresh optimizer: each ends with the
    very weights and epochs it reaches in a model of its own."""
    overrides = [item for item in OVERRIDES if item != "training.pack_members=true"]
    plan, dataset, points = fit_inputs(overrides)
    compiled = []
    build = rnnforecast.training._build_work
    monkeypatch.setattr(
        rnnforecast.training, "_build_work", lambda work: compiled.append(work) or build(work)
    )
    shared = fit_forecaster(plan, dataset, points, "none")
    assert len(compiled) == 1, "one compiled model for the three members"
    for number in (2, 3):
        single = fit_forecaster(alone(plan, number), dataset, points, "none")
        mine = shared.forecaster.members[number - 1].model.get_weights()
        theirs = single.forecaster.members[0].model.get_weights()
        for value, reference in zip(mine, theirs, strict=True):
            np.testing.assert_array_equal(value, reference)
        assert shared.summaries[number - 1] == single.summaries[0]


def test_networks_of_one_architecture_predict_through_one_kept_copy():
    plan, dataset, points = fit_inputs([*TINY_OVERRIDES, "training.ensemble=2"])
    fitted = fit_forecaster(plan, dataset, points, "none", epochs=[2, 2])
    networks = [member.model for member in fitted.forecaster.members]
    inputs = {"window": np.random.default_rng(0).normal(size=(5, plan.lookback, 1))}
    inference._kept.clear()
    for network in networks:
        np.testing.assert_array_equal(
            inference.predict(network, inputs), network.predict(inputs, verbose=0)
        )
    assert len(inference._kept) == 1
