"""Staged source: what ``git commit`` is about to record, the index against HEAD, added lines only.

Each staged file is scanned whole, as staged, so line numbers are the staged file's and a secret split
over an unchanged and an added line is still seen; only matches touching an added line are kept.
Renames are followed, so a file that only moved adds nothing. Unstaged edits are never read.
The repository is opened the way git hooks expect (``GIT_DIR``, ``GIT_INDEX_FILE``), so a hook of
``git commit -a`` or ``git commit PATH`` sees the index that commit will write.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import DeltaStatus, DiffFind, RepositoryOpenFlag

from secretguard.baseline import DEFAULT_BASELINE
from secretguard.config import Config
from secretguard.errors import SourceError
from secretguard.engine import Detector, Match
from secretguard.filters import user_filter
from secretguard.findings import Origin, collect
from secretguard.report import ScanSummary
from secretguard.rules import load_rules
from secretguard.scanning import hits_from
from secretguard.scans import ScanResult, rule_info
from secretguard.sources import looks_binary
from secretguard.sources.git import GITLINK_MODE, open_repository

REGEX_ONLY_BELOW = 1024 * 1024
"""Staged changes smaller than this many bytes skip Hyperscan: building its database costs more than it saves."""

LineRanges = list[tuple[int, int]]
SKIPPED_STATUSES = (DeltaStatus.DELETED, DeltaStatus.UNMODIFIED, DeltaStatus.CONFLICTED)


@dataclass(frozen=True, slots=True)
class StagedFile:
    """A staged file's content and which of its lines (1-based, inclusive ranges) the commit adds."""

    path: str
    data: bytes
    added: LineRanges | None
    """None when every line is new (a new file)."""

    def touches_added(self, match: Match) -> bool:
        if self.added is None:
            return True
        spans = [(m.line, m.line + m.secret.count(b"\n")) for m in (match, match.pair) if m is not None]
        return any(start <= last and first <= end for first, last in spans for start, end in self.added)


def open_staged(path: Path) -> pygit2.Repository:
    """The repository holding ``path``, honouring ``GIT_DIR`` and ``GIT_INDEX_FILE`` as git does in hooks."""
    repo = open_repository(path, RepositoryOpenFlag.FROM_ENV)
    if repo.is_bare:
        raise SourceError(f"{path}: a bare repository has nothing staged")
    return repo


def top_level(repo: pygit2.Repository) -> Path:
    """The top of the work tree, where ``.secretguard.yaml`` and the baseline live."""
    return Path(repo.workdir)


def default_baseline(top: Path) -> Path | None:
    """``.secretguard-baseline.json`` in the directory ``top`` (the top of a work tree), when there is one."""
    path = top / DEFAULT_BASELINE
    return path if path.is_file() else None


def staged_files(repo: pygit2.Repository, max_file_size: int, skipped: list[tuple[str, str]]) -> Iterator[StagedFile]:
    """Every staged file that adds lines, with the added line ranges; binary and oversized files are skipped."""
    index = repo.index
    if repo.head_is_unborn:
        for entry in index:
            if entry.mode != GITLINK_MODE:
                yield from _file(repo, entry.path, entry.id, None, max_file_size, skipped)
        return
    diff = index.diff_to_tree(repo.head.peel(pygit2.Tree), context_lines=0, interhunk_lines=0)
    diff.find_similar(DiffFind.FIND_RENAMES)
    for i, delta in enumerate(diff.deltas):
        new = delta.new_file
        if delta.status in SKIPPED_STATUSES or new.mode == GITLINK_MODE:
            continue
        added: LineRanges | None = None  # a new file, or one git diffs as binary: all of it is checked
        if delta.status != DeltaStatus.ADDED and not (patch := diff[i]).delta.is_binary:
            added = [(h.new_start, h.new_start + h.new_lines - 1) for h in patch.hunks if h.new_lines > 0]
            if not added:  # only deletions, or a pure rename
                continue
        yield from _file(repo, new.path, new.id, added, max_file_size, skipped)


def _file(repo: pygit2.Repository, path: str, oid: pygit2.Oid, added: LineRanges | None, max_file_size: int,
          skipped: list[tuple[str, str]]) -> Iterator[StagedFile]:
    blob = repo[oid]
    if blob.size > max_file_size:
        skipped.append((path, f"larger than {max_file_size} bytes"))
        return
    data = blob.data
    if not looks_binary(data):
        yield StagedFile(path, data, added)


def scan_staged(repo: pygit2.Repository, config: Config, baseline: frozenset[str] = frozenset()) -> ScanResult:
    """Scan the staged change: findings on added lines, through the allowlist and the baseline."""
    skipped: list[tuple[str, str]] = []
    try:
        files = list(staged_files(repo, config.max_file_size, skipped))
    except pygit2.GitError as exc:
        raise SourceError(f"{repo.path}: cannot read the index: {exc}") from None
    total = sum(len(f.data) for f in files)
    findings = []
    if files:
        rules = load_rules(config.rules.extra_files, config.rules.disabled)
        detector = Detector(rules, use_hyperscan=None if total >= REGEX_ONLY_BELOW else False)
        hits = []
        for f in files:
            matches = [m for m in detector.scan(f.data) if f.touches_added(m)]
            hits.extend(hits_from(matches, Origin(source="staged", repo=str(top_level(repo)), path=f.path)))
        findings = collect(hits, rule_info(config), user_filter(config.allowlist, baseline))
    summary = ScanSummary(target=str(top_level(repo)), source="staged files", scanned=len(files),
                          scanned_bytes=total, skipped=tuple(skipped))
    return ScanResult(findings, summary)
