"""One task per repository, run through an executor (local processes or a Ray cluster); records come back to
the driver.

A task mirrors its repository (URLs only), scans the blobs the store has not seen, places the hits, applies
the user's allowlist, validates AWS keys when asked, and sends back a redacted :class:`RepoRecord`: no plaintext
secret leaves the worker. The driver alone writes the store.

What a task may skip arrives in two parts: a large snapshot of the store's clean blobs (sorted raw OIDs), shared
once through the executor (:meth:`~secretguard.executors.Executor.share`), and a small set of OIDs in the task
itself (clean blobs recorded since the snapshot, and matched blobs this repository has placed).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secretguard.config import Config
from secretguard.errors import SecretguardError
from secretguard.executors import Executor, Lost, RayCluster, Work, open_shared
from secretguard.filters import user_filter
from secretguard.findings import RuleInfo, collect
from secretguard.hashing import SaltedHasher
from secretguard.sweep.mirror import ensure_mirror, is_url, object_bytes
from secretguard.sweep.store import RepoRecord, redacted

OID_BYTES = 20
BASE_TASK_MEMORY = 512 * 1024 * 1024
"""What a repository's task needs besides its object database: interpreter, rules, OID sets, one blob."""


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


def scan_repo(task: RepoTask, known: KnownBlobs, blobs: Executor | None = None) -> RepoRecord:
    """The task: mirror, scan what is new, place and filter the hits, validate if asked; a failure is a record too.

    ``blobs``: where a big repository's blobs fan out (default: scanned here)."""
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
        raw = scan_hits(source, task.config.rules, executor=blobs)
        hits, matched = raw.hits, set(source.matched_blobs)
        if source.unreachable_commits and task.placed:
            # History was rewritten: a placed blob may now be reached through other commits; place those again.
            again = GitSource(str(path), task.config.max_file_size, repo_label=task.key,
                              skip_blobs=lambda oid: oid not in task.placed)
            hits = hits + scan_hits(again, task.config.rules, executor=blobs).hits
            matched |= again.matched_blobs
        unread = raw.summary.unread_error()
        if unread is not None:
            raise SecretguardError(f"{task.key}: {unread}")
        findings = collect(hits, task.rule_info, user_filter(task.config.allowlist))
        warnings = [] if source.history_gap is None else [f"{task.key}: history incomplete: {source.history_gap}"]
        finish_findings(findings, task.config, Validation(warn=warnings.append) if task.validate else None)
        return RepoRecord(
            key=task.key, findings=tuple(redacted(f, task.hasher) for f in findings),
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


def _run_task(blobs_on_ray: bool, job: tuple[RepoTask, Any]) -> RepoRecord:
    """A worker's side of :func:`repository_work`."""
    task, shared = job
    blobs = RayCluster(this_node=True) if blobs_on_ray else None
    try:
        return scan_repo(task, KnownBlobs(open_shared(shared)), blobs)
    finally:
        if blobs is not None:
            blobs.close()


def repository_work(executor: Executor) -> Work[tuple[RepoTask, Any], RepoRecord]:
    """One task per repository, carrying the handle of the clean-blob snapshot it may skip.

    On Ray, a repository's task sends its blobs on as tasks of their own, to the CPUs of the node that holds
    its mirror, so one big repository does not keep a cluster waiting; local workers scan their blobs alone,
    as every core already has a repository of its own.
    """
    return Work(_run_task, isinstance(executor, RayCluster), memory=lambda job: job[0].memory,
                name=lambda job: f"sweep {job[0].key}")


def record_of(job: tuple[RepoTask, Any], outcome: RepoRecord | Lost) -> RepoRecord:
    """The repository's record; a task that never finished is a failed one."""
    if isinstance(outcome, Lost):
        return RepoRecord(key=job[0].key, error=f"{job[0].key}: {outcome.reason}")
    return outcome
