"""Org-wide sweep: many repositories, one store, incremental by blob, run locally or on a Ray cluster.

:func:`sweep` is the driver: it turns the user's list into tasks (:mod:`~secretguard.sweep.runner`), mirrors
nothing itself, and is the single writer of the store (:mod:`~secretguard.sweep.store`), one transaction per
repository. A blob scanned once, in any repository, is not scanned again under the same rules and filters;
a run cut short is resumed by the next sweep of the same list, and repositories it finished are not redone.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from secretguard.config import Config
from secretguard.errors import SecretguardError
from secretguard.executors import Executor
from secretguard.findings import Finding
from secretguard.pipeline import rule_info
from secretguard.report import ScanSummary
from secretguard.rules import load_rules
from secretguard.sweep.mirror import repository_key
from secretguard.sweep.runner import RepoTask, record_of, repository_work
from secretguard.sweep.store import RepoRecord, RunInfo, RunTotals, Store

SNAPSHOT_DELTA_LIMIT = 50_000
"""Clean blobs recorded during a sweep travel with each task until there are this many; then the shared
snapshot is rebuilt from the store."""


@dataclass(frozen=True)
class SweepResult:
    run: RunInfo
    totals: RunTotals
    seconds: float


def read_inputs(sources: Sequence[str], from_file: Path | None) -> list[str]:
    """Repositories from the command line and ``--from-file`` (one per line; blank lines and ``#`` comments skipped)."""
    found = list(sources)
    if from_file is not None:
        try:
            lines = from_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SecretguardError(f"{from_file}: cannot read the repository list: {exc.strerror or exc}") from None
        found += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not found:
        raise SecretguardError("no repositories to sweep: name paths or URLs, or give --from-file")
    return found


def profile_digest(config: Config) -> str:
    """What "already scanned" is relative to: the detection part of every rule, the allowlist and the size limit.

    Change any of them and every blob counts as unscanned again. Names and severities are left out: they
    change what a report says, not what a scan finds.
    """
    h = hashlib.sha256()
    for rule in sorted(load_rules(config.rules.extra_files, config.rules.disabled), key=lambda r: r.id):
        spec = replace(rule.spec, name="", severity="", source="", examples=(), negative_examples=(),
                       references=(), description="")
        h.update(repr(spec).encode() + b"\n")
    allow = config.allowlist
    h.update(repr((allow.paths, [r.pattern for r in allow.regexes], sorted(allow.secrets_sha256),
                   sorted((hasher.salt.hex(), sorted(hashes)) for hasher, hashes in allow.secrets),
                   config.max_file_size)).encode())
    return h.hexdigest()


class _Skips:
    """What tasks may skip: the shared snapshot of clean blobs plus those recorded since it was taken.

    A snapshot is released once it has been replaced and no task that carries it is still to finish.
    """

    def __init__(self, store: Store, run: RunInfo, executor: Executor) -> None:
        self.store, self.run, self.executor = store, run, executor
        self.delta: set[str] = set()
        self.shared = executor.share(store.clean_blobs(run.profile_id))
        self.carried: Counter[Any] = Counter()

    def handed_out(self) -> Any:
        self.carried[self.shared] += 1
        return self.shared

    def add(self, shared: Any, rec: RepoRecord) -> None:
        self.carried[shared] -= 1
        self.delta.update(oid for oid in rec.scanned_blobs if oid not in rec.matched_blobs)
        if len(self.delta) > SNAPSHOT_DELTA_LIMIT:
            self.shared = self.executor.share(self.store.clean_blobs(self.run.profile_id))
            self.delta.clear()
        for old in [s for s, n in self.carried.items() if n == 0 and s is not self.shared]:
            del self.carried[old]
            self.executor.release(old)


def sweep(sources: Iterable[str], store: Store, executor: Executor, config: Config, cache_dir: Path,
          validate: bool = False, on_record: Callable[[RepoRecord], None] = lambda rec: None,
          on_total: Callable[[int], None] = lambda n: None) -> SweepResult:
    """Scan every repository in ``sources`` (paths or URLs) into ``store`` through ``executor``; failures are
    recorded, not raised.

    ``on_total`` hears how many repositories this run still has to do (fewer than given when it resumes one).
    """
    started = time.monotonic()
    if validate:
        import secretguard.aws.validate  # noqa: F401  (fail now, not in every task, if it is missing)
    named = {repository_key(source): source for source in sources}
    info = rule_info(config)
    digest = profile_digest(config)
    with store.exclusive():
        run = store.start_run(named, digest, executor.description)
        on_total(len(named.keys() - run.done))
        skips = _Skips(store, run, executor)
        hasher = store.hasher

        def tasks() -> Iterator[tuple[RepoTask, Any]]:
            for key, source in named.items():
                if key in run.done:
                    continue
                placed = frozenset() if validate else store.placed_blobs(key, run.profile_id)
                size, refs = store.repository_state(key)
                yield RepoTask(key=key, source=source, cache_dir=str(cache_dir), config=config, rule_info=info,
                               validate=validate, also_skip=frozenset(skips.delta) | placed, profile=digest,
                               last_refs=refs, size_bytes=size, placed=placed,
                               located_commits=store.located_commits(key), hasher=hasher), skips.handed_out()

        for job, outcome in executor.run(repository_work(executor), tasks()):
            rec = record_of(job, outcome)
            store.record(run, rec)
            skips.add(job[1], rec)
            on_record(rec)
        store.finish_run(run.id)
        totals = store.run_totals(run.id)
    assert totals is not None
    return SweepResult(run, totals, time.monotonic() - started)


def live_first(findings: list[Finding]) -> list[Finding]:
    """Live keys first; otherwise the order given (most severe first)."""
    return sorted(findings, key=lambda f: (f.validation or {}).get("status") != "live")


def report_from_store(store: Store, include_triaged: bool = False) -> tuple[list[Finding], ScanSummary]:
    """The store's findings, live first, and a summary whose notes are totals per repository, rule and status."""
    findings = live_first(store.findings(include_triaged))
    per_repo: Counter[str] = Counter()
    live_per_repo: Counter[str] = Counter()
    for finding in findings:
        live = (finding.validation or {}).get("status") == "live"
        for repo in {o.repo or "" for o in finding.locations}:
            per_repo[repo] += 1
            live_per_repo[repo] += live
    per_rule = Counter(f.rule for f in findings)
    per_status = Counter((f.validation or {}).get("status", "not validated") for f in findings)
    notes = [f"{'all' if include_triaged else 'open'} findings by validation status: "
             + ", ".join(f"{status} {n}" for status, n in sorted(per_status.items(), key=lambda kv: kv[0] != "live"))
             ] if findings else []
    notes += [f"rule {rule}: {n}" for rule, n in per_rule.most_common()]
    notes += [f"repository {repo}: {n} finding{'s' if n != 1 else ''}" + (f", {live_per_repo[repo]} live" if
              live_per_repo[repo] else "") for repo, n in sorted(per_repo.items(), key=lambda kv: (-kv[1], kv[0]))]
    last = store.run_totals()
    if last is not None:
        notes.append(f"last run #{last.id} ({last.status}, started {last.started_at}): {last.repositories} "
                     f"repositories, {len(last.failed)} failed, {last.blobs_scanned} blobs scanned")
    incomplete = store.incomplete_repositories()
    notes += [f"repository {key}: history incomplete (a shallow or partial clone): only what it holds was scanned"
              for key in incomplete]
    failed = tuple((key, error.removeprefix(f"{key}: ")) for key, error in store.failed_repositories())
    summary = ScanSummary(target=str(store.path), source="repositories", scanned=store.repository_count(),
                          scanned_bytes=store.bytes_scanned(), skipped=failed, notes=tuple(notes),
                          history_complete=not incomplete)
    return findings, summary
