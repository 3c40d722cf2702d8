import json
import os
import shutil
from pathlib import Path

import pytest

from rnnforecast.errors import OutputError, RunError
from rnnforecast.run import MANIFEST_FILE, METRICS_FILE, SPLIT_FILE, load_run
from rnnforecast.staging import (
    STAGING_PREFIX,
    staged_directory,
    sweep_stale_staging,
    write_atomic,
)


def test_staged_directory_appears_only_when_complete(tmp_path: Path):
    final = tmp_path / "run"
    with staged_directory(final) as staging:
        (staging / "a.txt").write_text("x")
        assert not final.exists()
    assert (final / "a.txt").read_text() == "x"
    assert list(tmp_path.iterdir()) == [final]


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
def test_failed_or_interrupted_run_leaves_nothing(tmp_path: Path, error: type[BaseException]):
    with pytest.raises(error), staged_directory(tmp_path / "run") as staging:
        (staging / "half.txt").write_text("x")
        raise error()
    assert list(tmp_path.iterdir()) == []


def test_existing_run_directory_is_refused(tmp_path: Path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine")
    with pytest.raises(RunError, match="already exists"), staged_directory(tmp_path / "run"):
        pass
    assert (tmp_path / "run" / "keep.txt").read_text() == "mine"


def test_stale_staging_of_a_killed_process_is_swept(tmp_path: Path):
    dead = tmp_path / f"{STAGING_PREFIX}old"
    dead.mkdir()
    (dead / ".pid").write_text("999999999")
    alive = tmp_path / f"{STAGING_PREFIX}busy"
    alive.mkdir()
    (alive / ".pid").write_text(str(os.getpid()))
    sweep_stale_staging(tmp_path)
    assert not dead.exists() and alive.exists()


def test_write_atomic_keeps_the_old_file_when_writing_fails(tmp_path: Path):
    target = tmp_path / "out.csv"
    target.write_text("old")

    def fail(path: Path) -> None:
        path.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OutputError, match="disk full"):
        write_atomic(target, fail)
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_outputs_get_ordinary_permissions(tmp_path: Path):
    previous = os.umask(0o022)
    try:
        write_atomic(tmp_path / "f.csv", lambda path: path.write_text("x"))
        with staged_directory(tmp_path / "run"):
            pass
    finally:
        os.umask(previous)
    assert (tmp_path / "f.csv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o755


def test_unwritable_destinations_are_output_errors(tmp_path: Path):
    with pytest.raises(OutputError, match=r"does not exist\. Create it first"):
        write_atomic(tmp_path / "missing" / "f.csv", lambda path: None)
    with pytest.raises(OutputError, match="is a folder"):
        write_atomic(tmp_path, lambda path: None)
    (tmp_path / "afile").write_text("x")
    with (
        pytest.raises(OutputError, match="cannot create the run directory"),
        staged_directory(tmp_path / "afile" / "run"),
    ):
        pass


def test_load_run_reports_missing_and_incompatible_runs(tiny_run, tmp_path: Path):
    with pytest.raises(RunError, match="run directory not found"):
        load_run(tmp_path / "absent")
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / METRICS_FILE).write_text("{}")
    with pytest.raises(RunError, match=r"not a complete run directory \(missing models/"):
        load_run(tmp_path / "partial")
    copy = tmp_path / "old"
    shutil.copytree(tiny_run.path, copy)
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    (copy / MANIFEST_FILE).write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(RunError, match="run format version 99 is not supported"):
        load_run(copy)


def test_a_run_of_the_first_format_is_named_as_such(tiny_run, tmp_path: Path):
    old = tmp_path / "old"
    old.mkdir()
    (old / "model.keras").write_bytes(b"")
    (old / MANIFEST_FILE).write_text(json.dumps({"format_version": 1}))
    with pytest.raises(RunError, match="run format version 1 is not supported"):
        load_run(old)


def test_a_run_without_its_split_file_is_incomplete(tiny_run, tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run.path, copy)
    (copy / SPLIT_FILE).unlink()
    with pytest.raises(RunError, match=r"not a complete run directory \(missing split.json"):
        load_run(copy)


def test_a_run_whose_config_is_not_resolved_is_refused(tiny_run, tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run.path, copy)
    text = (copy / "config.yaml").read_text().replace("lookback: 12", "lookback: null")
    (copy / "config.yaml").write_text(text)
    with pytest.raises(RunError, match=r"leaves `window.lookback` to be chosen from the data"):
        load_run(copy)
