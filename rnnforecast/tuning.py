"""`tune`: a search over config values with Optuna, each trial scored by a rolling-origin
backtest on the training history only.

The steps:

1. Cut each series' test part off (`split.test`): the search never sees it, so the test figures
   of a run trained with the best config stay honest.
2. Score the config as given, the defaults, as trial 0, then `tune.trials` trials of values from
   `tune.space`, all on the same folds (`tune.folds` origins, `tune.step` apart). Each fold's
   running score is reported to Optuna, whose median pruner stops hopeless trials early.
3. Write the tune folder atomically: the study, `trials.csv`, `best.yaml`, `tune.json` and the
   plots of the search.

The study lives in a journal file beside the output folder (`<output>.study.journal`) while the
search runs, appended to as each trial finishes, so a search killed outright continues where it
stopped when the same command runs again; the finished folder holds it as `study.journal`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnforecast.backtest import backtest, fold_cuts, truncate
from rnnforecast.baselines import BASELINES
from rnnforecast.config import Config, TuneConfig, config_from_dict
from rnnforecast.data import Dataset, load_dataset
from rnnforecast.errors import ConfigError, DataError, RunError
from rnnforecast.events import Event, Events
from rnnforecast.execution import SERIAL, Executor, Job, cpu_count, executor, parallel
from rnnforecast.run import Run, TuneContents, default_run_dir, save_tune
from rnnforecast.space import Dimension, apply, default_space, dimensions
from rnnforecast.splitting import kept_validation, split_points
from rnnforecast.staging import staged_directory
from rnnforecast.study_plots import importance_figure, trials_figure
from rnnforecast.training import free_models

STUDY_NAME = "rnnforecast"
STUDY_SUFFIX = ".study.journal"
# The median pruner waits for this many finished trials before it stops any.
PRUNER_STARTUP_TRIALS = 3
MIN_IMPORTANCE_TRIALS = 3
IMPORTANCE_BINS = 4
COMPLETE, PRUNED, FAILED, INTERRUPTED = "complete", "pruned", "failed", "interrupted"


@dataclass(frozen=True)
class TrialItem:
    """One trial to score: everything a worker process needs, picklable.

    Attributes:
        config: the trial's config as a JSON-able mapping (`Config.model_dump(mode="json")`).
        history: the series without their test parts.
        journal: the study's journal file; the worker reports each fold's score there.
        trial_id: Optuna's id of the trial in that study.
        prunable: whether the worker may stop the trial early (never the defaults).
    """

    number: int
    trial_id: int
    config: dict[str, Any]
    history: Dataset
    folds: int
    step: int | None
    metric: str
    journal: str
    pruning: bool
    prunable: bool


@dataclass(frozen=True)
class TrialOutcome:
    """What scoring a trial gave: its state, its score over every fold (complete only), the
    running score after each fold, the baselines' scores and the reason of a failure."""

    number: int
    state: str
    score: float | None = None
    fold_scores: list[float] = field(default_factory=list)
    baselines: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Tuned:
    """A finished search.

    Attributes:
        folder: the tune folder.
        summary: what `tune.json` holds (the defaults' and the best score, the improvement).
        trials: one row per trial, as `trials.csv`.
        best_config: the config of the best trial (the defaults when none beat them).
        run: the run trained with `best_config` (`--train-best`), else None.
    """

    folder: Path
    summary: dict[str, Any]
    trials: pd.DataFrame
    best_config: Config
    run: Run | None = None


def tune(
    config: Config,
    output: Path | None = None,
    train_best: bool = False,
    progress: str = "none",
    events: Events | None = None,
) -> Tuned:
    """Search `config.tune.space` (or the default space) for the config with the best backtest
    score on the training history, and write the tune folder.

    Args:
        output: the tune folder; `<output.dir>/<output.name>-tune` by default. Its study
            journal sits beside it until the folder is written, so the same command resumes.
        train_best: train the best config afterwards (a normal run directory).
        progress: Keras' progress for `train_best` (`"none"`, `"epoch"`, `"bar"`, `"auto"`).
        events: receives a `trial` event per finished trial, and the events of `train_best`.

    Raises:
        ConfigError: a bad space, too many folds for the history, or a config whose defaults
            cannot be backtested; or Optuna is not installed.
        RunError: the folder exists already, or another `tune` is writing its study.

    Example:
        `tune(load_config("configs/a10.yaml", ["tune.trials=10"]))`
    """
    events = events or Events()
    settings = config.tune
    final = output or default_tune_dir(config)
    _check_output(final)
    dataset = load_dataset(config.data)
    history = training_history(dataset, config)
    horizon = config.window.horizon
    fold_cuts(history, settings.folds, settings.step or horizon, horizon)  # fails early
    searched = config
    if settings.space is None:
        space = default_space(history.season_length, horizon, first_training_part(config, history))
        searched = apply(config, {"tune.space": space}, "the default space")
    dims = dimensions(searched, "tune.space")
    journal = study_path(final)
    events.emit("run", "start", folder=None, final=final, config=config)
    started = time.monotonic()
    with _exclusive(journal):
        study = open_study(journal, _fingerprint(config, dims, dataset), config)
        recover_interrupted(study)
        _search(study, journal, searched, dims, history, events, started)
        contents = _contents(study, config, dims, history, journal, time.monotonic() - started)
        with staged_directory(final) as staging:
            save_tune(staging.path, contents)
    journal.unlink(missing_ok=True)
    run = None
    if train_best:
        from rnnforecast.training import train

        best = contents.best_config
        run = train(best, default_run_dir(best, suffix="-best"), progress, events)
    return Tuned(final, contents.summary, contents.trials, contents.best_config, run)


def default_tune_dir(config: Config) -> Path:
    """`<output.dir>/<output.name>-tune`: without a timestamp, so that running the same command
    again finds the study of a search that was killed."""
    return config.output.dir / f"{config.output.name}-tune"


def study_path(output: Path) -> Path:
    """The journal file of the study of the tune folder `output`, beside it."""
    return output.with_name(output.name + STUDY_SUFFIX)


def training_history(dataset: Dataset, config: Config) -> Dataset:
    """Each series without its test part (`split.test`): all that the search may see."""
    points = split_points(dataset, config)
    for series, point in zip(dataset.series, points, strict=True):
        if point.validation_end < config.window.horizon + 2:
            test = point.length - point.validation_end
            raise ConfigError(
                f"{dataset.label(series)}: after its test part ({test} points) the series has "
                f"{point.validation_end} point(s) left to tune on. Lower `split.test` or use a "
                f"longer series. Received: split.test={config.split.test}"
            )
    return truncate(dataset, [point.validation_end for point in points])


def first_training_part(config: Config, history: Dataset) -> int:
    """The shortest training part of the first (earliest) fold, after its validation part."""
    settings, horizon = config.tune, config.window.horizon
    cut = fold_cuts(history, settings.folds, settings.step or horizon, horizon)[0]
    parts = []
    for length in cut:
        validation = config.split.sizes(length, horizon)[0]
        parts.append(length - kept_validation(config, validation, length, history.season_length))
    return min(parts)


def _check_output(final: Path) -> None:
    if final.exists() and (not final.is_dir() or any(final.iterdir())):
        raise RunError(
            f"{final}: the tune folder already exists and is not empty. Choose another folder "
            "(--output-dir) or remove it."
        )


@contextlib.contextmanager
def _exclusive(journal: Path) -> Iterator[None]:
    """Hold an exclusive lock on the study's journal for the whole search: a second `tune`
    into the same folder fails at once instead of mixing its trials in. The lock goes with
    the process, also when it is killed."""
    try:
        journal.parent.mkdir(parents=True, exist_ok=True)
        handle = journal.open("ab")
    except OSError as error:
        raise RunError(f"{journal}: cannot create the study file ({error}).") from None
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(
                f"{journal}: another `tune` is running this study. Wait for it to finish, or "
                "choose another folder (--output-dir)."
            ) from None
        yield


def import_optuna() -> Any:
    """Optuna, quiet; a config error saying how to install it when it is missing."""
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            "`tune` needs Optuna, which is not installed. Install it with "
            "pip install 'rnnforecast[tune]'. Received: tune"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def journal_storage(path: Path | str) -> Any:
    """Optuna's journal storage in the file `path` (appended to, safe across processes)."""
    optuna = import_optuna()
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def make_pruner(pruning: bool) -> Any:
    """The median pruner (after `PRUNER_STARTUP_TRIALS` finished trials), or none."""
    optuna = import_optuna()
    if not pruning:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=0)


def open_study(journal: Path, fingerprint: str, config: Config) -> Any:
    """The study in `journal`, created or resumed; refused when it was started for another
    config, space or data."""
    optuna = import_optuna()
    study = optuna.create_study(
        storage=journal_storage(journal),
        study_name=STUDY_NAME,
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=config.tune.seed),
        pruner=make_pruner(config.tune.pruning),
        load_if_exists=True,
    )
    stored = study.user_attrs.get("fingerprint")
    if stored is None:
        study.set_user_attr("fingerprint", fingerprint)
        study.set_user_attr("metric", config.tune.metric)
    elif stored != fingerprint:
        raise ConfigError(
            f"{journal}: this study was started with another config, space or data, so its "
            "trials are not comparable. Remove the file to start afresh, or choose another "
            "folder (--output-dir). Received: a changed config"
        )
    return study


def _fingerprint(config: Config, dims: list[Dimension], dataset: Dataset) -> str:
    """What makes trials comparable: every key but the search's length, tracking, output and
    execution, the space, and the data's checksum."""
    raw = config.model_dump(mode="json")
    for key in ("trials", "timeout", "space"):
        raw["tune"].pop(key)
    for key in ("tracking", "output", "execution"):
        raw.pop(key)
    payload = {
        "config": raw,
        "space": {dim.key: dim.describe() for dim in dims},
        "data": dataset.checksum,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def recover_interrupted(study: Any) -> list[int]:
    """Mark the trials a killed search left running as interrupted (no other process can run
    them: this one holds the study's lock) and queue their values to run again.

    Returns:
        The numbers of the interrupted trials.
    """
    optuna = import_optuna()
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for frozen in running:
        _interrupt(study, frozen.number, frozen.params, frozen.user_attrs)
    return [frozen.number for frozen in running]


def _interrupt(study: Any, number: int, params: dict[str, Any], attrs: dict[str, Any]) -> None:
    """Fail a trial that did not finish (it has no `seconds`, unlike every scored trial) and
    queue its values to run again."""
    optuna = import_optuna()
    study.tell(number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
    if not attrs.get("defaults"):
        study.enqueue_trial(params)


def _counts(study: Any) -> tuple[bool, int]:
    """Whether the defaults were scored, and how many searched trials finished."""
    defaults_done, finished = False, 0
    for trial in study.get_trials(deepcopy=False):
        state = _state(trial)
        if trial.user_attrs.get("defaults"):
            defaults_done = defaults_done or state == COMPLETE
        elif state in (COMPLETE, PRUNED, FAILED):
            finished += 1
    return defaults_done, finished


def _state(trial: Any) -> str:
    name = trial.state.name
    if name == "FAIL":
        return FAILED if "seconds" in trial.user_attrs else INTERRUPTED
    return {"COMPLETE": COMPLETE, "PRUNED": PRUNED}.get(name, name.lower())


def _search(
    study: Any,
    journal: Path,
    config: Config,
    dims: list[Dimension],
    history: Dataset,
    events: Events,
    started: float,
) -> None:
    """Ask, score and tell trials until `tune.trials` finished (or `tune.timeout` passed):
    the defaults first and alone, then up to `execution.workers` trials side by side on the
    execution backend, each told to the study as soon as it is scored."""
    settings = config.tune
    execution = config.execution
    width = (execution.workers or cpu_count()) if parallel(execution, settings.trials) else 1
    with executor(execution, width) as runner:
        while True:
            defaults_done, finished = _counts(study)
            timed_out = (
                settings.timeout is not None and time.monotonic() - started > settings.timeout
            )
            if defaults_done and (finished >= settings.trials or timed_out):
                return
            batch = min(width, settings.trials - finished) if defaults_done else 1
            asked = [
                _asked(study, journal, config, dims, history, defaults_done) for _ in range(batch)
            ]
            _run_batch(study, runner, asked, events, settings, defaults_done)
            if not defaults_done:
                number = asked[0][0].number
                outcome = next(t for t in study.get_trials(deepcopy=False) if t.number == number)
                if _state(outcome) == FAILED:
                    raise ConfigError(
                        "the config as given (the defaults of the search) cannot be "
                        "backtested on the training history: "
                        f"{outcome.user_attrs.get('error', 'no figure')}"
                    )


def _run_batch(
    study: Any,
    runner: Executor,
    asked: list[tuple[Any, dict[str, Any], TrialItem | TrialOutcome]],
    events: Events,
    settings: TuneConfig,
    defaults_done: bool,
) -> None:
    """Score the asked trials side by side, telling the study of each as it ends; trials a
    stop (Ctrl-C, a dead worker) leaves unscored are marked interrupted, to run again."""
    told: set[int] = set()

    def tell(index: int, outcome: TrialOutcome) -> None:
        trial, values, _ = asked[index]
        told.add(index)
        _tell(study, trial, outcome, values)
        _announce(study, events, settings, trial, values, outcome, defaults_done)

    for index, (_, _, ready) in enumerate(asked):
        if isinstance(ready, TrialOutcome):  # values that conflict with each other
            tell(index, ready)
    scored = [index for index in range(len(asked)) if index not in told]
    jobs = [Job(f"trial {asked[i][0].number}", score_trial, asked[i][2]) for i in scored]
    try:
        runner.run(jobs, lambda position, outcome: tell(scored[position], outcome))
    except BaseException:
        for index in scored:
            if index not in told:
                trial = asked[index][0]
                _interrupt(study, trial.number, trial.params, trial.user_attrs)
        raise


def _asked(
    study: Any,
    journal: Path,
    config: Config,
    dims: list[Dimension],
    history: Dataset,
    defaults_done: bool,
) -> tuple[Any, dict[str, Any], TrialItem | TrialOutcome]:
    """A new trial of the study, its values and what scores it (or its failed outcome when
    its values conflict with each other): the defaults until they were scored."""
    settings = config.tune
    trial = study.ask()
    values: dict[str, Any] = {}
    if defaults_done:
        values = {dim.key: dim.suggest(trial) for dim in dims}
    else:
        trial.set_user_attr("defaults", True)
    try:
        trial_config = apply(config, values, f"trial {trial.number}")
    except ConfigError as error:
        return trial, values, TrialOutcome(trial.number, FAILED, error=str(error))
    item = TrialItem(
        number=trial.number,
        # Optuna's own distributed integrations pass this id to their workers too.
        trial_id=trial._trial_id,
        config=trial_config.model_dump(mode="json"),
        history=history,
        folds=settings.folds,
        step=settings.step,
        metric=settings.metric,
        journal=str(journal),
        pruning=settings.pruning,
        prunable=defaults_done,
    )
    return trial, values, item


def _announce(
    study: Any,
    events: Events,
    settings: TuneConfig,
    trial: Any,
    values: dict[str, Any],
    outcome: TrialOutcome,
    defaults_done: bool,
) -> None:
    """The `trial` event of a scored trial, with the best score so far."""
    best = _best(study)
    events.emit(
        "trial",
        str(trial.number),
        number=trial.number,
        defaults=not defaults_done,
        state=outcome.state,
        score=outcome.score,
        fold_scores=outcome.fold_scores,
        values=values,
        error=outcome.error,
        metric=settings.metric,
        trials=settings.trials,
        best=None if best is None else best.value,
        best_number=None if best is None else best.number,
    )


def _tell(study: Any, trial: Any, outcome: TrialOutcome, values: dict[str, Any]) -> None:
    optuna = import_optuna()
    trial.set_user_attr("fold_scores", outcome.fold_scores)
    trial.set_user_attr("seconds", round(outcome.seconds, 3))
    if outcome.baselines:
        trial.set_user_attr("baselines", outcome.baselines)
    if outcome.error:
        trial.set_user_attr("error", outcome.error[:2000])
    if outcome.state == COMPLETE:
        study.tell(trial, outcome.score)
    elif outcome.state == PRUNED:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    else:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)


def _best(study: Any) -> Any:
    optuna = import_optuna()
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return min(complete, key=lambda trial: (trial.value, trial.number), default=None)


class _Pruned(Exception):
    """Raised by the fold listener to stop a hopeless trial's backtest."""


def score_trial(item: TrialItem) -> TrialOutcome:
    """Backtest one trial's config on the history, reporting each fold's running score to the
    study and stopping when the pruner says so. Runs in whatever process the execution
    backend chooses: it reads and writes the study through its journal file only."""
    started = time.perf_counter()
    config = config_from_dict(item.config, f"trial {item.number}")
    trial = _reporting_trial(item) if item.pruning else None
    running: list[float] = []

    def on_fold(event: Event) -> None:
        if event.kind != "fold" or event.name != "end":
            return
        score = float(event.fields["metrics"]["model"][item.metric])
        running.append(score)
        mean = float(np.mean(running))
        if trial is not None and math.isfinite(mean):
            trial.report(mean, event.fields["fold"])
            if item.prunable and trial.should_prune():
                raise _Pruned

    def outcome(state: str, **fields: Any) -> TrialOutcome:
        seconds = time.perf_counter() - started
        return TrialOutcome(item.number, state, fold_scores=running, seconds=seconds, **fields)

    try:
        # A trial's folds run one after another: the trials are what runs side by side.
        result = backtest(
            config,
            item.folds,
            item.step,
            dataset=item.history,
            events=Events(on_fold),
            execution=SERIAL,
        )
    except _Pruned:
        return outcome(PRUNED)
    except (ConfigError, DataError) as error:
        return outcome(FAILED, error=str(error))
    finally:
        free_models()
    score = float(result.overall["model"][item.metric])
    if not math.isfinite(score):
        return outcome(FAILED, error=f"the {item.metric} is not a finite number")
    baselines = {name: float(result.overall[name][item.metric]) for name in BASELINES}
    return outcome(COMPLETE, score=score, baselines=baselines)


def _reporting_trial(item: TrialItem) -> Any:
    optuna = import_optuna()
    study = optuna.load_study(
        study_name=STUDY_NAME,
        storage=journal_storage(item.journal),
        pruner=make_pruner(item.pruning),
    )
    return optuna.trial.Trial(study, item.trial_id)


def trials_frame(study: Any, dims: list[Dimension], metric: str) -> pd.DataFrame:
    """One row per trial: `number, state, defaults, <metric>, <each key>, fold_1 ..., seconds,
    error` (the score only for complete trials)."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {
            "number": trial.number,
            "state": _state(trial),
            "defaults": bool(trial.user_attrs.get("defaults", False)),
            metric: trial.value if trial.state.name == "COMPLETE" else None,
        }
        for dim in dims:
            stored = trial.params.get(dim.key)
            value = None if stored is None else dim.value_of(stored)
            row[dim.key] = value if not isinstance(value, list | dict) else json.dumps(value)
        for fold, score in enumerate(trial.user_attrs.get("fold_scores", []), start=1):
            row[f"fold_{fold}"] = score
        row["seconds"] = trial.user_attrs.get("seconds")
        row["error"] = trial.user_attrs.get("error")
        rows.append(row)
    frame = pd.DataFrame(rows)
    for dim in dims:  # whole numbers stay whole next to the defaults' empty cells
        frame[dim.key] = pd.Series([row[dim.key] for row in rows], dtype=object)
    return frame


def key_importance(frame: pd.DataFrame, dims: list[Dimension], metric: str) -> dict[str, float]:
    """Per searched key, the share of the variance of the score among complete trials that
    its values explain on their own (one-way; numbers in up to four quantile bins). Empty
    below `MIN_IMPORTANCE_TRIALS` trials or when every score is the same."""
    done = frame[(frame["state"] == COMPLETE) & ~frame["defaults"]]
    scores = done[metric].astype(float)
    total = float(((scores - scores.mean()) ** 2).sum())
    if len(done) < MIN_IMPORTANCE_TRIALS or total <= 0:
        return {}
    shares = {}
    for dim in dims:
        values = done[dim.key] if dim.choices is not None else pd.to_numeric(done[dim.key])
        if dim.choices is None and values.nunique() > IMPORTANCE_BINS:
            bins = min(IMPORTANCE_BINS, values.nunique())
            values = pd.qcut(values.rank(method="first"), bins, labels=False)
        groups = scores.groupby(values.astype(str))
        between = float((groups.count() * (groups.mean() - scores.mean()) ** 2).sum())
        shares[dim.key] = between / total
    return dict(sorted(shares.items(), key=lambda item: -item[1]))


def _contents(
    study: Any,
    config: Config,
    dims: list[Dimension],
    history: Dataset,
    journal: Path,
    seconds: float,
) -> TuneContents:
    metric = config.tune.metric
    frame = trials_frame(study, dims, metric)
    trials = study.get_trials(deepcopy=False)
    defaults = next(
        trial
        for trial in trials
        if trial.user_attrs.get("defaults") and trial.state.name == "COMPLETE"
    )
    best = _best(study)
    values = {dim.key: dim.value_of(best.params[dim.key]) for dim in dims if dim.key in best.params}
    beats = best.number != defaults.number and best.value < defaults.value
    best_config = apply(config, values if beats else {}, "best.yaml")
    states = frame["state"][~frame["defaults"]].value_counts().to_dict()
    importance = key_importance(frame, dims, metric)
    summary = {
        "metric": metric,
        "folds": config.tune.folds,
        "step": config.tune.step or config.window.horizon,
        "held_out": "each series' test part (split.test) was cut off before the search",
        "history_end": {history.label(series): str(series.time[-1]) for series in history.series},
        "space": {dim.key: dim.describe() for dim in dims},
        "trials": {state: int(states.get(state, 0)) for state in (COMPLETE, PRUNED, FAILED)},
        "interrupted": int(states.get(INTERRUPTED, 0)),
        "defaults": {
            "trial": defaults.number,
            "score": defaults.value,
            "baselines": defaults.user_attrs.get("baselines", {}),
        },
        "best": {"trial": best.number, "score": best.value, "values": values if beats else {}},
        "beats_defaults": bool(beats),
        "improvement": (1 - best.value / defaults.value) if defaults.value > 0 else None,
        "importance": importance,
        "seconds": round(seconds, 1),
    }
    return TuneContents(
        trials=frame,
        summary=summary,
        config=config,
        best_config=best_config,
        trials_figure=trials_figure(frame, metric),
        importance_figure=importance_figure(importance, int(states.get(COMPLETE, 0))),
        study=journal,
    )
