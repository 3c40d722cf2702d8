"""Writing folders and files so that a failure never leaves a half-written one behind, and two
processes never write the same folder.

A run directory (or backtest folder) is written inside a staging folder beside its final place,
`.<stem>.rnnforecast-staging`, and renamed into place only when every file is complete. Its
name follows from the destination (`Destination.stem`), so the same command run again finds
it, with the training state kept in it, and resumes (see `checkpoints`). A marker file inside
says that the folder is rnnforecast's and what it is for; a folder without one is never
deleted. An OS lock (`flock`) on `.<stem>.rnnforecast-lock`, held for the whole run, keeps a
second process out of the same destination: the kernel releases it when its holder ends, even
when killed outright, so an unlocked staging folder is stale whatever its process id was on
whichever host or container. A file is written to a temporary file and renamed over its target.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rnnforecast.errors import BusyError, OutputError, RunError, WorkerError, check_path
from rnnforecast.version import __version__

STAGING_SUFFIX = ".rnnforecast-staging"
LOCK_SUFFIX = ".rnnforecast-lock"
# Inside a staging folder: the marker, the files that become the destination, the training state.
MARKER_FILE = "rnnforecast-staging.json"
CONTENTS_DIR = "contents"
STATE_DIR = "state"
STAGING_FORMAT = 1
# A stem longer than this is shortened (with a hash) so the staging folder's name stays within
# the 255 bytes a file name may have.
MAX_STEM = 200
# `write_atomic`'s temporary files are `.<name>.<8 random characters><TEMPORARY_SUFFIX>` beside
# their target; one older than STALE_TEMPORARY_SECONDS that no writer holds locked was left
# by a killed process.
TEMPORARY_SUFFIX = ".rnnforecast-partial"
STALE_TEMPORARY_SECONDS = 300

Note = Callable[[str], None]


@dataclass(frozen=True)
class Destination:
    """Where a run directory or backtest folder goes, and how a rerun finds its staging folder.

    Attributes:
        final: the folder to write on a fresh start (a resumed run keeps the one it started
            with, recorded in its marker).
        key: what the result depends on (resolved config, data checksum, versions); a staged
            run of another key is never resumed.
        stem: names the lock file and the staging folder: the folder's own name when given,
            `<family>.<key>` for a default name with a time in it.
        family: for default names, `<output.name>` (plus `-backtest`): staging folders of the
            same family left unlocked with another key (the config or the data changed since)
            are superseded and removed. None for a folder given by name.
        what: how messages name the destination's kind (`run directory`, `backtest folder`).
    """

    final: Path
    key: str = ""
    stem: str = ""
    family: str | None = None
    what: str = "run directory"

    @classmethod
    def of(cls, final: Path, key: str = "", what: str = "run directory") -> Destination:
        """A folder given by name (`--run-dir`): its stem is its name."""
        return cls(final, key, _short_stem(final.name), None, what)

    @classmethod
    def keyed(cls, final: Path, key: str, family: str, what: str = "run directory") -> Destination:
        """A default folder whose name holds the start time: found again by `key`."""
        return cls(final, key, _short_stem(f"{family}.{key[:16]}"), family, what)

    @property
    def staging(self) -> Path:
        return self.final.parent / f".{self.stem}{STAGING_SUFFIX}"

    @property
    def lock(self) -> Path:
        return self.final.parent / f".{self.stem}{LOCK_SUFFIX}"


def _short_stem(stem: str) -> str:
    if len(stem.encode()) <= MAX_STEM:
        return stem
    digest = hashlib.sha256(stem.encode()).hexdigest()[:16]
    return f"{stem.encode()[: MAX_STEM - 17].decode(errors='ignore')}.{digest}"


@dataclass(frozen=True)
class Staging:
    """A staging folder held for a run.

    Attributes:
        folder: the staging folder itself.
        final: where its contents go when complete.
        resumed: whether it was left by an earlier run of the same command (its training
            state is there to resume from).
    """

    folder: Path
    final: Path
    resumed: bool

    @property
    def path(self) -> Path:
        """The folder to write the files into; it becomes `final`."""
        return self.folder / CONTENTS_DIR

    @property
    def state(self) -> Path:
        """The folder for the training state (`checkpoints.Checkpoints`), never moved into
        `final`."""
        return self.folder / STATE_DIR


@contextlib.contextmanager
def staged_directory(
    destination: Destination | Path, restart: bool = False, note: Note | None = None
) -> Iterator[Staging]:
    """Hold the destination's lock and yield its staging folder; its contents become the final
    folder only if the block succeeds.

    A staging folder left by an earlier run of the same destination and key is resumed (its
    contents folder is emptied, its training state kept), unless `restart`; one of another key
    is discarded. When the block fails its staging folder is removed, except after a signal
    (`KeyboardInterrupt`), a failing write (`OSError`, e.g. a full disk) or a dead worker
    (`WorkerError`): then its training state is kept for the same command to resume, and
    `note` says so. The finished folder gets
    the permissions the umask gives a new folder.

    Raises:
        BusyError: another process holds the lock (it is writing the same destination).
        RunError: the final folder exists and is not empty.
        OutputError: the folder cannot be created or written, or something rnnforecast did not
            make is in the staging folder's place.
    """
    if isinstance(destination, Path):
        destination = Destination.of(destination)
    tell = note or (lambda text: None)
    try:
        destination.final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(
            f"{destination.final}: cannot create the {destination.what} ({error})."
        ) from None
    lock = DirectoryLock(destination.lock)
    lock.acquire(destination)
    try:
        staging = _prepare(destination, restart, tell)
    except BaseException:
        lock.release()
        raise
    try:
        yield staging
        _move_into_place(staging)
    except (KeyboardInterrupt, OSError, WorkerError) as error:
        kept = (
            f"what was done so far is kept in {staging.folder}: the same command resumes it "
            "(--restart starts over)."
        )
        if isinstance(error, OSError):
            raise OutputError(
                f"{staging.final}: cannot write the {destination.what} ({error}); {kept}"
            ) from None
        tell(f"the {destination.what} was not written; {kept}")
        raise
    except BaseException:
        remove_staging(staging.folder)
        raise
    finally:
        lock.release()


def _prepare(destination: Destination, restart: bool, note: Note) -> Staging:
    """The staging folder of `destination`, resumed, discarded or made, with the lock held."""
    folder, final, resumed = destination.staging, destination.final, False
    try:
        if destination.family is not None:
            _sweep_superseded(destination, note)
        marker = read_marker(folder)
        if folder.is_symlink() or (folder.exists() and marker is None):
            _remove_unmarked(folder, destination.what)
        elif marker is not None:
            final, resumed = _resume_or_discard(destination, marker, restart, note)
        if final.exists() and (not final.is_dir() or any(final.iterdir())):
            raise RunError(
                f"{final}: the folder already exists and is not empty. Choose another folder "
                "(--run-dir, --output-dir) or remove it."
                + (
                    f" The unfinished run staged for it in {folder} is kept; it resumes once "
                    "the folder is free."
                    if resumed
                    else ""
                )
            )
        if not resumed:
            folder.mkdir()
            _write_marker(folder, destination)
        contents = folder / CONTENTS_DIR
        if contents.exists():  # half written by a run killed while writing it
            shutil.rmtree(contents)
        contents.mkdir()
        (folder / STATE_DIR).mkdir(exist_ok=True)
    except OSError as error:
        if not resumed:
            remove_staging(folder)
        raise OutputError(f"{final}: cannot create the {destination.what} ({error}).") from None
    except BaseException:
        if not resumed:
            remove_staging(folder)  # a signal between making the folder and marking it
        raise
    return Staging(folder, final, resumed)


def _resume_or_discard(
    destination: Destination, marker: dict[str, Any], restart: bool, note: Note
) -> tuple[Path, bool]:
    """Where the staged run goes and whether it resumes; discards it when it cannot."""
    folder = destination.staging
    final = destination.final.parent / str(marker.get("final", ""))
    if (
        final.name
        and final.name == marker.get("final")
        and not (folder / CONTENTS_DIR).exists()
        and final.is_dir()
        and any(final.iterdir())
    ):
        # Killed after moving its contents into place, before removing the rest: it is done.
        remove_staging(folder)
        raise RunError(
            f"{final}: already complete; an earlier run of the same command wrote it and was "
            "stopped while cleaning up. Use it as it is (or write elsewhere to train again)."
        )
    same = (
        marker.get("format") == STAGING_FORMAT
        and marker.get("key") == destination.key
        and marker.get("final") == final.name
        and final.name
    )
    if restart or not same:
        why = (
            "--restart"
            if restart
            else "it was started with another config, data or rnnforecast version"
        )
        note(f"discarding the unfinished {destination.what} staged in {folder} ({why}).")
        remove_staging(folder)
        return destination.final, False
    started = str(marker.get("created_at", "?"))[:40]
    note(
        f"resuming the unfinished {destination.what} staged in {folder} (started {started}); "
        "--restart starts over."
    )
    return final, True


def _sweep_superseded(destination: Destination, note: Note) -> None:
    """Remove staging folders of the same family whose key differs (the config, data or
    version changed since) and whose lock no process holds."""
    parent = destination.final.parent
    family = str(destination.family)
    for folder in parent.glob(f".{glob.escape(family)}.*{STAGING_SUFFIX}"):
        if folder == destination.staging or folder.is_symlink():
            continue
        marker = read_marker(folder)
        if marker is None or marker.get("family") != family or marker.get("key") == destination.key:
            continue
        stem = folder.name[1 : -len(STAGING_SUFFIX)]
        other = DirectoryLock(parent / f".{stem}{LOCK_SUFFIX}")
        if not other.try_acquire():
            continue  # being written right now
        try:
            note(
                f"removing {folder}: an unfinished {destination.what} of `{family}` whose "
                "config, data or rnnforecast version has changed since."
            )
            remove_staging(folder)
        finally:
            other.release()


def _move_into_place(staging: Staging) -> None:
    contents = staging.folder / CONTENTS_DIR
    if staging.final.exists():
        staging.final.rmdir()  # an empty folder the user made for the run
    os.replace(contents, staging.final)
    remove_staging(staging.folder)


def _write_marker(folder: Path, destination: Destination) -> None:
    marker = {
        "format": STAGING_FORMAT,
        "what": f"rnnforecast staging folder of a {destination.what}",
        "final": destination.final.name,
        "key": destination.key,
        "family": destination.family,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rnnforecast": __version__,
    }
    (folder / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The marker of a staging folder: None when there is none (not rnnforecast's folder), an
    empty dict when it is there but unreadable (a start killed while writing it)."""
    path = folder / MARKER_FILE
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return None
    except OSError:
        return None
    try:
        with path.open("rb") as handle:
            data = json.loads(handle.read(1 << 16))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remove_unmarked(folder: Path, what: str) -> None:
    """Remove an empty unmarked folder (a start killed before it wrote its marker); anything
    else in the staging folder's place was not made by rnnforecast and is left alone."""
    with contextlib.suppress(OSError):
        if not folder.is_symlink():
            folder.rmdir()
            return
    raise OutputError(
        f"{folder}: in the place of the {what}'s staging folder, but not made by rnnforecast "
        f"(it holds no {MARKER_FILE}), so it is never deleted. Move it away or remove it."
    )


def remove_staging(folder: Path) -> None:
    """Delete a staging folder, but only if its marker says it is rnnforecast's. The marker
    goes last, so a deletion cut short still leaves a marked (or an empty) folder."""
    if read_marker(folder) is None or folder.is_symlink():
        with contextlib.suppress(OSError):
            folder.rmdir()  # empty: nothing to lose
        return
    for child in folder.iterdir():
        if child.name == MARKER_FILE:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                child.unlink()
    with contextlib.suppress(OSError):
        (folder / MARKER_FILE).unlink()
        folder.rmdir()


class DirectoryLock:
    """An exclusive `flock` on a lock file beside a destination, held while a run writes it.

    The kernel drops the lock when its holder ends, however it ends, and it is seen by every
    process on the host (in any PID namespace or container sharing the folder) and, through
    NFS's lock manager, on other hosts. The holder removes the file before releasing it; a
    process that locked a file removed meanwhile checks the name's inode and tries again.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: int | None = None

    def acquire(self, destination: Destination) -> None:
        """Take the lock, or raise `BusyError` naming its holder."""
        try:
            taken = self.try_acquire()
        except OSError as error:
            raise OutputError(
                f"{destination.final}: cannot lock the {destination.what} ({self.path}: {error})."
            ) from None
        if not taken:
            option = "--output-dir" if "backtest" in destination.what else "--run-dir"
            raise BusyError(
                f"{destination.final}: another process is writing this {destination.what} "
                f"right now ({self.holder()}); two runs never write one folder. Wait for it to "
                f"finish, or write elsewhere ({option}). Received: lock={self.path}"
            )

    def try_acquire(self) -> bool:
        """Take the lock if no process holds it; False when one does."""
        for _ in range(100):
            handle = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(handle)
                return False
            except BaseException:
                os.close(handle)
                raise
            if _same_file(handle, self.path):
                self.handle = handle
                with contextlib.suppress(OSError):
                    holder = f"process {os.getpid()} on host {socket.gethostname()} since "
                    holder += datetime.now(UTC).isoformat(timespec="seconds")
                    os.ftruncate(handle, 0)
                    os.pwrite(handle, holder.encode(), 0)
                return True
            os.close(handle)  # its holder removed it as we opened it: lock the new one
        raise OSError(f"{self.path} keeps being replaced")

    def holder(self) -> str:
        """Who holds the lock, as its holder wrote it (for messages only: a process id means
        nothing in another container or on another host)."""
        try:
            with self.path.open("rb") as handle:
                text = handle.read(200).decode(errors="replace").strip()
        except OSError:
            text = ""
        return f"held by {text}" if text else "its lock is held"

    def release(self) -> None:
        """Remove the lock file and release the lock."""
        if self.handle is None:
            return
        with contextlib.suppress(OSError):
            if _same_file(self.handle, self.path):
                self.path.unlink()
        os.close(self.handle)
        self.handle = None


def _same_file(handle: int, path: Path) -> bool:
    try:
        named = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    opened = os.fstat(handle)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _umask() -> int:
    """The process umask, read without changing it where Linux tells it (TensorFlow runs
    threads that may create files meanwhile)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text().splitlines()
        return int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
