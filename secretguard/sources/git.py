"""Git history source: every unique blob reachable from the refs (or every blob in the object database), once.

1. Enumerate: go through the commits oldest first (reverse topological order); the first commit in which a
   blob appears is the commit that introduced it, at that path. ``git log`` lists what each commit changed
   (:func:`logged_changes`); without git, for a range (``exclude``) and in a partial clone, the trees are
   walked here instead, skipping trees already seen.
2. The pipeline scans each new blob exactly once, in worker processes that open their own repository, a few
   MB per task; oversized blobs are passed over. Blobs are read in delta order (see :func:`delta_order`).
3. Only blobs with hits are placed (:meth:`GitSource.refine`): the introducing commit's author and date are
   looked up, and a secret the parent already held at that path is dropped (it is reported where it was
   introduced).

Memory holds the OID sets and one (commit, path) per blob, never the blobs' contents.
"""

from __future__ import annotations

import os
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import cast

import pygit2
from pygit2.enums import ObjectType, RepositoryOpenFlag, SortMode

from secretguard.content import EarlierContent
from secretguard.errors import SourceError
from secretguard.findings import Hit
from secretguard.provenance import GitBlob
from secretguard.sources import Chunk, Inventory, Unreadable
from secretguard.sources.git_objects import ObjectReader

DEFAULT_MAX_BLOB_SIZE = 10 * 1024 * 1024
BlobItem = tuple[str, str, int]
"""A blob to scan: hex OID, the path it was introduced at (or its OID when no commit holds it), size."""


def open_repository(path: str | Path, flags: RepositoryOpenFlag = RepositoryOpenFlag.DEFAULT) -> pygit2.Repository:
    """Open the repository at (or above) ``path``: work tree, bare or mirror clone; one-line errors.

    Objects read are not hashed again to check them, as git does not when it reads either: that check
    took most of the time spent reading a server-packed history. Inside a pre-receive hook, the objects of
    the push being received (still in git's quarantine directory) are readable too.
    """
    if not os.path.exists(path):
        raise SourceError(f"{path}: no such file or directory")
    pygit2.settings.enable_strict_hash_verification(False)
    try:
        repo = pygit2.Repository(str(path), flags)
        quarantine = os.environ.get("GIT_QUARANTINE_PATH")
        if quarantine:
            repo.odb.add_disk_alternate(quarantine)
        return repo
    except pygit2.GitError as exc:
        if "not found" in str(exc).lower():
            raise SourceError(f"{path}: not a git repository") from None
        raise SourceError(f"{path}: cannot open git repository: {exc}") from None


def _peel(repo: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Object | None:
    """The object a ref finally points at, through annotated tags; None when it is missing."""
    obj = repo.get(oid)
    while isinstance(obj, pygit2.Tag):
        obj = repo.get(obj.target)
    return obj


def _where(repo: pygit2.Repository) -> str:
    """The repository as errors name it: its work tree, or its git directory when it has none."""
    return (repo.workdir or repo.path).rstrip("/")


def _resolve(repo: pygit2.Repository, rev: str) -> pygit2.Object:
    where = _where(repo)
    try:
        obj = repo.revparse_single(rev)
    except (KeyError, ValueError, pygit2.GitError):
        raise SourceError(f"{where}: unknown revision '{rev}'") from None
    peeled = _peel(repo, obj.id)
    if peeled is None:
        raise SourceError(f"{where}: revision '{rev}' points at a missing object")
    return peeled


def _ref_targets(repo: pygit2.Repository) -> Iterator[tuple[str, pygit2.Oid]]:
    """Every ref's name and target (branches, tags, remotes, notes, HEAD), and every stash entry, not only the last.

    A ref that does not parse is an error; a symbolic ref to nothing (HEAD before the first commit) is passed over.
    """
    names = repo.listall_references()
    for name in _loose_refs(repo) - set(names):  # libgit2 leaves out loose refs it cannot parse
        raise SourceError(f"{_where(repo)}: ref {name} is corrupt (git fsck tells more)")
    for name in [*names, "HEAD"]:
        try:
            ref = repo.references[name]
        except pygit2.GitError:
            raise SourceError(f"{_where(repo)}: ref {name} is corrupt (git fsck tells more)") from None
        try:
            target = ref.resolve().target
        except KeyError:  # a dangling symbolic ref, or HEAD before the first commit
            continue
        if isinstance(target, pygit2.Oid):
            yield name, target
    for index, stash in enumerate(repo.listall_stashes()):
        yield f"stash@{{{index}}}", stash.commit_id


def _loose_refs(repo: pygit2.Repository) -> set[str]:
    """The names of the loose ref files under ``refs/`` of the repository's (common) git directory."""
    git_dir = Path(repo.path)
    common = git_dir / "commondir"
    if common.is_file():  # a linked work tree keeps its refs in the main git directory
        git_dir = git_dir / common.read_text(encoding="utf-8").strip()
    refs = git_dir / "refs"
    return {f"refs/{path.relative_to(refs).as_posix()}" for path in refs.rglob("*") if path.is_file()}


def history_gap(repo: pygit2.Repository) -> str | None:
    """Why ``repo`` lacks part of its history: a shallow clone, or a partial clone whose promisor remote
    holds the objects it left out; None for a complete repository."""
    if repo.is_shallow:
        return "shallow clone: the commits before its shallow boundary are not in it"
    if _is_partial(repo):
        return "partial clone: the objects its promisor remote kept back are not in it"
    return None


def _is_partial(repo: pygit2.Repository) -> bool:
    """A partial clone: objects may be missing by design, left with a promisor remote."""
    config = repo.config
    return "extensions.partialclone" in config or any(
        entry.name.startswith("remote.") and entry.name.endswith(".promisor") and config.get_bool(entry.name)
        for entry in config)


Introduction = tuple[pygit2.Oid | None, str]
"""The commit that introduced a blob (None when no walked commit holds it) and the path it had there."""
BELOW_RANGE: Introduction = (None, "")


class History:
    """The blobs of a set of commits, each with the commit and path that introduced it.

    The walk starts at ``commits`` (plus ``trees`` and ``blobs`` that tags point at or that no commit holds);
    commits reachable from ``hidden`` are left out, and so is every blob already in the snapshots just below
    the walked range, so a range scan reports only what the range added.
    """

    def __init__(self, repo: pygit2.Repository, commits: Sequence[pygit2.Oid], hidden: Sequence[pygit2.Oid] = (),
                 trees: Sequence[pygit2.Oid] = (), blobs: Sequence[pygit2.Oid] = (),
                 watch: Iterable[str] = (), on_missing: Callable[[pygit2.Oid, str], None] | None = None) -> None:
        self.repo = repo
        self.on_missing = on_missing
        """Told of each tree the object database lacks (a partial clone); None: a missing tree raises KeyError."""
        self.unreached: set[pygit2.Oid] = {pygit2.Oid(hex=c) for c in watch}
        """Watched commits the walk has not reached (yet)."""
        self.introduced: dict[pygit2.Oid, Introduction] = {}
        """Every blob seen, with where it first appears (:data:`BELOW_RANGE` for blobs the range did not add)."""
        self.more_paths: dict[pygit2.Oid, list[str]] = defaultdict(list)
        """Further paths at which the introducing commit holds the same blob."""
        self._seen_trees: set[pygit2.Oid] = set()
        self._starts = (commits, hidden, trees, blobs)

    def blobs(self) -> Iterator[tuple[pygit2.Oid, str]]:
        """Yield each new blob once, with its path, oldest commit first."""
        commits, hidden, trees, blobs = self._starts
        walker = self.repo.walk(None, SortMode.TOPOLOGICAL | SortMode.REVERSE)
        for oid in commits:
            walker.push(oid)
        for oid in hidden:
            walker.hide(oid)
        walked: Iterable[pygit2.Commit] = walker
        if hidden:
            walked = list(walker)
            self._seed_below(walked)
        unreached = self.unreached
        logged = None if hidden or self.on_missing is not None else logged_changes(self.repo.path, commits)
        if logged is not None:
            yield from self._introduced_by(logged)
            walked = ()
        for commit in walked:
            unreached.discard(commit.id)
            found: list[tuple[pygit2.Oid, str]] = []
            self._tree(commit.tree_id, b"", commit.id, found)
            yield from found
        for tree_id in trees:
            found = []
            self._tree(tree_id, b"", None, found)
            yield from found
        for oid in blobs:
            if oid not in self.introduced:  # a blob no walked commit holds is known by its OID
                self.introduced[oid] = (None, str(oid))
                yield oid, str(oid)

    def _introduced_by(self, logged: list[tuple[str, str, bytes]]) -> Iterator[tuple[pygit2.Oid, str]]:
        """The blobs of ``git log``'s changes, in its order: the first change that brings a blob introduces it."""
        introduced, unreached = self.introduced, self.unreached
        commit: pygit2.Oid | None = None
        commit_hex = ""
        for changed_in, blob_hex, raw_path in logged:
            if changed_in != commit_hex:
                commit_hex, commit = changed_in, pygit2.Oid(hex=changed_in)
                unreached.discard(commit)
            oid = pygit2.Oid(hex=blob_hex)
            known = introduced.get(oid)
            if known is None:
                path = _path(raw_path)
                introduced[oid] = (commit, path)
                yield oid, path
            elif known[0] == commit:
                self.more_paths[oid].append(_path(raw_path))

    def _tree(self, tree_id: pygit2.Oid, prefix: bytes, commit: pygit2.Oid | None,
              found: list[tuple[pygit2.Oid, str]]) -> None:
        if tree_id in self._seen_trees:
            return
        self._seen_trees.add(tree_id)
        introduced = self.introduced
        try:
            tree = cast(pygit2.Tree, self.repo[tree_id])
        except KeyError:
            if self.on_missing is None:
                raise
            self.on_missing(tree_id, _path(prefix) or "/")
            return
        for entry in tree:
            kind = entry.__class__  # far cheaper than .filemode, which builds an enum per entry
            if kind is pygit2.Tree:
                self._tree(entry.id, prefix + (entry.raw_name or b"") + b"/", commit, found)
            elif kind is pygit2.Blob:  # not a submodule's commit
                oid = entry.id
                known = introduced.get(oid)
                if known is None:
                    path = _path(prefix + (entry.raw_name or b""))
                    introduced[oid] = (commit, path)
                    found.append((oid, path))
                elif commit is not None and known[0] == commit:
                    self.more_paths[oid].append(_path(prefix + (entry.raw_name or b"")))

    def _seed_below(self, in_range: list[pygit2.Commit]) -> None:
        """Mark every tree and blob of the commits just below the walked range as already known."""
        inside = {c.id for c in in_range}
        stack: list[pygit2.Oid] = []
        for parent in {p for c in in_range for p in c.parent_ids if p not in inside}:
            commit = self.repo.get(parent)
            if isinstance(commit, pygit2.Commit):  # a shallow clone lacks the commits below its boundary
                stack.append(commit.tree_id)
        while stack:
            tree_id = stack.pop()
            if tree_id in self._seen_trees:
                continue
            self._seen_trees.add(tree_id)
            for entry in cast(pygit2.Tree, self.repo[tree_id]):
                if isinstance(entry, pygit2.Tree):
                    stack.append(entry.id)
                elif isinstance(entry, pygit2.Blob):
                    self.introduced[entry.id] = BELOW_RANGE


def logged_changes(git_dir: str, commits: Sequence[pygit2.Oid]) -> list[tuple[str, str, bytes]] | None:
    """Every blob each commit reachable from ``commits`` brings, as (commit, blob, path) in hex, oldest commit
    first; None without git (or when it fails), for the walk to do it instead.

    A commit brings the blobs where its tree differs from its parent's (from every parent's, for a merge),
    which is exactly where a blob never seen before can appear. ``git log`` compares the trees in C, about
    four times faster than walking them here, and holds the trees in its own process, not in this one.
    """
    command = ["git", "--no-replace-objects", f"--git-dir={git_dir}", "log", "--stdin", "--topo-order",
               "--reverse", "--root", "-c", "--raw", "--no-renames", "--no-abbrev", "-z", "--format=%H"]
    try:
        done = subprocess.run(command, input="".join(f"{oid}\n" for oid in commits).encode(),
                              capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    changes: list[tuple[str, str, bytes]] = []
    commit = ""
    fields = iter(done.stdout.split(b"\0"))
    for field_ in fields:
        field_ = field_.lstrip(b"\n")  # a commit's first change follows its ID on a new line
        if field_.startswith(b":"):  # ":old-mode(s) new-mode old-oid(s) new-oid status", then the path
            path = next(fields)
            parents = len(field_) - len(field_.lstrip(b":"))
            words = field_.split()
            mode, blob = words[parents], words[2 * parents + 1]
            if mode != b"160000" and blob.strip(b"0"):  # neither a submodule nor a deletion
                changes.append((commit, blob.decode(), path))
        elif field_:
            commit = field_.decode()
    return changes


def _path(raw: bytes) -> str:
    """A tree path for display: UTF-8, with undecodable bytes shown as escapes."""
    return raw.decode("utf-8", "backslashreplace")


def _peel_ref(repo: pygit2.Repository, name: str, target: pygit2.Oid) -> pygit2.Object:
    """The object ref ``name`` finally points at; a missing one is an error naming the ref and the object."""
    obj = _peel(repo, target)
    if obj is None:
        raise SourceError(f"{_where(repo)}: ref {name} points at missing object {target} "
                          f"(corrupt repository; git fsck tells more)")
    return obj


def _starts(repo: pygit2.Repository, refs: Sequence[str], all_objects: bool
            ) -> tuple[list[pygit2.Oid], list[pygit2.Oid], list[pygit2.Oid]]:
    """Commits, trees and blobs to start from: ``refs``, or every ref; with ``all_objects`` the whole ODB."""
    named: dict[pygit2.Oid, str] = {}
    for name, target in ([] if refs else _ref_targets(repo)):
        named.setdefault(target, name)
    targets = [_resolve(repo, r) for r in refs] if refs else [_peel_ref(repo, name, t) for t, name in named.items()]
    starts: dict[ObjectType, list[pygit2.Oid]] = defaultdict(list)
    for obj in targets:
        starts[obj.type].append(obj.id)
    if all_objects:
        odb = repo.odb
        for oid in odb:
            kind = odb.read_header(oid)[0]
            if kind in (ObjectType.COMMIT, ObjectType.BLOB):
                starts[kind].append(oid)
    return starts[ObjectType.COMMIT], starts[ObjectType.TREE], starts[ObjectType.BLOB]


def object_layout(git_dir: str, oids: Sequence[str]) -> dict[str, tuple[int, str]] | None:
    """Each object's size and the object it is stored as a delta of (all zeros when it is stored whole), as
    ``git cat-file`` reports them; None without git. Objects git lacks are not in the answer.

    Reading sizes here spares this process from touching the pack: libgit2 finds a delta's size only by
    inflating the start of it, which maps the whole pack into this process's memory.
    """
    listing = "".join(f"{oid}\n" for oid in oids)
    try:
        done = subprocess.run(["git", "--no-replace-objects", f"--git-dir={git_dir}", "cat-file",
                               "--batch-check=%(objectname) %(objectsize) %(deltabase)"],
                              input=listing, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    layout: dict[str, tuple[int, str]] = {}
    for line in done.stdout.splitlines():
        words = line.split()
        if len(words) == 3:  # not "<oid> missing"
            layout[words[0]] = (int(words[1]), words[2])
    return layout


def delta_order(items: list[BlobItem], bases: dict[str, str]) -> list[BlobItem]:
    """``items`` in the order libgit2 and git read fastest: each blob after the blob it is stored as a delta of
    (``bases``, see :func:`object_layout`), depth first along the delta chains; without bases, as given.

    Both keep a small cache of delta bases, so reading a server-packed history (chains 50 deltas deep) in
    commit order rebuilds most chains from their start: reading in delta order was 7 times faster. Contiguous
    runs of this order go to each worker.
    """
    by_oid = {item[0]: item for item in items}
    children: dict[str, list[str]] = defaultdict(list)
    for oid in by_oid:
        if oid in bases:
            children[bases[oid]].append(oid)
    stack = [oid for base, kids in children.items() if base not in by_oid for oid in reversed(kids)]
    ordered: list[BlobItem] = []
    while stack:
        oid = stack.pop()
        ordered.append(by_oid.pop(oid))
        stack.extend(reversed(children.get(oid, ())))
    return ordered + list(by_oid.values())  # anything git did not list, as given


_reader: ObjectReader | None = None


def _objects(git_dir: str) -> ObjectReader:
    """This process's reader of ``git_dir``'s blobs, opened once (one repository at a time)."""
    global _reader
    if _reader is None or _reader.git_dir != git_dir:
        if _reader is not None:
            _reader.close()
        _reader = ObjectReader(git_dir, lambda path: open_repository(path).odb)
    return _reader


@dataclass(frozen=True)
class BlobReader:
    """Reads blobs of the repository at ``git_dir`` by ID, and names them under ``repo_label``; small enough to
    send to a worker on a cluster (the repository is opened there, once per process)."""

    git_dir: str
    repo_label: str

    def read_ahead(self, items: Sequence[BlobItem]) -> None:
        """Ask for a worker's batch of blobs at once, before :meth:`read` takes them one by one in this order."""
        _objects(self.git_dir).expect([oid for oid, _, _ in items], sum(size for _, _, size in items))

    def read(self, item: BlobItem) -> Iterator[Chunk]:
        oid_hex, path, _ = item
        try:
            data = _objects(self.git_dir).read(oid_hex)
        except (KeyError, ValueError, pygit2.GitError) as exc:
            raise Unreadable(f"cannot read object: {exc}") from None
        yield Chunk(data, GitBlob(self.repo_label, oid_hex, path))

    def describe(self, item: BlobItem) -> str:
        return f"{item[1]} (blob {item[0]})"


def _identity(commit: pygit2.Commit) -> tuple[str, str]:
    """``Name <email>`` and the ISO-8601 date (with its offset) of a commit's author."""
    author = commit.author
    when = datetime.fromtimestamp(author.time, timezone(timedelta(minutes=author.offset)))
    return f"{author.name} <{author.email}>", when.isoformat()


def _member_of(hit: Hit, blob: GitBlob) -> str:
    """The archive member a hit of ``blob`` was found in (``!config/.env``), or "" for the blob itself."""
    return (hit.origin.path or "")[len(blob.path):]


def _new_in(commit: pygit2.Commit, path: str, hits: list[Hit]) -> list[Hit]:
    """The hits whose secret (with its pair) no parent of ``commit`` already held at ``path``: in its bytes, or in
    its decoded text or archive members, where the hit may have been found."""
    before = []
    for parent in commit.parents:
        try:
            entry = parent.tree[path]
        except KeyError:
            continue
        if isinstance(entry, pygit2.Blob):
            try:
                before.append(entry.data)
            except KeyError:  # left out of a partial clone
                continue
    if not before:
        return hits
    earlier = EarlierContent(before)
    return [h for h in hits if not earlier.holds(h.secrets)]


@dataclass
class GitSource:
    """Every unique blob reachable from a repository's refs, each once, placed where it was introduced.

    ``refs`` limits the walk to these revisions (default: every ref, HEAD and every stash entry);
    ``exclude`` leaves out what is reachable from these revisions (``--since``, a push's remote side).
    ``all_objects`` adds every commit and blob in the object database, reachable or not.
    ``skip_blobs(oid_hex)`` returning True means the blob was scanned elsewhere already.
    Of ``watch_commits`` (hex IDs), those the walk does not reach are listed in ``unreachable_commits``.
    ``label`` names the repository in locations (default: ``repo_path``).
    """

    repo_path: str
    max_blob_size: int = DEFAULT_MAX_BLOB_SIZE
    refs: Sequence[str] = ()
    exclude: Sequence[str] = ()
    all_objects: bool = False
    skip_blobs: Callable[[str], bool] | None = None
    watch_commits: Iterable[str] = ()
    label: str = "blobs"
    repo_label: str | None = None
    scanned_blobs: list[str] = field(default_factory=list)
    matched_blobs: set[str] = field(default_factory=set)
    """Blobs with hits that were placed at a commit (or are held by none)."""
    unreachable_commits: frozenset[str] = frozenset()
    """Of the commits the caller asked to watch, those the walk did not reach (history was rewritten)."""
    history_gap: str | None = None
    """Why the repository does not hold its whole history (a shallow or partial clone); None when it does."""
    _git_dir: str = ""
    _repo: pygit2.Repository | None = field(default=None, repr=False)
    _history: History | None = field(default=None, repr=False)

    @property
    def target(self) -> str:
        return str(self.repo_path)

    def items(self, inventory: Inventory) -> list[tuple[BlobItem, int]]:
        repo = self._repo = open_repository(self.repo_path)
        self._git_dir = repo.path
        self.history_gap = history_gap(repo)
        inventory.complete = self.history_gap is None
        if self.history_gap is not None:
            inventory.notes.append(f"{self.repo_path}: history incomplete: {self.history_gap}")

        def left_out(oid: pygit2.Oid, path: str) -> None:
            inventory.skip(str(oid), f"not in this partial clone, at {path}", fails=False)

        on_missing = left_out if _is_partial(repo) else None
        with self._reading():
            commits, trees, blobs = _starts(repo, self.refs, self.all_objects)
            hidden = [obj.id for obj in (_resolve(repo, r) for r in self.exclude)]
            history = self._history = History(repo, commits, hidden, trees, blobs, self.watch_commits, on_missing)
            new = [(str(oid), path) for oid, path in history.blobs()
                   if self.skip_blobs is None or not self.skip_blobs(str(oid))]
            self.unreachable_commits = frozenset(str(oid) for oid in history.unreached)
            # In a partial clone, asking git about a blob it lacks would fetch it: libgit2 sizes them instead.
            layout = None if on_missing is not None else object_layout(repo.path, [oid for oid, _ in new])
            sized = list(self._sized(repo, new, layout, inventory, on_missing))
            if on_missing is not None:
                layout = object_layout(repo.path, [oid for oid, _, _ in sized])
            ordered = delta_order(sized, {oid: base for oid, (_, base) in (layout or {}).items()})
        return [(item, item[2]) for item in ordered]

    def _sized(self, repo: pygit2.Repository, blobs: list[tuple[str, str]],
               layout: dict[str, tuple[int, str]] | None, inventory: Inventory,
               on_missing: Callable[[pygit2.Oid, str], None] | None) -> Iterator[BlobItem]:
        """The blobs worth scanning with their sizes (from ``layout``, else from libgit2); oversized ones are
        listed in ``inventory``. A blob the object database lacks goes to ``on_missing``, or raises KeyError
        when that is None.
        """
        odb = repo.odb
        for oid_hex, path in blobs:
            try:
                size = layout[oid_hex][0] if layout is not None else odb.read_header(oid_hex)[1]
            except KeyError:
                if on_missing is None:
                    raise KeyError(oid_hex) from None
                on_missing(pygit2.Oid(hex=oid_hex), path)
                continue
            if size > self.max_blob_size:
                inventory.skip(oid_hex, f"larger than {self.max_blob_size} bytes, at {path}", fails=False)
                continue
            self.scanned_blobs.append(oid_hex)
            yield oid_hex, path, size

    def reader(self) -> BlobReader:
        """What reads this repository's blobs in any process (the walk's state stays here)."""
        return BlobReader(self._git_dir, self.repo_label or str(self.repo_path))

    def read(self, item: BlobItem) -> Iterator[Chunk]:
        return self.reader().read(item)

    def describe(self, item: BlobItem) -> str:
        return self.reader().describe(item)

    def refine(self, provenance: GitBlob, hits: list[Hit]) -> list[Hit]:
        """Give the blob's hits the commit, path, author and date that introduced the blob.

        A hit whose secret the commit's parent already held at that path is dropped: it was introduced
        earlier, and is reported there (or, in a range scan, before the range).
        """
        assert self._repo is not None and self._history is not None, "refine before items"
        placed = self._placed(provenance, hits)
        if placed:
            self.matched_blobs.add(provenance.blob)
        return placed

    def _placed(self, provenance: GitBlob, hits: list[Hit]) -> list[Hit]:
        assert self._repo is not None and self._history is not None
        with self._reading():
            oid = pygit2.Oid(hex=provenance.blob)
            commit_id, path = self._history.introduced[oid]
            if commit_id is None:
                return [replace(h, origin=replace(h.origin, path=path + _member_of(h, provenance), commit=None))
                        for h in hits]
            commit = cast(pygit2.Commit, self._repo[commit_id])
            author, date = _identity(commit)
            placed: list[Hit] = []
            for at_path in [path, *self._history.more_paths.get(oid, ())]:
                placed.extend(replace(h, origin=replace(h.origin, path=at_path + _member_of(h, provenance),
                                                        commit=str(commit_id), author=author, date=date))
                              for h in _new_in(commit, at_path, hits))
            return placed

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Errors reading the repository as one line naming it."""
        try:
            yield
        except KeyError as exc:  # pygit2's NotFoundError too
            raise SourceError(f"{self.repo_path}: object {exc.args[0] if exc.args else ''} is missing "
                              f"(corrupt repository; git fsck tells more)") from None
        except pygit2.GitError as exc:
            raise SourceError(f"{self.repo_path}: cannot read git repository: {' '.join(str(exc).split())} "
                              f"(corrupt repository; git fsck tells more)") from None
