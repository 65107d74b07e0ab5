"""Sources turn places (a directory, a git history, a staged change, a cloud account) into chunks of bytes.

A source never matches: :mod:`secretguard.pipeline` asks it for work items, has workers ``read`` each item
into :class:`Chunk` objects, and does the rest. A source imports nothing from the engine, the filters or
the reporters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from secretguard.findings import Hit
from secretguard.provenance import Provenance

Fields = tuple[tuple[str, str, int], ...]
"""Named values in a chunk's text: (name, value, first line), sorted by line. A hit there is placed at its name."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes to scan and where they came from; ``fields`` when the bytes are ``NAME=value`` lines; ``raw`` for
    a binary's own bytes, which the decoders pass by (set by the pipeline, not by sources)."""

    data: bytes
    provenance: Provenance
    fields: Fields = ()
    raw: bool = False


@dataclass(frozen=True, slots=True)
class Unscanned:
    """An input that was not scanned, and why. ``fails`` unless the user chose to skip it (a size limit)."""

    what: str
    reason: str
    fails: bool = True


class Unreadable(Exception):
    """Raised by :meth:`Source.read` for an item it cannot read; the message is the reason."""


@dataclass
class Inventory:
    """What enumerating a source found beyond its items: inputs passed over, and notes for the summary."""

    skipped: list[Unscanned] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    complete: bool | None = None
    """False when the place holds only part of what was asked for (a shallow clone); None where that cannot be."""

    def skip(self, what: str, reason: str, *, fails: bool = True) -> None:
        self.skipped.append(Unscanned(what, reason, fails))


class Reader(Protocol):
    """What a worker needs of a source: turn one item into chunks, and name an item."""

    def read(self, item: Any) -> Iterator[Chunk]: ...

    def describe(self, item: Any) -> str:
        """The item in one line, for the summary (a path, a blob at a path)."""
        ...


class Source(Protocol):
    """A place to scan.

    ``items`` runs in the driver and yields ``(item, size in bytes)``; ``read`` runs in a worker (the source
    object is inherited by forked workers) and turns one item into chunks, raising :class:`Unreadable` when
    it cannot. A source may also define ``refine(provenance, hits) -> hits``, called in the driver for every
    chunk with hits, for what only it understands (git places a blob at the commit that introduced it), and
    ``reader() -> Reader``, a small picklable object that reads its items where the source itself cannot
    travel (to a Ray worker: a source holding an open repository). Whatever reads the items may define
    ``read_ahead(items)``, called in a worker with a batch of items it is about to ``read`` in that order (git
    asks for the batch's blobs at once).
    """

    @property
    def label(self) -> str:
        """What the items are, for the summary line ("files", "blobs")."""
        ...

    @property
    def target(self) -> str:
        """What was scanned, for the report's title."""
        ...

    def items(self, inventory: Inventory) -> Iterable[tuple[Any, int]]: ...

    def read(self, item: Any) -> Iterator[Chunk]: ...

    def describe(self, item: Any) -> str:
        """The item in one line, for the summary (a path, a blob at a path)."""
        ...


def reader(source: Source) -> Reader:
    """What reads the source's items in a worker: its own ``reader()``, or the source itself."""
    make = getattr(source, "reader", None)
    return source if make is None else make()


def refine(source: Source, provenance: Provenance, hits: list[Hit]) -> list[Hit]:
    """The source's own refinement of the hits of one chunk, if it has one."""
    hook = getattr(source, "refine", None)
    return hits if hook is None else list(hook(provenance, hits))
