"""The YAML config: pydantic models for every section, merging and dumping (`config_file`
reads a file with overrides).

Every key has a default and a description; unknown keys are errors. `config_from_dict` turns
each validation problem into one line naming the file and the dotted key, e.g.
``configs/x.yaml: model.units: must be > 0 (got -3)``.
"""

from __future__ import annotations

import codecs
import difflib
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from rnnforecast.errors import ConfigError, quoted, shorten

DEFAULT_CONFIG_NAME = "default"
MAX_ERROR_LINES = 10
MAX_SEED = 2**32 - 1
MAX_UNITS = 4096
MAX_LAYERS = 8
MAX_ENSEMBLE = 100
DEFAULT_TRAINING_STEPS = 4000
VALIDATION_HORIZONS = 3
MIN_DEFAULT_EPOCHS = 30
MAX_DEFAULT_EPOCHS = 300
CALENDAR_FEATURES = (
    "hour",
    "day_of_week",
    "day_of_month",
    "day_of_year",
    "week",
    "month",
    "quarter",
)
CalendarFeature = Literal[
    "hour", "day_of_week", "day_of_month", "day_of_year", "week", "month", "quarter"
]
DEFAULT_SYNTHETIC_PERIOD = 50.0
# The one rule from a file name to its format: `.csv.gz` is a gzip-compressed CSV (pandas
# decompresses by the same suffixes), `.tsv` a CSV with tabs.
FILE_SOURCES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zip", ".xz")
NO_TIME_COLUMN = "none"
MISSING_POLICIES = ("interpolate", "forward_fill", "zero", "error")


def source_of(path: Path | str) -> str | None:
    """`csv` or `parquet` from a file name's suffixes, None when they say neither.

    Example:
        >>> source_of("exports/sales.csv.gz"), source_of("x.parquet"), source_of("x.txt")
        ('csv', 'parquet', None)
    """
    suffixes = [suffix.lower() for suffix in Path(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes.pop()
        return "csv" if suffixes and FILE_SOURCES.get(suffixes[-1]) == "csv" else None
    return FILE_SOURCES.get(suffixes[-1]) if suffixes else None


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, assignments are re-validated."""

    # Strict: `true` is not 1 and "5" is not 5 (a YAML int still fills a float field).
    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, allow_inf_nan=False, strict=True
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_sections_take_defaults(cls, data: Any) -> Any:
        # `model:` with nothing under it is YAML's None; treat it as a section of defaults.
        if isinstance(data, dict):
            return {
                key: {} if value is None and _is_section(cls, key) else value
                for key, value in data.items()
            }
        return data


def _is_section(model: type[BaseModel], key: str) -> bool:
    field = model.model_fields.get(key)
    annotation = field.annotation if field is not None else None
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


class NoiseConfig(Section):
    kind: Literal["uniform", "normal"] = Field(
        "normal",
        description="`uniform`: scale * U(0, 1), as in the classic tutorial; "
        "`normal`: N(0, scale^2).",
    )
    scale: float = Field(0.2, ge=0, description="Noise scale (0 turns noise off).")


class SyntheticConfig(Section):
    length: int = Field(1000, ge=10, description="Number of points.")
    period: float | None = Field(
        None,
        gt=0,
        description="Period of the sine in steps (default 50 unless `frequency` is given).",
    )
    frequency: float | None = Field(
        None,
        gt=0,
        description="Angular frequency in radians per step, instead of `period` "
        "(sin(0.02 t) is `frequency: 0.02`).",
    )
    amplitude: float = Field(1.0, description="Amplitude of the sine.")
    trend: float = Field(0.0, description="Linear trend added per step.")
    noise: NoiseConfig = Field(default_factory=NoiseConfig, description="Additive noise.")
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Seed of the noise generator.")

    @model_validator(mode="after")
    def _one_of_period_or_frequency(self) -> SyntheticConfig:
        if self.period is not None and self.frequency is not None:
            raise ValueError(
                "give either `period` or `frequency`, not both "
                f"(got period={self.period}, frequency={self.frequency})"
            )
        return self

    @property
    def angular_frequency(self) -> float:
        """Radians per step of the sine."""
        if self.frequency is not None:
            return self.frequency
        period = self.period if self.period is not None else DEFAULT_SYNTHETIC_PERIOD
        return 2 * 3.141592653589793 / period


class CsvConfig(Section):
    sep: str | None = Field(
        None,
        description="Field separator (one character; `\\t` for a tab); found from the first "
        "lines when left out (`,`, `;`, tab or `|`).",
    )
    decimal: Literal[".", ","] | None = Field(
        None,
        description="Decimal mark of the numbers; when left out, `,` if the separator is not "
        "`,` and the numbers are written like 12,5, else `.`.",
    )
    encoding: str | None = Field(
        None,
        description="Text encoding (`utf-8`, `latin-1`, `cp1252` ...); when left out, UTF-8 "
        "(a byte-order mark is skipped), else Windows-1252, a superset of Latin-1 that "
        "spreadsheets export.",
    )

    @field_validator("sep")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = "\t" if value in ("\\t", "tab") else value
        if len(value) != 1 or value in ('"', "\n", "\r"):
            raise ValueError(
                "must be one character such as `,`, `;`, `|` or `\\t` for a tab "
                f"(got {quoted(value)})"
            )
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(
                    f"unknown text encoding {quoted(value)}; use a Python codec name such as "
                    "utf-8, latin-1 or cp1252"
                ) from None
        return value

    @model_validator(mode="after")
    def _separator_is_not_the_decimal_mark(self) -> CsvConfig:
        if self.sep is not None and self.sep == self.decimal:
            raise ValueError(
                f"`sep` and `decimal` are both {quoted(self.sep)}; numbers with a decimal comma "
                "need another separator, usually `;`"
            )
        return self


class DataConfig(Section):
    source: Literal["csv", "parquet", "synthetic", "dataframe"] | None = Field(
        None,
        description="Where the series comes from; by default taken from the suffix of `path` "
        "(`.csv`, `.tsv`, either compressed as `.gz`, `.bz2`, `.zip` or `.xz`; `.parquet`, "
        "`.pq`), or `synthetic` when there is no `path`. `dataframe`: a pandas DataFrame "
        "given to `rnnforecast.fit` in Python (no file; new data comes with --input).",
    )
    path: Path | None = Field(
        None,
        strict=False,  # YAML gives a string
        description="CSV or Parquet file, relative to the config file's folder.",
    )
    time_column: str | None = Field(
        None,
        description="Timestamp column (dates, or integer steps). When left out, a column of "
        "dates, or one named like date, time, timestamp, ds, period or month, is used and "
        "named in a note; `none`: no time column, the rows are consecutive integer steps.",
    )
    target: str | None = Field(
        None,
        description="Column to forecast; may be left out when the file has one numeric column "
        "besides the time and id columns.",
    )
    id_column: str | None = Field(
        None, description="Series id column for long-format files (many series, one model)."
    )
    covariates: list[str] = Field(
        default_factory=list,
        description="Past covariates: numeric input columns known up to the forecast origin "
        "only; the model sees them over its lookback.",
    )
    future_covariates: list[str] = Field(
        default_factory=list,
        description="Future-known covariates (prices, holidays, planned events): numeric columns "
        "known over the horizon too. The model sees them over its lookback and its horizon; "
        "`predict` needs their values for the horizon (`--future FILE`).",
    )
    calendar: Literal["auto", "none"] | list[CalendarFeature] = Field(
        "none",
        description="Calendar features made from the timestamps, as sine/cosine pairs, seen "
        "over the lookback and the horizon: a list of " + ", ".join(CALENDAR_FEATURES) + "; "
        "`auto` picks them from the frequency (hourly: hour and day of week; daily: day of "
        "week and day of year; weekly: week of year; monthly: month; quarterly: quarter); "
        "`none` turns them off.",
    )
    frequency: str | None = Field(
        None,
        description="Pandas frequency alias (`MS`, `QS`, `D`, `h` ...); inferred when left out.",
    )
    season_length: PositiveInt | None = Field(
        None,
        description="Steps per season for seasonal naive and MASE; inferred from the "
        "frequency (monthly 12, quarterly 4, daily 7, hourly 24 ...) when left out.",
    )
    missing: Literal["interpolate", "forward_fill", "zero", "error"] = Field(
        "interpolate",
        description="What to do with empty target and covariate cells and with timestamps "
        "missing from the frequency (rows are inserted there): `interpolate` (linearly), "
        "`forward_fill` (the last value), `zero`, or `error` (refuse the data). Leading and "
        "trailing rows without a target are dropped, except with `zero`. Each series "
        "records which target values were observed.",
    )
    max_filled: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Largest fraction of a series' values (per column) that may be filled; a "
        "series with more is a data error naming it.",
    )
    dayfirst: bool | None = Field(
        None,
        description="Dates such as 01/02/2024 are day first (1 February); when left out, "
        "decided from the values (a day above 12), and when they cannot tell, day first for "
        "dates with dots or a file with a decimal comma, else month first.",
    )
    date_format: str | None = Field(
        None,
        description="Explicit format of the time column, in strftime codes "
        "(`%d.%m.%Y %H:%M`), or `ISO8601`; inferred from the values when left out.",
    )
    timezone: str | None = Field(
        None,
        description="IANA time zone of the data (`Europe/Berlin`): local times without an "
        "offset are read in it (a repeated hour at the end of summer time by its order), and "
        "forecasts are written in it. When left out, forecasts keep the offset of the latest "
        "timestamp of the input (none for times without one).",
    )
    csv: CsvConfig = Field(
        default_factory=CsvConfig,
        description="How CSV files are written: separator, decimal mark, encoding.",
    )
    synthetic: SyntheticConfig = Field(
        default_factory=SyntheticConfig,
        description="The sine-plus-noise series used when `source` is `synthetic`.",
    )

    @field_validator("path")
    @classmethod
    def _path_without_nul(cls, value: Path | None) -> Path | None:
        if value is not None and "\0" in str(value):
            raise ValueError(f"must not hold a NUL byte (got {quoted(str(value))})")
        return value

    @field_validator("date_format")
    @classmethod
    def _strftime_format(cls, value: str | None) -> str | None:
        if value is not None and "%" not in value and value not in ("ISO8601", "mixed"):
            raise ValueError(
                "must be strftime codes such as '%d.%m.%Y' or '%Y-%m-%d %H:%M', or ISO8601 "
                f"(got {quoted(value)})"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"unknown time zone {quoted(value)}; use an IANA name such as Europe/Berlin, "
                    "America/New_York or UTC"
                ) from None
        return value

    @model_validator(mode="after")
    def _source_matches_path(self) -> DataConfig:
        if self.source is None:
            if self.path is None:
                object.__setattr__(self, "source", "synthetic")
            else:
                source = source_of(self.path)
                if source is None:
                    raise ValueError(
                        f"cannot tell the format of `path` {quoted(str(self.path))} from its "
                        "suffix (known: .csv, .tsv, either with .gz, .bz2, .zip or .xz, "
                        ".parquet, .pq); set `source: csv` or `source: parquet`"
                    )
                object.__setattr__(self, "source", source)
        if self.date_format is not None and self.dayfirst is not None:
            raise ValueError(
                "give either `date_format` or `dayfirst`, not both: an explicit format already "
                f"says where the day is (got date_format={quoted(self.date_format)}, "
                f"dayfirst={self.dayfirst})"
            )
        if self.source in ("csv", "parquet") and self.path is None:
            raise ValueError(
                f"`path` is required when `source` is {self.source!r}; "
                "add `path: your_file` under `data`"
            )
        if self.source == "dataframe" and self.path is not None:
            raise ValueError(
                "`path` is set but `source` is 'dataframe' (data given in Python); remove "
                "`path`, or `source` to read the file"
            )
        if self.source == "synthetic":
            # `time_column: none` says what the synthetic series is anyway: integer steps.
            given = {"path": self.path, "target": self.target, "id_column": self.id_column}
            if self.time_column != NO_TIME_COLUMN:
                given["time_column"] = self.time_column
            for key, value in given.items():
                if value is not None:
                    raise ValueError(
                        f"`{key}` is set but `source` is 'synthetic'; "
                        f"remove `{key}` or set `source` to csv or parquet"
                    )
            if self.covariates or self.future_covariates:
                raise ValueError(
                    "`covariates` and `future_covariates` need a data file; the synthetic "
                    "series has none"
                )
        reserved = {self.time_column, self.id_column, self.target} - {None, NO_TIME_COLUMN}
        for key in ("covariates", "future_covariates"):
            overlap = reserved & set(getattr(self, key))
            if overlap:
                raise ValueError(
                    f"`{key}` must not repeat the time, id or target column "
                    f"(got {quoted(sorted(overlap))})"
                )
        both = set(self.covariates) & set(self.future_covariates)
        if both:
            raise ValueError(
                f"{quoted(sorted(both))} are listed in both `covariates` and "
                "`future_covariates`; a column is either known only up to the origin or also "
                "over the horizon"
            )
        return self


class TransformConfig(Section):
    log: bool | Literal["auto"] = Field(
        "auto",
        description="Model the logarithm of the target (for multiplicative series whose swings "
        "grow with their level); forecasts are mapped back with exp. Needs positive values. "
        "`auto`: on when every value of every series is positive (sales, demand, load ...).",
    )
    difference: bool = Field(
        False,
        description="Let the network forecast step-to-step changes, summed back onto the last "
        "value (for series with a strong stochastic trend). Computed inside each window, so "
        "nothing after the origin is used.",
    )


class WindowConfig(Section):
    lookback: PositiveInt | None = Field(
        None,
        description="Past steps the model sees; by default max(2 season lengths, 2 horizons, "
        "8), at most 512 and at most (median training part - horizon) / 2, but at least one "
        "season when the training part has room for it.",
    )
    horizon: PositiveInt = Field(
        12, description="Steps forecast at once (direct multi-step output)."
    )
    stride: PositiveInt = Field(1, description="Steps between consecutive training windows.")


SplitSize = Annotated[
    int | float,
    Field(union_mode="left_to_right"),
]


class SplitConfig(Section):
    validation: SplitSize = Field(
        0.1,
        description="End part of each series before the test part, for early stopping, the "
        "guard and the calibration of the intervals: a fraction (< 1; at least "
        f"{VALIDATION_HORIZONS} horizons, so its windows start at many origins, but shrunk "
        "or dropped to keep a training part on a short series) or a number of points (0 "
        "turns it off).",
    )
    test: SplitSize = Field(
        0.2,
        description="End part of each series the model never sees in training, scored against "
        "the baselines: a fraction (< 1, at least one horizon) or a number of points.",
    )

    @field_validator("validation", "test")
    @classmethod
    def _fraction_or_count(cls, value: int | float) -> int | float:
        if value < 0:
            raise ValueError(f"must be >= 0 (got {value})")
        if isinstance(value, float) and value >= 1:
            if not value.is_integer():
                raise ValueError(f"must be a fraction below 1 or a whole count (got {value})")
            return int(value)
        return value

    @field_validator("test")
    @classmethod
    def _test_not_empty(cls, value: int | float) -> int | float:
        if value == 0:
            raise ValueError("must be > 0: without a test part nothing is scored")
        return value

    def sizes(self, length: int, horizon: int) -> tuple[int, int]:
        """Points in the validation and test parts of a series of `length` points.

        A fraction of the test part is rounded up to at least one `horizon`, of the validation
        part to `VALIDATION_HORIZONS` horizons, so its windows start at several origins; a
        count is taken as given.

        Example: `SplitConfig(validation=0.1, test=0.2).sizes(100, 4)` is `(12, 20)`.
        """
        return (
            _count(self.validation, length, VALIDATION_HORIZONS * horizon),
            _count(self.test, length, horizon),
        )


def _count(size: int | float, length: int, least: int) -> int:
    if isinstance(size, int):
        return size
    return max(least, round(size * length)) if size > 0 else 0


Activation = Literal["tanh", "relu", "sigmoid", "elu", "selu", "gelu", "softsign", "linear"]


Size = Annotated[int, Field(gt=0, le=MAX_UNITS)]


class ModelConfig(Section):
    cell: Literal["simple_rnn", "lstm", "gru"] = Field("lstm", description="Recurrent cell.")
    units: list[Size] | None = Field(
        None,
        min_length=1,
        max_length=MAX_LAYERS,
        description="Units of the recurrent layer; a list stacks several layers. By default "
        f"chosen from the number of training windows: 32 below 2,000 windows, else 64. At most "
        f"{MAX_UNITS} units and {MAX_LAYERS} layers.",
    )
    activation: Activation = Field("tanh", description="Activation of the recurrent layers.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on the recurrent inputs.")
    recurrent_dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on the recurrent state.")
    bidirectional: bool = Field(False, description="Wrap each recurrent layer in Bidirectional.")
    dense: list[Size] = Field(
        default_factory=list,
        max_length=MAX_LAYERS,
        description="Sizes of hidden dense layers before the output layer (at most "
        f"{MAX_UNITS} units, {MAX_LAYERS} layers).",
    )
    baseline: Literal["auto", "seasonal_naive", "naive", "mean", "none"] = Field(
        "auto",
        description="The network sees each window relative to its last value, and a trainable "
        "linear map of the window, starting as this forecast, is added to its output: "
        "`seasonal_naive` (the last season repeated), `naive` (the last value), `mean` (the "
        "window mean), or `none` (no level removal, the network alone). `auto`: seasonal naive "
        "for a seasonal series whose season fits in the lookback, naive otherwise.",
    )
    dense_activation: Activation = Field(
        "relu", description="Activation of the hidden dense layers."
    )
    guard: bool = Field(
        True,
        description="Compare the trained network with naive, seasonal naive, drift and mean on "
        "the validation part; when it is not better than the best of them by `guard_margin`, "
        "forecast that baseline instead (the test part is never used for this choice).",
    )
    guard_blend: bool = Field(
        True,
        description="Let the guard also weigh an even blend of the network and seasonal naive "
        "with drift (the last season plus the average change per season) on the validation "
        "part, and forecast with the blend when it beats the network alone there.",
    )
    guard_margin: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="How much better than the best baseline the network must be on the "
        "validation part to be kept, as a fraction of that baseline's MASE (0.1: at least "
        "10 % lower), for a run that should fall back to a baseline unless the network is "
        "clearly ahead; 0 keeps a network that is better by any amount.",
    )
    series_embedding: int = Field(
        0,
        ge=0,
        le=MAX_UNITS,
        description="Size of a learned per-series vector given to the output layers of a "
        "global model (long format), so one model can tell its series apart; 0 turns it off.",
    )

    @field_validator("units", mode="before")
    @classmethod
    def _one_int_is_one_layer(cls, value: Any) -> Any:
        return [value] if isinstance(value, int) and not isinstance(value, bool) else value


class TrainingConfig(Section):
    epochs: PositiveInt | None = Field(
        None,
        description="Maximum number of epochs; by default enough for about "
        f"{DEFAULT_TRAINING_STEPS} gradient steps, between {MIN_DEFAULT_EPOCHS} and "
        f"{MAX_DEFAULT_EPOCHS}.",
    )
    batch_size: PositiveInt | None = Field(
        None,
        description="Windows per gradient step; by default 32, or fewer for small data "
        "(a twentieth of the training windows, at least 8).",
    )
    optimizer: Literal["adam", "rmsprop", "sgd"] = Field("adam", description="Optimizer.")
    learning_rate: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Learning rate; by default 0.001 for batches of 32, scaled by the square "
        "root of the batch size over 32 (smaller batches, noisier steps, smaller rate).",
    )
    loss: Literal["mse", "mae", "huber"] = Field("mse", description="Training loss.")
    early_stopping: int | None = Field(
        None,
        ge=0,
        description="Patience in epochs without improvement of the validation loss (the "
        "training loss without validation); the best weights are restored. 0 turns it off. "
        "By default a tenth of `epochs`, at least 10.",
    )
    shuffle: bool = Field(True, description="Shuffle training windows between epochs.")
    seed: int = Field(42, ge=0, le=MAX_SEED, description="Seed for weights, dropout and shuffling.")
    ensemble: PositiveInt | None = Field(
        None,
        le=MAX_ENSEMBLE,
        description="Members trained with different seeds (seed, seed + 1 ...); their "
        "forecasts are combined by the median. By default 10,000 / training windows, between 1 "
        "and 5: small data, where members differ most, gets five, which are quick to train.",
    )
    ensemble_lookbacks: list[PositiveInt] = Field(
        default_factory=list,
        description="Lookbacks the members cycle through (member i uses item i mod length); "
        "empty: every member uses `window.lookback`.",
    )
    pack_members: bool = Field(
        False,
        description="Train the members that share a lookback side by side as one Keras model "
        "(each with its own loss, order, early stopping and best weights; each ends as it "
        "would alone). Off by default: Keras runs each member's layers one after the other "
        "inside the one model, and the model trains until its last member stops, so on the "
        "benchmark's small series it was no faster than one member at a time.",
    )
    distribution: Literal["none", "mirrored"] = Field(
        "none",
        description="`mirrored`: train each network on every local GPU at once "
        "(`tf.distribute.MirroredStrategy`, each batch split between them; without GPUs, "
        "between the logical CPU devices), for one large global model. Training across "
        "machines is not offered: Keras 3 has no working multi-worker strategy on TensorFlow.",
    )
    refit: bool = Field(
        False,
        description="After the test part is scored, train the saved model again on the whole "
        "history (for the number of epochs early stopping chose), so it has also trained on the "
        "most recent data. The test figures always come from the model that never saw it. Off "
        "by default: the saved model is then the one those figures, the guard and the "
        "intervals' calibration describe (it reads the validation and test parts as inputs "
        "but never trained on them), and training is shorter.",
    )

    @model_validator(mode="after")
    def _lookbacks_fit_members(self) -> TrainingConfig:
        if self.ensemble is not None and len(self.ensemble_lookbacks) > self.ensemble:
            raise ValueError(
                f"`ensemble_lookbacks` lists {len(self.ensemble_lookbacks)} lookbacks for "
                f"{self.ensemble} member(s); raise `ensemble` or list fewer lookbacks"
            )
        return self

    def member_lookbacks(self, lookback: int) -> list[int]:
        """The lookback of each ensemble member, `lookback` when none are listed."""
        cycle = self.ensemble_lookbacks or [lookback]
        members = self.ensemble or max(1, len(self.ensemble_lookbacks))
        return [cycle[member % len(cycle)] for member in range(members)]


class IntervalsConfig(Section):
    levels: list[Annotated[float, Field(gt=0, lt=100)]] = Field(
        default_factory=lambda: [80.0, 95.0],
        description="Levels of the prediction intervals in percent, each strictly between 0 "
        "and 100; `[]` turns intervals off.",
    )
    method: Literal["conformal", "quantile"] = Field(
        "conformal",
        description="`conformal`: bounds per horizon step from the errors of forecasts the "
        "model never trained on (the validation part; every past origin for a baseline), "
        "relative to each series' scale, with the finite-sample quantile. `quantile`: the "
        "network also forecasts each level's lower and upper quantiles (pinball loss, bands "
        "that never cross), so bands follow each window; only the trained levels can be "
        "given. A baseline the guard keeps is calibrated as with `conformal`.",
    )
    conformalize: bool = Field(
        True,
        description="With `method: quantile`, widen or narrow each level's quantiles by the "
        "finite-sample quantile of how far the validation part's actuals fell outside them "
        "(conformalized quantile regression), so the levels hold out of sample; false: the "
        "network's quantiles as trained.",
    )

    @field_validator("levels")
    @classmethod
    def _distinct_levels(cls, levels: list[float]) -> list[float]:
        repeated = sorted({level for level in levels if levels.count(level) > 1})
        if repeated:
            raise ValueError(f"lists {repeated} more than once; give each level once")
        return sorted(levels)

    @model_validator(mode="after")
    def _conformalize_needs_quantile(self) -> IntervalsConfig:
        if not self.conformalize and self.method != "quantile":
            raise ValueError(
                "`conformalize: false` applies to `method: quantile` only (`conformal` bounds "
                "are conformal by definition); set `method: quantile` or remove `conformalize`"
            )
        return self

    @property
    def quantile_levels(self) -> tuple[float, ...]:
        """The levels the network forecasts quantiles for (none with `conformal`)."""
        return tuple(self.levels) if self.method == "quantile" else ()


class OutputConfig(Section):
    dir: Path = Field(
        Path("runs"),
        strict=False,  # YAML gives a string
        description="Folder that receives run directories.",
    )
    name: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Run name prefix, a plain name (no folder: the run goes into `dir`); the "
        "config file's name by default.",
    )

    @field_validator("dir")
    @classmethod
    def _dir_without_nul(cls, value: Path) -> Path:
        if "\0" in str(value):
            raise ValueError(f"must not hold a NUL byte (got {quoted(str(value))})")
        return value

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str | None) -> str | None:
        if value is not None and not is_plain_name(value):
            raise ValueError(
                "must be a plain name: no `/`, `\\`, `..`, control characters or leading "
                "`.`, since the run directory must stay inside `output.dir`; set `output.dir` "
                f"for another folder (got {quoted(value)})"
            )
        return value


def is_plain_name(name: str) -> bool:
    """Whether `name` names an entry of a folder and nothing else: not empty, no separator,
    no `..`, no control character (NUL included), no leading dot (a hidden entry, or one the
    sweep of staging folders could take for its own)."""
    return bool(
        name
        and not name.startswith(".")
        and ".." not in name
        and not any(character in name for character in "/\\")
        and all(character.isprintable() for character in name)
    )


TUNE_METRICS = ("mase", "smape", "mape", "mae", "rmse", "mse")
RANGE_KEYS = ("low", "high", "log", "step")


class RangeConfig(Section):
    """A range of numbers to search: whole numbers when both ends are, else real numbers."""

    low: int | float = Field(
        ..., union_mode="left_to_right", description="Smallest value searched."
    )
    high: int | float = Field(
        ..., union_mode="left_to_right", description="Largest value searched."
    )
    log: bool = Field(False, description="Search on a log scale (for rates and sizes).")
    step: float | None = Field(None, gt=0, description="Spacing of the searched values.")

    @model_validator(mode="after")
    def _possible(self) -> RangeConfig:
        if self.low > self.high:
            raise ValueError(
                f"`low` must not be above `high`. Received: low={self.low}, high={self.high}"
            )
        if self.log and self.low <= 0:
            raise ValueError(
                f"a log range needs `low` > 0; raise `low` or set `log: false`. Received: "
                f"low={self.low}"
            )
        if self.log and self.step is not None:
            raise ValueError("give either `log: true` or `step`, not both")
        return self


SpaceEntry = Annotated[RangeConfig | list[Any], Field(union_mode="left_to_right")]


class TuneConfig(Section):
    trials: PositiveInt = Field(
        20, description="Trials of the search; the defaults are scored first, as trial 0."
    )
    timeout: float | None = Field(
        None, gt=0, description="Stop starting new trials after this many seconds."
    )
    metric: Literal["mase", "smape", "mape", "mae", "rmse", "mse"] = Field(
        "mase", description="Backtest score each trial minimises (over all its folds)."
    )
    folds: PositiveInt = Field(
        3, description="Backtest origins per trial, on the training history only."
    )
    step: PositiveInt | None = Field(
        None, description="Steps between the folds' origins; default: the horizon."
    )
    pruning: bool = Field(
        True,
        description="Stop a trial after a fold where its running score is worse than the "
        "median of earlier trials at that fold (after 3 finished trials).",
    )
    seed: int = Field(0, description="Seed of the sampler (Optuna's TPE).")
    space: dict[str, SpaceEntry] | None = Field(
        None,
        description="Dotted config keys to search, each a list of choices or a range "
        "`{low, high, log, step}`; default: the documented default space.",
    )

    @field_validator("space", mode="before")
    @classmethod
    def _entries_are_choices_or_ranges(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {key: _space_entry(key, entry) for key, entry in _dotted_keys(value).items()}


def _dotted_keys(space: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{model: {cell: [...]}}` as `{"model.cell": [...]}`: `--set tune.space.model.cell=...`
    arrives nested, YAML usually dotted."""
    flat: dict[str, Any] = {}
    for key, item in space.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, dict) and not set(item) & set(RANGE_KEYS):
            flat.update(_dotted_keys(item, dotted))
        else:
            flat[dotted] = item
    return flat


def _space_entry(key: str, entry: Any) -> Any:
    """A list of choices or a `RangeConfig`, with a message naming the key otherwise."""
    if isinstance(entry, list):
        if not entry:
            raise ValueError(f"`{key}` lists no choices; give at least one")
        return entry
    if not isinstance(entry, dict):
        raise ValueError(
            f"`{key}` must be a list of choices or a range {{low, high, log, step}}. "
            f"Received: {entry!r}"
        )
    try:
        return RangeConfig.model_validate(entry)
    except ValidationError as error:
        item = error.errors()[0]
        where = ".".join(str(part) for part in item["loc"])
        if item["type"] == "extra_forbidden":
            message = f"unknown key `{where}`; a range has {', '.join(RANGE_KEYS)}"
        elif item["type"] == "missing":
            message = f"`{where}` is required"
        else:
            reason = str(item.get("ctx", {}).get("error", item["msg"]))
            message = f"`{where}`: {reason}" if where else reason
        raise ValueError(f"`{key}`: {message}") from None


class MlflowConfig(Section):
    uri: str | None = Field(
        None,
        description="Tracking URI (`http://host:5000`, `sqlite:///mlflow.db` ...); default: "
        "the MLFLOW_TRACKING_URI environment variable, else MLflow's own default.",
    )
    experiment: str | None = Field(None, description="Experiment name; default: `output.name`.")


class TrackingConfig(Section):
    tensorboard: bool = Field(
        False, description="Write TensorBoard logs into the run directory (`tensorboard/`)."
    )
    mlflow: MlflowConfig | bool = Field(
        False,
        union_mode="left_to_right",
        description="Log one MLflow run per command: `true`, or `{uri, experiment}`.",
    )

    @field_validator("mlflow", mode="before")
    @classmethod
    def _empty_is_on(cls, value: Any) -> Any:
        # `mlflow:` with nothing under it reads as a section of defaults, like any section.
        return {} if value is None or value is True else value

    @property
    def mlflow_settings(self) -> MlflowConfig | None:
        """The MLflow settings when MLflow logging is on, else None."""
        return self.mlflow if isinstance(self.mlflow, MlflowConfig) else None


EXECUTION_BACKENDS = ("serial", "processes", "ray")


class ExecutionConfig(Section):
    backend: Literal["serial", "processes", "ray"] = Field(
        "serial",
        description="Where independent fits run: `serial` (one after another, in this "
        "process), `processes` (local worker processes) or `ray` (a Ray cluster: `address`, "
        "else RAY_ADDRESS, else a local one; needs `pip install rnnforecast[ray]`). Fanned "
        "out: backtest folds, ensemble members trained one at a time, tuning trials. The "
        "figures do not depend on the backend.",
    )
    workers: PositiveInt | None = Field(
        None,
        description="Fits at once; default: the CPUs this process may use (for a Ray cluster "
        "it connects to, as many as the cluster schedules). Each worker's TensorFlow gets "
        "an equal share of the CPUs (at least two).",
    )
    address: str | None = Field(
        None,
        description="Ray only: the cluster to connect to (`ray://host:10001`, `auto`, "
        "`host:6379`); default: RAY_ADDRESS, else a local cluster started for the command.",
    )

    @model_validator(mode="after")
    def _address_is_for_ray(self) -> ExecutionConfig:
        if self.address is not None and self.backend != "ray":
            raise ValueError(
                f"`address` is only used by the ray backend, not by {self.backend!r}; "
                "set `backend: ray` or remove `address`"
            )
        return self


class Config(Section):
    """The whole pipeline: data, windows, split, scaling, model, training, output."""

    data: DataConfig = Field(default_factory=DataConfig, description="The series.")
    window: WindowConfig = Field(default_factory=WindowConfig, description="Windowing.")
    split: SplitConfig = Field(default_factory=SplitConfig, description="Chronological split.")
    transform: TransformConfig = Field(
        default_factory=TransformConfig, description="Log transform and differencing."
    )
    scaling: Literal["standard", "minmax", "none"] = Field(
        "standard",
        description="Scaler fitted on the training part only (per series in long format).",
    )
    model: ModelConfig = Field(default_factory=ModelConfig, description="The network.")
    training: TrainingConfig = Field(default_factory=TrainingConfig, description="Fitting.")
    intervals: IntervalsConfig = Field(
        default_factory=IntervalsConfig, description="Prediction intervals."
    )
    output: OutputConfig = Field(default_factory=OutputConfig, description="Run directories.")
    tune: TuneConfig = Field(default_factory=TuneConfig, description="The search of `tune`.")
    tracking: TrackingConfig = Field(
        default_factory=TrackingConfig, description="TensorBoard and MLflow logging."
    )
    execution: ExecutionConfig = Field(
        default_factory=ExecutionConfig,
        description="Where independent fits run (serial, processes, Ray).",
    )

    @model_validator(mode="after")
    def _one_process_per_device(self) -> Config:
        if self.training.distribution == "mirrored" and self.execution.backend != "serial":
            raise ValueError(
                "`training.distribution: mirrored` trains on every local device from one "
                f"process; `execution.backend: {self.execution.backend}` would start several "
                "such processes on the same devices. Set `execution.backend: serial`, or "
                "`training.distribution: none`"
            )
        return self

    @model_validator(mode="after")
    def _difference_needs_level(self) -> Config:
        if self.transform.difference and self.model.baseline == "none":
            raise ValueError(
                "`transform.difference` needs the window's level, which `model.baseline: none` "
                "turns off; set `model.baseline` to auto, or `transform.difference: false`"
            )
        return self


def merge_sections(raw: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """`update` merged into `raw` key by key where both hold a mapping; a None value in
    `update` removes the key, so validation decides it afresh.

    Example:
        >>> merge_sections({"window": {"horizon": 3, "stride": 2}}, {"window": {"horizon": 6}})
        {'window': {'horizon': 6, 'stride': 2}}
    """
    merged = dict(raw)
    for key, value in update.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_sections(merged[key], value)
        else:
            merged[key] = value
    return merged


def config_from_dict(raw: dict[str, Any], label: str) -> Config:
    """Validate an already-parsed config (a run directory's resolved `config.yaml`)."""
    try:
        return Config.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_format_validation_error(label, error)) from None


def dump_config(config: Config) -> str:
    """The config as YAML with every default filled in, in the order of the schema."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def _format_validation_error(label: str, error: ValidationError) -> str:
    lines = [
        f"{label}: {dotted or '(top level)'}: {message}"
        for dotted, message in key_errors(error).items()
    ]
    shown = lines[:MAX_ERROR_LINES]
    if len(lines) > len(shown):
        shown.append(f"{label}: ... and {len(lines) - len(shown)} more problem(s)")
    return "\n".join(shown)


def key_errors(error: ValidationError) -> dict[str, str]:
    """Each dotted key of a validation error with its message (the first one per key, cut to
    a bounded length)."""
    messages: dict[str, str] = {}
    for item in error.errors():
        dotted, section = _dotted_location(item["loc"])
        if dotted not in messages:
            messages[dotted] = shorten(_describe(item, section), 400)
    return messages


def _dotted_location(loc: tuple[Any, ...]) -> tuple[str, type[BaseModel] | None]:
    """The dotted key of an error, dropping pydantic's union-branch tags, and its section."""
    section: type[BaseModel] | None = Config
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part}]"] if parts else [f"[{part}]"]
            continue
        if section is not None and part in section.model_fields:
            parts.append(part)
            annotation = section.model_fields[part].annotation
            child = annotation if isinstance(annotation, type) else None
            section = child if child is not None and issubclass(child, BaseModel) else None
        elif section is not None and not section.model_fields:
            break
        elif section is not None:
            parts.append(shorten(str(part)))  # an unknown key: keep it so the message names it
            section = None
    parent = _section_at(parts[:-1])
    return ".".join(parts), parent


def _section_at(parts: list[str]) -> type[BaseModel] | None:
    section: type[BaseModel] = Config
    for part in parts:
        field = section.model_fields.get(part.split("[")[0])
        if field is None or not isinstance(field.annotation, type):
            return None
        if not issubclass(field.annotation, BaseModel):
            return None
        section = field.annotation
    return section


# pydantic's bound errors: the comparison to print and the key of the bound in the context.
BOUND_ERRORS = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}

# Strict type errors whose input was a boolean or a number in quotes: what was expected.
TYPE_ERRORS = {"int_type": "a whole number", "float_type": "a number"}


def _is_number(text: str) -> bool:
    try:
        float(text[:100])
    except ValueError:
        return False
    return True


def _describe(item: dict[str, Any], section: type[BaseModel] | None) -> str:
    kind = item["type"]
    context = item.get("ctx", {})
    value = item.get("input")
    got = f" (got {quoted(value)})" if "input" in item else ""
    if kind in TYPE_ERRORS and isinstance(value, bool):
        return f"must be {TYPE_ERRORS[kind]}, not true or false{got}"
    if kind in TYPE_ERRORS and isinstance(value, str) and _is_number(value):
        return f"must be {TYPE_ERRORS[kind]}, not text: write it without quotes{got}"
    if kind == "extra_forbidden":
        key = str(item["loc"][-1])
        known = list(section.model_fields) if section is not None else []
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"; did you mean `{close[0]}`?" if close else "."
        return f"unknown key{hint} Known keys: {', '.join(known)}." if known else "unknown key"
    if kind == "missing":
        return "is required"
    if kind in BOUND_ERRORS:
        symbol, key = BOUND_ERRORS[kind]
        return f"must be {symbol} {context[key]}{got}"
    if kind == "literal_error":
        return f"must be one of {context['expected']}{got}"
    if kind == "too_short":
        return f"must have at least {context['min_length']} item(s){got}"
    if kind == "too_long":
        return f"must have at most {context['max_length']} item(s){got}"
    if kind in ("value_error", "assertion_error"):
        return str(context.get("error", item["msg"]))
    message = item["msg"]
    return f"{message[0].lower()}{message[1:]}{got}"
