"""Fan-out: one function over many tasks, in this process, in local worker processes, or on a Ray cluster.

Every scan sends its work through an :class:`Executor`: the pipeline sends batches of a source's items, the
sweep sends repositories. An executor yields each task with its outcome as the task finishes, and a task whose
worker died (killed, out of memory, its node lost) comes back as :class:`Lost`, never as an exception: the
caller records it as that task's failure and goes on with the others. An exception the function itself raises
reaches the caller, as it would had the task run inline.

Large read-only data the tasks need (the sweep's snapshot of clean blobs) is shared once with :meth:`share`
(a file each local worker maps, or one object in Ray's object store) and read in a worker with
:func:`open_shared`.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from secretguard.errors import SecretguardError

if TYPE_CHECKING:
    import tempfile
    from concurrent.futures import Future, ProcessPoolExecutor

# shutil, tempfile, mmap and logging are imported where they are used: the commit hook's scan never needs them

T = TypeVar("T")
R = TypeVar("R")

TEMP_PREFIX = "secretguard-sweep-"
"""Local workers' shared files live in a folder named ``TEMP_PREFIX`` + the driver's process ID + ``-`` + a
random suffix (only the sweep shares data, hence the name)."""
RAY_MAX_RETRIES = 3
WORKER_DIED = "the worker process died (killed, or out of memory)"


@dataclass(frozen=True)
class Work(Generic[T, R]):
    """What to run: ``function(context, task)`` for each task.

    ``context`` reaches each worker once (by fork, by pickling, or through Ray's object store); tasks travel one
    by one. ``memory`` (bytes a task needs) and ``name`` (for process listings) help a cluster's scheduler.
    """

    function: Callable[[Any, T], R]
    context: Any = None
    memory: Callable[[T], int] | None = None
    name: Callable[[T], str] | None = None


@dataclass(frozen=True)
class Lost:
    """A task that never finished: its worker died, or the cluster gave up on it. ``reason`` is one line."""

    reason: str


class Executor(Protocol):
    """Runs :class:`Work` over tasks somewhere; yields ``(task, result or Lost)`` in the order tasks finish."""

    description: str

    def run(self, work: Work[T, R], tasks: Iterable[T]) -> Iterator[tuple[T, R | Lost]]: ...

    def share(self, data: bytes) -> Any:
        """A handle to ``data`` that tasks carry and read with :func:`open_shared`."""
        ...

    def release(self, handle: Any) -> None:
        """``handle`` is no longer needed by any task still to run."""
        ...

    def close(self) -> None: ...


# --- in this process -------------------------------------------------------------------------------------

class Inline:
    """Every task here, one after the other: for small inputs, one job, or where processes cannot be forked."""

    description = "inline"

    def run(self, work: Work[T, R], tasks: Iterable[T]) -> Iterator[tuple[T, R | Lost]]:
        for task in tasks:
            yield task, work.function(work.context, task)

    def share(self, data: bytes) -> Any:
        return data

    def release(self, handle: Any) -> None:
        pass

    def close(self) -> None:
        pass


# --- local worker processes ------------------------------------------------------------------------------

def remove_stale_temp_dirs() -> None:
    """Remove this user's shared-data folders whose process is gone (killed by SIGKILL or the OOM killer)."""
    import shutil
    import tempfile
    from pathlib import Path

    for path in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*-*"):
        pid = path.name.removeprefix(TEMP_PREFIX).partition("-")[0]
        try:
            mine = path.is_dir() and path.stat().st_uid == os.getuid()
        except OSError:
            continue
        if mine and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


_context: Any = None


def _start_worker(parent: int, context: Any) -> None:
    """Pool initializer: keep the run's context, and exit when the driver dies (even by SIGKILL).

    Ctrl-C reaches every process of the terminal's process group. A worker leaves it to the driver, which
    ends the workers itself, so the user sees no traceback from each of them: it starts with SIGINT blocked
    (see :meth:`Processes._submit`) and from here on ignores it, while the commands it runs do not.
    """
    global _context
    _context = context
    signal.signal(signal.SIGINT, lambda signum, frame: None)  # a handler, unlike SIG_IGN, is not inherited
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _call(function: Callable[[Any, T], R], task: T) -> R:
    return function(_context, task)


class Processes:
    """``jobs`` worker processes on this machine, one task each at a time.

    ``start="fork"``: workers inherit the context (and whatever the driver loaded, the detector included)
    without pickling it; ``"spawn"``: they inherit none of the driver's descriptors (a store and its lock).
    A worker that dies breaks the whole pool; the tasks it took down run again, each alone (:meth:`_rerun_alone`).
    """

    def __init__(self, jobs: int, start: str = "spawn") -> None:
        self.jobs = max(1, jobs)
        self.start = start
        self.description = f"local:{self.jobs}"
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._shared = 0

    def share(self, data: bytes) -> str:
        """Write ``data`` to a file the workers map."""
        import tempfile

        if self._dir is None:
            remove_stale_temp_dirs()
            self._dir = tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}-")
        path = os.path.join(self._dir.name, f"shared-{self._shared}")
        self._shared += 1
        with open(path, "wb") as handle:
            handle.write(data)
        return path

    def release(self, handle: str) -> None:
        os.unlink(handle)  # a worker that mapped it keeps reading it

    def close(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()

    def _pool(self, work: Work[Any, Any]) -> ProcessPoolExecutor:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        return ProcessPoolExecutor(self.jobs, mp_context=get_context(self.start), initializer=_start_worker,
                                   initargs=(os.getpid(), work.context))

    @staticmethod
    def _submit(pool: ProcessPoolExecutor, work: Work[T, R], task: T) -> Future[R]:
        """Queue a task. The pool starts its workers here, and they inherit SIGINT blocked: a Ctrl-C while one
        is still importing would print its traceback. The driver gets a Ctrl-C that came meanwhile on return."""
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return pool.submit(_call, work.function, task)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def run(self, work: Work[T, R], tasks: Iterable[T]) -> Iterator[tuple[T, R | Lost]]:
        from concurrent.futures.process import BrokenProcessPool
        from multiprocessing import active_children

        pool = self._pool(work)
        pending: dict[Future[R], T] = {}
        try:
            for task in tasks:
                try:
                    pending[self._submit(pool, work, task)] = task
                except BrokenProcessPool:  # a worker died since the last drain
                    pool = yield from self._rerun_alone(pool, work, pending, [task])
                while len(pending) >= 2 * self.jobs:  # one queued per worker, so none waits on the driver
                    pool = yield from self._drain(pool, work, pending)
            while pending:
                pool = yield from self._drain(pool, work, pending)
        except BaseException:  # Ctrl-C (workers ignore SIGINT), or the caller gave up: end them, not wait for them
            for worker in active_children():
                worker.terminate()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _drain(self, pool: ProcessPoolExecutor, work: Work[T, R], pending: dict[Future[R], T]
               ) -> Generator[tuple[T, R | Lost], None, ProcessPoolExecutor]:
        """Yield the tasks that finish next (a worker that died: see :meth:`_rerun_alone`)."""
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        broken: list[T] = []
        for future in done:
            task = pending.pop(future)
            try:
                yield task, future.result()
            except BrokenProcessPool:
                broken.append(task)
        if broken:
            pool = yield from self._rerun_alone(pool, work, pending, broken)
        return pool

    def _rerun_alone(self, pool: ProcessPoolExecutor, work: Work[T, R], pending: dict[Future[R], T],
                     broken: list[T]) -> Generator[tuple[T, R | Lost], None, ProcessPoolExecutor]:
        """Run the ``broken`` tasks, and every pending one the broken pool took down, again, each alone in a new
        pool; returns the pool to go on with.

        A worker that dies breaks the whole pool, and every task in it fails without telling which one killed
        it; only the task that kills its worker again is :class:`Lost`.
        """
        from concurrent.futures.process import BrokenProcessPool

        for future, task in pending.items():
            try:
                result = future.result(timeout=0)
            except Exception:  # failed with the pool (or never ran): run it again
                broken.append(task)
            else:
                yield task, result
        pending.clear()
        pool.shutdown(wait=True, cancel_futures=True)
        pool = self._pool(work)
        for task in broken:
            try:
                yield task, self._submit(pool, work, task).result()
            except BrokenProcessPool:
                pool.shutdown(wait=True, cancel_futures=True)
                pool = self._pool(work)
                yield task, Lost(WORKER_DIED)
        return pool


_mapped: tuple[str, memoryview] | None = None


def open_shared(handle: Any) -> Any:
    """In a worker: the bytes behind a :meth:`Executor.share` handle, without copying them."""
    global _mapped
    import mmap

    if isinstance(handle, bytes):
        return handle
    if isinstance(handle, str):  # a local file, mapped once per worker
        if _mapped is None or _mapped[0] != handle:
            with open(handle, "rb") as file:
                size = os.fstat(file.fileno()).st_size
                data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
            _mapped = (handle, memoryview(data))
        return _mapped[1]
    import ray

    return ray.get(handle)  # a numpy array, read from the node's object store without a copy


# --- Ray ---------------------------------------------------------------------------------------------------

def _ray_call(function: Callable[[Any, T], R], context: Any, task: T) -> R:
    return function(context, task)


class RayCluster:
    """Tasks on the Ray cluster at ``address`` ("auto": the one this machine belongs to), or, inside a task
    already running on Ray, on the cluster it runs on.

    Each task declares the memory it needs (capped to the largest node), so the scheduler does not pack big
    ones together, and is retried by Ray when its worker or node is lost. At most ``jobs`` tasks (default:
    twice the CPUs) are in flight. ``this_node``: tasks run on this machine only (they read its files).
    """

    def __init__(self, address: str | None = None, jobs: int = 0, *, this_node: bool = False) -> None:
        import logging

        try:
            import ray
        except ImportError:
            raise SecretguardError("--ray needs Ray: pip install 'secretguard[ray]'") from None
        self.ray = ray
        self._owned = not ray.is_initialized()
        if self._owned:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report, no cloud-metadata probe
            try:
                ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise SecretguardError(f"cannot connect to the Ray cluster at '{address}': {exc}") from None
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        self._node = ray.get_runtime_context().get_node_id() if this_node else None
        if self._node is not None:
            nodes = [n for n in nodes if n.get("NodeID") == self._node]
        cpus = sum(int(n["Resources"].get("CPU", 0)) for n in nodes)
        self.jobs = jobs or max(1, 2 * cpus)
        self.max_memory = max((n["Resources"].get("memory", 0) for n in nodes), default=0)
        self.description = f"ray:{address or 'local'}"
        self._remote: Any = ray.remote(num_cpus=1, max_retries=RAY_MAX_RETRIES, retry_exceptions=False)(_ray_call)

    def share(self, data: bytes) -> Any:
        import numpy

        # a numpy array is read from the object store without a copy, by every worker on a node
        return self.ray.put(numpy.frombuffer(data, dtype=numpy.uint8))

    def release(self, handle: Any) -> None:
        pass  # Ray frees an object once no task holds its reference

    def _submit(self, work: Work[T, R], context: Any, task: T) -> Any:
        options: dict[str, Any] = {}
        if work.memory is not None:
            memory = work.memory(task)
            options["memory"] = min(memory, int(self.max_memory)) if self.max_memory else memory
        if work.name is not None:
            options["name"] = work.name(task)[:100]
        if self._node is not None:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(self._node, soft=False)
        return self._remote.options(**options).remote(work.function, context, task)

    def run(self, work: Work[T, R], tasks: Iterable[T]) -> Iterator[tuple[T, R | Lost]]:
        ray = self.ray
        context = ray.put(work.context)
        pending: dict[Any, T] = {}

        def drain() -> Iterator[tuple[T, R | Lost]]:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                task = pending.pop(ref)
                try:
                    yield task, ray.get(ref)
                except ray.exceptions.RayTaskError as exc:  # the function raised: as it would here
                    raise (exc.cause or exc) from None
                except ray.exceptions.RayError as exc:
                    yield task, Lost(f"Ray task failed after {RAY_MAX_RETRIES} retries: {type(exc).__name__}")

        try:
            for task in tasks:
                pending[self._submit(work, context, task)] = task
                while len(pending) >= self.jobs:
                    yield from drain()
            while pending:
                yield from drain()
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        """Disconnect, if this executor connected (a caller that initialised Ray itself stays connected)."""
        if self._owned:
            self.ray.shutdown()
