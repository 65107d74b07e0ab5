"""Working-tree source: every regular file under a directory, minus ``.git`` and files over the size limit.

Each worker reads its own files; a file it cannot read is reported with the OS error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from secretguard.errors import SourceError
from secretguard.provenance import FileAt
from secretguard.rules import builtin_rules_dir
from secretguard.sources import Chunk, Inventory, Unreadable

SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})
OWN_RULES = "secretguard's own rules, whose examples are fake secrets"


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


FileItem = tuple[str, str]
"""A file to scan: its absolute path and its path relative to the scanned root."""


@dataclass(frozen=True)
class FileSource:
    """Every file under ``root`` (or ``root`` itself, a file) up to ``max_file_size`` bytes."""

    root: Path
    max_file_size: int
    respect_gitignore: bool = False
    label: str = "files"

    @property
    def target(self) -> str:
        return str(self.root)

    def items(self, inventory: Inventory) -> Iterator[tuple[FileItem, int]]:
        return walk(self.root, self.max_file_size, self.respect_gitignore, inventory)

    def read(self, item: FileItem) -> Iterator[Chunk]:
        path, rel = item
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise Unreadable(exc.strerror or str(exc)) from None
        yield Chunk(data, FileAt(rel))

    def describe(self, item: FileItem) -> str:
        return item[1]


def walk(root: Path, max_file_size: int, respect_gitignore: bool, report: Inventory
         ) -> Iterator[tuple[FileItem, int]]:
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

    def unreadable(error: OSError) -> None:
        where = Path(error.filename or root)
        rel = where.relative_to(root).as_posix() if where.is_relative_to(root) else str(where)
        report.skip(rel or ".", error.strerror or str(error))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=unreadable):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen and dirpath != str(root):
            if (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino):
                report.skip(Path(dirpath).relative_to(root).as_posix(), OWN_RULES, fails=False)
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


def _file(path: Path, rel: str, max_file_size: int, report: Inventory) -> Iterator[tuple[FileItem, int]]:
    try:
        st = path.stat()
    except OSError as exc:
        if path.is_symlink():
            report.skip(rel, "symbolic link to nothing", fails=False)
        else:
            report.skip(rel, exc.strerror or str(exc))
        return
    if not path.is_file():
        report.skip(rel, "not a regular file (a socket, pipe or device)", fails=False)
        return
    if st.st_size > max_file_size:
        report.skip(rel, f"larger than {max_file_size} bytes", fails=False)
        return
    yield (str(path), rel), st.st_size
