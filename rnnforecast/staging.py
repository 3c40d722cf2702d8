"""Writing folders and files so that a failure never leaves a half-written one behind.

A folder is written in a hidden staging folder beside its final place and renamed into place
only when every file is complete; a file is written to a temporary file and renamed over its
target. Staging folders of runs killed outright (SIGKILL) are swept on the next run into the
same folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from rnnforecast.errors import OutputError, RunError, check_path

STAGING_PREFIX = ".staging-"
# `write_atomic`'s temporary files are `.<name>.<8 random characters><TEMPORARY_SUFFIX>` beside
# their target; one older than STALE_TEMPORARY_SECONDS that no writer holds locked was left
# by a killed process.
TEMPORARY_SUFFIX = ".rnnforecast-partial"
STALE_TEMPORARY_SECONDS = 300


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
