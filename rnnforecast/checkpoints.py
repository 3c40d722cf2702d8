"""The training state of a run being staged: what a run killed outright (SIGKILL: the OOM killer,
a node drain, a spot instance) needs to resume where it stopped and end exactly as an
uninterrupted run with the same seed would.

Training is cut into fit units: what one Keras `fit` trains, a pack of the ensemble members
that share a lookback (`fitting`). Each unit has its files per phase (`holdout`, `refit`)
in the staging folder's state folder, each replaced atomically:

- `<unit>.epoch.npz` after every complete epoch: every variable of the model (the weights, and
  the state of its dropout seed generators), every variable of the optimizer, the epochs done,
  the state of the early stopping callbacks with their best weights so far, the losses so far;
- `<unit>.done.npz` once the unit is finished: its final variables, summaries and losses.

A resumed unit is built from the same seed, gets those variables back and goes on with the
next epoch. Since the order of the training windows in epoch e follows from (seed, e) alone
(`fitting.window_pipeline`), it ends with the very weights an uninterrupted fit ends with.

The files are NumPy archives of arrays and one JSON text, never pickled. One that cannot be
read, or does not fit the model it is restored into, is ignored with a note: that unit starts
over. The epoch at which a fit ends is not saved (the finished unit is), nor an epoch cut short
by a signal.

How a fit loop calls it, per fit unit (see `training.fit_forecaster` and `fitting.fit_pack`):

    unit = checkpoints.unit(phase, member_numbers)
    model = build_and_compile(...)               # from the same seed as always
    finished = unit.restore_finished(model)      # None, or its summaries and losses
    if finished is None:
        callback = unit.callback(keras, model, stoppers)  # the last callback of `fit`
        model.fit(pipeline_of_epochs(callback.first_epoch, epochs),
                  initial_epoch=callback.first_epoch, callbacks=[..., callback])
        unit.finish(model, summaries, history)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast.events import Events

UNIT_FORMAT = 1
EPOCH_SUFFIX = ".epoch.npz"
DONE_SUFFIX = ".done.npz"


@dataclass(frozen=True)
class Finished:
    """A fit unit that finished before: its members' summaries and their losses per epoch."""

    summaries: list[dict[str, Any]]
    history: pd.DataFrame


@dataclass(frozen=True)
class Checkpoints:
    """Where the fit units of one run (or one backtest fold) keep their state.

    Attributes:
        folder: the state folder (`staging.Staging.state`, or a fold's folder inside it).
        events: receives a `note` event when a unit resumes or its state is ignored.
    """

    folder: Path
    events: Events | None = field(default=None, compare=False)

    def scope(self, name: str) -> Checkpoints:
        """The checkpoints of a part of the work (a backtest fold), in a folder of their own."""
        return Checkpoints(self.folder / name, self.events)

    def unit(self, phase: str, members: Sequence[int]) -> FitUnit:
        """The fit unit training `members` (numbers from 1) in `phase`."""
        numbers = list(members)
        if len(numbers) == 1:
            name = f"{phase}-member-{numbers[0]}"
        elif numbers == list(range(numbers[0], numbers[-1] + 1)):
            name = f"{phase}-members-{numbers[0]}-{numbers[-1]}"
        else:
            name = f"{phase}-members-{'-'.join(map(str, numbers))}"[:200]
        which = f"member {numbers[0]}" if len(numbers) == 1 else f"members {numbers}"
        return FitUnit(self.folder, name, f"{phase} fit of {which}", self.events)

    def finished_units(self) -> int:
        """How many fit units (of every fold) finished before."""
        return sum(1 for _ in self.folder.rglob(f"*{DONE_SUFFIX}")) if self.folder.is_dir() else 0


@dataclass(frozen=True)
class FitUnit:
    """The saved state of one fit unit; see the module's docstring for how a loop calls it."""

    folder: Path
    name: str
    label: str
    events: Events | None = field(default=None, compare=False)

    @property
    def epoch_file(self) -> Path:
        return self.folder / f"{self.name}{EPOCH_SUFFIX}"

    @property
    def done_file(self) -> Path:
        return self.folder / f"{self.name}{DONE_SUFFIX}"

    def restore_finished(self, model: Any) -> Finished | None:
        """When the unit finished before, put its final variables into `model` (built and
        compiled as before) and return its summaries and losses; else None."""
        loaded = self._load(self.done_file)
        if loaded is None:
            return None
        state, arrays = loaded
        try:
            _restore_variables(model, arrays)
            finished = Finished(state["summaries"], _frame(state["history"]))
        except (KeyError, TypeError, ValueError) as error:
            self._ignore(self.done_file, error)
            return None
        return finished

    def callback(self, keras: Any, model: Any, stoppers: Sequence[Any] = ()) -> Any:
        """A Keras callback that saves the unit's state after each complete epoch, having put
        its last saved epoch back into `model` (call it once the untrained model has been
        scored, and put it after `stoppers`, the early stopping callbacks whose state it keeps,
        in `fit`'s callbacks). Its `first_epoch` is the `initial_epoch` to pass to `fit`, its
        `records` the losses of every epoch so far once `fit` returns."""
        saved = self._load(self.epoch_file)
        if saved is not None:
            state, arrays = saved
            try:
                best = [_best_weights(arrays, index) for index in range(len(stoppers))]
                stopping = [
                    _stopper_scalars(stopper, state["stoppers"][index])
                    for index, stopper in enumerate(stoppers)
                ]
                _restore_variables(model, arrays)
                saved = (state, stopping, best)
            except (KeyError, IndexError, TypeError, ValueError) as error:
                self._ignore(self.epoch_file, error)
                saved = None
        return _callback_class(keras)(self, list(stoppers), saved)

    def finish(self, model: Any, summaries: list[dict[str, Any]], history: pd.DataFrame) -> None:
        """Save the finished unit: its final variables, summaries and losses."""
        state = {"summaries": summaries, "history": _frame_state(history)}
        self._save(self.done_file, state, _variables(model))
        with contextlib.suppress(OSError):
            self.epoch_file.unlink()

    def save_epoch(
        self, model: Any, epochs_done: int, records: dict[str, list[float]], stoppers: list[Any]
    ) -> None:
        """Save the state after `epochs_done` complete epochs."""
        arrays = _variables(model)
        states = []
        for index, stopper in enumerate(stoppers):
            scalars, best = _stopper_state(stopper)
            states.append(scalars)
            for position, value in enumerate(best or []):
                arrays[f"best/{index}/{position}"] = np.asarray(value)
        state = {"epochs_done": epochs_done, "records": records, "stoppers": states}
        self._save(self.epoch_file, state, arrays)

    def _save(self, path: Path, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"format": UNIT_FORMAT, "unit": self.name, **state})
        buffer = io.BytesIO()
        np.savez(buffer, state=np.array(text), **arrays)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
        # Written then renamed: a process killed while writing leaves the previous epoch's
        # state whole. Not synced to disk: that guards against a crash of the machine, which
        # costs a fsync per epoch; a file damaged that way is ignored and its unit starts over.
        temporary.write_bytes(buffer.getvalue())
        os.replace(temporary, path)

    def _load(self, path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
            state = json.loads(str(arrays.pop("state")))
            if state.get("format") != UNIT_FORMAT or state.get("unit") != self.name:
                raise ValueError(f"format {state.get('format')!r} of unit {state.get('unit')!r}")
        except (OSError, ValueError, KeyError, AttributeError) as error:
            self._ignore(path, error)
            return None
        return state, arrays

    def _ignore(self, path: Path, error: Exception) -> None:
        self.note(
            f"ignoring the training state {path} ({type(error).__name__}: {str(error)[:120]}); "
            f"the {self.label} starts over."
        )
        with contextlib.suppress(OSError):
            path.unlink()

    def note(self, text: str) -> None:
        if self.events is not None:
            self.events.note(text)


def _callback_class(keras: Any) -> type:
    class UnitCheckpoint(keras.callbacks.Callback):
        """Restores a fit unit's last complete epoch and saves each one after it."""

        def __init__(self, unit: FitUnit, stoppers: list[Any], saved: Any) -> None:
            super().__init__()
            self.unit, self.stoppers, self.saved = unit, stoppers, saved
            state = saved[0] if saved else {}
            self.first_epoch = int(state.get("epochs_done", 0))
            self.records = {key: list(values) for key, values in state.get("records", {}).items()}

        def on_train_begin(self, logs: Any = None) -> None:
            # After the stoppers' own `on_train_begin`, which resets them.
            if self.saved is None:
                return
            _, stopping, best = self.saved
            for stopper, scalars, weights in zip(self.stoppers, stopping, best, strict=True):
                _set_stopper_state(stopper, scalars, weights)
            self.unit.note(
                f"the {self.unit.label} resumes after epoch {self.first_epoch} of "
                f"{self.params.get('epochs')}."
            )

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            for key, value in (logs or {}).items():
                self.records.setdefault(key, []).append(float(value))
            # The fit ends here (early stopping, the last epoch), or a signal cut the epoch
            # short: `finish` saves a finished unit; a cut epoch must not count as done.
            if self.model.stop_training or epoch + 1 >= int(self.params.get("epochs") or 0):
                return
            self.unit.save_epoch(self.model, epoch + 1, self.records, self.stoppers)

    return UnitCheckpoint


def _variables(model: Any) -> dict[str, np.ndarray]:
    """Every variable of the model (weights and seed generator states) and its optimizer."""
    arrays = {f"model/{i}": np.asarray(v.numpy()) for i, v in enumerate(model.variables)}
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        for i, variable in enumerate(optimizer.variables):
            arrays[f"optimizer/{i}"] = np.asarray(variable.numpy())
    return arrays


def _restore_variables(model: Any, arrays: dict[str, np.ndarray]) -> None:
    """Assign saved variables, checking their number, shapes and types first."""
    targets = list(model.variables)
    saved = [arrays[f"model/{i}"] for i in range(_count(arrays, "model/"))]
    optimizer = getattr(model, "optimizer", None)
    saved_optimizer = [arrays[f"optimizer/{i}"] for i in range(_count(arrays, "optimizer/"))]
    if (
        optimizer is not None
        and not optimizer.built
        and len(saved_optimizer) > len(optimizer.variables)
    ):
        optimizer.build(model.trainable_variables)  # its slots exist once it has trained
    if optimizer is not None:
        targets += list(optimizer.variables)
    values = saved + saved_optimizer
    if len(values) != len(targets) or any(
        tuple(value.shape) != tuple(target.shape)
        for value, target in zip(values, targets, strict=True)
    ):
        raise ValueError("its variables do not fit the model (another architecture)")
    for target, value in zip(targets, values, strict=True):
        target.assign(value.astype(_dtype(target)))


def _best_weights(arrays: dict[str, np.ndarray], index: int) -> list[np.ndarray]:
    keys = [key for key in arrays if key.startswith(f"best/{index}/")]
    return [arrays[key] for key in sorted(keys, key=lambda key: int(key.rsplit("/", 1)[1]))]


def _count(arrays: dict[str, np.ndarray], prefix: str) -> int:
    return sum(1 for key in arrays if key.startswith(prefix))


def _dtype(variable: Any) -> str:
    dtype = variable.dtype
    return str(getattr(dtype, "name", dtype))


def _stopper_state(stopper: Any) -> tuple[dict[str, Any], list[Any] | None]:
    """The state of an early stopping callback: its scalars and its best weights so far. A
    callback of its own kind may define `checkpoint_state()` and `restore_checkpoint_state()`."""
    if hasattr(stopper, "checkpoint_state"):
        return stopper.checkpoint_state()
    best = None if stopper.best is None else float(stopper.best)
    scalars = {"wait": int(stopper.wait), "best": best, "best_epoch": int(stopper.best_epoch)}
    return scalars, stopper.best_weights


def _stopper_scalars(stopper: Any, scalars: dict[str, Any]) -> dict[str, Any]:
    """Saved scalars of a stopper, checked (raises KeyError, TypeError, ValueError)."""
    if hasattr(stopper, "restore_checkpoint_state"):
        return dict(scalars)
    best = scalars["best"]
    return {
        "wait": int(scalars["wait"]),
        "best": None if best is None else float(best),
        "best_epoch": int(scalars["best_epoch"]),
    }


def _set_stopper_state(stopper: Any, scalars: dict[str, Any], best: list[np.ndarray]) -> None:
    if hasattr(stopper, "restore_checkpoint_state"):
        stopper.restore_checkpoint_state(scalars, best)
        return
    stopper.wait, stopper.best = scalars["wait"], scalars["best"]
    stopper.best_epoch = scalars["best_epoch"]
    stopper.best_weights = best or None


def _frame_state(frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "columns": [str(name) for name in frame.columns],
        "dtypes": [str(dtype) for dtype in frame.dtypes],
        "values": [frame[name].tolist() for name in frame.columns],
    }


def _frame(state: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            name: pd.Series(values, dtype=dtype)
            for name, dtype, values in zip(
                state["columns"], state["dtypes"], state["values"], strict=True
            )
        }
    )
