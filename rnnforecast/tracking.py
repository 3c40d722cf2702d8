"""TensorBoard logs and MLflow runs of a command, driven by its events.

`tracked(config, command)` gives a listener for `events.Events`: it writes TensorBoard logs into
the folder being staged (so they land in the run directory with everything else) and logs one
MLflow run per command, with nested runs per ensemble member, backtest fold or tuning trial.

The run directory stays the source of truth. A tracker that fails (MLflow not installed, its
server down, a full disk) prints one warning line on stderr and is switched off; the command
goes on and its results are complete without it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from rnnforecast.config import Config, MlflowConfig, dump_config
from rnnforecast.events import Event
from rnnforecast.run import TENSORBOARD_DIR
from rnnforecast.version import __version__

# MLflow retries an unreachable server for minutes by default; a tracker that is down must not
# hold a training up. The user's own settings win.
MLFLOW_QUICK_FAILURE = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}
MAX_BATCH = 200  # metrics per MLflow request (its limit is 1,000)
MAX_PARAMS = 100  # params per MLflow request (its limit)
ARTIFACTS_BESIDE_SQLITE = "mlartifacts"

Warn = Callable[[str], None]


def _stderr(message: str) -> None:
    print(f"Warning: {message}", file=sys.stderr, flush=True)


class Tracking:
    """Every tracker a config turns on, as one `Events` listener.

    Args:
        config: the command's config (`tracking` says what is on; `output.name` names things).
        command: `train`, `backtest` or `tune`.
        warn: where the one line per failing tracker goes; stderr by default.

    Example:
        >>> tracking = Tracking(load_config(None), "train")  # doctest: +SKIP
        >>> run = train(config, events=Events(tracking)); tracking.finished(run.path)
    """

    def __init__(self, config: Config, command: str, warn: Warn = _stderr) -> None:
        self.trackers: list[Any] = []
        if config.tracking.tensorboard:
            self.trackers.append(TensorBoardLog(warn))
        settings = config.tracking.mlflow_settings
        if settings is not None:
            self.trackers.append(MlflowLog(settings, config, command, warn))

    def __call__(self, event: Event) -> None:
        for tracker in self.trackers:
            tracker.safely(tracker.handle, event)

    def finished(self, folder: Path | None) -> None:
        """The command succeeded and wrote `folder`: attach it and close every tracker."""
        for tracker in self.trackers:
            tracker.safely(tracker.finish, folder)

    def failed(self, status: str = "FAILED") -> None:
        """The command failed (`FAILED`) or was interrupted (`KILLED`): close every tracker."""
        for tracker in self.trackers:
            tracker.safely(tracker.abort, status)


@contextlib.contextmanager
def tracked(config: Config, command: str, warn: Warn = _stderr) -> Iterator[Tracking]:
    """The trackers of `config.tracking` for one command; closed as failed when the block
    raises. Call `finished(folder)` at the end of a successful block."""
    tracking = Tracking(config, command, warn)
    try:
        yield tracking
    except KeyboardInterrupt:
        tracking.failed("KILLED")
        raise
    except BaseException:
        tracking.failed("FAILED")
        raise


class _Tracker:
    """A tracker that switches itself off, with one warning, at its first failure."""

    name = "tracker"

    def __init__(self, warn: Warn) -> None:
        self.warn = warn
        self.active = True

    def safely(self, method: Callable[..., None], *args: Any) -> None:
        if not self.active:
            return
        try:
            method(*args)
        except Exception as error:
            self.active = False
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            self.warn(
                f"{self.name} logging failed ({type(error).__name__}: {first[:300]}); the "
                "command goes on without it, and its folder holds every result."
            )

    def handle(self, event: Event) -> None:
        raise NotImplementedError

    def finish(self, folder: Path | None) -> None:
        raise NotImplementedError

    def abort(self, status: str) -> None:
        raise NotImplementedError


class TensorBoardLog(_Tracker):
    """TensorBoard event files in `<folder>/tensorboard/`: one log per phase and member
    (`holdout/member-1`, `refit/member-1`; in a backtest under `fold-N/`) with `loss`,
    `val_loss` and `learning_rate` per epoch, and `test` (or `backtest`) with the final
    metrics of the model and the baselines and the resolved config as text."""

    name = "TensorBoard"

    def __init__(self, warn: Warn) -> None:
        super().__init__(warn)
        self.root: Path | None = None
        self.prefix = ""
        self.writers: dict[str, Any] = {}

    def _writer(self, name: str) -> Any:
        if name not in self.writers:
            from rnnforecast.backend import import_tensorflow

            tf = import_tensorflow()
            assert self.root is not None
            self.writers[name] = tf.summary.create_file_writer(str(self.root / name))
        return self.writers[name]

    def _scalars(self, writer: str, values: dict[str, float], step: int) -> None:
        from rnnforecast.backend import import_tensorflow

        tf = import_tensorflow()
        with self._writer(writer).as_default(step=step):
            for tag, value in values.items():
                tf.summary.scalar(tag, value)

    def handle(self, event: Event) -> None:
        fields = event.fields
        if event.kind == "run" and fields.get("folder") is not None:
            self.root = Path(fields["folder"]) / TENSORBOARD_DIR
            if fields.get("config") is not None:
                from rnnforecast.backend import import_tensorflow

                tf = import_tensorflow()
                text = "```\n" + dump_config(fields["config"]) + "```"
                with self._writer("config").as_default(step=0):
                    tf.summary.text("config", text)
        if self.root is None:
            return
        if event.kind == "fold" and event.name == "start":
            self.prefix = f"fold-{fields['fold']}/"
        elif event.kind == "epoch":
            values = {
                key: fields[key]
                for key in ("loss", "val_loss", "learning_rate")
                if fields.get(key) is not None
            }
            writer = f"{self.prefix}{event.name}/member-{fields['member']}"
            self._scalars(writer, values, int(fields["epoch"]))
        elif event.kind == "fold" and event.name == "end":
            self._scalars(f"{self.prefix}scores", flat_metrics(fields["metrics"]), 0)
        elif event.kind == "metrics":
            self._scalars(event.name, flat_metrics(fields["metrics"]), 0)
            self._close()

    def _close(self) -> None:
        for writer in self.writers.values():
            writer.flush()
            writer.close()
        self.writers.clear()

    def finish(self, folder: Path | None) -> None:
        self._close()

    def abort(self, status: str) -> None:
        self._close()


def flat_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """`{"model": {"mase": 0.8}, "skill": 0.1}` as `{"model/mase": 0.8, "skill": 0.1}`:
    the finite numbers only."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update({f"{key}/{name}": number for name, number in flat_metrics(value).items()})
        elif _is_number(value) and key not in COUNTS:
            flat[key] = float(value)
    return flat


COUNTS = ("windows", "horizon", "season_length", "fold")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def flat_params(config: Config) -> dict[str, str]:
    """The resolved config as dotted keys and text values; `tracking` is left out (a URI may
    hold credentials)."""
    raw = config.model_dump(mode="json")
    raw.pop("tracking", None)
    flat: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict) and node and prefix.count(".") < 4:
            for key, item in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        else:
            text = node if isinstance(node, str) else yaml.safe_dump(node, default_flow_style=True)
            flat[prefix] = str(text).strip().removesuffix("\n...")[:6000]

    walk("", raw)
    return flat


class MlflowLog(_Tracker):
    """One MLflow run per command: the resolved config as parameters, the final metrics, and
    the folder as artifacts; nested runs per ensemble member (losses and learning rate per
    epoch), backtest fold (its scores) and tuning trial (its values and score)."""

    name = "MLflow"

    def __init__(self, settings: MlflowConfig, config: Config, command: str, warn: Warn) -> None:
        super().__init__(warn)
        self.client: Any = None
        self.parent: str | None = None
        self.experiment = settings.experiment or config.output.name or "rnnforecast"
        self.uri = settings.uri or os.environ.get("MLFLOW_TRACKING_URI")
        self.fold: str | None = None
        self.members: dict[tuple[str | None, int], str] = {}
        self.pending: dict[str, list[Any]] = {}
        self.open_runs: list[str] = []
        self.named = False
        self.child: str | None = None
        self.safely(self._start, command)

    def _start(self, command: str) -> None:
        for key, value in MLFLOW_QUICK_FAILURE.items():
            os.environ.setdefault(key, value)
        try:
            import logging

            from mlflow.tracking import MlflowClient
        except ImportError:
            raise RuntimeError(
                "mlflow is not installed; install it with pip install 'rnnforecast[mlflow]'"
            ) from None
        # Its INFO lines (database migrations) are noise in a training log.
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        self.client = MlflowClient(tracking_uri=self.uri)
        found = self.client.get_experiment_by_name(self.experiment)
        if found is None:
            experiment_id = self.client.create_experiment(
                self.experiment, artifact_location=_artifact_location(self.uri, self.experiment)
            )
        else:
            experiment_id = found.experiment_id
        self.experiment_id = experiment_id
        self.parent = self._create(
            None, command, {"rnnforecast.command": command, "rnnforecast.version": __version__}
        )

    def _create(self, parent: str | None, name: str, tags: dict[str, str] | None = None) -> str:
        tags = dict(tags or {})
        if parent is not None:
            tags["mlflow.parentRunId"] = parent
        run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
        self.open_runs.append(run.info.run_id)
        return str(run.info.run_id)

    def _end(self, run_id: str, status: str = "FINISHED") -> None:
        if run_id in self.open_runs:
            self.open_runs.remove(run_id)
            self.client.set_terminated(run_id, status)

    def _metrics(self, run_id: str, values: dict[str, float], step: int = 0) -> None:
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        metrics = [Metric(key, float(value), stamp, step) for key, value in values.items()]
        for start in range(0, len(metrics), MAX_BATCH):
            self.client.log_batch(run_id, metrics=metrics[start : start + MAX_BATCH])

    def _params(self, run_id: str, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(key, str(value)[:6000]) for key, value in params.items()]
        for start in range(0, len(items), MAX_PARAMS):
            self.client.log_batch(run_id, params=items[start : start + MAX_PARAMS])

    def handle(self, event: Event) -> None:
        if self.parent is None:
            return
        fields = event.fields
        if event.kind == "run":
            self._run_start(fields)
        elif event.kind == "fold" and event.name == "start":
            self.fold = self._create(self.parent, f"fold-{fields['fold']}")
        elif event.kind == "fold" and event.name == "end" and self.fold is not None:
            self._flush_members()
            self._metrics(self.fold, flat_metrics(fields["metrics"]))
            self._end(self.fold)
            self.fold = None
        elif event.kind == "epoch":
            self._epoch(event)
        elif event.kind == "step" and event.name == "fit":
            self._flush_members()
        elif event.kind == "metrics":
            values = flat_metrics(fields["metrics"])
            target = self.child or self.parent
            self._metrics(target, {f"{event.name}/{k}": v for k, v in values.items()})
        elif event.kind == "trial":
            self._trial(fields)

    def _run_start(self, fields: dict[str, Any]) -> None:
        """The command's run gets the config; a second run within the command (the training
        of `tune --train-best`) gets a nested run of its own, since parameters are fixed."""
        assert self.parent is not None
        name = Path(fields["final"]).name if fields.get("final") is not None else None
        if not self.named:
            self.named = True
            if name is not None:
                self.client.set_tag(self.parent, "mlflow.runName", name)
            target = self.parent
        else:
            self.child = self._create(self.parent, name or "run")
            target = self.child
        if fields.get("config") is not None:
            self._params(target, flat_params(fields["config"]))

    def _epoch(self, event: Event) -> None:
        fields = event.fields
        key = (self.fold, int(fields["member"]))
        if key not in self.members:
            owner = self.fold or self.child or self.parent
            self.members[key] = self._create(owner, f"member-{key[1]}")
        run_id = self.members[key]
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        for name in ("loss", "val_loss", "learning_rate"):
            if fields.get(name) is not None:
                metric = Metric(f"{event.name}/{name}", float(fields[name]), stamp, fields["epoch"])
                self.pending.setdefault(run_id, []).append(metric)

    def _flush_members(self) -> None:
        for run_id, metrics in list(self.pending.items()):
            for start in range(0, len(metrics), MAX_BATCH):
                self.client.log_batch(run_id, metrics=metrics[start : start + MAX_BATCH])
        self.pending.clear()

    def _trial(self, fields: dict[str, Any]) -> None:
        name = "defaults" if fields.get("defaults") else f"trial-{fields['number']}"
        run_id = self._create(self.parent, name, {"rnnforecast.state": str(fields["state"])})
        self._params(run_id, {"trial": fields["number"], **fields.get("values", {})})
        for fold, score in enumerate(fields.get("fold_scores") or [], start=1):
            self._metrics(run_id, {"fold_score": score}, step=fold)
        if fields.get("score") is not None:
            self._metrics(run_id, {fields["metric"]: fields["score"]})
        self._end(run_id, "FAILED" if fields["state"] == "failed" else "FINISHED")

    def finish(self, folder: Path | None) -> None:
        if self.parent is None:
            return
        self._flush_members()
        for run_id in [run for run in self.open_runs if run != self.parent]:
            self._end(run_id)
        if folder is not None:
            self.client.log_artifacts(self.parent, str(folder))
        self._end(self.parent)

    def abort(self, status: str) -> None:
        if self.parent is None:
            return
        for run_id in list(reversed(self.open_runs)):
            self._end(run_id, status)


def _artifact_location(uri: str | None, experiment: str) -> str | None:
    """Artifacts of a new experiment in a SQLite store go beside the database file (MLflow
    would put them under the current folder); elsewhere MLflow decides."""
    if uri is None or not uri.startswith("sqlite:///"):
        return None
    database = Path(uri.removeprefix("sqlite:///"))
    folder = database.parent / ARTIFACTS_BESIDE_SQLITE / experiment
    return folder.resolve().as_uri()
