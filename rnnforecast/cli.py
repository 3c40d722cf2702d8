"""The `rnnforecast` command line: thin Typer commands over the library.

TensorFlow is imported inside the commands that need it, so `--help` and `validate` stay fast.
Errors the user can fix print `Error: ...` and exit with the code of their kind (see README).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import signal
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

import rnnforecast.interruption as interruption
from rnnforecast.errors import (
    CLOSED_PIPE_EXIT_CODE,
    INTERRUPTED_EXIT_CODE,
    OutputError,
    RnnForecastError,
    shorten,
)
from rnnforecast.progress import JsonLines
from rnnforecast.version import __version__

# Kept in step with README's table of exit codes (a test compares them).
EXIT_CODES = (
    "Exit codes: 0 success, 1 internal error, 2 usage error, 3 config error, 4 data error, "
    "5 run-directory error (missing, incomplete, damaged or foreign), 6 output error "
    "(including a result written whose report could not be printed), 7 busy (another process "
    "is writing the same run directory or backtest folder; retry later), 8 worker error (a worker "
    "process or Ray worker died, or the Ray cluster could not be reached; run again to resume), "
    "130 interrupted "
    "(Ctrl-C, SIGTERM, SIGHUP; a stopped train or backtest resumes when run again), 141 stdout "
    "closed by its reader (e.g. `| head`)."
)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# What an `Error:` report prints at most, whatever the message holds.
MAX_REPORT_LINES = 12
MAX_REPORT_LINE = 1000
# Failing writes that a user can fix (a full disk, a read-only one): output errors, not bugs.
OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}


app = typer.Typer(
    name="rnnforecast",
    help="Time-series forecasting with Keras recurrent networks, scored against naive "
    "baselines.\n\nExample: rnnforecast train configs/sine.yaml",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show TensorFlow's logs and full tracebacks.")
]
InputFile = Annotated[
    Path | None,
    typer.Option(
        "--input",
        "-i",
        help="CSV/Parquet file with the run's columns; default: the data the run was trained on.",
    ),
]
FutureFile = Annotated[
    Path | None,
    typer.Option(
        "--future",
        help="CSV/Parquet file with the future covariates for the forecast steps (time column, "
        "id column in long format, each of `data.future_covariates`); needed when the run has "
        "future covariates.",
    ),
]
RunDirectory = Annotated[Path, typer.Argument(help="A run directory written by `train`.")]
Restart = Annotated[
    bool,
    typer.Option(
        "--restart",
        help="Start over: discard what an unfinished run of the same command (stopped or "
        "killed before it was complete) has done. By default the same command resumes it.",
    ),
]


class LogFormat(StrEnum):
    """How a long command writes its progress, notes and errors to stderr."""

    text = "text"
    json = "json"


LogFormatOption = Annotated[
    LogFormat,
    typer.Option(
        "--log-format",
        help="How progress and errors go to stderr: `text` (Keras' bar on a terminal, one line "
        "per epoch otherwise; `Error: ...`) or `json` (one JSON object per event: start, "
        "epoch, member_done, step, note, the result written, error with its exit code).",
        case_sensitive=False,
    ),
]
Overrides = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="KEY=VALUE",
        help="Override a config key (repeatable), e.g. --set training.epochs=5.",
    ),
]

TensorBoard = Annotated[
    bool,
    typer.Option(
        "--tensorboard",
        help="Write TensorBoard logs into the run directory (tensorboard/); same as "
        "--set tracking.tensorboard=true.",
    ),
]
Mlflow = Annotated[
    bool,
    typer.Option(
        "--mlflow",
        help="Log an MLflow run (URI from tracking.mlflow.uri or MLFLOW_TRACKING_URI); same as "
        "--set tracking.mlflow=true.",
    ),
]


class Backend(StrEnum):
    """Where independent fits run (`execution.backend`)."""

    serial = "serial"
    processes = "processes"
    ray = "ray"


Executor = Annotated[
    Backend | None,
    typer.Option(
        "--executor",
        help="Where independent fits (folds, members trained one at a time, trials) run: "
        "serial, processes or ray; same as --set execution.backend=...",
        case_sensitive=False,
    ),
]
Workers = Annotated[
    int | None,
    typer.Option("--workers", min=1, help="Fits at once (execution.workers); default: the CPUs."),
]
Address = Annotated[
    str | None,
    typer.Option(
        "--address",
        help="Ray cluster to connect to (execution.address); default: RAY_ADDRESS, else a "
        "local cluster.",
    ),
]


def _execution_overrides(
    executor: Backend | None, workers: int | None, address: str | None
) -> list[str]:
    """The execution flags as `--set` overrides (checked with the rest of the config)."""
    overrides = []
    if executor is not None:
        overrides.append(f"execution.backend={executor.value}")
    if workers is not None:
        overrides.append(f"execution.workers={workers}")
    if address is not None:
        # JSON text is YAML: the address stays one string whatever its characters.
        overrides.append(f"execution.address={json.dumps(address)}")
    return overrides


def _tracked_settings(settings: Any, tensorboard: bool, mlflow: bool) -> Any:
    """The config with the tracking flags switched on (an MLflow section it has is kept)."""
    from rnnforecast.config import MlflowConfig

    if tensorboard:
        settings.tracking.tensorboard = True
    if mlflow and settings.tracking.mlflow_settings is None:
        settings.tracking.mlflow = MlflowConfig()
    return settings


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rnnforecast {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Time-series forecasting with Keras recurrent networks, scored against naive baselines."""


@app.command()
def train(
    config: Annotated[
        Path | None,
        typer.Argument(help="YAML config; without it, the built-in default (synthetic data)."),
    ] = None,
    run_dir: Annotated[
        Path | None,
        typer.Option("--run-dir", help="Write the run here instead of runs/<name>-<time>."),
    ] = None,
    overrides: Overrides = None,
    tensorboard: TensorBoard = False,
    mlflow: Mlflow = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress; print only the run directory.")
    ] = False,
    restart: Restart = False,
    executor: Executor = None,
    workers: Workers = None,
    address: Address = None,
    log_format: LogFormatOption = LogFormat.text,
    verbose: Verbose = False,
) -> None:
    """Train a model and write a run directory (model, scaler, config, metrics, plots).

    A run stopped before it was complete (killed, interrupted) resumes where it stopped when
    the same command runs again, and ends with the same results.

    Example: rnnforecast train configs/a10.yaml --set training.epochs=50 --tensorboard
    """
    log = JsonLines() if log_format == LogFormat.json else None
    with _errors_reported(verbose, log) as outcome:
        from rnnforecast.config_file import load_config

        _started(log, "train", config=config, run_dir=run_dir, overrides=overrides)
        overrides = [*(overrides or []), *_execution_overrides(executor, workers, address)]
        settings = _tracked_settings(load_config(config, overrides), tensorboard, mlflow)
        from rnnforecast.evaluation import format_comparison, format_intervals
        from rnnforecast.events import Events
        from rnnforecast.run import (
            FORECAST_PLOT_FILE,
            FORECAST_TEST_FILE,
            LOSS_PLOT_FILE,
            METRICS_FILE,
        )
        from rnnforecast.tracking import tracked
        from rnnforecast.training import train as train_run

        with tracked(settings, "train") as tracking:
            run = train_run(
                settings,
                run_dir=run_dir,
                progress="none" if quiet or log else "auto",
                events=Events(tracking, log or _print_note),
                restart=restart,
            )
            outcome.written = ("the run", run.path)
            tracking.finished(run.path)
        if log is not None:
            log.write("run_written", path=str(run.path), **_headline(run.metrics))
        if quiet:
            typer.echo(str(run.path))
            return
        typer.echo(f"\nChosen from the data: {run.plan.summary()}")
        typer.echo(f"Run directory: {run.path}")
        typer.echo(f"Metrics:       {run.path / METRICS_FILE}")
        typer.echo(f"Plots:         {run.path / FORECAST_PLOT_FILE}, {run.path / LOSS_PLOT_FILE}")
        typer.echo(f"Test forecasts: {run.path / FORECAST_TEST_FILE}\n")
        typer.echo("Test part (never seen in training), original units:")
        typer.echo(format_comparison(run.metrics))
        intervals = format_intervals(run.metrics)
        if intervals:
            typer.echo("\nPrediction intervals on the test part (width and MSIS scaled as MASE):")
            typer.echo(intervals)
        for note in _training_notes(run.metrics, run.plan.baseline):
            typer.echo(f"Note: {note}")


def _training_notes(metrics: dict[str, Any], baseline: str) -> list[str]:
    """What a user should know about how the saved model came to be, one line each."""
    notes = []
    from rnnforecast.validation import BLEND_WORDS, margin_words

    guard = metrics.get("guard", {})
    if guard.get("choice") == "blend":
        scores = guard["validation_mase"]
        notes.append(
            f"{BLEND_WORDS} (validation MASE {scores['blend']:.3f}) beat the network alone "
            f"({scores['model']:.3f}) on the validation part, so the run forecasts the blend "
            "(set `model.guard_blend: false` to keep the network alone)."
        )
    elif guard.get("choice", "network") != "network":
        scores = guard["validation_mase"]
        better = margin_words(guard.get("margin", 0))  # earlier versions record none: 0
        notes.append(
            f"the network (validation MASE {scores['model']:.3f}) was not {better} "
            f"{guard['choice']} ({scores[guard['choice']]:.3f}) on the validation part, so the "
            f"run forecasts {guard['choice']} (set `model.guard: false` to keep the network, "
            "or lower `model.guard_margin`)."
        )
    elif all(member["best_epoch"] == 0 for member in metrics["training"]["members"]):
        notes.append(
            f"no trained epoch beat the untrained model, which is the {baseline} baseline, on "
            "validation (or the series were too short for a validation part), so the run keeps "
            "that baseline."
        )
    notes.extend(f"{note}." for note in metrics.get("calibration", {}).get("notes", []))
    return notes


@app.command()
def predict(
    run_dir: RunDirectory,
    input_file: InputFile = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the forecasts to this CSV/Parquet file (its folder must exist; a "
            "regular file or a link to one, never a device or pipe); `-` or default: stdout.",
        ),
    ] = None,
    future: FutureFile = None,
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps",
            min=1,
            help="Forecast this many steps; default: the trained horizon. Further than the "
            "horizon the forecast is recursive (each horizon's forecast feeds the next) and "
            "interval bounds are left empty.",
        ),
    ] = None,
    levels: Annotated[
        list[float] | None,
        typer.Option(
            "--level",
            help="Interval level in percent (repeatable), instead of the run's "
            "`intervals.levels`; adds lower_<L> and upper_<L> columns. A run trained with "
            "`intervals.method: quantile` gives the levels it was trained for only.",
        ),
    ] = None,
    no_intervals: Annotated[
        bool, typer.Option("--no-intervals", help="Leave the interval bounds out.")
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Forecast the steps after the end of each series, with prediction intervals.

    Example: rnnforecast predict runs/a10-20240101-120000 --input new.csv --level 90 -o f.csv
    """
    with _errors_reported(verbose) as outcome:
        from rnnforecast.api import load
        from rnnforecast.errors import ConfigError

        model = load(run_dir)
        run, dataset = model.run, model.data(input_file)
        trained_on = run.manifest.get("data", {}).get("sha256")
        if input_file is None and trained_on and dataset.checksum != trained_on:
            # Expected when the file grows between runs; worth a line in a cron log.
            typer.echo(
                f"Note: {dataset.source} changed since training; using it as it is.", err=True
            )
        if no_intervals and levels:
            raise ConfigError("--level and --no-intervals contradict each other; give one.")
        chosen = [] if no_intervals else levels
        forecasts = model.forecast(steps, chosen, future, dataset)
        bounded = any(column.startswith("lower_") for column in forecasts.columns)
        if bounded and steps and steps > run.plan.horizon:
            typer.echo(
                f"Note: interval bounds cover the first {run.plan.horizon} step(s), the direct "
                "forecast; the recursive steps after them have none.",
                err=True,
            )
        if output is None or str(output) == "-":
            forecasts.to_csv(sys.stdout, index=False)
            return
        from rnnforecast.staging import write_atomic

        write_atomic(output, lambda path: _write_table(forecasts, path, output))
        outcome.written = ("the forecasts", output)
        with contextlib.suppress(OSError):  # a note; the forecasts are written
            typer.echo(f"Wrote {len(forecasts)} forecasts to {output}", err=True)


@app.command()
def evaluate(
    run_dir: RunDirectory,
    input_file: InputFile = None,
    last: Annotated[
        int | None,
        typer.Option(
            "--last",
            min=1,
            help="Score the last N points of each series; default: the points the saved model "
            "never saw (newer than the training data when it was refit on the whole history, "
            "else the test part and newer).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
    verbose: Verbose = False,
) -> None:
    """Score the saved model on data it never saw, next to the naive baselines.

    Example: rnnforecast evaluate runs/a10-20240101-120000 --input newer.csv --last 12
    """
    with _errors_reported(verbose):
        from rnnforecast.api import load
        from rnnforecast.evaluation import format_comparison, format_intervals
        from rnnforecast.run import json_text

        metrics = load(run_dir).evaluate(input_file, last)
        if as_json:
            typer.echo(json_text(metrics))
        else:
            typer.echo(format_comparison(metrics))
            if metrics.get("intervals"):
                typer.echo(f"\n{format_intervals(metrics)}")
            if "note" in metrics:
                typer.echo(f"Note: {metrics['note']}.")


@app.command()
def plot(
    run_dir: RunDirectory,
    input_file: InputFile = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Figure file to write: .png, .svg or .pdf (by its suffix; a regular file or a "
            "link to one, never a device or pipe); `-`: PNG on stdout.",
        ),
    ] = Path("forecast.png"),
    future: FutureFile = None,
    last: Annotated[
        int | None,
        typer.Option(
            "--last",
            min=1,
            help="Draw the last N periods of each series (and the forecast after them); "
            "default: the whole series, or its last 500 periods when it is longer.",
        ),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Plot actual vs forecast over the training, validation and test parts, and the future.

    Example: rnnforecast plot runs/a10-20240101-120000 --output a10.svg --last 48
    """
    with _errors_reported(verbose) as outcome:
        from rnnforecast.plots import figure_format, save_figure

        # Before the run and the model load, so a wrong suffix fails at once; what is not a
        # regular file (a folder, a device, a pipe) is refused by write_atomic, naming it so.
        to_stdout = str(output) == "-"
        regular = not output.exists() or output.is_file()
        kind = "png" if to_stdout else figure_format(output) if regular else None
        from rnnforecast.api import load
        from rnnforecast.staging import write_atomic

        figure = load(run_dir).plot(input_file, future, last)
        if to_stdout:
            if sys.stdout.isatty():
                raise OutputError(
                    "-o -: stdout is a terminal, where a PNG image is noise. Redirect it "
                    "(`-o - > plot.png`) or give a file name."
                )
            sys.stdout.flush()
            save_figure(figure, sys.stdout.buffer, kind)
            sys.stdout.buffer.flush()
            return
        write_atomic(output, lambda path: save_figure(figure, path, kind or figure_format(output)))
        outcome.written = ("the plot", output)
        typer.echo(f"Wrote {output}")


@app.command()
def backtest(
    config: Annotated[
        Path | None,
        typer.Argument(help="YAML config; without it, the built-in default (synthetic data)."),
    ] = None,
    folds: Annotated[int, typer.Option("--folds", min=1, help="Number of forecast origins.")] = 3,
    step: Annotated[
        int | None,
        typer.Option(
            "--step", min=1, help="Steps between consecutive origins; default: the horizon."
        ),
    ] = None,
    refit: Annotated[
        bool,
        typer.Option(
            "--refit/--no-refit",
            help="Train a model for every origin on the data before it (default), or train "
            "one on the data before the first origin and reuse it (faster).",
        ),
    ] = True,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir", help="Write the results here instead of runs/<name>-backtest-<time>."
        ),
    ] = None,
    overrides: Overrides = None,
    tensorboard: TensorBoard = False,
    mlflow: Mlflow = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress; print only the output folder.")
    ] = False,
    restart: Restart = False,
    executor: Executor = None,
    workers: Workers = None,
    address: Address = None,
    log_format: LogFormatOption = LogFormat.text,
    verbose: Verbose = False,
) -> None:
    """Rolling-origin evaluation: at each origin, fit the scaler and the model on the data
    before it only, forecast the horizon, and score it next to naive, seasonal naive, drift and
    mean.
    Writes backtest.csv (every forecast/actual pair), backtest.json and backtest.png. A
    backtest stopped before it was complete resumes with its finished folds when run again.

    Example: rnnforecast backtest configs/a10.yaml --folds 4 --step 6
    """
    log = JsonLines() if log_format == LogFormat.json else None
    with _errors_reported(verbose, log) as outcome:
        from rnnforecast.config_file import load_config

        _started(
            log, "backtest", config=config, folds=folds, step=step, refit=refit, output=output_dir
        )
        overrides = [*(overrides or []), *_execution_overrides(executor, workers, address)]
        settings = _tracked_settings(load_config(config, overrides), tensorboard, mlflow)
        from rnnforecast.backtest import run_backtest
        from rnnforecast.baselines import BASELINES
        from rnnforecast.evaluation import format_comparison, format_intervals
        from rnnforecast.events import Events
        from rnnforecast.run import BACKTEST_FILE
        from rnnforecast.tracking import tracked

        with tracked(settings, "backtest") as tracking:
            result, _, folder = run_backtest(
                settings,
                output_dir,
                folds,
                step,
                refit,
                "none" if quiet or log else "auto",
                Events(tracking, log or _print_note),
                restart,
            )
            outcome.written = ("the backtest", folder)
            tracking.finished(folder)
        if log is not None:
            log.write("backtest_written", path=str(folder), **_headline(result.overall))
        if quiet:
            typer.echo(str(folder))
            return
        typer.echo(f"\nBacktest folder: {folder}")
        typer.echo(f"Forecast/actual pairs: {folder / BACKTEST_FILE}\n")
        typer.echo(
            f"{'fold':<6}{'origin':<22}{'model':>8}{'naive':>8}{'snaive':>8}{'drift':>8}{'mean':>8}"
        )
        for fold in result.folds:
            origin = next(iter(fold["origins"].values()))
            typer.echo(
                f"{fold['fold']:<6}{origin:<22}"
                + "".join(f"{fold[name]['mase']:>8.3f}" for name in ("model", *BASELINES))
            )
        typer.echo("(MASE per fold)\n\nAll folds together:")
        typer.echo(format_comparison(result.overall))
        if result.overall.get("intervals"):
            typer.echo(f"\n{format_intervals(result.overall)}")


@app.command()
def tune(
    config: Annotated[
        Path | None,
        typer.Argument(help="YAML config; its `tune` section says what to search."),
    ] = None,
    trials: Annotated[
        int | None, typer.Option("--trials", min=1, help="Trials to run (tune.trials).")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=1, help="Start no trial after this many seconds."),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            help="Write the results here instead of runs/<name>-tune (the study sits beside "
            "it, as <folder>.study.journal, until the search is done).",
        ),
    ] = None,
    train_best: Annotated[
        bool, typer.Option("--train-best", help="Train the best config at the end.")
    ] = False,
    overrides: Overrides = None,
    mlflow: Mlflow = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress; print only the output folder.")
    ] = False,
    executor: Executor = None,
    workers: Workers = None,
    address: Address = None,
    verbose: Verbose = False,
) -> None:
    """Search config values: score the config as given (trial 0) and each trial by a
    rolling-origin backtest on the training history only (the test part is cut off first),
    prune hopeless trials, and write trials.csv, best.yaml, tune.json, plots and the study.
    The same command continues a search that was killed.

    Example: rnnforecast tune configs/a10.yaml --trials 20 --train-best
    """
    extra = [f"tune.trials={trials}"] * (trials is not None)
    extra += [f"tune.timeout={timeout}"] * (timeout is not None)
    extra += _execution_overrides(executor, workers, address)
    with _errors_reported(verbose) as outcome:
        from rnnforecast.config_file import load_config

        settings = _tracked_settings(
            load_config(config, [*(overrides or []), *extra]), False, mlflow
        )
        from rnnforecast.events import Events
        from rnnforecast.tracking import tracked
        from rnnforecast.tuning import default_tune_dir, study_path
        from rnnforecast.tuning import tune as tune_search

        def report(event: Any) -> None:
            if event.kind == "trial" and not quiet:
                typer.echo(_trial_line(event.fields))

        folder = output_dir or default_tune_dir(settings)
        try:
            with tracked(settings, "tune") as tracking:
                result = tune_search(
                    settings,
                    folder,
                    train_best,
                    "none" if quiet else "auto",
                    Events(tracking, report),
                )
                outcome.written = ("the search", result.folder)
                tracking.finished(result.folder)
        except KeyboardInterrupt:
            if study_path(folder).is_file():
                typer.echo(
                    f"Note: the finished trials are kept in {study_path(folder)}; run the same "
                    "command to continue the search.",
                    err=True,
                )
            raise
        if quiet:
            typer.echo(str(result.folder))
            return
        typer.echo(_tune_summary(result))


def _trial_line(fields: dict[str, Any]) -> str:
    """One line per finished trial, e.g. `trial 3/20  MASE 0.812  best 0.790 (trial 2)  ...`."""
    name = "trial 0 (defaults)" if fields["defaults"] else f"trial {fields['number']}"
    metric = fields["metric"].upper()
    if fields["state"] == "complete":
        what = f"{metric} {fields['score']:.4f}"
    elif fields["state"] == "pruned":
        what = f"pruned after fold {len(fields['fold_scores'])}"
    else:
        what = f"failed: {str(fields['error']).splitlines()[0][:200]}"
    best = f"  best {fields['best']:.4f} (trial {fields['best_number']})" * (
        fields["best"] is not None
    )
    values = "  ".join(f"{key}={_short(value)}" for key, value in fields["values"].items())
    return f"{name:<20}{what}{best}  {values}".rstrip()


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _tune_summary(result: Any) -> str:
    """The summary `tune` prints: the defaults next to the best on the same folds."""
    from rnnforecast.run import BEST_CONFIG_FILE, STUDY_FILE, TRIALS_FILE

    summary = result.summary
    metric = summary["metric"].upper()
    counts = summary["trials"]
    defaults, best = summary["defaults"], summary["best"]
    lines = [
        "",
        f"Tune folder: {result.folder}",
        f"Trials:      {result.folder / TRIALS_FILE} ({counts['complete']} complete, "
        f"{counts['pruned']} pruned, {counts['failed']} failed, after the defaults)",
        f"Study:       {result.folder / STUDY_FILE}",
        "",
        f"Backtest {metric} on the training history ({summary['folds']} folds, the test part "
        "held out), on the same folds:",
        f"  defaults (trial 0): {defaults['score']:.4f}",
    ]
    baselines = defaults.get("baselines") or {}
    if baselines:
        lines.append(
            "  baselines:          "
            + ", ".join(f"{name} {value:.4f}" for name, value in baselines.items())
        )
    if summary["beats_defaults"]:
        lines.append(
            f"  best (trial {best['trial']}):{'':<{max(0, 6 - len(str(best['trial'])))}}"
            f"{best['score']:.4f}, {summary['improvement']:.1%} lower than the defaults"
        )
        lines.append(
            "  best values: "
            + ", ".join(f"{key}={_short(value)}" for key, value in best["values"].items())
        )
    else:
        lines.append("  No trial beat the defaults; best.yaml holds the config as given.")
    lines.append(f"Best config: {result.folder / BEST_CONFIG_FILE}")
    if result.run is not None:
        lines.append(f"Trained with it: {result.run.path}")
    else:
        lines.append(f"Train it:    rnnforecast train {result.folder / BEST_CONFIG_FILE}")
    return "\n".join(lines)


@app.command()
def report(
    folder: Annotated[
        Path, typer.Argument(help="A run directory, backtest folder or tune folder.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="HTML file to write (its folder must exist).")
    ] = Path("report.html"),
    verbose: Verbose = False,
) -> None:
    """Write one self-contained HTML page about a run, a backtest or a search: the data, the
    metrics next to the baselines in words, intervals, forecasts, losses, the values chosen
    from the data and how to reproduce it. No network needed to open it.

    Example: rnnforecast report runs/a10-20240101-120000 -o a10.html
    """
    with _errors_reported(verbose) as outcome:
        from rnnforecast.report import write_report

        kind = write_report(folder, output)
        outcome.written = ("the report", output)
        typer.echo(f"Wrote the report of {kind} folder {folder} to {output}")


@app.command()
def validate(
    config: Annotated[
        Path | None,
        typer.Argument(help="YAML config; without it, the built-in default."),
    ] = None,
    overrides: Overrides = None,
    verbose: Verbose = False,
) -> None:
    """Check a config and its data; print the resolved config with every default filled in.

    Example: rnnforecast validate configs/a10.yaml --set window.horizon=18
    """
    with _errors_reported(verbose):
        from rnnforecast.config import dump_config
        from rnnforecast.config_file import load_config
        from rnnforecast.data import load_dataset
        from rnnforecast.plan import make_plan
        from rnnforecast.splitting import split_points

        settings = load_config(config, overrides)
        dataset = load_dataset(settings.data)
        plan = make_plan(settings, dataset, split_points(dataset, settings))
        typer.echo(dump_config(plan.config), nl=False)


def _print_note(event: Any) -> None:
    """Print a library's note (a run resumed, a stale state discarded) on stderr."""
    if event.kind == "note":
        with contextlib.suppress(OSError):  # a note; stderr may be gone
            typer.echo(f"Note: {event.fields['text']}", err=True)


def _write_table(frame: Any, path: Path, output: Path) -> None:
    """Write `frame` to `path` in the format `output`'s name asks for: Parquet, or CSV (tab
    separated for `.tsv`), compressed by a last `.gz`, `.bz2`, `.zip` or `.xz`. `path` is a
    temporary name, so pandas could not tell any of it from its own suffix."""
    from rnnforecast.config import COMPRESSION_SUFFIXES, source_of

    if source_of(output) == "parquet":
        frame.to_parquet(path, index=False)
        return
    suffixes = [suffix.lower() for suffix in output.suffixes]
    compression: Any = None
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        method = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz"}[suffixes.pop()]
        # A zip archive names its member: the output's name without `.zip`.
        compression = {"method": method, "archive_name": output.stem} if method == "zip" else method
    separator = "\t" if suffixes and suffixes[-1] == ".tsv" else ","
    frame.to_csv(path, index=False, sep=separator, compression=compression)


def _started(log: JsonLines | None, command: str, **arguments: Any) -> None:
    """The `start` event of a command run with `--log-format json`."""
    if log is not None:
        shown = {key: None if value is None else str(value) for key, value in arguments.items()}
        if arguments.get("overrides") is not None:
            shown["overrides"] = list(arguments["overrides"])
        log.write("start", command=command, version=__version__, **shown)


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """The figures a scheduler may act on: MASE of the model and the best baseline, the skill."""
    best = metrics.get("best_baseline")
    return {
        "windows": metrics.get("windows"),
        "mase": metrics.get("model", {}).get("mase"),
        "best_baseline": best,
        "best_baseline_mase": metrics.get(best, {}).get("mase") if best else None,
        "skill": metrics.get("skill"),
    }


@dataclass
class Outcome:
    """What a command has written so far (what, where), so a failure after it can say so."""

    written: tuple[str, Path] | None = None


@contextlib.contextmanager
def _errors_reported(verbose: bool, log: JsonLines | None = None) -> Iterator[Outcome]:
    """Turn library errors into `Error: ...` (an `error` JSON object with `log`) and their
    exit code; SIGTERM, SIGHUP and Ctrl-C stop the command at a safe point and clean up like
    any failure.

    Once a command has written its result (`Outcome.written`), any later failure (stdout full
    or closed, a signal) says where the result is and exits with the output error's code, so
    a scheduler neither takes it for lost nor retries into "already exists". Before that, a
    reader closing stdout (`| head`) ends the command quietly with 141, as for other tools.
    """
    from rnnforecast.backend import show_tensorflow_logs

    show_tensorflow_logs(verbose)
    interruption.reset()
    previous = {kind: signal.signal(kind, interruption.handle_signal) for kind in STOP_SIGNALS}
    outcome = Outcome()
    try:
        with _notes_reported(log):
            yield outcome
        sys.stdout.flush()  # a reader gone away shows here, not as a traceback at exit
    except (typer.Exit, typer.Abort):
        raise
    except (Exception, KeyboardInterrupt) as error:
        if isinstance(error, BrokenPipeError):
            _stdout_to_devnull()
            if outcome.written is None:
                raise typer.Exit(CLOSED_PIPE_EXIT_CODE) from None
        _settle_stdout()
        code = _exit_code(error, outcome)
        _report(error, outcome, verbose, log, code)
        raise typer.Exit(code) from None
    finally:
        if interruption.stopping():
            # Stopping: a later signal, even after this returns and while TensorFlow shuts
            # down, must neither interrupt the clean-up nor change the exit code.
            for kind in STOP_SIGNALS:
                signal.signal(kind, signal.SIG_IGN)
        else:
            for kind, handler in previous.items():
                signal.signal(kind, handler)


def _exit_code(error: Exception | KeyboardInterrupt, outcome: Outcome) -> int:
    if outcome.written is not None:
        return OutputError.exit_code
    if isinstance(error, RnnForecastError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return INTERRUPTED_EXIT_CODE
    if isinstance(error, OSError) and error.errno in OUTPUT_ERRNOS:
        return OutputError.exit_code
    return 1


def _report(
    error: Exception | KeyboardInterrupt,
    outcome: Outcome,
    verbose: bool,
    log: JsonLines | None = None,
    code: int = 1,
) -> None:
    """Print one `Error: ...` report of `error` on stderr (and the traceback with --verbose);
    with `log`, an `error` JSON object with the exit code instead."""
    if isinstance(error, RnnForecastError):
        message = str(error)
    elif isinstance(error, KeyboardInterrupt):
        message = "interrupted; the result was not written."
    elif isinstance(error, OSError) and error.errno in OUTPUT_ERRNOS | {errno.EPIPE}:
        message = f"cannot write the output ({error.strerror or error}). Nothing was written."
    else:
        message = (
            f"internal error ({type(error).__name__}: {shorten(str(error), 200)}). Nothing was "
            "written. Re-run with --verbose for the traceback and report it."
        )
    if outcome.written is not None:
        what, path = outcome.written
        cause = (
            "the command was interrupted."
            if isinstance(error, KeyboardInterrupt)
            else f"it failed: {message.removesuffix(' Nothing was written.')}"
        )
        message = (
            f"{what} was written to {path} and is complete, but then {cause} Use it as it is "
            "(a retry into the same place would find it there)."
        )
    lines = [shorten(line, MAX_REPORT_LINE) for line in message.splitlines()]
    if len(lines) > MAX_REPORT_LINES:
        lines[MAX_REPORT_LINES - 1 :] = [
            f"... and {len(lines) - MAX_REPORT_LINES + 1} more line(s)"
        ]
    with contextlib.suppress(OSError):  # stderr may be gone too; the exit code remains
        if verbose and not isinstance(error, KeyboardInterrupt):
            traceback.print_exception(error)
        if log is not None:
            log.write("error", exit_code=code, message="\n".join(lines))
            return
        typer.echo("Error: " + "\n".join(lines), err=True)


def _settle_stdout() -> None:
    """Flush what a failed command left in stdout's buffer; where stdout itself failed (full,
    closed), drop it, or the interpreter's flush at exit fails again and changes the code."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        _stdout_to_devnull()


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush at exit cannot fail again
    (Python's recommended handling of a closed pipe)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


class _NoteHandler(logging.Handler):
    def __init__(self, log: JsonLines | None) -> None:
        super().__init__(logging.INFO)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        if self.log is not None:
            self.log.write("note", message=record.getMessage())
            return
        with contextlib.suppress(OSError):
            typer.echo(f"Note: {record.getMessage()}", err=True)


@contextlib.contextmanager
def _notes_reported(log: JsonLines | None = None) -> Iterator[None]:
    """Print what reading the data chose or repaired (the time column, filled values ...),
    which the library records and logs rather than prints, as `Note: ...` lines on stderr
    (`note` JSON objects with `log`)."""
    logger = logging.getLogger("rnnforecast.data")
    handler, level = _NoteHandler(log), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def main() -> None:
    """Entry point of the `rnnforecast` console script."""
    app()
