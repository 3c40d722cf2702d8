import errno
import fcntl
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnforecast.errors import OutputError, RunError
from rnnforecast.run import MANIFEST_FILE, METRICS_FILE, SPLIT_FILE, load_run
from rnnforecast.staging import (
    MARKER_FILE,
    STALE_TEMPORARY_SECONDS,
    TEMPORARY_SUFFIX,
    staged_directory,
    write_atomic,
)
from tests.conftest import PEAK_RSS_KIB, REPO, reseal


def test_staged_directory_appears_only_when_complete(tmp_path: Path):
    final = tmp_path / "run"
    with staged_directory(final) as staging:
        (staging.path / "a.txt").write_text("x")
        assert not final.exists()
    assert (final / "a.txt").read_text() == "x"
    assert list(tmp_path.iterdir()) == [final]


def test_a_failed_run_leaves_nothing(tmp_path: Path):
    with pytest.raises(ValueError), staged_directory(tmp_path / "run") as staging:
        (staging.path / "half.txt").write_text("x")
        raise ValueError()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_an_interrupted_run_keeps_its_state_for_the_next_one(
    tmp_path: Path, error: type[BaseException]
):
    notes: list[str] = []
    with pytest.raises((error, OutputError)), staged_directory(tmp_path / "run") as staging:
        (staging.path / "half.txt").write_text("x")
        (staging.state / "epoch.npz").write_text("state")
        raise error()
    assert [path.name for path in tmp_path.iterdir()] == [staging.folder.name]
    assert (staging.folder / MARKER_FILE).is_file()
    with staged_directory(tmp_path / "run", note=notes.append) as again:
        assert again.resumed and again.folder == staging.folder
        assert (again.state / "epoch.npz").read_text() == "state"
        assert list(again.path.iterdir()) == [], "a half-written result is written again"
    assert "resuming the unfinished run directory" in notes[0]
    assert [path.name for path in tmp_path.iterdir()] == ["run"]


def test_existing_run_directory_is_refused(tmp_path: Path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine")
    with pytest.raises(RunError, match="already exists"), staged_directory(tmp_path / "run"):
        pass
    assert (tmp_path / "run" / "keep.txt").read_text() == "mine"


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
    with pytest.raises(RunError, match=r"config.yaml: [\d,]+ bytes, but manifest.json records"):
        load_run(copy)
    with pytest.raises(RunError, match=r"leaves `window.lookback` to be chosen from the data"):
        load_run(reseal(copy))


def test_a_fifo_is_refused_and_left_as_it_is(tmp_path: Path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="not a regular file"):
        write_atomic(fifo, lambda path: path.write_text("x"))
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert list(tmp_path.iterdir()) == [fifo]


@pytest.mark.parametrize("device", ["/dev/null", "/dev/stdout", "/dev/fd/1"])
def test_a_link_to_a_device_or_stream_is_refused_and_left_as_it_is(tmp_path: Path, device: str):
    if not Path(device).exists():
        pytest.skip(f"no {device}")
    link = tmp_path / "out.csv"
    link.symlink_to(device)
    with pytest.raises(OutputError, match="not a regular file"):
        write_atomic(link, lambda path: path.write_text("x"))
    assert link.is_symlink() and os.readlink(link) == device
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)
    assert list(tmp_path.iterdir()) == [link]
    with pytest.raises(OutputError, match="not a regular file"):
        write_atomic(Path(device), lambda path: path.write_text("x"))


def test_a_link_to_a_regular_file_replaces_that_file_and_stays_a_link(tmp_path: Path):
    (tmp_path / "data").mkdir()
    real = tmp_path / "data" / "forecast.csv"
    real.write_text("old")
    link = tmp_path / "latest.csv"
    link.symlink_to(Path("data") / "forecast.csv")
    write_atomic(link, lambda path: path.write_text("new"))
    assert link.is_symlink() and real.read_text() == "new"
    assert sorted(path.name for path in (tmp_path / "data").iterdir()) == ["forecast.csv"]


def test_a_dangling_link_is_refused(tmp_path: Path):
    link = tmp_path / "out.csv"
    link.symlink_to(tmp_path / "absent.csv")
    with pytest.raises(OutputError, match="which does not exist"):
        write_atomic(link, lambda path: path.write_text("x"))
    assert not (tmp_path / "absent.csv").exists()


def test_a_nul_byte_in_an_output_path_is_an_output_error(tmp_path: Path):
    with pytest.raises(OutputError, match="cannot hold a NUL byte"):
        write_atomic(tmp_path / "a\0b.csv", lambda path: path.write_text("x"))
    with pytest.raises(RunError, match="cannot hold a NUL byte"):
        load_run(tmp_path / "a\0b")


def test_the_temporary_file_is_marked_and_locked_while_it_is_written(tmp_path: Path):
    seen = []

    def write(path: Path) -> None:
        seen.append(path.name)
        handle = os.open(path, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(handle)
        path.write_text("x")

    write_atomic(tmp_path / "out.csv", write)
    [name] = seen
    assert name.startswith(".out.csv.") and name.endswith(TEMPORARY_SUFFIX)


def stale(folder: Path, name: str, age: float = STALE_TEMPORARY_SECONDS + 60) -> Path:
    path = folder / name
    path.write_text("half")
    old = time.time() - age
    os.utime(path, (old, old))
    return path


def test_stale_temporary_files_of_the_same_target_are_swept(tmp_path: Path):
    killed = stale(tmp_path, f".out.csv.abcd_123{TEMPORARY_SUFFIX}")
    recent = stale(tmp_path, f".out.csv.efgh_456{TEMPORARY_SUFFIX}", age=10)
    other = stale(tmp_path, f".out.csv.gz.ijkl_789{TEMPORARY_SUFFIX}")
    foreign = stale(tmp_path, ".out.csv.abcd_123.tmp")
    live = stale(tmp_path, f".out.csv.mnop_012{TEMPORARY_SUFFIX}")
    handle = os.open(live, os.O_RDONLY)
    fcntl.flock(handle, fcntl.LOCK_EX)  # a writer at work, however slow
    try:
        write_atomic(tmp_path / "out.csv", lambda path: path.write_text("x"))
    finally:
        os.close(handle)
    assert not killed.exists()
    assert recent.exists() and other.exists() and foreign.exists() and live.exists()
    assert (tmp_path / "out.csv").read_text() == "x"


def test_the_temporary_file_of_a_killed_writer_is_swept_by_the_next_write(tmp_path: Path):
    target = tmp_path / "plot.png"
    code = (
        "import os, signal\n"
        "from pathlib import Path\n"
        "from rnnforecast.staging import write_atomic\n"
        "def die(path):\n"
        "    path.write_text('half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        f"write_atomic(Path({str(target)!r}), die)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True)
    assert result.returncode == -signal.SIGKILL
    [left] = list(tmp_path.iterdir())
    assert left.name.startswith(".plot.png.") and left.name.endswith(TEMPORARY_SUFFIX)
    write_atomic(target, lambda path: path.write_text("png"))
    assert left.exists(), "a recent one may still be written"
    os.utime(left, (time.time() - STALE_TEMPORARY_SECONDS - 1,) * 2)
    write_atomic(target, lambda path: path.write_text("png"))
    assert list(tmp_path.iterdir()) == [target]


def test_a_disk_full_while_preparing_the_run_leaves_no_staging_folder(tmp_path: Path, monkeypatch):
    original = Path.write_text

    def disk_full(self: Path, *args, **kwargs):
        if self.name == MARKER_FILE:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", disk_full)
    with (
        pytest.raises(OutputError, match="No space left on device"),
        staged_directory(tmp_path / "run"),
    ):
        pass
    assert list(tmp_path.iterdir()) == []


def test_the_manifest_records_every_file_of_the_run(tiny_run):
    manifest = json.loads((tiny_run.path / MANIFEST_FILE).read_text())
    assert manifest["format_version"] == 4
    on_disk = {
        path.relative_to(tiny_run.path).as_posix()
        for path in tiny_run.path.rglob("*")
        if path.is_file() and path.name != MANIFEST_FILE
    }
    assert set(manifest["files"]) == on_disk
    member = tiny_run.path / "models" / "member-1.keras"
    assert manifest["files"]["models/member-1.keras"] == {
        "size": member.stat().st_size,
        "sha256": hashlib.sha256(member.read_bytes()).hexdigest(),
    }


@pytest.fixture(scope="module")
def other_run(tmp_path_factory: pytest.TempPathFactory):
    """A second tiny run with the same shapes as `tiny_run` and another seed."""
    from rnnforecast.config_file import load_config
    from rnnforecast.training import train
    from tests.conftest import TINY_OVERRIDES

    folder = tmp_path_factory.mktemp("other")
    config = load_config(None, [*TINY_OVERRIDES, "training.seed=7", "training.epochs=1"])
    return train(config, run_dir=folder / "other", progress="none")


def test_a_member_file_from_another_run_is_refused(tiny_run, other_run, tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run.path, copy)
    shutil.copy(other_run.path / "models" / "member-1.keras", copy / "models" / "member-1.keras")
    size = (copy / "models" / "member-1.keras").stat().st_size
    if size != (tiny_run.path / "models" / "member-1.keras").stat().st_size:
        message = "bytes, but manifest.json records"
    else:
        message = "its SHA-256 is not the one manifest.json records"
    with pytest.raises(RunError, match=message) as error:
        load_run(copy)
    assert str(error.value).startswith(f"{copy / 'models' / 'member-1.keras'}: ")
    assert "damaged, edited, or" in str(error.value) or "comes from another run" in str(error.value)


def test_a_damaged_file_of_the_same_size_is_refused_by_its_checksum(tiny_run, tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run.path, copy)
    member = copy / "models" / "member-1.keras"
    data = bytearray(member.read_bytes())
    data[len(data) // 2] ^= 0xFF
    member.write_bytes(bytes(data))
    with pytest.raises(RunError) as error:
        load_run(copy)
    message = str(error.value)
    assert message.startswith(f"{member}: damaged, edited, or from another run")
    assert "Received: sha256=" in message and "expected sha256=" in message


@pytest.mark.parametrize(
    ("scale", "shown"),
    [(float("inf"), "inf"), (float("nan"), "nan"), (0.0, "0.0"), (-1.0, "-1.0")],
)
def test_a_scale_that_is_not_finite_and_positive_is_a_damaged_run(
    tiny_run, tmp_path: Path, scale: float, shown: str
):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run.path, copy)
    scaler = json.loads((copy / "scaler.json").read_text())
    scaler["scale"][""][0] = scale
    (copy / "scaler.json").write_text(json.dumps(scaler))  # `Infinity`, `NaN`: Python's JSON
    with pytest.raises(RunError, match=r"scaler.json: .* bytes, but manifest.json records"):
        load_run(copy)
    with pytest.raises(RunError) as error:
        load_run(reseal(copy))
    assert error.value.exit_code == 5
    assert f"has scale {shown}; every center must be a finite number" in str(error.value)


def test_a_forecaster_file_with_bad_values_is_a_damaged_run(tiny_run, tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run.path, copy)
    data = json.loads((copy / "forecaster.json").read_text())
    data["calibration"]["rms"][0] = float("inf")
    (copy / "forecaster.json").write_text(json.dumps(data))
    with pytest.raises(RunError, match=r"forecaster.json: malformed .*`rms` must be finite"):
        load_run(reseal(copy))


@pytest.mark.parametrize("blend", [1.0, -0.5, "half", True])
def test_a_blend_weight_outside_0_to_1_is_a_damaged_run(tiny_run, tmp_path: Path, blend):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run.path, copy)
    data = json.loads((copy / "forecaster.json").read_text())
    data["blend"] = blend
    (copy / "forecaster.json").write_text(json.dumps(data))
    with pytest.raises(RunError, match=r"forecaster.json: malformed .*`blend` must be a number"):
        load_run(reseal(copy))


def test_conformity_for_levels_without_quantiles_is_a_damaged_run(tiny_run, tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run.path, copy)
    data = json.loads((copy / "forecaster.json").read_text())
    # A conformal run forecasts no quantiles.
    data["conformity"] = [{"level": 80, **data["calibration"], "signed": True}]
    (copy / "forecaster.json").write_text(json.dumps(data))
    with pytest.raises(RunError, match=r"forecaster.json: malformed .*no quantiles for"):
        load_run(reseal(copy))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda item: item.update(signed=False),
            "non-negative unless signed|level 80 must hold signed scores",
        ),
        (
            lambda item: item.update(signed=False, errors=[[] for _ in item["errors"]]),
            "level 80 must hold signed scores",
        ),
        (lambda item: item.update(level=90), "covers level 90, which the network forecasts no"),
        (
            lambda item: item.update(count=item["count"][:2], rms=item["rms"][:2]),
            r"the conformity of level 80 covers 2 step\(s\), but config.yaml says horizon 4",
        ),
    ],
)
def test_a_damaged_conformity_is_a_damaged_run(tmp_path: Path, edit, message):
    from rnnforecast.config_file import load_config
    from rnnforecast.training import train
    from tests.conftest import TINY_OVERRIDES

    overrides = [*TINY_OVERRIDES, "intervals.method=quantile", "model.guard=false"]
    config = load_config(None, [*overrides, f"output.dir={tmp_path}"])
    run = train(config, run_dir=tmp_path / "run", progress="none").path
    data = json.loads((run / "forecaster.json").read_text())
    item = data["conformity"][0]
    edit(item)
    if len(item["count"]) == 2:
        item["errors"] = item["errors"][:2]
    (run / "forecaster.json").write_text(json.dumps(data))
    with pytest.raises(RunError, match=message):
        load_run(reseal(run))


def test_a_forecaster_file_of_an_earlier_version_has_no_conformity(tiny_run, tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run.path, copy)
    data = json.loads((copy / "forecaster.json").read_text())
    del data["conformity"]
    del data["calibration"]["signed"]
    (copy / "forecaster.json").write_text(json.dumps(data))
    run = load_run(reseal(copy))
    assert run.conformity == {} and run.calibration is not None
    assert not run.calibration.signed


def test_a_forecaster_file_of_an_earlier_version_has_no_blend(tiny_run, tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run.path, copy)
    data = json.loads((copy / "forecaster.json").read_text())
    del data["blend"]
    (copy / "forecaster.json").write_text(json.dumps(data))
    assert load_run(reseal(copy)).blend == 0.0


@pytest.mark.parametrize("target", ["/dev/zero", "elsewhere"])
def test_a_member_that_is_a_link_is_refused_before_it_is_read(
    tiny_run, tmp_path: Path, target: str
):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run.path, copy)
    member = copy / "models" / "member-1.keras"
    if target == "elsewhere":  # the very same bytes, but not a file of the run
        shutil.move(member, tmp_path / "member.keras")
        target = str(tmp_path / "member.keras")
    else:
        member.unlink()
    member.symlink_to(target)
    with pytest.raises(RunError, match="a symbolic link, not a regular file"):
        load_run(copy)


def test_predict_of_a_member_linked_to_dev_zero_fails_at_once_in_little_memory(
    tiny_run, tmp_path: Path
):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run.path, copy)
    (copy / "models" / "member-1.keras").unlink()
    (copy / "models" / "member-1.keras").symlink_to("/dev/zero")
    code = (
        "import sys, time\n"
        "from rnnforecast.cli import app\n"
        "import rnnforecast.run\n"
        "start = time.perf_counter()\n"
        "try:\n"
        f"    app(['predict', {str(copy)!r}])\n"
        "except SystemExit as end:\n"
        "    code = end.code\n"
        f"print(code, time.perf_counter() - start, {PEAK_RSS_KIB})\n"
    )
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    wall = time.perf_counter() - started
    code, seconds, peak_kib = result.stdout.split()
    assert code == "5", result.stderr
    assert "member-1.keras: a symbolic link, not a regular file" in result.stderr
    assert float(seconds) < 2, "refused before reading (imports done before the clock starts)"
    assert int(peak_kib) < 200 * 1024, f"peak {int(peak_kib) // 1024} MiB, {wall:.1f} s in all"
