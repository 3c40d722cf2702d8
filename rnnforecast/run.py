"""The run directory and the backtest folder: their file names, the one code that writes
them, loading a run back, and the manifest.

Every file name of a run lives here and nowhere else. `save_run` writes every file of a run
into a staging folder (see `staging.staged_directory`), which becomes the run directory only
when complete, and writes last the manifest with the size and SHA-256 of every other file.
`load_run` reads it back and refuses a run it cannot trust: before it reads anything else, every
file the manifest lists must be a regular file of the recorded size and checksum.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shutil
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from rnnforecast.baselines import BASELINES
from rnnforecast.config import Config, ExecutionConfig, config_from_dict, dump_config
from rnnforecast.errors import ConfigError, RunError, check_path, quoted
from rnnforecast.forecaster import Forecaster, InputLayout, Member
from rnnforecast.intervals import Calibration
from rnnforecast.plan import Plan
from rnnforecast.scaling import Scaler
from rnnforecast.staging import Destination

if TYPE_CHECKING:  # matplotlib and pandas load in a second; only writing a run needs them
    import pandas as pd
    from matplotlib.figure import Figure

MODELS_DIR = "models"
SCALER_FILE = "scaler.json"
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"
SPLIT_FILE = "split.json"
FORECASTER_FILE = "forecaster.json"
HISTORY_FILE = "history.csv"
FORECAST_TEST_FILE = "forecast_test.csv"
FORECAST_PLOT_FILE = "forecast.png"
LOSS_PLOT_FILE = "loss.png"
MANIFEST_FILE = "manifest.json"
REQUIRED_FILES = (
    SCALER_FILE,
    FORECASTER_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    SPLIT_FILE,
    MANIFEST_FILE,
)

BACKTEST_FILE = "backtest.csv"
BACKTEST_METRICS_FILE = "backtest.json"
BACKTEST_PLOT_FILE = "backtest.png"

TENSORBOARD_DIR = "tensorboard"

TUNE_SUMMARY_FILE = "tune.json"
TRIALS_FILE = "trials.csv"
BEST_CONFIG_FILE = "best.yaml"
TRIALS_PLOT_FILE = "trials.png"
IMPORTANCE_PLOT_FILE = "importance.png"
STUDY_FILE = "study.journal"

# Bumped when the layout or meaning of a run directory changes incompatibly (4: the manifest
# lists every file with its size and SHA-256).
RUN_FORMAT_VERSION = 4
PACKAGES = ("rnnforecast", "tensorflow", "keras", "numpy", "pandas", "pydantic")
# No file of a run is larger: the largest network the limits allow, with its optimizer state,
# stays far below it; a larger file is damaged or not a run's at all, refused before reading.
MAX_RUN_FILE_BYTES = 16 << 30
MAX_MANIFEST_BYTES = 16 << 20
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Run:
    """A finished run directory, loaded without TensorFlow; `load_forecaster` imports it.

    Attributes:
        plan: the plan the run was trained with (from its resolved `config.yaml`).
        split: per series key, the first timestamps of its validation and test parts and its
            last one, as text (`splitting.boundary_times`).
    """

    path: Path
    plan: Plan
    scaler: Scaler
    manifest: dict[str, Any]
    metrics: dict[str, Any]
    split: dict[str, dict[str, str]]
    fallback: str | None = None
    calibration: Calibration | None = None
    scales: dict[str, float] = field(default_factory=dict)
    blend: float = 0.0
    conformity: dict[float, Calibration] = field(default_factory=dict)

    @property
    def config(self) -> Config:
        """The resolved config the run was trained with."""
        return self.plan.config

    @property
    def has_intervals(self) -> bool:
        """Whether the saved forecaster can give interval bounds: it was calibrated, or its
        network forecasts quantiles."""
        return self.calibration is not None or bool(self.quantile_levels)

    @property
    def quantile_levels(self) -> tuple[float, ...]:
        """The levels whose quantiles the saved network forecasts, the only ones it can give
        (none with `intervals.method: conformal`, or when the guard kept a baseline)."""
        return self.config.intervals.quantile_levels if self.fallback is None else ()

    def load_forecaster(self) -> Forecaster:
        """The trained members (the final, refit ones when `training.refit` is on), ready to
        forecast."""
        from rnnforecast.backend import import_keras

        keras = import_keras()
        import rnnforecast.layers  # noqa: F401  (registers the custom layers for loading)

        layout = InputLayout.of(self.plan, self.scaler)
        horizon = self.plan.horizon
        members = []
        for member in self.plan.members:
            number, lookback = member.number, member.lookback
            path = self.path / member_file(number)
            _check_model_file(path)
            try:
                model = keras.models.load_model(path, compile=False)
            except Exception as error:  # Keras raises many types for damaged archives
                detail = str(error).splitlines()[0][:200] if str(error) else ""
                raise RunError(
                    f"{path}: the model file is damaged, or was written by an incompatible "
                    "Keras version: Keras cannot load it. Train the run again. "
                    f"Received: {type(error).__name__}: {detail}"
                ) from None
            shapes = {tensor.name: tuple(tensor.shape) for tensor in model.inputs}
            expected = {"window": (None, lookback, layout.features)}
            if layout.known:
                expected["future"] = (None, horizon, len(layout.known))
            if layout.series_ids is not None:
                expected["series"] = (None,)
            output = (None, horizon)
            if self.config.intervals.quantile_levels:
                output = (None, horizon, 1 + 2 * len(self.config.intervals.quantile_levels))
            if shapes != expected or tuple(model.output_shape) != output:
                raise RunError(
                    f"{path}: the model maps {model.input_shape} to {model.output_shape}, but "
                    f"{CONFIG_FILE} says lookback {lookback}, {layout.features} feature(s) and "
                    f"horizon {horizon}. The run directory was edited or mixed up; train again."
                )
            members.append(Member(model, lookback))
        return Forecaster(
            members,
            self.scaler,
            horizon,
            layout,
            self.fallback,
            self.calibration,
            self.scales,
            self.blend,
            self.config.intervals.quantile_levels,
            self.conformity,
        )

    @property
    def features(self) -> int:
        """Value columns per step: the target, the past and the future covariates."""
        data = self.config.data
        return 1 + len(data.covariates) + len(data.future_covariates)


def member_file(number: int) -> str:
    """The path of ensemble member `number` (from 1) inside a run directory."""
    return f"{MODELS_DIR}/member-{number}.keras"


def default_run_dir(config: Config, now: datetime | None = None, suffix: str = "") -> Path:
    """`<output.dir>/<output.name><suffix>-<UTC timestamp>`."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return config.output.dir / f"{config.output.name}{suffix}-{stamp}"


def run_key(config: Config, checksum: str | None, **extra: Any) -> str:
    """SHA-256 of what a result depends on: the config, the data's checksum, the run format,
    the package versions and `extra` (a backtest's folds). A staged run is resumed only by a
    run of the same key."""
    text = json.dumps(
        {
            # Where the fits run changes no figure: a run stopped on one backend resumes on
            # another.
            "config": dump_config(config.model_copy(update={"execution": ExecutionConfig()})),
            "data": checksum,
            "format": RUN_FORMAT_VERSION,
            "packages": package_versions(),
            **extra,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def run_destination(config: Config, given: Path | None, key: str, suffix: str = "") -> Destination:
    """Where a run (`suffix` "-backtest": a backtest folder) goes: the folder given, or
    `default_run_dir`, whose time changes from one start to the next, so its staging folder is
    named by `<output.name><suffix>` and `key` instead: the same command run again finds it."""
    what = "backtest folder" if suffix else "run directory"
    if given is not None:
        return Destination.of(given, key, what)
    family = f"{config.output.name}{suffix}"
    return Destination.keyed(default_run_dir(config, suffix=suffix), key, family, what)


def json_text(data: dict[str, Any]) -> str:
    """Indented, strictly valid JSON: NaN (a metric with nothing to measure) becomes null."""
    return json.dumps(_finite(data), indent=2, allow_nan=False)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write `data` as `json_text`."""
    path.write_text(json_text(data) + "\n", encoding="utf-8")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


@dataclass(frozen=True)
class RunContents:
    """Everything a run directory holds, ready to write.

    Attributes:
        config: the resolved config (`config.yaml`).
        forecaster: the saved members, their scaler, the guard's fallback or blend and the
            calibration of the intervals (`models/`, `scaler.json`, `forecaster.json`).
        metrics: the test figures and training summary (`metrics.json`).
        split: per series key, the boundaries of its parts (`split.json`).
        history: the losses per member, phase and epoch (`history.csv`).
        test_forecasts: every test forecast/actual pair (`forecast_test.csv`).
        forecast_figure, loss_figure: `forecast.png`, `loss.png`.
        manifest: versions, data checksum, seed (`manifest.json`).
    """

    config: Config
    forecaster: Forecaster
    metrics: dict[str, Any]
    split: dict[str, dict[str, str]]
    history: pd.DataFrame
    test_forecasts: pd.DataFrame
    forecast_figure: Figure
    loss_figure: Figure
    manifest: dict[str, Any]


def save_run(folder: Path, contents: RunContents) -> None:
    """Write every file of a run into `folder`, a staging folder (`staging.staged_directory`),
    the manifest last, with the size and SHA-256 of every other file."""
    from rnnforecast.plots import save_figure

    (folder / MODELS_DIR).mkdir()
    for number, member in enumerate(contents.forecaster.members, start=1):
        member.model.save(folder / member_file(number))
    forecaster = contents.forecaster
    write_json(folder / SCALER_FILE, forecaster.scaler.to_dict())
    write_json(
        folder / FORECASTER_FILE,
        {
            "fallback": forecaster.fallback,
            "blend": forecaster.blend,
            "scales": forecaster.scales,
            "calibration": None
            if forecaster.calibration is None
            else forecaster.calibration.to_dict(),
            # A list, not an object keyed by level: a key would round the level to text.
            "conformity": [
                {"level": level, **calibration.to_dict()}
                for level, calibration in forecaster.conformity.items()
            ],
        },
    )
    (folder / CONFIG_FILE).write_text(dump_config(contents.config), encoding="utf-8")
    write_json(folder / METRICS_FILE, contents.metrics)
    write_json(folder / SPLIT_FILE, contents.split)
    contents.history.to_csv(folder / HISTORY_FILE, index=False)
    contents.test_forecasts.to_csv(folder / FORECAST_TEST_FILE, index=False)
    save_figure(contents.forecast_figure, folder / FORECAST_PLOT_FILE)
    save_figure(contents.loss_figure, folder / LOSS_PLOT_FILE)
    write_json(folder / MANIFEST_FILE, {**contents.manifest, "files": file_records(folder)})


def file_records(folder: Path) -> dict[str, dict[str, Any]]:
    """Per file below `folder` (its path relative to it, with `/`), its size and SHA-256; the
    manifest itself left out."""
    records = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        # TensorBoard logs are for people, not for loading the run, and their writer may still
        # append to them when the run is complete.
        if name.split("/")[0] == TENSORBOARD_DIR:
            continue
        if path.is_file() and name != MANIFEST_FILE:
            records[name] = {"size": path.stat().st_size, "sha256": _sha256(path)}
    return records


@dataclass(frozen=True)
class BacktestContents:
    """Everything a backtest folder holds, ready to write.

    Attributes:
        pairs: every forecast/actual pair with its fold (`backtest.csv`).
        summary: per fold and overall figures (`backtest.json`).
        figure: the folds of the first few series (`backtest.png`).
        config: the resolved config of the last fold's model (`config.yaml`).
    """

    pairs: pd.DataFrame
    summary: dict[str, Any]
    figure: Figure
    config: Config


def save_backtest(folder: Path, contents: BacktestContents) -> None:
    """Write every file of a backtest into `folder`, a staging folder."""
    from rnnforecast.plots import save_figure

    contents.pairs.to_csv(folder / BACKTEST_FILE, index=False)
    write_json(folder / BACKTEST_METRICS_FILE, contents.summary)
    save_figure(contents.figure, folder / BACKTEST_PLOT_FILE)
    (folder / CONFIG_FILE).write_text(dump_config(contents.config), encoding="utf-8")


@dataclass(frozen=True)
class TuneContents:
    """Everything a tune folder holds, ready to write.

    Attributes:
        trials: one row per trial (`trials.csv`).
        summary: the defaults' and the best score, the space, the counts (`tune.json`).
        best_config: the config of the best trial, complete (`best.yaml`).
        trials_figure, importance_figure: `trials.png`, `importance.png`.
        study: the study's journal file, copied in as `study.journal`.
        config: the config as given, the defaults of the search (`config.yaml`).
    """

    trials: pd.DataFrame
    summary: dict[str, Any]
    config: Config
    best_config: Config
    trials_figure: Figure
    importance_figure: Figure
    study: Path


def save_tune(folder: Path, contents: TuneContents) -> None:
    """Write every file of a tune folder into `folder`, a staging folder."""
    from rnnforecast.plots import save_figure

    contents.trials.to_csv(folder / TRIALS_FILE, index=False)
    write_json(folder / TUNE_SUMMARY_FILE, contents.summary)
    (folder / CONFIG_FILE).write_text(dump_config(contents.config), encoding="utf-8")
    (folder / BEST_CONFIG_FILE).write_text(dump_config(contents.best_config), encoding="utf-8")
    save_figure(contents.trials_figure, folder / TRIALS_PLOT_FILE)
    save_figure(contents.importance_figure, folder / IMPORTANCE_PLOT_FILE)
    shutil.copyfile(contents.study, folder / STUDY_FILE)


def build_manifest(config: Config, checksum: str | None) -> dict[str, Any]:
    """Versions, data checksum, seed and creation time: what is needed to trust a run later
    (`save_run` adds the files)."""
    return {
        "format_version": RUN_FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "packages": package_versions(),
        "data": {
            "source": config.data.source,
            "path": str(config.data.path) if config.data.path else None,
            "sha256": checksum,
        },
        "seed": config.training.seed,
    }


def package_versions() -> dict[str, str | None]:
    """The installed version of each package a run's results depend on."""
    versions: dict[str, str | None] = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return versions


def load_run(path: Path | str) -> Run:
    """Load a run directory's config, scaler, manifest and metrics (not yet the model).

    Every file the manifest lists is checked first (a regular file, its size, then its
    SHA-256, read in chunks), so a damaged file, one from another run, a link or a device is
    refused before anything is read from it.

    Raises:
        RunError: the folder is missing, incomplete, damaged or of another format version.
    """
    check_path(path, RunError, "the run directory")
    folder = Path(path)
    if not folder.is_dir():
        raise RunError(f"{folder}: run directory not found. Pass the folder `train` printed.")
    manifest = _read_manifest(folder)
    if manifest is None:
        missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
        if not (folder / MODELS_DIR).is_dir():
            missing.insert(0, f"{MODELS_DIR}/")
        raise RunError(
            f"{folder}: not a complete run directory (missing {', '.join(missing)}). "
            "Train again to recreate it."
        )
    # The version first: a run of another format may lack files this one needs.
    found = manifest.get("format_version")
    if found != RUN_FORMAT_VERSION:
        raise RunError(
            f"{folder}: run format version {quoted(found)} is not supported by this rnnforecast "
            f"(expects {RUN_FORMAT_VERSION}). Train the run again with this version."
        )
    files = verify_files(folder, manifest)
    unlisted = [name for name in REQUIRED_FILES if name != MANIFEST_FILE and name not in files]
    if unlisted:
        raise RunError(
            f"{folder / MANIFEST_FILE}: does not list {', '.join(unlisted)}, which every run "
            "has. The run directory is damaged; train the run again."
        )
    try:
        raw = yaml.safe_load((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise RunError(f"{folder / CONFIG_FILE}: cannot read it ({error}).") from None
    try:
        config = config_from_dict(raw if isinstance(raw, dict) else {}, str(folder / CONFIG_FILE))
        plan = Plan.of(config)
    except ConfigError as error:
        raise RunError(
            f"{folder / CONFIG_FILE}: {error} The run directory is damaged or incompatible."
        ) from None
    scaler = Scaler.from_dict(_read_json(folder / SCALER_FILE))
    split = _read_json(folder / SPLIT_FILE)
    parts = _forecaster_parts(folder / FORECASTER_FILE, scaler, plan)
    run = Run(folder, plan, scaler, manifest, _read_json(folder / METRICS_FILE), split, *parts)
    members = [member_file(member.number) for member in plan.members]
    if unlisted := [name for name in members if name not in files]:
        raise RunError(
            f"{folder / MANIFEST_FILE}: does not list {', '.join(unlisted)}, but {CONFIG_FILE} "
            f"says the run has {len(members)} member(s). The run directory is damaged or was "
            "mixed up; train the run again."
        )
    if scaler.columns() != {run.features}:
        raise RunError(
            f"{folder / SCALER_FILE}: expected {run.features} value(s) per series (target and "
            f"covariates), found {sorted(scaler.columns())}. The run directory is damaged."
        )
    return run


def _forecaster_parts(
    path: Path, scaler: Scaler, plan: Plan
) -> tuple[str | None, Calibration | None, dict[str, float], float, dict[float, Calibration]]:
    """The guard's fallback, the calibration, the series' scales, the guard's blend and the
    quantiles' conformity of `forecaster.json`, checked: a damaged file is a run error, never a
    wrong forecast."""
    data = _read_json(path)
    horizon = plan.horizon
    try:
        fallback = data["fallback"]
        if fallback is not None and fallback not in BASELINES:
            raise ValueError(f"unknown fallback {str(fallback)[:40]!r}")
        blend = data.get("blend", 0.0)  # runs of earlier versions record none: no blend
        if isinstance(blend, bool) or not isinstance(blend, int | float) or not 0 <= blend < 1:
            raise ValueError(f"`blend` must be a number from 0 up to 1 (got {str(blend)[:40]})")
        scales = {str(key): float(value) for key, value in data["scales"].items()}
        if set(scales) != set(scaler.center) or not all(
            math.isfinite(value) and value > 0 for value in scales.values()
        ):
            raise ValueError("`scales` must hold a finite, positive scale per series")
        calibration = None
        if data["calibration"] is not None:
            calibration = Calibration.from_dict(data["calibration"])
        # Runs of earlier versions record no conformity: they have no quantiles.
        conformity = {}
        for item in data.get("conformity", []):
            level = float(item["level"])
            if level not in plan.config.intervals.quantile_levels or level in conformity:
                raise ValueError(
                    f"`conformity` covers level {level:g}, which the network forecasts no "
                    "quantiles for, or covers it twice"
                )
            conformity[level] = Calibration.from_dict(item)
            if not conformity[level].signed:
                raise ValueError(f"`conformity` of level {level:g} must hold signed scores")
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise RunError(
            f"{path}: malformed ({type(error).__name__}: {str(error)[:200]}). The run "
            "directory is damaged; train the run again."
        ) from None
    named = {"the calibration": calibration}
    named.update({f"the conformity of level {level:g}": item for level, item in conformity.items()})
    for name, item in named.items():
        if item is not None and item.steps != horizon:
            raise RunError(
                f"{path}: {name} covers {item.steps} step(s), but {CONFIG_FILE} says horizon "
                f"{horizon}. The run directory was edited or mixed up; train again."
            )
    return fallback, calibration, scales, float(blend), conformity


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest, read only if it is a regular file of a sane size; None when absent."""
    path = folder / MANIFEST_FILE
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise RunError(f"{path}: cannot read it ({error}). The run directory is damaged.") from None
    _check_regular(path, info, MAX_MANIFEST_BYTES)
    return _read_json(path)


def verify_files(folder: Path, manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Check every file `manifest` lists in `folder`: inside it, a regular file (never a link,
    device or pipe), of the recorded size, then of the recorded SHA-256, all before any is
    read otherwise. Returns the listed files.

    Raises:
        RunError: naming the first file that is missing, of another kind, size or checksum.
    """
    where = folder / MANIFEST_FILE
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise RunError(
            f"{where}: lists no files (`files`: each file's size and SHA-256), which every run "
            "of this format has. The run directory is damaged; train the run again."
        )
    checked, missing = [], []
    for name, entry in files.items():
        parts = str(name).split("/")
        if not name or str(name).startswith("/") or ".." in parts or "" in parts:
            raise RunError(
                f"{where}: lists {quoted(name)}, which is not a file inside the run directory. "
                "The run directory is damaged; train the run again."
            )
        try:
            size, digest = int(entry["size"]), str(entry["sha256"])
        except (KeyError, TypeError, ValueError):
            raise RunError(
                f"{where}: the entry of {quoted(name)} lacks a size or SHA-256. The run "
                f"directory is damaged; train the run again. Received: {quoted(entry)}"
            ) from None
        path = folder / name
        try:
            info = path.lstat()
        except (FileNotFoundError, NotADirectoryError):
            missing.append(name)
            continue
        except OSError as error:
            raise RunError(f"{path}: cannot read it ({error}).") from None
        _check_regular(path, info, MAX_RUN_FILE_BYTES)
        if info.st_size != size:
            raise RunError(
                f"{path}: {info.st_size:,} bytes, but {MANIFEST_FILE} records {size:,}: the file "
                "is damaged (cut short?), edited, or comes from another run. Train the run again. "
                f"Received: size={info.st_size}, expected size={size}"
            )
        checked.append((path, digest))
    if missing:
        raise RunError(
            f"{folder}: not a complete run directory (missing {', '.join(missing)}). "
            "Train again to recreate it."
        )
    for path, digest in checked:
        found = _sha256(path)
        if found != digest:
            raise RunError(
                f"{path}: damaged, edited, or from another run: its SHA-256 is not the one "
                f"{MANIFEST_FILE} records. Train the run again. Received: sha256={found[:16]}..., "
                f"expected sha256={digest[:16]}..."
            )
    return files


def _check_regular(path: Path, info: os.stat_result, limit: int) -> None:
    """Refuse anything but a regular file of at most `limit` bytes, from its `lstat`."""
    if not stat.S_ISREG(info.st_mode):
        kind = (
            "a symbolic link"
            if stat.S_ISLNK(info.st_mode)
            else "a folder"
            if stat.S_ISDIR(info.st_mode)
            else "a device, pipe or socket"
        )
        raise RunError(
            f"{path}: {kind}, not a regular file. A run directory holds regular files only, so "
            "it is refused before being read: the run directory is damaged or was tampered "
            "with. Train the run again."
        )
    if info.st_size > limit:
        raise RunError(
            f"{path}: {info.st_size:,} bytes, more than any run's file ({limit:,} at most). The "
            "run directory is damaged; train the run again."
        )


def _check_model_file(path: Path) -> None:
    """A model file must be a regular file of a sane size, checked before Keras reads it."""
    try:
        info = path.lstat()
    except OSError as error:
        raise RunError(f"{path}: cannot read it ({error}). Train the run again.") from None
    _check_regular(path, info, MAX_RUN_FILE_BYTES)


def _sha256(path: Path) -> str:
    """SHA-256 of a regular file, read in chunks; never follows a link or waits on a pipe."""
    digest = hashlib.sha256()
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise RunError(f"{path}: cannot read it ({error}). Train the run again.") from None
    try:
        info = os.fstat(handle)
        _check_regular(path, info, MAX_RUN_FILE_BYTES)
        while chunk := os.read(handle, HASH_CHUNK):
            digest.update(chunk)
    except OSError as error:
        raise RunError(f"{path}: cannot read it ({error}). Train the run again.") from None
    finally:
        os.close(handle)
    return digest.hexdigest()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RunError(f"{path}: cannot read it ({error}). The run directory is damaged.") from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: expected a JSON object. The run directory is damaged.")
    return data
