"""Staged source: what ``git commit`` is about to record, the index against HEAD, added lines only.

Each staged file is scanned whole, as staged, so line numbers are the staged file's and a secret split
over an unchanged and an added line is still seen; only sightings on an added line are kept (or whose
pair, such as the secret key beside an unchanged key ID, is on one). Renames are followed, so a file
that only moved adds nothing. Unstaged edits are never read.

This is the pre-commit hook's path, where every millisecond is paid on every commit, so it asks the
``git`` that is running the hook rather than loading pygit2 (whose import alone costs about a third of
the hook's budget). git's machine formats are read, never its patch text: ``diff --raw -z`` names the
files and blobs, the ``@@`` hunk headers of a zero-context diff give the added lines, and ``cat-file
--batch`` the contents. git honours ``GIT_DIR`` and ``GIT_INDEX_FILE`` itself, so a hook run by
``git commit -a`` or ``git commit PATH`` sees the index that commit will write.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from secretguard.baseline import DEFAULT_BASELINE
from secretguard.content import EarlierContent
from secretguard.errors import SourceError
from secretguard.findings import Hit
from secretguard.provenance import FileAt, Provenance, StagedBlob
from secretguard.sources import Chunk, Inventory

GITLINK_MODE = b"160000"
HUNK = re.compile(rb"^@@ -[0-9,]+ \+([0-9]+)(?:,([0-9]+))? @@", re.MULTILINE)
DIFF = ["diff", "--cached", "--patch-with-raw", "-z", "--unified=0", "--inter-hunk-context=0", "--find-renames",
        "--no-abbrev", "--diff-filter=ACMRT", "--submodule=short", "--no-color", "--no-ext-diff", "--no-textconv",
        "--no-relative"]
"""What the index adds to HEAD (or to nothing, before the first commit), deletions and conflicts left out;
every option that user configuration could change is given, so the output has one shape."""

LineRanges = list[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class StagedFile:
    """A staged file's content and which of its lines (1-based, inclusive ranges) the commit adds."""

    path: str
    data: bytes
    added: LineRanges | None
    """None when git cannot tell lines apart (it takes the file for binary)."""
    before: str | None = None
    """The blob HEAD holds for it (at its old path when it moved); None for a new file, or a file named whole."""

    def by_lines(self, hit: Hit) -> bool:
        """Whether the sighting is in the file's own text as git diffs it, so its added lines tell."""
        origin = hit.origin
        return self.added is not None and origin.path == self.path and not origin.encoding and not origin.binary

    def adds(self, hit: Hit) -> bool:
        """Whether the commit adds this sighting (one :meth:`by_lines`): its secret is on an added line, or its
        pair's secret is."""
        first = hit.origin.line or 1
        last = first + hit.secret.count("\n")
        if any(start <= last and first <= end for start, end in self.added or ()):
            return True
        return hit.pair is not None and hit.pair.secret.encode("utf-8", "surrogateescape") in self._added_text()

    def _added_text(self) -> bytes:
        lines = self.data.split(b"\n")
        return b"\n".join(b"\n".join(lines[start - 1:end]) for start, end in self.added or ())


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, check=False)
    except OSError as exc:
        raise SourceError(f"cannot run git: {exc.strerror or exc}") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = said[-1].removeprefix("fatal: ") if said else f"exit code {done.returncode}"
        if "not a git repository" in reason:
            raise SourceError(f"{cwd}: not a git repository")
        if "must be run in a work tree" in reason:
            raise SourceError(f"{cwd}: a bare repository has nothing staged")
        raise SourceError(f"{cwd}: git {args[0]} failed: {reason}")
    return done.stdout


def open_staged(path: Path) -> Path:
    """The top of the work tree holding ``path`` (where ``.secretguard.yaml`` and the baseline live)."""
    if not path.is_dir():
        raise SourceError(f"{path}: no such directory")
    return Path(_git(path, "rev-parse", "--show-toplevel").decode("utf-8", "surrogateescape").strip())


def default_baseline(top: Path) -> Path | None:
    """``.secretguard-baseline.json`` in the directory ``top`` (the top of a work tree), when there is one."""
    path = top / DEFAULT_BASELINE
    return path if path.is_file() else None


def _changes(top: Path) -> list[tuple[bytes, str, LineRanges | None, str | None]]:
    """(blob OID, path, added line ranges, HEAD's blob OID or None) of each staged file that may add lines."""
    raw, _, patch = _git(top, *DIFF).partition(b"\0\0diff --git ")
    fields = raw.split(b"\0")
    entries = []
    i = 0
    while i < len(fields) and fields[i].startswith(b":"):
        _old_mode, new_mode, old_oid, new_oid, status = fields[i][1:].split()
        moved = status[:1] in b"RC"  # renames and copies name both paths
        before = None if old_oid.strip(b"0") == b"" else old_oid.decode("ascii")
        entries.append((new_oid, new_mode, fields[i + 2] if moved else fields[i + 1], before))
        i += 3 if moved else 2
    sections = patch.split(b"\ndiff --git ") if patch else []
    if len(sections) != len(entries):
        raise SourceError(f"{top}: unexpected `git diff` output ({len(entries)} files, {len(sections)} patches)")
    changes = []
    for (oid, mode, path, before), section in zip(entries, sections, strict=True):
        hunks = [(int(m[1]), int(m[1]) + int(m[2] if m[2] is not None else 1) - 1) for m in HUNK.finditer(section)]
        added: LineRanges | None = [(first, last) for first, last in hunks if last >= first]
        if not hunks and (b"\nBinary files " in section or b"\nGIT binary patch" in section):
            added = None
        if mode != GITLINK_MODE and added != []:
            changes.append((oid, path.decode("utf-8", "backslashreplace"), added, before))
    return changes


def staged_files(top: Path, max_file_size: int, inventory: Inventory) -> list[StagedFile]:
    """Every staged file that adds lines, with the added line ranges; oversized files are listed in ``inventory``."""
    changes = _changes(top)
    if not changes:
        return []
    sizes = _git(top, "cat-file", "--batch-check=%(objectsize)",
                 stdin=b"".join(change[0] + b"\n" for change in changes))
    wanted = []
    for (oid, path, added, before), blob_size in zip(changes, sizes.split(), strict=True):
        if int(blob_size) > max_file_size:
            inventory.skip(path, f"larger than {max_file_size} bytes", fails=False)
        else:
            wanted.append((oid, path, added, before))
    out = _git(top, "cat-file", "--batch", stdin=b"".join(change[0] + b"\n" for change in wanted))
    files: list[StagedFile] = []
    at = 0
    for _oid, path, added, before in wanted:
        header_end = out.index(b"\n", at)
        size = int(out[at:header_end].split()[2])
        data = out[header_end + 1:header_end + 1 + size]
        at = header_end + 1 + size + 1  # the content is followed by a newline
        files.append(StagedFile(path, data, added, before))
    return files


def named_files(top: Path, paths: list[str], max_file_size: int, inventory: Inventory) -> list[StagedFile]:
    """The files at ``paths`` (relative to ``top``), read whole from the work tree, every line counting.

    What the pre-commit framework passes: the staged files at commit time (it sets unstaged edits aside first),
    every tracked file under ``pre-commit run --all-files``. Oversized files are listed in ``inventory``; a named
    file that cannot be read is an error, since it would otherwise pass unseen.
    """
    files: list[StagedFile] = []
    for name in paths:
        path = top / name
        if not path.is_file():  # a symlink to a directory, or to nothing: no content of its own to scan
            continue
        try:
            size = path.stat().st_size
            if size > max_file_size:
                inventory.skip(name, f"larger than {max_file_size} bytes", fails=False)
                continue
            data = path.read_bytes()
        except OSError as exc:
            raise SourceError(f"{name}: cannot read: {exc.strerror or exc}") from None
        files.append(StagedFile(name, data, None))
    return files


@dataclass
class StagedSource:
    """The change staged in the work tree ``top``: each staged file whole; only hits on added lines are kept.

    With ``paths`` (what the pre-commit framework passes), those files are scanned whole instead. git hands
    over every staged file at once, so the items are the files themselves: this source is read in the driver
    (the commit hook starts no worker).
    """

    top: Path
    max_file_size: int
    paths: list[str] | None = None
    _files: dict[str, StagedFile] = field(default_factory=dict)
    _earlier: dict[str, EarlierContent] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return "file files" if self.paths else "staged files"

    @property
    def target(self) -> str:
        return str(self.top)

    def items(self, inventory: Inventory) -> Iterator[tuple[StagedFile, int]]:
        files = (named_files(self.top, self.paths, self.max_file_size, inventory) if self.paths
                 else staged_files(self.top, self.max_file_size, inventory))
        for staged in files:
            self._files[staged.path] = staged
            yield staged, len(staged.data)

    def read(self, item: StagedFile) -> Iterator[Chunk]:
        where = FileAt(item.path, repo=str(self.top)) if self.paths else StagedBlob(str(self.top), item.path)
        yield Chunk(item.data, where)

    def describe(self, item: StagedFile) -> str:
        return item.path

    def refine(self, provenance: Provenance, hits: list[Hit]) -> list[Hit]:
        """The sightings the commit adds: on added lines where git tells lines apart, else (a binary, decoded
        text, an archive member) those whose secrets the version in HEAD does not hold."""
        staged = self._files[provenance.origin().path or ""]
        return [h for h in hits if self._adds(staged, h)]

    def _adds(self, staged: StagedFile, hit: Hit) -> bool:
        if staged.by_lines(hit):
            return staged.adds(hit)
        return staged.before is None or not self._in_head(staged).holds(hit.secrets)

    def _in_head(self, staged: StagedFile) -> EarlierContent:
        """The version of ``staged`` HEAD holds, read once (few files have hits, fewer outside plain text)."""
        assert staged.before is not None
        if staged.path not in self._earlier:
            self._earlier[staged.path] = EarlierContent([_git(self.top, "cat-file", "blob", staged.before)])
        return self._earlier[staged.path]
