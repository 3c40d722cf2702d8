"""Writing folders and files so that a failure never leaves a half-written one behind.

A folder is written in a hidden staging folder beside its final place and renamed into place
only when every file is complete; a file is written to a temporary file and renamed over its
target. Staging folders of runs killed outright (SIGKILL) are swept on the next run into the
same folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from rnnforecast.errors import OutputError, RunError

STAGING_PREFIX = ".staging-"


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
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale_staging(final.parent)
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{final.name}-", dir=final.parent))
        (staging / ".pid").write_text(str(os.getpid()))
    except OSError as error:
        raise OutputError(f"{final}: cannot create the run directory ({error}).") from None
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
    existing file is never left half overwritten. The folder must exist."""
    if not path.parent.is_dir():
        raise OutputError(f"{path}: the folder {path.parent} does not exist. Create it first.")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name.")
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
        )
    except OSError as error:
        raise OutputError(f"{path}: cannot write here ({error}).") from None
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as error:
        _remove(temporary)
        raise OutputError(f"{path}: cannot write it ({error}).") from None
    except BaseException:
        _remove(temporary)
        raise


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
