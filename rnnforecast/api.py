"""The Python API: train from a pandas DataFrame (or a file, or a config), load a run, and get
forecasts, scores and figures back as DataFrames, dicts and matplotlib figures, with no file
written unless asked.

    >>> import rnnforecast
    >>> model = rnnforecast.fit(frame, window={"horizon": 12})   # doctest: +SKIP
    >>> model.forecast()                                          # doctest: +SKIP

The command line is a thin layer over these functions: `train` is `fit(config=..., save_to=...)`,
`predict`, `evaluate` and `plot` are `load(run).forecast / evaluate / plot`, and `backtest`
is `backtest(...)`. Everything here is importable without TensorFlow; it is imported when a
model is trained or loaded.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from rnnforecast.config import (
    DEFAULT_CONFIG_NAME,
    NO_TIME_COLUMN,
    Config,
    DataConfig,
    config_from_dict,
    merge_sections,
)
from rnnforecast.config_file import load_config
from rnnforecast.data import SYNTHETIC_TARGET, Dataset, dataset_from_frame, frame_checksum
from rnnforecast.errors import ConfigError, DataError, check_path, quoted
from rnnforecast.events import Events
from rnnforecast.forecaster import Forecaster
from rnnforecast.progress import with_progress
from rnnforecast.run import Run, RunContents, load_run

DataInput = pd.DataFrame | str | Path | Dataset | None
"""Data for a model: a DataFrame (with the columns of the config's `data` section), a CSV or
Parquet file, an already read `Dataset`, or None for the data the model was trained on."""

UNSAVED = Path("<unsaved model>")
"""How messages name a model that was never saved."""

SECTIONS = ("data", "window", "split", "transform", "scaling", "model", "training")
SECTIONS += ("intervals", "output")


def fit(
    data: pd.DataFrame | str | Path | None = None,
    /,
    config: Config | Mapping[str, Any] | str | Path | None = None,
    *,
    save_to: str | Path | None = None,
    progress: str = "auto",
    events: Events | None = None,
    restart: bool = False,
    **sections: Any,
) -> Model:
    """Train a model as `rnnforecast train` does, in memory unless `save_to` is given.

    Args:
        data: a DataFrame with one row per time step (per series in long format), or a CSV or
            Parquet file; None: `config`'s `data.path` (or the synthetic series). Columns the
            config leaves out are found as for a file (time, id, target). Positional only, so
            `data=` names the config's `data` section.
        config: a `Config`, a dict of sections as in YAML, or a YAML file; None: the defaults.
        save_to: write the run directory there too (atomically; the folder must not exist or
            be empty), as `train --run-dir`; an unfinished run of the same config and data
            there (stopped or killed) resumes.
        progress: `"auto"` (Keras' bar on a terminal, one line per epoch otherwise), `"bar"`,
            `"epoch"` or `"none"`.
        events: receives every step and epoch (see `events.Events`).
        restart: with `save_to`, discard an unfinished run's state there and start over.
        **sections: config sections to merge over `config`, e.g. `window={"horizon": 12}`,
            `training={"epochs": 20}`, `scaling="minmax"`.

    Returns:
        The trained `Model`; `model.metrics` holds the test figures next to the baselines.

    Example:
        >>> model = fit(frame, data={"target": "sales"}, window={"horizon": 12})  # doctest: +SKIP
    """
    from rnnforecast.training import Prepared, fit_run, prepare, train_into

    settings = resolve_settings(config, sections, data)
    dataset = _frame_dataset(data, settings)
    events = with_progress(events, progress)
    prepared: Prepared = prepare(settings, dataset, events)
    if save_to is None:
        trained = fit_run(prepared, progress, events)
        forecaster = trained.contents.forecaster
        run = Run(
            UNSAVED,
            trained.plan,
            forecaster.scaler,
            trained.contents.manifest,
            trained.contents.metrics,
            trained.contents.split,
            forecaster.fallback,
            forecaster.calibration,
            forecaster.scales,
            forecaster.blend,
            forecaster.conformity,
        )
        return Model(run, prepared.dataset, forecaster, trained.contents)
    trained, final = train_into(prepared, Path(save_to), progress, events, restart)
    return Model(load_run(final), prepared.dataset, trained.contents.forecaster)


def load(path: str | Path) -> Model:
    """A saved run directory (written by `train` or `fit(save_to=...)`) as a `Model`; the
    Keras models load when first needed.

    Example:
        >>> load("runs/a10-20261122-101500").forecast(steps=24)  # doctest: +SKIP
    """
    return Model(load_run(path))


class Model:
    """A trained model: forecasts, scores and figures as pandas and matplotlib objects.

    Attributes:
        run: the run's plan, metrics and split (see `run.Run`); its `path` is `<unsaved model>`
            until `save`.
        dataset: the data it was trained on, when trained here (None for a loaded run: its
            data file is read when needed).
    """

    def __init__(
        self,
        run: Run,
        dataset: Dataset | None = None,
        forecaster: Forecaster | None = None,
        contents: RunContents | None = None,
    ) -> None:
        self.run = run
        self.dataset = dataset
        self._forecaster = forecaster
        self._contents = contents

    def __repr__(self) -> str:
        where = "not saved" if self.path is None else str(self.path)
        return f"Model({self.run.plan.summary()}; {where})"

    @property
    def path(self) -> Path | None:
        """The run directory, None until saved."""
        return None if self.run.path == UNSAVED else self.run.path

    @property
    def config(self) -> Config:
        """The resolved config: every value chosen from the data filled in."""
        return self.run.config

    @property
    def metrics(self) -> dict[str, Any]:
        """The test figures next to the baselines, and how training went (`metrics.json`)."""
        return self.run.metrics

    @property
    def notes(self) -> tuple[str, ...]:
        """What reading the training data found or repaired (the time column, filled
        values ...), one line each; empty for a loaded run."""
        return () if self.dataset is None else self.dataset.notes

    @property
    def forecaster(self) -> Forecaster:
        """The trained members with their scaler (loaded from the run directory once)."""
        if self._forecaster is None:
            self._forecaster = self.run.load_forecaster()
        return self._forecaster

    @property
    def history(self) -> pd.DataFrame:
        """Losses per epoch: `epoch, loss, val_loss, member, phase`."""
        if self._contents is not None:
            return self._contents.history.reset_index(drop=True)
        from rnnforecast.run import HISTORY_FILE

        return pd.read_csv(self.run.path / HISTORY_FILE)

    @property
    def test_forecasts(self) -> pd.DataFrame:
        """Every test forecast next to what happened and the baselines (`forecast_test.csv`)."""
        if self._contents is not None:
            return self._contents.test_forecasts.copy()
        from rnnforecast.run import FORECAST_TEST_FILE

        return pd.read_csv(self.run.path / FORECAST_TEST_FILE)

    def data(self, data: DataInput = None) -> Dataset:
        """`data` read with the model's columns, frequency and missing-value policy; None: the
        data the model was trained on."""
        if isinstance(data, Dataset):
            return data
        if data is None and self.dataset is not None:
            return self.dataset
        if isinstance(data, pd.DataFrame):
            return read_data(data, frame_config(self.run))
        from rnnforecast.prediction import load_input

        return load_input(self.run, data)

    def forecast(
        self,
        steps: int | None = None,
        levels: list[float] | None = None,
        future: pd.DataFrame | str | Path | None = None,
        data: DataInput = None,
    ) -> pd.DataFrame:
        """Forecast the steps after the end of each series of `data` (the training data by
        default), as `rnnforecast predict` writes them.

        Args:
            steps: how many steps; by default the horizon (more are forecast recursively,
                without interval bounds).
            levels: interval levels in percent; by default the run's; `[]` for none.
            future: the future covariates over the forecast steps (DataFrame or file), when
                the model has any.

        Returns:
            `[<id_column>,] <time_column>, forecast, lower_<L>, upper_<L> ...`, one row per
            series and step, timestamps in the input's zone or offset.
        """
        from rnnforecast.prediction import predict

        dataset = self.data(data)
        forecast = predict(self.run, dataset, _future(future), steps, self.forecaster, levels)
        return forecast.frame(dataset, origin=False)

    def evaluate(self, data: DataInput = None, last: int | None = None) -> dict[str, Any]:
        """Score the model on data it never saw, next to the baselines, as `rnnforecast
        evaluate` does: on the points after the training data (or the stored test figures when
        there are none), or on the last `last` points of each series."""
        from rnnforecast.prediction import evaluate

        return evaluate(self.run, self.data(data), last, self.forecaster)

    def plot(
        self,
        data: DataInput = None,
        future: pd.DataFrame | str | Path | None = None,
        last: int | None = None,
    ) -> Figure:
        """Actual vs forecast over the training, validation and test parts and the future, as
        `rnnforecast plot` draws it (show it in a notebook, or `figure.savefig(...)`)."""
        from rnnforecast.prediction import forecast_plot

        return forecast_plot(self.run, self.data(data), _future(future), last, self.forecaster)

    def save(self, path: str | Path) -> Path:
        """Write the run directory to `path` (atomically; it must not exist or be empty) and
        return it; `rnnforecast predict PATH` and `load(PATH)` then use it."""
        from rnnforecast.run import save_run
        from rnnforecast.staging import staged_directory

        final = Path(path)
        with staged_directory(final) as staging:
            if self._contents is not None:
                save_run(staging.path, self._contents)
            else:
                shutil.copytree(self.run.path, staging.path, dirs_exist_ok=True)
        self.run = replace(self.run, path=final)
        return final


def resolve_settings(
    config: Config | Mapping[str, Any] | str | Path | None,
    sections: Mapping[str, Any],
    data: Any = None,
) -> Config:
    """The validated config of `fit`: `config` with `sections` merged over it, validated as
    one; given a DataFrame, `data.source` is `dataframe` (no file), given a file, `data.path`
    is that file (relative to the working folder)."""
    unknown = [name for name in sections if name not in SECTIONS]
    if unknown:
        raise ConfigError(
            f"unknown config section(s) {', '.join(map(quoted, unknown))} given as keyword "
            f"arguments; expected any of {', '.join(SECTIONS)}. Received: {quoted(sorted(unknown))}"
        )
    if isinstance(config, Config) and not sections and data is None:
        return config
    update = dict(sections)
    given = sections.get("data") or {}
    if isinstance(given, Mapping) and isinstance(data, pd.DataFrame):
        # None removes the key when merged: a DataFrame has no file, and the source and the
        # path of a file given instead are decided afresh.
        update["data"] = {**given, "source": "dataframe", "path": None}
    elif isinstance(given, Mapping) and data is not None:
        check_path(data, DataError, "the data file")
        update["data"] = {**given, "source": None, "path": str(Path(data).absolute())}
    if isinstance(config, Config):
        # What was given, not what validation derived (`data.source` from the path).
        raw = config.model_dump(mode="json", exclude_unset=True)
        settings = config_from_dict(merge_sections(raw, update), "<config>")
    elif isinstance(config, Mapping):
        settings = config_from_dict(merge_sections(config, update), "<config dict>")
    else:
        settings = load_config(config, sections=update)
    if settings.output.name is None:
        settings.output.name = DEFAULT_CONFIG_NAME
    return settings


def read_data(data: pd.DataFrame | str | Path | Dataset, settings: DataConfig) -> Dataset:
    """`data` as a checked `Dataset`: a DataFrame read like a file with `settings`' columns, or
    a file read with them."""
    if isinstance(data, Dataset):
        return data
    if isinstance(data, pd.DataFrame):
        return dataset_from_frame(data.copy(), settings, "DataFrame", checksum=frame_checksum(data))
    from rnnforecast.data import load_dataset

    if not isinstance(data, str | Path):
        raise DataError(
            "data must be a pandas DataFrame or the path of a CSV or Parquet file. "
            f"Received: {type(data).__name__}"
        )
    return load_dataset(settings, Path(data))


def frame_config(run: Run) -> DataConfig:
    """The `data` section a DataFrame of new data is read with: the run's (its columns,
    frequency and missing-value policy); for a synthetic run, a `value` column of steps."""
    data = run.config.data
    if data.source != "synthetic":
        return data
    return DataConfig(
        source="dataframe",
        time_column=NO_TIME_COLUMN,
        target=SYNTHETIC_TARGET,
        season_length=data.season_length,
    )


def _frame_dataset(data: Any, settings: Config) -> Dataset | None:
    """A DataFrame given to `fit` read with the config's `data` section; a file is read where
    the config's own data is (`data.path` points at it)."""
    return read_data(data, settings.data) if isinstance(data, pd.DataFrame) else None


def _future(future: pd.DataFrame | str | Path | None) -> pd.DataFrame | Path | None:
    return Path(future) if isinstance(future, str) else future


@dataclass(frozen=True)
class BacktestResult:
    """A finished backtest.

    Attributes:
        folds: per fold, its origins and the figures of the model and the baselines.
        overall: the figures over every fold's windows together.
        pairs: every forecast/actual pair with its `fold` (`backtest.csv`).
        figure: each fold's forecast of the first few series (`backtest.png`).
        path: the folder written, when `save_to` was given.
    """

    folds: list[dict[str, Any]]
    overall: dict[str, Any]
    pairs: pd.DataFrame
    figure: Figure
    path: Path | None = None


def backtest(
    data: pd.DataFrame | str | Path | None = None,
    /,
    config: Config | Mapping[str, Any] | str | Path | None = None,
    *,
    folds: int = 3,
    step: int | None = None,
    refit: bool = True,
    save_to: str | Path | None = None,
    progress: str = "auto",
    events: Events | None = None,
    restart: bool = False,
    **sections: Any,
) -> BacktestResult:
    """Rolling-origin evaluation as `rnnforecast backtest` runs it: at each of `folds` origins,
    `step` steps apart (default: the horizon), train on the data before it and score the
    horizon after it next to the baselines; written to `save_to` when given.

    Example:
        >>> backtest(frame, window={"horizon": 6}, folds=4).overall["model"]  # doctest: +SKIP
    """
    from rnnforecast.backtest import backtest_contents, run_backtest

    settings = resolve_settings(config, sections, data)
    dataset = _frame_dataset(data, settings)
    if save_to is None:
        result, contents = backtest_contents(
            settings, folds, step, refit, progress, dataset, events
        )
        return BacktestResult(result.folds, result.overall, contents.pairs, contents.figure)
    result, contents, final = run_backtest(
        settings, Path(save_to), folds, step, refit, progress, events, restart, dataset
    )
    return BacktestResult(result.folds, result.overall, contents.pairs, contents.figure, final)
