"""Working-tree source: every regular file under a directory, minus ``.git``, binaries and oversized files."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from secretguard.config import RuleSelection
from secretguard.errors import SourceError
from secretguard.findings import Hit, Origin
from secretguard.rules import builtin_rules_dir
from secretguard.scanning import detector_for, scan_chunk
from secretguard.sources import Chunk, looks_binary

SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})
OWN_RULES = "secretguard's own rules, whose examples are fake secrets"
BATCH_BYTES = 4 * 1024 * 1024
BATCH_FILES = 256


@dataclass
class WalkReport:
    """What the walk saw, for the summary line: files and bytes queued, files skipped and why."""

    files: int = 0
    bytes: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _ignored_by_git(root: Path) -> Callable[[Path, bool], bool] | None:
    """A ``path -> bool`` check from the repository holding ``root``, or None outside a repository."""
    import pygit2

    try:
        repo = pygit2.Repository(pygit2.discover_repository(str(root)) or "")
    except (pygit2.GitError, KeyError, TypeError):
        return None
    workdir = Path(repo.workdir).resolve() if repo.workdir else None
    if workdir is None:
        return None

    def ignored(path: Path, is_dir: bool) -> bool:
        rel = path.resolve().relative_to(workdir).as_posix() + ("/" if is_dir else "")
        return repo.path_is_ignored(rel)

    return ignored


FileItem = tuple[str, str, int]
"""A file to scan: absolute path, path relative to the scanned root, size in bytes."""


def walk(root: Path, max_file_size: int, respect_gitignore: bool, report: WalkReport) -> Iterator[FileItem]:
    """Yield every file worth scanning under ``root``.

    Directory symlinks are followed once: a directory already visited (same device and inode) is skipped,
    so symlink loops end. The installed copy of secretguard's own rules is skipped too (a scan of a virtualenv
    would otherwise report every example in them), unless it is ``root`` itself.
    """
    if not root.exists():
        raise SourceError(f"{root}: no such file or directory")
    if root.is_file():
        yield from _file(root, root.name, max_file_size, report)
        return
    if not os.access(root, os.R_OK | os.X_OK):
        raise SourceError(f"{root}: permission denied")
    ignored = _ignored_by_git(root) if respect_gitignore else None
    own = os.stat(builtin_rules_dir())
    seen: set[tuple[int, int]] = {(own.st_dev, own.st_ino)}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=None):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen and dirpath != str(root):
            if (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino):
                report.skipped.append((Path(dirpath).relative_to(root).as_posix(), OWN_RULES))
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        base = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in SKIPPED_DIRS and not (ignored and ignored(base / d, True))
        )
        for name in sorted(filenames):
            path = base / name
            if ignored and ignored(path, False):
                continue
            yield from _file(path, path.relative_to(root).as_posix(), max_file_size, report)


def _file(path: Path, rel: str, max_file_size: int, report: WalkReport) -> Iterator[FileItem]:
    try:
        st = path.stat()
    except OSError:
        report.skipped.append((rel, "unreadable"))
        return
    if not path.is_file():
        return
    if st.st_size > max_file_size:
        report.skipped.append((rel, f"larger than {max_file_size} bytes"))
        return
    report.files += 1
    report.bytes += st.st_size
    yield str(path), rel, st.st_size


def batches(files: Iterator[FileItem]) -> Iterator[list[FileItem]]:
    """Group files into batches of a few MB so each worker task is worth sending."""
    batch: list[FileItem] = []
    size = 0
    for item in files:
        batch.append(item)
        size += item[2]
        if size >= BATCH_BYTES or len(batch) >= BATCH_FILES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def scan_file_batch(selection: RuleSelection, batch: list[FileItem]) -> list[Hit]:
    """Worker task: read and scan each file of the batch; unreadable and binary files are passed over."""
    detector = detector_for(selection)
    hits: list[Hit] = []
    for path, rel, _size in batch:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        if looks_binary(data):
            continue
        hits.extend(scan_chunk(detector, Chunk(data, Origin(source="file", path=rel))))
    return hits
