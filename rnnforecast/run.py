"""The run directory: artifact names, atomic writing, loading and the manifest.

A run is written into a hidden staging folder beside its final place and renamed into place only
when every file is complete, so a failed or killed run never leaves a half-written run directory.
Staging folders of runs killed outright (SIGKILL) are swept on the next run into the same folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import platform
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import yaml

from rnnforecast.config import Config, config_from_dict, dump_config
from rnnforecast.errors import ConfigError, OutputError, RunError, check_path
from rnnforecast.forecaster import Forecaster, InputLayout, Member
from rnnforecast.scaling import Scaler

MODELS_DIR = "models"
SCALER_FILE = "scaler.json"
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.csv"
FORECAST_TEST_FILE = "forecast_test.csv"
FORECAST_PLOT_FILE = "forecast.png"
LOSS_PLOT_FILE = "loss.png"
MANIFEST_FILE = "manifest.json"
REQUIRED_FILES = (SCALER_FILE, CONFIG_FILE, METRICS_FILE, MANIFEST_FILE)

# Bumped when the layout or meaning of a run directory changes incompatibly.
RUN_FORMAT_VERSION = 2
STAGING_PREFIX = ".staging-"
# `write_atomic`'s temporary files are `.<name>.<8 random characters><TEMPORARY_SUFFIX>` beside
# their target; one older than STALE_TEMPORARY_SECONDS that no writer holds locked was left
# by a killed process.
TEMPORARY_SUFFIX = ".rnnforecast-partial"
STALE_TEMPORARY_SECONDS = 300
PACKAGES = ("rnnforecast", "tensorflow", "keras", "numpy", "pandas", "pydantic")


@dataclass(frozen=True)
class Run:
    """A finished run directory, loaded without TensorFlow; `load_model` imports it."""

    path: Path
    config: Config
    scaler: Scaler
    manifest: dict[str, Any]
    metrics: dict[str, Any]

    def load_forecaster(self) -> Forecaster:
        """The trained members (the final, refit ones when `training.refit` is on), ready to
        forecast."""
        from rnnforecast.backend import import_keras

        keras = import_keras()
        import rnnforecast.layers  # noqa: F401  (registers the custom layers for loading)

        layout = InputLayout.of(self.config, self.scaler)
        window = self.config.window
        members = []
        for number, lookback in enumerate(self.lookbacks, start=1):
            path = self.path / member_file(number)
            try:
                model = keras.models.load_model(path, compile=False)
            except Exception as error:  # Keras raises many types for damaged archives
                raise RunError(
                    f"{path}: cannot load the model ({type(error).__name__}: "
                    f"{str(error).splitlines()[0] if str(error) else ''}). The run directory is "
                    "damaged or from an incompatible Keras version; train the run again."
                ) from None
            shapes = {tensor.name: tuple(tensor.shape) for tensor in model.inputs}
            expected = {"window": (None, lookback, layout.features)}
            if layout.known:
                expected["future"] = (None, window.horizon, len(layout.known))
            if layout.series_ids is not None:
                expected["series"] = (None,)
            if shapes != expected or tuple(model.output_shape) != (None, window.horizon):
                raise RunError(
                    f"{path}: the model maps {model.input_shape} to {model.output_shape}, but "
                    f"{CONFIG_FILE} says lookback {lookback}, {layout.features} feature(s) and "
                    f"horizon {window.horizon}. The run directory was edited or mixed up; train "
                    "again."
                )
            members.append(Member(model, lookback))
        return Forecaster(members, self.scaler, window.horizon, layout)

    @property
    def lookbacks(self) -> list[int]:
        """The lookback of each ensemble member."""
        if self.config.window.lookback is None:  # a run's config always has it resolved
            raise RunError(f"{self.path / CONFIG_FILE} has no `window.lookback`; train again.")
        return self.config.training.member_lookbacks(self.config.window.lookback)

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


@contextlib.contextmanager
def staged_directory(final: Path) -> Iterator[Path]:
    """Yield an empty staging folder that becomes `final` only if the block succeeds.

    On any exception (including KeyboardInterrupt and SystemExit) the staging folder is removed.
    The finished folder gets the permissions the umask gives a new folder, so other users and
    jobs can read it as they could any folder made by hand.
    """
    if final.exists() and (not final.is_dir() or any(final.iterdir())):
        raise RunError(
            f"{final}: the folder already exists and is not empty. Choose another folder "
            "(--run-dir, --output-dir) or remove it."
        )
    staging: Path | None = None
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale_staging(final.parent)
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{final.name}-", dir=final.parent))
        (staging / ".pid").write_text(str(os.getpid()))
    except BaseException as error:
        # A disk full (or a signal) between making the folder and marking it must not leave it.
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, OSError):
            raise OutputError(f"{final}: cannot create the run directory ({error}).") from None
        raise
    try:
        yield staging
        (staging / ".pid").unlink()
        staging.chmod(0o777 & ~_umask())
        if final.exists():
            final.rmdir()  # an empty folder the user made for the run
        os.replace(staging, final)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(f"{final}: cannot write the run directory ({error}).") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _umask() -> int:
    """The process umask, read without changing it where Linux tells it (TensorFlow runs
    threads that may create files meanwhile)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text().splitlines()
        return int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sweep_stale_staging(folder: Path) -> None:
    """Remove staging folders whose process no longer runs (runs killed with SIGKILL)."""
    for staging in folder.glob(f"{STAGING_PREFIX}*"):
        try:
            pid = int((staging / ".pid").read_text())
        except (OSError, ValueError):
            pid = None
        if pid is None or not _process_alive(pid):
            shutil.rmtree(staging, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(temporary_path)` and move the result to `path` only if it succeeds, so an
    existing file is never left half overwritten. The folder must exist.

    Only regular files are written: a device, FIFO or socket at `path`, or a symbolic link to
    one, is refused rather than replaced by a regular file. A symbolic link to a regular file
    stays a link: the file it points to is replaced (atomically, in its own folder). The
    temporary file is locked while it is written; stale ones of killed writers of the same
    target are removed first.
    """
    target = _output_target(path)
    sweep_stale_temporaries(target)
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX, dir=target.parent
        )
    except OSError as error:
        raise OutputError(f"{path}: cannot write here ({error}).") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)  # tells a sweep in another process this one is live
        write(Path(temporary))
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except OSError as error:
        _remove(temporary)
        raise OutputError(f"{path}: cannot write it ({error}).") from None
    except BaseException:
        _remove(temporary)
        raise
    finally:
        os.close(handle)


def _output_target(path: Path) -> Path:
    """The regular file to replace for output `path`: `path` itself, or the file a symbolic
    link points to. Refuses folders, special files, links to them and dangling links."""
    check_path(path, OutputError, "the output file")
    try:
        links = _links_followed(path)
    except OSError as error:  # a name too long, a loop of links
        raise OutputError(f"{path}: cannot write it ({error}).") from None
    target = Path(os.path.realpath(path)) if links else path
    # A link through /dev or /proc (/dev/stdout, /dev/fd/1) leads to a stream of this or another
    # process, even where that stream is a regular file: never replace it.
    stream = any(link.is_relative_to("/dev") or link.is_relative_to("/proc") for link in links)
    if links and not stream and not target.exists():
        raise OutputError(
            f"{path}: a symbolic link to {target}, which does not exist. Link to an existing "
            "file, or remove the link."
        )
    try:
        mode = None if stream else target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise OutputError(f"{path}: cannot write it ({error}).") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"{path}: is a folder; give a file name.")
    if stream or (mode is not None and not stat.S_ISREG(mode)):
        via = f" (through a link, to {target})" if links else ""
        raise OutputError(
            f"{path}: not a regular file{via}; a device, pipe, socket or stream is never "
            "replaced. Give the name of a file, or `-` for stdout."
        )
    if not target.parent.is_dir():
        raise OutputError(f"{path}: the folder {target.parent} does not exist. Create it first.")
    return target


def _links_followed(path: Path) -> list[Path]:
    """The symbolic links reading `path` follows, in order (none for a plain file)."""
    links: list[Path] = []
    current = Path(os.path.abspath(path))
    while current.is_symlink() and len(links) < 40:  # 40: Linux's own limit on a chain
        links.append(current)
        current = Path(os.path.abspath(current.parent / os.readlink(current)))
    return links


def sweep_stale_temporaries(target: Path) -> None:
    """Remove `write_atomic`'s temporary files for `target` left by killed writers: older than
    `STALE_TEMPORARY_SECONDS` and not locked by a live one."""
    pattern = f".{glob.escape(target.name)}.{'?' * 8}{TEMPORARY_SUFFIX}"
    limit = time.time() - STALE_TEMPORARY_SECONDS
    for candidate in target.parent.glob(pattern):
        with contextlib.suppress(OSError):
            if candidate.is_symlink() or candidate.stat().st_mtime > limit:
                continue
            handle = os.open(candidate, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while a writer holds it
                candidate.unlink()
            finally:
                os.close(handle)


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


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


def write_run_metadata(
    folder: Path, config: Config, scaler: Scaler, metrics: dict[str, Any], manifest: dict[str, Any]
) -> None:
    """Write the resolved config, scaler, metrics and manifest into a (staging) run folder."""
    (folder / CONFIG_FILE).write_text(dump_config(config), encoding="utf-8")
    write_json(folder / SCALER_FILE, scaler.to_dict())
    write_json(folder / METRICS_FILE, metrics)
    write_json(folder / MANIFEST_FILE, manifest)


def build_manifest(config: Config, checksum: str | None) -> dict[str, Any]:
    """Versions, data checksum, seed and creation time: what is needed to trust a run later."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return {
        "format_version": RUN_FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "packages": versions,
        "data": {
            "source": config.data.source,
            "path": str(config.data.path) if config.data.path else None,
            "sha256": checksum,
        },
        "seed": config.training.seed,
    }


def load_run(path: Path | str) -> Run:
    """Load a run directory's config, scaler, manifest and metrics (not yet the model).

    Raises:
        RunError: the folder is missing, incomplete, damaged or of another format version.
    """
    check_path(path, RunError, "the run directory")
    folder = Path(path)
    if not folder.is_dir():
        raise RunError(f"{folder}: run directory not found. Pass the folder `train` printed.")
    # The version first: a run of another format may lack files this one needs.
    if (folder / MANIFEST_FILE).is_file():
        found = _read_json(folder / MANIFEST_FILE).get("format_version")
        if found != RUN_FORMAT_VERSION:
            raise RunError(
                f"{folder}: run format version {found!r} is not supported by this rnnforecast "
                f"(expects {RUN_FORMAT_VERSION}). Train the run again with this version."
            )
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if not (folder / MODELS_DIR).is_dir():
        missing.insert(0, f"{MODELS_DIR}/")
    if missing:
        raise RunError(
            f"{folder}: not a complete run directory (missing {', '.join(missing)}). "
            "Train again to recreate it."
        )
    manifest = _read_json(folder / MANIFEST_FILE)
    try:
        raw = yaml.safe_load((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise RunError(f"{folder / CONFIG_FILE}: cannot read it ({error}).") from None
    try:
        config = config_from_dict(raw if isinstance(raw, dict) else {}, str(folder / CONFIG_FILE))
    except ConfigError as error:
        raise RunError(f"{error} The run directory is damaged or incompatible.") from None
    scaler = Scaler.from_dict(_read_json(folder / SCALER_FILE))
    run = Run(folder, config, scaler, manifest, _read_json(folder / METRICS_FILE))
    if scaler.columns() != {run.features}:
        raise RunError(
            f"{folder / SCALER_FILE}: expected {run.features} value(s) per series (target and "
            f"covariates), found {sorted(scaler.columns())}. The run directory is damaged."
        )
    return run


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RunError(f"{path}: cannot read it ({error}). The run directory is damaged.") from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: expected a JSON object. The run directory is damaged.")
    return data
