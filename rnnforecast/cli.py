"""The `rnnforecast` command line: thin Typer commands over the library.

TensorFlow is imported inside the commands that need it, so `--help` and `validate` stay fast.
Errors the user can fix print `Error: ...` and exit with the code of their kind (see README).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from rnnforecast import __version__, interruption
from rnnforecast.errors import INTERRUPTED_EXIT_CODE, RnnForecastError

app = typer.Typer(
    name="rnnforecast",
    help="Time-series forecasting with Keras recurrent networks, scored against naive "
    "baselines.\n\nExample: rnnforecast train configs/sine.yaml",
    epilog="Exit codes: 0 success, 1 internal error, 2 usage error, 3 config error, "
    "4 data error, 5 run-directory error, 6 output error, 130 interrupted.",
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
Overrides = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="KEY=VALUE",
        help="Override a config key (repeatable), e.g. --set training.epochs=5.",
    ),
]


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
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress; print only the run directory.")
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Train a model and write a run directory (model, scaler, config, metrics, plots).

    Example: rnnforecast train configs/a10.yaml --set training.epochs=50
    """
    with _errors_reported(verbose):
        from rnnforecast.config import load_config

        settings = load_config(config, overrides)
        from rnnforecast.defaults import chosen_summary
        from rnnforecast.evaluation import format_comparison
        from rnnforecast.training import train as train_run

        run = train_run(settings, run_dir=run_dir, progress="none" if quiet else "auto")
        if quiet:
            typer.echo(str(run.path))
            return
        typer.echo(f"\nChosen from the data: {chosen_summary(run.config)}")
        typer.echo(f"Run directory: {run.path}")
        typer.echo(f"Metrics:       {run.path / 'metrics.json'}")
        typer.echo(f"Plots:         {run.path / 'forecast.png'}, {run.path / 'loss.png'}")
        typer.echo(f"Test forecasts: {run.path / 'forecast_test.csv'}\n")
        typer.echo("Test part (never seen in training), original units:")
        typer.echo(format_comparison(run.metrics))
        if all(member["best_epoch"] == 0 for member in run.metrics["training"]["members"]):
            typer.echo(
                "Note: no trained epoch beat the untrained model, which is the "
                f"{run.config.model.baseline} baseline, on validation (or the series were too "
                "short for a validation part), so the run keeps that baseline."
            )


@app.command()
def predict(
    run_dir: RunDirectory,
    input_file: InputFile = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the forecasts to this CSV/Parquet file (its folder must exist); "
            "default stdout.",
        ),
    ] = None,
    future: FutureFile = None,
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps",
            min=1,
            help="Forecast this many steps; default: the trained horizon. Further than the "
            "horizon the forecast is recursive (each horizon's forecast feeds the next).",
        ),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Forecast the steps after the end of each series.

    Example: rnnforecast predict runs/a10-20240101-120000 --input new.csv --output forecast.csv
    """
    with _errors_reported(verbose):
        from rnnforecast.run import load_run

        run = load_run(run_dir)
        from rnnforecast.prediction import load_input
        from rnnforecast.prediction import predict as predict_frame

        dataset = load_input(run, input_file)
        trained_on = run.manifest.get("data", {}).get("sha256")
        if input_file is None and trained_on and dataset.checksum != trained_on:
            # Expected when the file grows between runs; worth a line in a cron log.
            typer.echo(
                f"Note: {dataset.source} changed since training; using it as it is.", err=True
            )
        forecasts = predict_frame(run, dataset, future=future, steps=steps)
        if output is None:
            forecasts.to_csv(sys.stdout, index=False)
            return
        from rnnforecast.run import write_atomic

        write_atomic(output, lambda path: _write_table(forecasts, path, output.suffix))
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
        from rnnforecast.run import load_run

        run = load_run(run_dir)
        from rnnforecast.evaluation import format_comparison
        from rnnforecast.prediction import evaluate as evaluate_run
        from rnnforecast.prediction import load_input
        from rnnforecast.run import json_text

        metrics = evaluate_run(run, load_input(run, input_file), last)
        if as_json:
            typer.echo(json_text(metrics))
        else:
            typer.echo(format_comparison(metrics))
            if "note" in metrics:
                typer.echo(f"Note: {metrics['note']}.")


@app.command()
def plot(
    run_dir: RunDirectory,
    input_file: InputFile = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Figure file to write: .png, .svg or .pdf (by its suffix)."
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
    with _errors_reported(verbose):
        from rnnforecast.plots import figure_format, save_figure

        # Before the run and the model load, so a wrong suffix fails at once (a folder is
        # refused by write_atomic, naming it as such).
        kind = None if output.is_dir() else figure_format(output)
        from rnnforecast.run import load_run

        run = load_run(run_dir)
        from rnnforecast.prediction import forecast_plot, load_input
        from rnnforecast.run import write_atomic

        figure = forecast_plot(run, load_input(run, input_file), future, last)
        write_atomic(output, lambda path: save_figure(figure, str(path), kind))
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
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress; print only the output folder.")
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Rolling-origin evaluation: at each origin, fit the scaler and the model on the data
    before it only, forecast the horizon, and score it next to naive, seasonal naive and drift.
    Writes backtest.csv (every forecast/actual pair), backtest.json and backtest.png.

    Example: rnnforecast backtest configs/a10.yaml --folds 4 --step 6
    """
    with _errors_reported(verbose):
        from rnnforecast.config import load_config

        settings = load_config(config, overrides)
        from rnnforecast.backtest import BACKTEST_FILE, run_backtest
        from rnnforecast.evaluation import format_comparison

        result, folder = run_backtest(
            settings, output_dir, folds, step, refit, "none" if quiet else "auto"
        )
        if quiet:
            typer.echo(str(folder))
            return
        typer.echo(f"\nBacktest folder: {folder}")
        typer.echo(f"Forecast/actual pairs: {folder / BACKTEST_FILE}\n")
        typer.echo(f"{'fold':<6}{'origin':<22}{'model':>8}{'naive':>8}{'snaive':>8}{'drift':>8}")
        for fold in result.folds:
            origin = next(iter(fold["origins"].values()))
            typer.echo(
                f"{fold['fold']:<6}{origin:<22}"
                + "".join(
                    f"{fold[name]['mase']:>8.3f}"
                    for name in ("model", "naive", "seasonal_naive", "drift")
                )
            )
        typer.echo("(MASE per fold)\n\nAll folds together:")
        typer.echo(format_comparison(result.overall))


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
        from rnnforecast.config import dump_config, load_config
        from rnnforecast.data import load_dataset
        from rnnforecast.defaults import resolve_defaults
        from rnnforecast.splitting import (
            check_covariates,
            check_split,
            check_transforms,
            split_points,
        )

        settings = load_config(config, overrides)
        dataset = load_dataset(settings.data)
        points = split_points(dataset, settings)
        resolved = resolve_defaults(settings, dataset, points)
        check_split(dataset, points, resolved)
        check_covariates(dataset, points)
        check_transforms(dataset, resolved, settings.transform.log)
        typer.echo(dump_config(resolved), nl=False)


def _write_table(frame: Any, path: Path, suffix: str) -> None:
    if suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


@contextlib.contextmanager
def _errors_reported(verbose: bool) -> Iterator[None]:
    """Turn library errors into `Error: ...` and their exit code; SIGTERM and Ctrl-C stop the
    command at a safe point and clean up like any failure."""
    from rnnforecast.backend import show_tensorflow_logs

    show_tensorflow_logs(verbose)
    previous = {
        kind: signal.signal(kind, interruption.handle_signal)
        for kind in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        with _notes_reported():
            yield
    except RnnForecastError as error:
        if verbose:
            traceback.print_exc()
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("Error: interrupted; nothing was written.", err=True)
        raise typer.Exit(INTERRUPTED_EXIT_CODE) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as error:
        if verbose:
            traceback.print_exc()
        typer.echo(
            f"Error: internal error ({type(error).__name__}: {error}). Nothing was written. "
            "Re-run with --verbose for the traceback and report it.",
            err=True,
        )
        raise typer.Exit(1) from None
    finally:
        for kind, handler in previous.items():
            signal.signal(kind, handler)


class _NoteHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        typer.echo(f"Note: {record.getMessage()}", err=True)


@contextlib.contextmanager
def _notes_reported() -> Iterator[None]:
    """Print what reading the data chose or repaired (the time column, filled values ...),
    which the library records and logs rather than prints, as `Note: ...` lines on stderr."""
    logger = logging.getLogger("rnnforecast.data")
    handler, level = _NoteHandler(logging.INFO), logger.level
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
