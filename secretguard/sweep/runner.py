"""One task per repository, run in a local process pool or on a Ray cluster; results come back to the driver.

A task mirrors its repository (URLs only), scans the blobs the store has not seen, places the hits, applies
the user's allowlist, validates AWS keys when asked, and sends back a redacted :class:`RepoRecord`: no plaintext
secret leaves the worker. The driver alone writes the store.

What a task may skip arrives in two parts: a large snapshot of the store's clean blobs (sorted raw OIDs), shared
once per backend (a file every local worker maps, or one object in Ray's object store), and a small set of OIDs
in the task itself (clean blobs recorded since the snapshot, and matched blobs this repository has placed).
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import active_children, get_context
from pathlib import Path
from typing import Any, Protocol

from secretguard.config import Config
from secretguard.errors import SecretguardError
from secretguard.filters import user_filter
from secretguard.findings import RuleInfo, collect
from secretguard.hashing import SaltedHasher
from secretguard.sweep.mirror import ensure_mirror, is_url, object_bytes
from secretguard.sweep.store import RepoRecord, StoredFinding

OID_BYTES = 20
TEMP_PREFIX = "secretguard-sweep-"
"""A local sweep's temporary folder is ``TEMP_PREFIX`` + its process ID + ``-`` + a random suffix."""
BASE_TASK_MEMORY = 512 * 1024 * 1024
"""What a repository's task needs besides its object database: interpreter, rules, OID sets, one blob."""
RAY_MAX_RETRIES = 3


@dataclass(frozen=True)
class RepoTask:
    """One repository to scan, and what the worker needs to do it alone."""

    key: str
    source: str
    """As the user named it: a local path, or a URL (possibly with credentials, so never shown)."""
    cache_dir: str
    config: Config
    rule_info: dict[str, RuleInfo]
    validate: bool
    also_skip: frozenset[str]
    profile: str
    hasher: SaltedHasher
    """The store's: the worker keys its findings' fingerprints and hashes, so no plaintext leaves it."""
    last_refs: str | None = None
    """The refs digest of the last successful scan: while it is unchanged there is nothing new to scan."""
    size_bytes: int | None = None
    """The repository's object database size at the last scan, if known: sizes the task's memory request."""
    placed: frozenset[str] = frozenset()
    """Matched blobs this repository has placed (they are in ``also_skip`` too)."""
    located_commits: frozenset[str] = frozenset()
    """The commits of this repository's stored locations: the scan tells which no ref reaches any more."""

    @property
    def memory(self) -> int:
        return BASE_TASK_MEMORY + (self.size_bytes or 0)


class KnownBlobs:
    """Sorted, concatenated raw OIDs (the store's clean blobs), searched in place without copying them."""

    def __init__(self, data: Any) -> None:
        self.data = memoryview(data).cast("B")
        self.count = len(self.data) // OID_BYTES

    def __contains__(self, oid_hex: str) -> bool:
        if len(oid_hex) != 2 * OID_BYTES:
            return False
        key = bytes.fromhex(oid_hex)
        data, lo, hi = self.data, 0, self.count
        while lo < hi:
            mid = (lo + hi) // 2
            if data[mid * OID_BYTES:(mid + 1) * OID_BYTES].tobytes() < key:
                lo = mid + 1
            else:
                hi = mid
        return lo < self.count and data[lo * OID_BYTES:(lo + 1) * OID_BYTES].tobytes() == key


def refs_digest(repo_path: Path, profile: str) -> str:
    """A digest of ``profile`` and every ref's target: equal digests mean the same reachable history."""
    import pygit2

    from secretguard.sources.git import open_repository

    repo = open_repository(repo_path)
    h = hashlib.sha256(profile.encode() + b"\n")
    for name in sorted(repo.listall_references()):
        try:
            target = str(repo.references[name].resolve().target)
        except (KeyError, pygit2.GitError):
            target = "(dangling)"
        h.update(f"{name} {target}\n".encode("utf-8", "surrogateescape"))
    if repo.head_is_detached:
        h.update(f"HEAD {repo.head.target}\n".encode())
    return h.hexdigest()


def scan_repo(task: RepoTask, known: KnownBlobs) -> RepoRecord:
    """The task: mirror, scan what is new, place and filter the hits, validate if asked; a failure is a record too."""
    from secretguard.pipeline import Validation, finish_findings, scan_hits
    from secretguard.sources.git import GitSource

    started = time.monotonic()
    path = Path(task.key)
    try:
        if is_url(task.source):
            path = ensure_mirror(task.source, Path(task.cache_dir))
        refs = refs_digest(path, task.profile)
        if refs == task.last_refs and not task.validate:
            return RepoRecord(key=task.key, size_bytes=object_bytes(path), refs_sha256=refs,
                              seconds=time.monotonic() - started)
        source = GitSource(str(path), task.config.max_file_size, repo_label=task.key,
                           skip_blobs=lambda oid: oid in task.also_skip or oid in known,
                           watch_commits=task.located_commits)
        raw = scan_hits(source, task.config.rules)
        hits, matched = raw.hits, set(source.matched_blobs)
        if source.unreachable_commits and task.placed:
            # History was rewritten: a placed blob may now be reached through other commits; place those again.
            again = GitSource(str(path), task.config.max_file_size, repo_label=task.key,
                              skip_blobs=lambda oid: oid not in task.placed)
            hits = hits + scan_hits(again, task.config.rules).hits
            matched |= again.matched_blobs
        unread = raw.summary.unread_error()
        if unread is not None:
            raise SecretguardError(f"{task.key}: {unread}")
        findings = collect(hits, task.rule_info, user_filter(task.config.allowlist))
        warnings = [] if source.history_gap is None else [f"{task.key}: history incomplete: {source.history_gap}"]
        finish_findings(findings, task.config, Validation(warn=warnings.append) if task.validate else None)
        return RepoRecord(
            key=task.key, findings=tuple(StoredFinding.redacted(f, task.hasher) for f in findings),
            scanned_blobs=tuple(source.scanned_blobs), matched_blobs=frozenset(matched),
            scanned_bytes=raw.summary.scanned_bytes, skipped_blobs=len(raw.summary.skipped),
            size_bytes=object_bytes(path), refs_sha256=refs, seconds=time.monotonic() - started,
            warnings=tuple(warnings), unreachable_commits=source.unreachable_commits,
            history_complete=source.history_gap is None)
    except SecretguardError as exc:
        error = str(exc)
    except Exception as exc:  # one repository's surprise must not end the sweep of the others
        error = f"{task.key}: {type(exc).__name__}: {exc}"
    error = " ".join(error.replace(str(path), task.key).splitlines())
    return RepoRecord(key=task.key, error=error, seconds=time.monotonic() - started)


class Runner(Protocol):
    """A backend: shares the clean-blob snapshot, runs tasks, yields each repository's record as it lands."""

    description: str

    def share(self, snapshot: bytes) -> Any: ...

    def run(self, tasks: Iterator[tuple[RepoTask, Any]]) -> Iterator[RepoRecord]: ...

    def close(self) -> None: ...


# --- local process pool ---------------------------------------------------------------------------------

def remove_stale_temp_dirs() -> None:
    """Remove this user's sweep temporary folders whose process is gone (killed by SIGKILL or the OOM killer)."""
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


_mapped: tuple[str, KnownBlobs] | None = None


def _known_from_file(path: str) -> KnownBlobs:
    """This worker's view of the snapshot file at ``path``, mapped once."""
    global _mapped
    if _mapped is None or _mapped[0] != path:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        _mapped = (path, KnownBlobs(data))
    return _mapped[1]


def _local_task(task: RepoTask, snapshot_path: str) -> RepoRecord:
    return scan_repo(task, _known_from_file(snapshot_path))


def _exit_with_parent(parent: int) -> None:
    """Pool initializer: a worker whose driver died (even by SIGKILL) exits instead of waiting forever.

    Ctrl-C reaches every process of the terminal's process group. A worker leaves it to the driver, which
    ends the workers itself, so the user sees no traceback from each of them: it starts with SIGINT blocked
    (see :meth:`LocalRunner._submit`) and from here on ignores it, while the git commands it runs do not.
    """
    signal.signal(signal.SIGINT, lambda signum, frame: None)  # a handler, unlike SIG_IGN, is not inherited
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


class LocalRunner:
    """``jobs`` worker processes on this machine, one repository each at a time."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self.description = f"local:{self.jobs}"
        remove_stale_temp_dirs()
        self._dir = tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}-")
        self._shared: list[str] = []

    def share(self, snapshot: bytes) -> str:
        """Write the snapshot to a file the workers map; older snapshots go once no queued task needs them."""
        path = os.path.join(self._dir.name, f"clean-{len(self._shared)}.oids")
        with open(path, "wb") as handle:
            handle.write(snapshot)
        self._shared.append(path)
        return path

    def _pool(self) -> ProcessPoolExecutor:
        # spawn: workers inherit none of the driver's descriptors (the store, its lock)
        return ProcessPoolExecutor(self.jobs, mp_context=get_context("spawn"),
                                   initializer=_exit_with_parent, initargs=(os.getpid(),))

    @staticmethod
    def _submit(pool: ProcessPoolExecutor, task: RepoTask, shared: str) -> Future[RepoRecord]:
        """Queue a task. The pool starts its workers here, and they inherit SIGINT blocked: a Ctrl-C while one
        is still importing would print its traceback. The driver gets a Ctrl-C that came meanwhile on return."""
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return pool.submit(_local_task, task, shared)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def run(self, tasks: Iterator[tuple[RepoTask, Any]]) -> Iterator[RepoRecord]:
        pool = self._pool()
        pending: dict[Future[RepoRecord], tuple[RepoTask, str]] = {}
        try:
            for task, shared in tasks:
                try:
                    pending[self._submit(pool, task, shared)] = (task, shared)
                except BrokenProcessPool:  # a worker died since the last drain
                    pool = yield from self._rerun_alone(pool, pending, [(task, shared)])
                while len(pending) >= 2 * self.jobs:  # one queued per worker, so none waits on the driver
                    pool = yield from self._drain(pool, pending)
            while pending:
                pool = yield from self._drain(pool, pending)
        except BaseException:  # Ctrl-C (workers ignore SIGINT), or the driver gave up: end them, not wait for them
            for worker in active_children():
                worker.terminate()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _drain(self, pool: ProcessPoolExecutor, pending: dict[Future[RepoRecord], tuple[RepoTask, str]]
               ) -> Generator[RepoRecord, None, ProcessPoolExecutor]:
        """Yield the records of the tasks that finish next (a worker that died: see :meth:`_rerun_alone`)."""
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        broken: list[tuple[RepoTask, str]] = []
        for future in done:
            task, shared = pending.pop(future)
            try:
                yield future.result()
            except BrokenProcessPool:
                broken.append((task, shared))
        if broken:
            pool = yield from self._rerun_alone(pool, pending, broken)
        needed = {shared for _, shared in pending.values()} | set(self._shared[-1:])
        for path in [p for p in self._shared if p not in needed]:
            os.unlink(path)  # a worker that mapped it keeps reading it
            self._shared.remove(path)
        return pool

    def _rerun_alone(self, pool: ProcessPoolExecutor, pending: dict[Future[RepoRecord], tuple[RepoTask, str]],
                     broken: list[tuple[RepoTask, str]]) -> Generator[RepoRecord, None, ProcessPoolExecutor]:
        """Run the ``broken`` tasks, and every pending one the broken pool took down, again, each alone in a new
        pool; returns the pool to go on with.

        A worker that dies breaks the whole pool, and every task in it fails without telling which one killed
        it; only the task that kills its worker again is recorded as failed.
        """
        for future, job in pending.items():
            try:
                record = future.result(timeout=0)
            except Exception:  # failed with the pool (or never ran): run it again
                broken.append(job)
            else:
                yield record
        pending.clear()
        pool.shutdown(wait=True, cancel_futures=True)
        pool = self._pool()
        for task, shared in broken:
            try:
                yield self._submit(pool, task, shared).result()
            except BrokenProcessPool:
                pool.shutdown(wait=True, cancel_futures=True)
                pool = self._pool()
                yield RepoRecord(key=task.key,
                                 error=f"{task.key}: the worker process died (killed, or out of memory)")
        return pool

    def close(self) -> None:
        self._dir.cleanup()


# --- Ray ---------------------------------------------------------------------------------------------------

def _ray_task(task: RepoTask, snapshot: Any) -> RepoRecord:
    return scan_repo(task, KnownBlobs(snapshot))


class RayRunner:
    """One Ray task per repository on the cluster at ``address`` ("auto": the one this machine belongs to).

    Each task declares the memory its repository needs, so the scheduler does not pack big ones together, and
    is retried by Ray when its worker or node is lost. At most ``jobs`` tasks (default: twice the cluster's
    CPUs) are in flight, so each one starts with what the store learnt from those before it.
    """

    def __init__(self, address: str | None, jobs: int = 0) -> None:
        try:
            import ray
        except ImportError:
            raise SecretguardError("--ray needs Ray: pip install 'secretguard[ray]'") from None
        self.ray = ray
        self._owned = not ray.is_initialized()
        if self._owned:
            try:
                ray.init(address=address, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise SecretguardError(f"cannot connect to the Ray cluster at '{address}': {exc}") from None
        resources = ray.cluster_resources()
        self.jobs = jobs or max(1, 2 * int(resources.get("CPU", 1)))
        self.max_memory = max((n["Resources"].get("memory", 0) for n in ray.nodes() if n.get("Alive")), default=0)
        self.description = f"ray:{address or 'local'}"
        self._remote = ray.remote(num_cpus=1, max_retries=RAY_MAX_RETRIES, retry_exceptions=False)(_ray_task)

    def share(self, snapshot: bytes) -> Any:
        import numpy

        # a numpy array is read from the object store without a copy, by every worker on a node
        return self.ray.put(numpy.frombuffer(snapshot, dtype=numpy.uint8))

    def _submit(self, task: RepoTask, shared: Any) -> Any:
        memory = min(task.memory, int(self.max_memory)) if self.max_memory else task.memory
        return self._remote.options(memory=memory, name=f"sweep {task.key}"[:100]).remote(task, shared)

    def run(self, tasks: Iterator[tuple[RepoTask, Any]]) -> Iterator[RepoRecord]:
        ray = self.ray
        pending: dict[Any, RepoTask] = {}

        def drain() -> Iterator[RepoRecord]:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                task = pending.pop(ref)
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as exc:
                    yield RepoRecord(key=task.key, error=f"{task.key}: Ray task failed after {RAY_MAX_RETRIES} "
                                                         f"retries: {type(exc).__name__}")

        try:
            for task, shared in tasks:
                pending[self._submit(task, shared)] = task
                while len(pending) >= self.jobs:
                    yield from drain()
            while pending:
                yield from drain()
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        """Disconnect, if this runner connected (a caller that initialised Ray itself stays connected)."""
        if self._owned:
            self.ray.shutdown()
