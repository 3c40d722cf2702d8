"""Locks and staging folders: one process per run directory, a rerun finds its staging folder,
and nothing rnnforecast did not make is ever deleted.

The tests that run `rnnforecast train` as separate processes use `tests/quick_train.py`, whose
stub fit leaves everything but TensorFlow's training as it is.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnforecast.errors import BusyError, OutputError
from rnnforecast.run import load_run
from rnnforecast.staging import (
    LOCK_SUFFIX,
    MARKER_FILE,
    STAGING_SUFFIX,
    Destination,
    DirectoryLock,
    read_marker,
    staged_directory,
)
from tests.conftest import REPO, TINY_OVERRIDES

QUICK = [sys.executable, str(REPO / "tests" / "quick_train.py")]
SETTINGS = [item for override in TINY_OVERRIDES for item in ("--set", override)]
ENVIRONMENT = {**os.environ, "PYTHONUNBUFFERED": "1", "OPENBLAS_NUM_THREADS": "1"}


def quick_train(run_dir: Path, *options: str, sleep: float = 0.0, **kwargs) -> subprocess.Popen:
    """`rnnforecast train --run-dir run_dir` with the stub fit, as a process of its own."""
    command = ["--stub-fit", str(sleep), "--", "train", "--run-dir", str(run_dir), *options]
    return subprocess.Popen(
        [*QUICK, *command, *SETTINGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENVIRONMENT,
        cwd=REPO,
        **kwargs,
    )


def wait_for(condition, seconds: float = 120.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def staging_of(run_dir: Path) -> Path:
    return run_dir.parent / f".{run_dir.name}{STAGING_SUFFIX}"


def test_a_second_run_into_a_locked_directory_is_busy_at_once(tmp_path: Path):
    final = tmp_path / "run"
    with staged_directory(final) as staging:
        (staging.path / "a.txt").write_text("x")
        start = time.perf_counter()
        with pytest.raises(BusyError) as busy, staged_directory(final):
            pass
        assert time.perf_counter() - start < 1
        assert busy.value.exit_code == 7
        assert str(busy.value).startswith(f"{final}: another process is writing this run")
        assert f"held by process {os.getpid()} on host" in str(busy.value)
        assert (staging.path / "a.txt").read_text() == "x", "the busy run touched nothing"
    assert (final / "a.txt").read_text() == "x"
    assert list(tmp_path.iterdir()) == [final], "no lock file or staging folder is left"


def test_the_staging_folder_follows_from_the_destination_and_is_marked(tmp_path: Path):
    given = Destination.of(tmp_path / "run", key="k1")
    assert given.staging == tmp_path / f".run{STAGING_SUFFIX}"
    assert given.lock == tmp_path / f".run{LOCK_SUFFIX}"
    keyed = Destination.keyed(tmp_path / "a10-20260101-000000", "ab" * 32, "a10")
    assert keyed.staging == tmp_path / f".a10.{'ab' * 8}{STAGING_SUFFIX}"
    with staged_directory(given) as staging:
        marker = read_marker(staging.folder)
        assert marker is not None
        assert (marker["final"], marker["key"], marker["format"]) == ("run", "k1", 1)
        assert "rnnforecast staging folder" in marker["what"]
    long = Destination.of(tmp_path / ("x" * 250))
    assert len(long.staging.name.encode()) <= 255


def test_a_staging_folder_of_another_key_or_restart_is_discarded(tmp_path: Path):
    notes: list[str] = []
    with pytest.raises(KeyboardInterrupt), staged_directory(Destination.of(tmp_path / "run", "a")):
        raise KeyboardInterrupt
    with staged_directory(Destination.of(tmp_path / "run", "b"), note=notes.append) as staging:
        assert not staging.resumed
    assert "it was started with another config, data or rnnforecast version" in notes[-1]
    shutil.rmtree(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt), staged_directory(tmp_path / "run"):
        raise KeyboardInterrupt
    with staged_directory(tmp_path / "run", restart=True, note=notes.append) as staging:
        assert not staging.resumed
    assert "(--restart)" in notes[-1]


def test_a_rerun_of_a_default_name_resumes_the_folder_it_started(tmp_path: Path):
    first = Destination.keyed(tmp_path / "a10-20260101-000000", "k" * 64, "a10")
    with pytest.raises(KeyboardInterrupt), staged_directory(first):
        raise KeyboardInterrupt
    later = Destination.keyed(tmp_path / "a10-20260101-000500", "k" * 64, "a10")
    with staged_directory(later) as staging:
        assert staging.resumed and staging.final == first.final
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a10-20260101-000000"]


def test_superseded_staging_of_the_same_name_goes_but_never_a_locked_or_foreign_one(
    tmp_path: Path,
):
    notes: list[str] = []
    held = Destination.keyed(tmp_path / "a10-1", "held" * 8, "a10")
    lock = DirectoryLock(held.lock)
    try:
        for key, name in (("held", "a10"), ("old", "a10"), ("other", "co2")):
            destination = Destination.keyed(tmp_path / f"{name}-1", key * 8, name)
            with pytest.raises(KeyboardInterrupt), staged_directory(destination):
                raise KeyboardInterrupt
            if key == "held":
                assert lock.try_acquire()  # a run of it at work, e.g. in another container
        new = Destination.keyed(tmp_path / "a10-2", "new" * 8, "a10")
        with staged_directory(new, note=notes.append):
            pass
    finally:
        lock.release()
    left = sorted(path.name for path in tmp_path.iterdir())
    assert left == sorted(
        [
            "a10-2",
            Destination.keyed(tmp_path, "held" * 8, "a10").staging.name,
            Destination.keyed(tmp_path, "other" * 8, "co2").staging.name,
        ]
    )
    assert any("whose config, data or rnnforecast version has changed" in note for note in notes)


def test_an_unmarked_folder_in_the_staging_place_is_never_deleted(tmp_path: Path):
    foreign = staging_of(tmp_path / "run")
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with (
        pytest.raises(OutputError, match="not made by rnnforecast"),
        staged_directory(tmp_path / "run"),
    ):
        pass
    assert (foreign / "notes.txt").read_text() == "mine"
    (foreign / "notes.txt").unlink()  # empty: what a start killed before its marker leaves
    with staged_directory(tmp_path / "run"):
        pass
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run"]


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path: Path):
    lock = tmp_path / f".run{LOCK_SUFFIX}"
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from rnnforecast.staging import DirectoryLock\n"
        f"assert DirectoryLock(Path({str(lock)!r})).try_acquire()\n"
        "print('held', flush=True)\n"
        "time.sleep(600)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    with pytest.raises(BusyError), staged_directory(tmp_path / "run"):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with staged_directory(tmp_path / "run"):
        pass  # the kernel dropped the lock of the killed holder; its file is reused
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run"]


def test_user_folders_beside_the_run_directory_survive_a_train(tmp_path: Path):
    """Folders named like the staging folders of earlier versions, one with the `.pid` of a
    process that no longer exists: a `.pid` never decides anything."""
    area = tmp_path / ".staging-area"
    area.mkdir()
    (area / "keep.txt").write_text("mine")
    old = tmp_path / ".staging-run-abcd1234"
    old.mkdir()
    (old / ".pid").write_text("999999999")
    process = quick_train(tmp_path / "run")
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert (area / "keep.txt").read_text() == "mine" and (old / ".pid").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        ".staging-area",
        ".staging-run-abcd1234",
        "run",
    ]
    load_run(tmp_path / "run")


def test_a_staging_folder_locked_by_a_live_process_survives_another_train(tmp_path: Path):
    """The first run's staging folder holds a `.pid` naming a process this host cannot see
    (another container's, or one long gone): only its lock counts."""
    first = quick_train(tmp_path / "run", sleep=20)
    staging = staging_of(tmp_path / "run")
    wait_for(lambda: (staging / MARKER_FILE).is_file())
    (staging / ".pid").write_text("999999999")
    second = quick_train(tmp_path / "run")
    _, stderr = second.communicate(timeout=300)
    assert second.returncode == 7, stderr
    assert "another process is writing this run directory right now" in stderr
    assert (staging / MARKER_FILE).is_file() and (staging / ".pid").is_file()
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert load_run(tmp_path / "run").metrics["training"]["members"]


def unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    command = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "true"]
    return subprocess.run(command, capture_output=True).returncode == 0


@pytest.mark.skipif(not unshare_works(), reason="no user and PID namespaces here")
def test_a_run_in_another_pid_namespace_is_never_taken_for_dead(tmp_path: Path):
    """Two containers sharing a volume: the first run's process ids mean nothing to the
    second, which must neither delete its staging folder nor write the same run."""
    prefix = ["unshare", "--user", "--map-root-user", "--pid", "--fork"]
    command = [*QUICK, "--stub-fit", "20", "--", "train", "--run-dir", str(tmp_path / "run")]
    first = subprocess.Popen(
        [*prefix, *command, *SETTINGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENVIRONMENT,
        cwd=REPO,
    )
    staging = staging_of(tmp_path / "run")
    wait_for(lambda: (staging / MARKER_FILE).is_file())
    second = quick_train(tmp_path / "run")
    _, stderr = second.communicate(timeout=300)
    assert second.returncode == 7, stderr
    assert (staging / MARKER_FILE).is_file()
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    load_run(tmp_path / "run")


@pytest.mark.slow
def test_two_trains_into_one_run_directory_20_times_one_trains_the_other_is_busy(
    tmp_path: Path,
):
    command = [*QUICK, "--stub-fit", "1", "--race", f"20:{tmp_path}", "--", *SETTINGS]
    result = subprocess.run(
        command, capture_output=True, text=True, env=ENVIRONMENT, cwd=REPO, timeout=1200
    )
    assert result.returncode == 0, result.stderr
    rounds = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rounds) == 20
    for number, outcome in enumerate(rounds):
        assert sorted(outcome["codes"]) == [0, 7], outcome
        loser = outcome["codes"].index(7)
        assert "another process is writing this run directory" in outcome["stderr"][loser]
        assert outcome["seconds"][loser] < outcome["seconds"][1 - loser], "busy at once"
        load_run(tmp_path / f"run-{number}")  # complete, every file as its manifest says
    assert {path.name for path in tmp_path.iterdir()} == {f"run-{i}" for i in range(20)}
