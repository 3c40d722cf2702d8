"""Running independent jobs (backtest folds, ensemble members, tuning trials) one after another
in this process, in local worker processes, or on a Ray cluster (`execution` in the config).

A job is a module-level function and one picklable argument, so any process can run it; the
caller gets the results in the order of the jobs whatever the order they finish in. Each job
seeds its own work, so the backend never changes a figure. A worker that dies (killed, out of
memory) is reported with the job it was running, as a `WorkerError`; the other jobs are
stopped, and the caller writes nothing (its staging folder keeps what finished, to resume).
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnforecast.config import ExecutionConfig
from rnnforecast.errors import ConfigError, WorkerError

SERIAL = ExecutionConfig()
RAY_ADDRESS_VARIABLE = "RAY_ADDRESS"
CONNECT_SECONDS = 10
MIN_WORKER_THREADS = 2


@dataclass(frozen=True)
class Job:
    """One unit of independent work.

    Attributes:
        label: what a message calls it ("fold 2", "trial 5", "member 3 holdout").
        function: a module-level function (a worker process imports it by name).
        argument: its one argument, picklable.
    """

    label: str
    function: Callable[[Any], Any]
    argument: Any


ResultListener = Callable[[int, Any], None]


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parallel(settings: ExecutionConfig, jobs: int) -> bool:
    """Whether `jobs` jobs would run in workers (two or more, and a backend other than serial)."""
    return settings.backend != "serial" and jobs > 1


def run_jobs(
    jobs: Sequence[Job], settings: ExecutionConfig, on_result: ResultListener | None = None
) -> list[Any]:
    """Run every job on the configured backend and return their results in job order.

    `on_result(index, result)` is called here, in the calling process, as each job finishes
    (in the order they finish). An error a job raises is raised here as it was raised there;
    the jobs still running are stopped first. Fewer than two jobs run here, on any backend.

    Raises:
        WorkerError: a worker died (the message names its job), or Ray could not start or
            connect.
        ConfigError: `ray` without Ray installed.
    """
    with executor(settings, len(jobs)) as runner:
        return runner.run(jobs, on_result)


class Executor:
    """Runs batches of jobs; `executor` opens one for a command's whole work (its worker
    processes or Ray session are started once)."""

    def parallel(self, jobs: int) -> bool:
        """Whether `jobs` jobs would run side by side in workers."""
        return False

    def run(self, jobs: Sequence[Job], on_result: ResultListener | None = None) -> list[Any]:
        """The jobs' results in job order; see `run_jobs`."""
        results = []
        for index, job in enumerate(jobs):
            results.append(job.function(job.argument))
            if on_result is not None:
                on_result(index, results[-1])
        return results


@contextmanager
def executor(settings: ExecutionConfig, jobs: int) -> Iterator[Executor]:
    """The backend of `settings` for up to `jobs` jobs at once, open until the block ends
    (one job or `serial`: this process)."""
    if not parallel(settings, jobs):
        yield Executor()
    elif settings.backend == "processes":
        with _Processes.opened(min(settings.workers or cpu_count(), jobs)) as runner:
            yield runner
    else:
        with _Ray.opened(settings, jobs) as runner:
            yield runner


def threads_per_worker(workers: int) -> int:
    """TensorFlow threads of each worker: an equal share of this machine's CPUs, and at least
    two: a worker with one thread leaves its core partly idle while its Python runs (measured
    at 60-80 % of a core; benchmarks/README.md, "Execution backends")."""
    return max(MIN_WORKER_THREADS, cpu_count() // workers)


# --- local worker processes -------------------------------------------------------------------


class _Processes(Executor):
    def parallel(self, jobs: int) -> bool:
        return jobs > 1

    def __init__(self, pool: concurrent.futures.ProcessPoolExecutor, started: Path) -> None:
        self.pool = pool
        self.started = started

    @classmethod
    @contextmanager
    def opened(cls, workers: int) -> Iterator[_Processes]:
        with _started_jobs_folder() as started:
            pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=workers,
                # TensorFlow's runtime is not safe to fork once loaded: each worker starts fresh.
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(threads_per_worker(workers), str(started)),
            )
            try:
                yield cls(pool, started)
            except BaseException:
                _stop(pool)
                raise
            pool.shutdown()

    def run(self, jobs: Sequence[Job], on_result: ResultListener | None = None) -> list[Any]:
        with _caller_script_hidden():
            futures = {
                self.pool.submit(_run_in_worker, job.label, job.function, job.argument): index
                for index, job in enumerate(jobs)
            }
        # The pool's own map of pid to worker process (it starts them all on the first submit).
        workers = dict(getattr(self.pool, "_processes", None) or {})
        results: dict[int, Any] = {}
        try:
            for future in concurrent.futures.as_completed(futures):
                try:
                    result = future.result()
                except concurrent.futures.process.BrokenProcessPool:
                    raise WorkerError(_death_message(workers, self.started)) from None
                results[futures[future]] = result
                if on_result is not None:
                    on_result(futures[future], result)
        finally:
            for future in futures:
                future.cancel()
        return [results[index] for index in range(len(jobs))]


@contextmanager
def _started_jobs_folder() -> Iterator[Path]:
    """A folder where each worker writes the label of the job it is running, under its pid: what
    names the job of a worker that dies (the pool itself does not say which job it ran)."""
    folder = Path(tempfile.mkdtemp(prefix="rnnforecast-jobs-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _caller_script_hidden() -> Iterator[None]:
    """While the workers start: a spawned worker runs the caller's main script again unless it
    is guarded by `if __name__ == "__main__"`; the jobs are rnnforecast's own functions, so the
    workers are given an empty main module instead."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


_started_folder: Path | None = None


def _start_worker(threads: int, started: str) -> None:
    """Runs once in each new worker process: its share of threads, and where it says what it
    runs. Ctrl-C reaches the whole process group; the parent stops the workers itself."""
    global _started_folder
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _started_folder = Path(started)
    pin_threads(threads)


def _run_in_worker(label: str, function: Callable[[Any], Any], argument: Any) -> Any:
    marker = None if _started_folder is None else _started_folder / str(os.getpid())
    if marker is not None:
        marker.write_text(label, encoding="utf-8")
    result = function(argument)
    if marker is not None:
        marker.unlink(missing_ok=True)
    return result


def pin_threads(threads: int) -> None:
    """Give this process's TensorFlow `threads` threads (before it runs anything; later, a
    no-op: TensorFlow fixes its thread pools when it first runs an operation)."""
    from rnnforecast.backend import import_tensorflow

    tf = import_tensorflow()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass


def _death_message(workers: dict[int, Any], started: Path) -> str:
    """Which job's worker died, and how, from the workers' marker files and exit codes."""
    running = {
        int(marker.name): marker.read_text(encoding="utf-8")
        for marker in started.iterdir()
        if marker.name.isdigit()
    }
    for process in workers.values():
        process.join(timeout=5)  # the pool stops the others once one died
    codes = {pid: process.exitcode for pid, process in workers.items()}
    # The pool terminates the other workers (SIGTERM) once one died; the dead one ended otherwise.
    dead = [pid for pid in running if codes.get(pid) not in (-signal.SIGTERM, None)]
    chosen = dead or list(running)
    how = ""
    if len(dead) == 1 and (codes[dead[0]] or 0) < 0:
        name = signal.Signals(-codes[dead[0]]).name
        how = f" (killed by {name}, e.g. by the out-of-memory killer)"
    elif len(dead) == 1:
        how = f" (exit code {codes[dead[0]]})"
    jobs = " or ".join(running[pid] for pid in sorted(chosen)) or "a job"
    return (
        f"a worker process died{how} while running {jobs}; the other jobs were stopped and "
        "nothing was written. Run the same command again to resume with the finished work; "
        "lower `execution.workers` (--workers) if memory ran out."
    )


def _stop(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Stop every worker now: after an error or Ctrl-C their results are not wanted."""
    pool.shutdown(wait=False, cancel_futures=True)
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=10)


# --- Ray ----------------------------------------------------------------------------------------


class _Ray(Executor):
    def parallel(self, jobs: int) -> bool:
        return jobs > 1

    def __init__(self, ray: Any, workers: int, threads: int) -> None:
        self.ray = ray
        self.workers = workers
        self.remote = ray.remote(num_cpus=1, max_retries=0)(_run_on_ray)
        self.threads = threads

    @classmethod
    @contextmanager
    def opened(cls, settings: ExecutionConfig, jobs: int) -> Iterator[_Ray]:
        ray = import_ray()
        with _ray_session(ray, settings) as capacity:
            workers = min(settings.workers or capacity, jobs)
            local = settings.address is None and not os.environ.get(RAY_ADDRESS_VARIABLE)
            yield cls(ray, workers, threads_per_worker(workers) if local else 1)

    def run(self, jobs: Sequence[Job], on_result: ResultListener | None = None) -> list[Any]:
        waiting = list(enumerate(jobs))
        running: dict[Any, int] = {}
        results: dict[int, Any] = {}
        try:
            while waiting or running:
                while waiting and len(running) < self.workers:
                    index, job = waiting.pop(0)
                    reference = self.remote.remote(self.threads, job.function, job.argument)
                    running[reference] = index
                [done], _ = self.ray.wait(list(running), num_returns=1)
                index = running.pop(done)
                results[index] = _ray_result(self.ray, done, jobs[index].label)
                if on_result is not None:
                    on_result(index, results[index])
        except BaseException:
            for reference in running:
                self.ray.cancel(reference, force=True)
            raise
        return [results[index] for index in range(len(jobs))]


def import_ray() -> Any:
    """Ray, imported only when the ray backend is used (an optional extra)."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "`execution.backend: ray` needs Ray, which is not installed. Install it with "
            "`pip install 'rnnforecast[ray]'`, or use `backend: processes`."
        ) from None
    return ray


@contextmanager
def _ray_session(ray: Any, settings: ExecutionConfig) -> Iterator[int]:
    """Connected to the cluster (`address`, RAY_ADDRESS) or to a local one started here (with
    `workers` CPUs); yields the CPUs it has. A session the caller opened is used as it is."""
    if ray.is_initialized():
        yield max(1, int(ray.cluster_resources().get("CPU", 1)))
        return
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.ERROR,
    }
    address = settings.address or os.environ.get(RAY_ADDRESS_VARIABLE)
    if address is None:
        options["num_cpus"] = settings.workers or cpu_count()
    where = f"the Ray cluster at {address!r}" if address else "a local Ray cluster"
    advice = "Check `execution.address` (--address) or RAY_ADDRESS, or use `backend: processes`."
    try:
        _check_reachable(address)
        ray.init(address=address, **options)
    except (ConnectionError, OSError, RuntimeError, ValueError) as error:
        raise WorkerError(
            f"could not start or reach {where}: {str(error).splitlines()[0]}. {advice}"
        ) from None
    try:
        yield max(1, int(ray.cluster_resources().get("CPU", 1)))
    finally:
        ray.shutdown()


def _check_reachable(address: str | None) -> None:
    """Fail fast on a `host:port` nobody listens at: Ray itself retries for minutes, which a
    scheduled job should not spend waiting."""
    if address is None or address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # a form Ray resolves itself
    with socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS):
        pass


_pinned = False


def _run_on_ray(threads: int, function: Callable[[Any], Any], argument: Any) -> Any:
    """A job in a Ray worker: pin its threads the first time (workers are reused), then run."""
    global _pinned
    if not _pinned:
        pin_threads(threads)
        _pinned = True
    return function(argument)


def _ray_result(ray: Any, reference: Any, label: str) -> Any:
    """A finished job's result; the job's own error as it was raised; a dead worker named."""
    try:
        return ray.get(reference)
    except ray.exceptions.RayTaskError as error:
        cause = getattr(error, "cause", None)
        if isinstance(cause, BaseException):
            raise cause from None
        raise
    except ray.exceptions.RayError as error:
        raise WorkerError(
            f"the Ray worker running {label} died ({type(error).__name__}: "
            f"{str(error).splitlines()[0]}); the other jobs were stopped and nothing was "
            "written. Run the same command again to resume with the finished work."
        ) from None
