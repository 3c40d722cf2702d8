"""Training the ensemble members that share a lookback side by side, as one Keras model, on
windows cut per batch from the series.

Each member keeps the network `build_model` gives it alone, built from its own seed; the
packed model only calls those networks next to each other, one output and one loss per member.
Its loss is the sum of theirs, so each member's gradient is that of its own loss, and an
optimizer that updates each weight from its own gradient (Adam, RMSprop, SGD) moves each
member exactly as it would move it alone. Each member reads its own shuffled order of the
windows, stops early on its own monitored loss and gets back the weights of its own best epoch
(`MemberStopping`): a member of a pack ends as the same member trained alone. The pack pays
Keras' per-step and per-fit costs (its loop, callbacks, tracing) once for all its members,
which on small data is most of the time.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import rnnforecast.interruption as interruption
from rnnforecast.backend import import_keras, import_tensorflow, seed_everything
from rnnforecast.checkpoints import FitUnit
from rnnforecast.errors import ConfigError
from rnnforecast.events import Events
from rnnforecast.models import (
    OPTIMIZERS,
    ModelShape,
    build_model,
    compile_model,
    compiled_loss,
    forecast_loss,
)
from rnnforecast.plan import MemberPlan, Plan
from rnnforecast.progress import resolved_progress
from rnnforecast.windowing import WindowIndex

# Most training steps per call into the compiled function: Python (Keras' loop, callbacks)
# runs once per call, not once per batch. Used only where it divides the epoch's steps, so
# one call never takes batches of the next epoch.
STEPS_PER_EXECUTION = 32
# The metric that reports each member's loss in a pack.
MEMBER_LOSS = "member_loss"


@dataclass(frozen=True)
class Pack:
    """Members that share a lookback, trained together.

    Attributes:
        members: the members, in order.
        networks: each member's own network (`build_model` from its seed), compiled; the
            packed model trains these very weights.
        model: the packed Keras model: inputs `window_<n>` (and `future_<n>`, `series_<n>`)
            and outputs `member_<n>` for the member in slot n (from 1) of the pack; None for
            the networks alone, trained in a model lent by `Trainers`.
    """

    members: tuple[MemberPlan, ...]
    networks: list[Any]
    model: Any


def build_pack(
    plan: Plan,
    members: tuple[MemberPlan, ...],
    shape: ModelShape,
    steps: int = 1,
    packed: bool = True,
) -> Pack:
    """Each member's network, built after seeding with its seed (as alone), and the model
    calling them side by side, compiled with one loss per member.

    Args:
        steps: the gradient steps of an epoch, which decide the steps per call.
        packed: False: the networks alone, without the packed model (`Pack.model`).

    Example:
        `build_pack(plan, plan.members, ModelShape(plan.lookback, 1, plan.horizon))`
    """
    with distribution_scope(plan.config.training.distribution):
        return _build_pack(plan, members, shape, steps, packed)


@contextlib.contextmanager
def distribution_scope(distribution: str) -> Iterator[None]:
    """Where models are built: with `mirrored`, inside a `MirroredStrategy` over every local
    GPU (the logical CPU devices without one), so that `fit` splits each batch between them."""
    if distribution == "none":
        yield
        return
    strategy = import_tensorflow().distribute.MirroredStrategy(devices=mirrored_devices())
    with strategy.scope():
        yield


def mirrored_devices() -> list[str]:
    """The devices `mirrored` splits batches between: every local GPU, else every logical CPU."""
    tf = import_tensorflow()
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return [device.name for device in devices]


def replica_count(plan: Plan) -> int:
    """Between how many devices each batch is split (1 without `training.distribution`)."""
    if plan.config.training.distribution == "none":
        return 1
    replicas = len(mirrored_devices())
    if plan.batch_size % replicas:
        raise ConfigError(
            f"`training.batch_size` {plan.batch_size} does not split evenly between the "
            f"{replicas} devices of `training.distribution: mirrored`; set it to a multiple "
            f"of {replicas}."
        )
    return replicas


def epoch_windows(windows: int, batch_size: int, replicas: int = 1) -> int:
    """The windows an epoch uses: all, but the last batch split evenly between the replicas
    (Keras cannot split a batch unevenly between devices; at most `replicas - 1` are left out).

    Example:
        >>> epoch_windows(153, 32, 1), epoch_windows(153, 32, 2), epoch_windows(129, 32, 4)
        (153, 152, 128)
    """
    return windows - (windows % batch_size) % replicas


def epoch_steps(windows: int, batch_size: int, replicas: int = 1) -> int:
    """Gradient steps of an epoch over `windows` windows (see `epoch_windows`)."""
    return math.ceil(epoch_windows(windows, batch_size, replicas) / batch_size)


def plain_network(network: Any) -> Any:
    """The network as one built outside any distribution, with its weights: what forecasts
    and is saved (a mirrored network cannot predict a batch that does not split evenly)."""
    if network.distribute_strategy.num_replicas_in_sync == 1:
        return network
    keras = import_keras()
    plain = keras.models.clone_model(network)
    plain.set_weights(network.get_weights())
    return plain


def _build_pack(
    plan: Plan, members: tuple[MemberPlan, ...], shape: ModelShape, steps: int, packed: bool
) -> Pack:
    keras = import_keras()
    networks, inputs, outputs = [], {}, {}
    for member in members:
        seed_everything(member.seed)
        network = build_model(plan, member, shape)
        compile_model(network, plan)
        networks.append(network)
    if not packed:
        return Pack(tuple(members), networks, None)
    # Inputs and outputs are named by slot, not by member number, so that a pack's compiled
    # model can train any later pack of its shape (`Trainers`).
    for slot, network in enumerate(networks, start=1):
        mine = {
            name: keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=f"{name}_{slot}")
            for name, tensor in ((tensor.name, tensor) for tensor in network.inputs)
        }
        inputs.update({f"{name}_{slot}": tensor for name, tensor in mine.items()})
        outputs[f"member_{slot}"] = network(mine)
    # Keras wants the names of a model's parts unique; each network keeps its own name (the
    # name it is saved with) outside the packed model.
    names = [network.name for network in networks]
    for slot, network in enumerate(networks, start=1):
        network.name = f"member_{slot}"
    model = keras.Model(inputs, outputs, name="pack")
    for network, name in zip(networks, names, strict=True):
        network.name = name
    training = plan.config.training
    optimizer = getattr(keras.optimizers, OPTIMIZERS[training.optimizer])
    loss, arguments = forecast_loss(plan)
    model.compile(
        optimizer=optimizer(learning_rate=plan.learning_rate),
        loss={name: compiled_loss(plan) for name in outputs},
        # Keras' own per-output losses are not the mean over the windows that a network
        # alone reports as its loss, nor the forecast's alone when it forecasts quantiles
        # too; this metric is (see `loss_key`).
        metrics={
            name: [keras.metrics.MeanMetricWrapper(loss, name=MEMBER_LOSS, **arguments)]
            for name in outputs
        }
        if len(members) > 1 or arguments
        else None,
        # XLA would run each step faster, but Keras turns it off while TensorFlow's op
        # determinism is on (`seed_everything`), which same seed, same weights needs.
        jit_compile=False,
        # Keras' loop of several steps per call fails under a distribution strategy.
        steps_per_execution=steps_per_call(steps) if replica_count(plan) == 1 else 1,
    )
    return Pack(tuple(members), networks, model)


class Trainers:
    """Compiled packs kept to train later packs of the same shape in.

    Keras traces a model's training and evaluation steps the first time it fits, which takes
    seconds per model: on a small series more than the training itself, and each member used to
    pay it. A pack lent a kept one puts its own variables (its seed's weights and dropout state)
    into it, starts from a fresh optimizer there and gets its variables back at the end, so it
    ends as it would have in its own model, while each shape is traced once.

    Example:
        `with trainers.lend(pack, lambda: build_pack(...), steps) as lent: fit_pack(lent, ...)`
    """

    def __init__(self) -> None:
        self._kept: dict[tuple[Any, ...], tuple[Pack, list[np.ndarray]]] = {}

    @contextlib.contextmanager
    def lend(self, pack: Pack, build: Callable[[], Pack], steps: int) -> Iterator[Pack]:
        """A pack with `pack`'s members and their variables in a kept compiled model (`build`
        makes one the first time), for an epoch of `steps` steps; `pack`'s networks get the
        trained variables back when the block ends without an error."""
        key = (steps_per_call(steps), *(_shapes(network) for network in pack.networks))
        if key not in self._kept:
            trainer = build()
            optimizer = trainer.model.optimizer
            with trainer.model.distribute_strategy.scope():  # where `fit` would build it
                optimizer.build(trainer.model.trainable_variables)
            self._kept[key] = (trainer, [variable.numpy() for variable in optimizer.variables])
        trainer, fresh = self._kept[key]
        for own, lent in zip(pack.networks, trainer.networks, strict=True):
            _copy_variables(own, lent)
        for variable, value in zip(trainer.model.optimizer.variables, fresh, strict=True):
            variable.assign(value)
        yield Pack(pack.members, trainer.networks, trainer.model)
        for own, lent in zip(pack.networks, trainer.networks, strict=True):
            _copy_variables(lent, own)


def _shapes(network: Any) -> tuple[tuple[Any, ...], ...]:
    """What a network's compiled training step depends on: its inputs' and variables' shapes."""
    tensors = [*network.inputs, *network.variables]
    return tuple((str(tensor.dtype), *tensor.shape) for tensor in tensors)


def _copy_variables(source: Any, target: Any) -> None:
    """Every variable of `source` (weights and dropout seed states) into `target`."""
    for theirs, mine in zip(source.variables, target.variables, strict=True):
        mine.assign(theirs)


def steps_per_call(steps: int) -> int:
    """The most steps, up to `STEPS_PER_EXECUTION`, that divide an epoch of `steps` steps.

    Example:
        >>> steps_per_call(312), steps_per_call(7), steps_per_call(64)
        (26, 7, 32)
    """
    limit = min(STEPS_PER_EXECUTION, max(steps, 1))
    return max(divisor for divisor in range(1, limit + 1) if steps % divisor == 0)


def fit_pack(
    pack: Pack,
    training: WindowIndex,
    validation: WindowIndex,
    plan: Plan,
    progress: str,
    epochs: list[int] | None,
    reporter: EpochReporter | None = None,
    unit: FitUnit | None = None,
    series_ids: np.ndarray | None = None,
) -> tuple[list[dict[str, Any]], list[pd.DataFrame]]:
    """Fit every member of the pack as `fit` would alone: with early stopping on its
    validation loss (its training loss without validation), restoring its best weights; or
    for exactly `epochs[i]` epochs when given (0: not at all). A member's seed and the epoch
    order its shuffled windows. With `unit`, the state is saved after each epoch, and a fit
    stopped before goes on from its last saved epoch. `series_ids`: see `window_pipeline`.

    The untrained network is the member's baseline forecast (see `build_model`). When no
    epoch beats its validation loss, the untrained weights are kept and its best epoch is 0.

    Returns:
        Per member: epochs run, the best epoch (1-based; 0 for the untrained network) and its
        monitored loss, the windows; its per-epoch losses.
    """
    keras = import_keras()
    count = len(pack.members)
    has_validation = len(validation) > 0 and epochs is None
    monitor = "val_loss" if has_validation else "loss"
    limits = list(epochs) if epochs is not None else [plan.epochs] * count
    windows = {"training": len(training), "validation": len(validation)}
    summaries = [
        {
            "epochs_run": 0,
            "best_epoch": 0,
            "monitor": monitor,
            "best_loss": None,
            "windows": windows,
        }
        for _ in range(count)
    ]
    replicas = replica_count(plan)
    if replicas > 1:
        for summary in summaries:
            summary["replicas"] = replicas
    empty = pd.DataFrame({"epoch": [], "loss": []})
    if max(limits, default=0) == 0:
        return summaries, [empty] * count
    slots = pack_slots(pack)
    validation_data = None
    untrained: list[float] | None = None
    if has_validation:
        validation_data = window_pipeline(
            validation, slots, plan.batch_size, series_ids=series_ids, replicas=replicas
        )
        scores = pack.model.evaluate(validation_data, verbose=0, return_dict=True)
        untrained = [float(scores[loss_key(pack, slot)]) for slot in slots]
    stopping = MemberStopping(
        pack,
        limits,
        plan.patience if epochs is None else 0,
        monitor,
        reporter,
        untrained,
    )
    callbacks: list[Any] = [stopping.callback(), _stop_on_request(keras)]
    # Last, after the stopping whose state it keeps; it puts a stopped fit's state back.
    checkpoint = None if unit is None else unit.callback(keras, pack.model, [stopping])
    first = 0 if checkpoint is None else checkpoint.first_epoch
    if checkpoint is not None:
        callbacks.append(checkpoint)
    total = max(limits)
    steps = epoch_steps(len(training), plan.batch_size, replicas)
    seeds = [member.seed for member in pack.members] if plan.config.training.shuffle else None
    with interruption.deferred():
        pack.model.fit(
            window_pipeline(
                training,
                slots,
                plan.batch_size,
                seeds,
                range(first, total),
                series_ids,
                replicas,
            ),
            validation_data=validation_data,
            epochs=total,
            initial_epoch=first,
            steps_per_epoch=steps,
            shuffle=False,  # the pipeline shuffles; Keras cannot shuffle a tf.data input itself
            callbacks=callbacks,
            verbose=_keras_verbosity(progress),
        )
    stopping.restore()
    for index in range(count):
        summaries[index].update(stopping.summary(index, plan))
    return summaries, [stopping.history(index) for index in range(count)]


def window_pipeline(
    index: WindowIndex,
    members: list[int],
    batch_size: int,
    seeds: list[int] | None = None,
    epochs: range | None = None,
    series_ids: np.ndarray | None = None,
    replicas: int = 1,
) -> Any:
    """A `tf.data` pipeline of `(inputs, targets)` batches of the pack whose slots are
    `members` (`pack_slots`), cut from `index.values` per batch: inputs `window_<n>`
    `(batch, lookback, features)` (`future_<n>`, `series_<n>` when the index has known
    columns or several series), targets `member_<n>` `(batch, horizon)`. `series_ids` gives
    the `series` input of each series of the index (`(series,)`; None: the networks take
    none).

    Without `epochs`, one pass in order, the same windows for every member. With `epochs`, the
    batches of those epochs one after another (`fit` then needs `steps_per_epoch`); with
    `seeds` (one per member), member n's order in epoch e is drawn from (its seed, e) alone, so
    a fit resumed at epoch e sees the order an uninterrupted one sees there. Shuffled windows
    keep their own time order inside; only the order of windows changes. With `replicas`,
    each epoch leaves out the last windows of its order that would split its last batch
    unevenly (`epoch_windows`).
    """
    tf = import_tensorflow()
    values = tf.convert_to_tensor(index.values)
    starts = tf.convert_to_tensor(index.starts)
    series = None
    if series_ids is not None:
        series = tf.convert_to_tensor(np.asarray(series_ids, dtype=np.int32)[index.series])
    span = tf.range(index.lookback + index.horizon, dtype=starts.dtype)
    lookback, known = index.lookback, list(index.known)
    count = len(index)
    kept = epoch_windows(count, batch_size, replicas)

    def cut(rows: Any) -> tuple[dict[str, Any], Any]:
        cut_rows = tf.gather(values, tf.gather(starts, rows)[:, None] + span)
        inputs = {"window": cut_rows[:, :lookback]}
        if known:
            inputs["future"] = tf.gather(cut_rows[:, lookback:], known, axis=2)
        if series is not None:
            inputs["series"] = tf.gather(series, rows)
        return inputs, cut_rows[:, lookback:, 0]

    def batch(orders: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        inputs, targets = {}, {}
        for position, slot in enumerate(members):
            mine, target = cut(orders[:, position])
            inputs.update({f"{name}_{slot}": value for name, value in mine.items()})
            targets[f"member_{slot}"] = target
        return inputs, targets

    def epoch_orders(epoch: Any) -> Any:
        order = tf.range(count, dtype=tf.int64)
        orders = []
        for seed in seeds or [None] * len(members):
            if seed is None:
                orders.append(order)
            else:
                key = tf.stack([tf.constant(seed, dtype=tf.int64), epoch])
                orders.append(tf.random.experimental.stateless_shuffle(order, seed=key))
        return tf.data.Dataset.from_tensor_slices(tf.stack(orders, axis=1)[:kept]).batch(batch_size)

    if epochs is None:
        batches = tf.data.Dataset.from_tensor_slices(
            tf.stack([tf.range(kept, dtype=tf.int64)] * len(members), axis=1)
        ).batch(batch_size)
    else:
        batches = tf.data.Dataset.range(epochs.start, epochs.stop).flat_map(epoch_orders)
    return batches.map(batch).prefetch(tf.data.AUTOTUNE)


def pack_slots(pack: Pack) -> list[int]:
    """The slots of the pack's members (from 1), what its inputs and outputs are named by."""
    return list(range(1, len(pack.members) + 1))


def loss_key(pack: Pack, slot: int, prefix: str = "") -> str:
    """The key of the forecast's loss of the member in `slot` in Keras' logs (its only loss
    when alone and without quantiles): what is reported, and what early stopping watches, so
    quantiles leave the forecast's training as it would be without them."""
    if len(pack.members) > 1:
        return f"{prefix}member_{slot}_{MEMBER_LOSS}"
    # Keras names the metrics of a model with one output without the output's name.
    quantiles = len(pack.networks[0].output_shape) == 3
    return f"{prefix}{MEMBER_LOSS}" if quantiles else f"{prefix}loss"


class EpochReporter:
    """Reports each finished epoch of a member as an `epoch` event."""

    def __init__(self, events: Events, members: int, phase: str) -> None:
        self.events, self.members, self.phase = events, members, phase

    def report(self, member: int, epoch: int, epochs: int, losses: dict[str, float]) -> None:
        self.events.emit(
            "epoch",
            self.phase,
            member=member,
            members=self.members,
            epoch=epoch,
            epochs=epochs,
            **losses,
        )


class MemberStopping:
    """For each member of a pack what `EarlyStopping(patience, restore_best_weights=True)` does
    for one network (with fixed epochs or no patience: its weights at its own last epoch), and
    its untrained weights kept where no epoch beats them on validation. A member whose loss is
    no longer finite stops, as `TerminateOnNaN` stops a network alone. Training ends once every
    member has stopped. Keras calls it through `callback()`; a fit unit saves and restores its
    state (`checkpoint_state`, `restore_checkpoint_state`)."""

    def __init__(
        self,
        pack: Pack,
        limits: list[int],
        patience: int,
        monitor: str,
        reporter: EpochReporter | None,
        untrained: list[float] | None,
    ) -> None:
        self.pack, self.limits, self.patience, self.monitor = pack, limits, patience, monitor
        self.reporter, self.untrained = reporter, untrained
        count = len(pack.members)
        self.initial = [network.get_weights() for network in pack.networks]
        # Per member: the weights it ends with, as far as known (untrained before any epoch).
        self.kept = [list(weights) for weights in self.initial]
        self.running = [limit > 0 for limit in limits]
        self.best: list[float | None] = [None] * count
        self.best_epoch = [0] * count
        self.wait = [0] * count
        self.records: list[list[dict[str, float]]] = [[] for _ in range(count)]

    def callback(self) -> Any:
        """The Keras callback forwarding each epoch's end here."""
        keras, stopping = import_keras(), self

        class StopMembers(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                stopping.epoch_end(self.model, epoch + 1, self.params.get("epochs"), logs or {})

        return StopMembers()

    def epoch_end(self, model: Any, epoch: int, epochs: int, logs: dict[str, Any]) -> None:
        """Epoch `epoch` (from 1) of `epochs` ended with these `logs`."""
        rate = float(np.asarray(model.optimizer.learning_rate))
        for index, member in enumerate(self.pack.members):
            if not self.running[index]:
                continue
            slot = index + 1
            losses = {"loss": float(logs[loss_key(self.pack, slot)])}
            if self.monitor == "val_loss":
                losses["val_loss"] = float(logs[loss_key(self.pack, slot, "val_")])
            self.records[index].append(losses)
            if self.reporter is not None:
                # A member's own epochs (a refit's members may have fewer than the pack).
                limit = self.limits[index]
                rates = {**losses, "learning_rate": rate}
                self.reporter.report(member.number, epoch, limit, rates)
            self._decide(index, epoch, losses[self.monitor])
        if not any(self.running):
            model.stop_training = True

    def _decide(self, index: int, epoch: int, value: float) -> None:
        """Whether member `index` keeps its weights of this epoch and goes on."""
        finite = math.isfinite(value)
        if self.patience == 0:
            keep = epoch == self.limits[index]
        else:
            # As `EarlyStopping`: `wait` counts epochs since the best, and reaching
            # `patience` stops (never after the first epoch).
            self.wait[index] += 1
            best = self.best[index]
            keep = finite and (best is None or value < best)
            if keep:
                self.wait[index] = 0
            elif self.wait[index] >= self.patience and epoch > 1:
                self.running[index] = False
        if keep:
            self.best[index], self.best_epoch[index] = value, epoch
            self.kept[index] = self.pack.networks[index].get_weights()
        if not finite or epoch >= self.limits[index]:
            self.running[index] = False

    def restore(self) -> None:
        """Give each member the weights it ends with (see the class)."""
        for index, network in enumerate(self.pack.networks):
            network.set_weights(
                self.initial[index] if self._untrained_wins(index) else self.kept[index]
            )

    def _untrained_wins(self, index: int) -> bool:
        if self.untrained is None or not self.records[index]:
            return False
        best = self.best[index]
        return best is None or not best < self.untrained[index]

    def summary(self, index: int, plan: Plan) -> dict[str, Any]:
        """Epochs run, best epoch and its monitored loss of member `index`.

        Raises:
            ConfigError: the member diverged with nothing to fall back on.
        """
        run = len(self.records[index])
        if run == 0:
            return {"epochs_run": 0, "best_epoch": 0, "best_loss": None}
        if self._untrained_wins(index):
            return {"epochs_run": run, "best_epoch": 0, "best_loss": self.untrained[index]}
        best = self.best[index]
        if best is None or not math.isfinite(best):
            raise ConfigError(
                "training diverged (the loss became NaN or infinite). Received: "
                f"training.learning_rate={plan.learning_rate:g}, scaling={plan.config.scaling}. "
                "Lower `training.learning_rate`, or use `scaling: standard` for data with a "
                "large range."
            )
        return {"epochs_run": run, "best_epoch": self.best_epoch[index], "best_loss": best}

    def history(self, index: int) -> pd.DataFrame:
        """Member `index`'s losses per epoch: `epoch, loss[, val_loss]`."""
        rows = self.records[index]
        frame = pd.DataFrame({"epoch": np.arange(1, len(rows) + 1)})
        for name in ("loss", "val_loss"):
            if rows and name in rows[0]:
                frame[name] = [row[name] for row in rows]
        return frame

    def checkpoint_state(self) -> tuple[dict[str, Any], list[np.ndarray]]:
        """Its state after an epoch: scalars (JSON) and every member's kept weights."""
        scalars = {
            "running": list(self.running),
            "best": list(self.best),
            "best_epoch": list(self.best_epoch),
            "wait": list(self.wait),
            "records": self.records,
        }
        return scalars, [array for weights in self.kept for array in weights]

    def restore_checkpoint_state(self, scalars: dict[str, Any], kept: list[np.ndarray]) -> None:
        """Back to a state `checkpoint_state` gave (raises ValueError, KeyError, TypeError)."""
        count = len(self.pack.members)
        sizes = [len(weights) for weights in self.initial]
        if len(kept) != sum(sizes) or len(scalars["running"]) != count:
            raise ValueError("the saved state belongs to another pack of members")
        self.running = [bool(value) for value in scalars["running"]]
        self.best = [None if value is None else float(value) for value in scalars["best"]]
        self.best_epoch = [int(value) for value in scalars["best_epoch"]]
        self.wait = [int(value) for value in scalars["wait"]]
        self.records = [[dict(row) for row in rows] for rows in scalars["records"]]
        self.kept, position = [], 0
        for size in sizes:
            self.kept.append(list(kept[position : position + size]))
            position += size


def _stop_on_request(keras: Any) -> Any:
    """A callback ending training after the current batch once a stop was requested."""

    class StopOnRequest(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if interruption.stop_requested():
                self.model.stop_training = True

    return StopOnRequest()


def _keras_verbosity(progress: str) -> int:
    # Keras' bar on a terminal only; its one-line-per-epoch mode (2) would repeat the lines
    # that `progress.EpochLines` writes from the epoch events, without member or phase.
    return 1 if resolved_progress(progress) == "bar" else 0
