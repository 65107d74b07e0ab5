"""Open archives found in scanned bytes and hand out their members, within bounds a zip bomb cannot beat.

zip (and jar, war, whl, apk, nupkg: every zip by its content, whatever its name), tar, and gzip, bzip2 and
xz streams (a compressed tar counts as one archive: ``app.tgz!config/.env``) are opened with the standard
library only, recursively down to :attr:`Limits.archive_depth` levels. Everything is read in bounded blocks
through one :class:`_Budget` per input, so no member is decompressed whole before its bound is checked:

- at most :attr:`Limits.max_total_bytes` decompressed and :attr:`Limits.max_members` members per input,
  nested archives included (a bomb of nested zips shares one budget);
- a member whose decompressed size passes :attr:`Limits.max_ratio` times its compressed size (once past
  :data:`RATIO_FLOOR`) is stopped, whether its header says so up front or only its content does;
- a member larger than :attr:`Limits.max_member_bytes` is passed over, as the file walk does with big files.

What cannot be opened or read (corrupt, truncated, encrypted, an unsupported method, a bound reached) is a
:class:`NotScanned` record, never an exception.
"""

from __future__ import annotations

import io
import posixpath
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from functools import cache, partial
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import zipfile

DEFAULT_ARCHIVE_DEPTH = 3
MAX_ARCHIVE_DEPTH = 10
RATIO_FLOOR = 1024 * 1024
"""Members smaller than this once decompressed are never stopped for their ratio: small files compress freely."""
BLOCK = 256 * 1024
SEPARATOR = "!"
READS_PAST_END = 64
"""Reads a stream answers with nothing before it is a corrupt archive: a tar reader skips a member by reading
its claimed size block by block, so a header claiming 64 GiB would otherwise spin through millions of reads."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How deep to open archives and how much each input may expand to."""

    archive_depth: int = DEFAULT_ARCHIVE_DEPTH
    max_member_bytes: int = 10 * 1024 * 1024
    max_total_bytes: int = 256 * 1024 * 1024
    max_members: int = 10_000
    max_ratio: int = 100


@dataclass(frozen=True, slots=True)
class NotScanned:
    """An input or archive member that was not (fully) scanned, and why.

    ``user_limit`` marks a bound the user sets (archive depth, member size): listed, but not a failure of
    the run, like a file over ``--max-file-size``. Every other record is something that could not be read.
    """

    path: str
    reason: str
    user_limit: bool = False


@dataclass(frozen=True, slots=True)
class Leaf:
    """Bytes that are not an archive to open: ``parts`` is the input's name, then each member's name."""

    data: bytes
    parts: tuple[str, ...]
    archive_not_opened: bool = False
    """An archive left closed (depth reached, or corrupt): only its raw bytes are scanned."""


class _Unread(Exception):
    """Why a member is left unread (a bound of :class:`Limits`, encryption): ``whole_input`` when nothing more
    of the input may be read, ``user_limit`` for the member size limit (see :class:`NotScanned`)."""

    def __init__(self, reason: str, whole_input: bool = False, user_limit: bool = False) -> None:
        super().__init__(reason)
        self.whole_input, self.user_limit = whole_input, user_limit
        self.recorded = False


def _too_large(limit: int) -> _Unread:
    return _Unread(f"larger than {limit} bytes", user_limit=True)


def join(parts: tuple[str, ...]) -> str:
    """A location inside archives: ``a.tgz!app.zip!config/.env``."""
    return SEPARATOR.join(parts)


class _Budget:
    """What one input may still expand to, shared by every archive nested in it."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.bytes_left = limits.max_total_bytes
        self.members_left = limits.max_members

    def take_member(self) -> None:
        if self.members_left <= 0:
            raise _Unread(f"archive bound reached: more than {self.limits.max_members} members", whole_input=True)
        self.members_left -= 1

    def take_bytes(self, n: int) -> None:
        self.bytes_left -= n
        if self.bytes_left < 0:
            limit = self.limits.max_total_bytes
            raise _Unread(f"archive bound reached: more than {limit} bytes once decompressed", whole_input=True)


class _Metered(io.RawIOBase):
    """A decompressing stream read in bounded blocks, each charged to the budget and checked for its ratio."""

    def __init__(self, stream: IO[bytes] | io.BufferedIOBase, budget: _Budget, compressed_size: int) -> None:
        self.stream, self.budget, self.compressed_size = stream, budget, compressed_size
        self.head = b""
        """Bytes already read, to hand out again first (the start of a stream, read to tell a tar)."""
        self.produced = 0
        self.recent: deque[tuple[int, bytes]] = deque(maxlen=4)
        """The last blocks read, with their offsets: a tar reader's rejected header is among them."""
        self.reads_past_end = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.head:
            out, self.head = (self.head, b"") if size < 0 or size >= len(self.head) else (
                self.head[:size], self.head[size:])
            return out
        data = self.stream.read(BLOCK if size < 0 or size > BLOCK else size)
        if not data and size != 0:
            self.reads_past_end += 1
            if self.reads_past_end > READS_PAST_END:
                raise EOFError("a header claims more bytes than the archive holds")
        self.recent.append((self.produced, data))
        self.produced += len(data)
        ratio = self.budget.limits.max_ratio
        if self.produced > RATIO_FLOOR and self.produced > ratio * max(self.compressed_size, 1):
            raise _Unread(f"archive bound reached: expands more than {ratio} times")
        self.budget.take_bytes(len(data))
        return data

    def readall_within(self, limit: int) -> bytes:
        """Everything left, or :class:`_Unread` as soon as it passes ``limit`` bytes (a member read in one block,
        most are, is handed out as it came: no copy)."""
        blocks = [self.head] if self.head else []
        self.head = b""
        size = len(blocks[0]) if blocks else 0
        while block := self.read(BLOCK):
            size += len(block)
            if size > limit:
                raise _too_large(limit)
            blocks.append(block)
        return blocks[0] if len(blocks) == 1 else b"".join(blocks)

    def only_zeros_from(self, offset: int) -> bool:
        """Whether the stream holds nothing but NUL bytes from ``offset`` (not before the recent blocks) on."""
        if not self.recent or offset < self.recent[0][0]:
            return False
        seen = b"".join(block for _, block in self.recent)[offset - self.recent[0][0]:]
        if seen.strip(b"\0"):
            return False
        while block := self.read(BLOCK):
            if block.strip(b"\0"):
                return False
        return True


ARCHIVE_STARTS = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"\xfd7zXZ\x00", b"BZh")
"""How every archive but a tar starts (a tar says ``ustar`` at byte 257): one ``startswith`` rules them out."""


def archive_kind(data: bytes) -> str | None:
    """``zip``, ``tar``, ``gz``, ``bz2`` or ``xz`` when ``data`` starts like one, else None (a few byte compares)."""
    head = data[:6]
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "gz"
    if head == b"\xfd7zXZ\x00":
        return "xz"
    if head[:3] == b"BZh" and data[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return "bz2"
    if _is_tar(data):
        return "tar"
    return None


def _is_tar(head: bytes) -> bool:
    return head[257:262] == b"ustar"


def walk(data: bytes, name: str, limits: Limits) -> Iterator[Leaf | NotScanned]:
    """Every non-archive piece of ``data`` (itself, when it is no archive) and every member not scanned."""
    budget = _Budget(limits)
    try:
        yield from _open(data, (name,), limits.archive_depth, budget)
    except _Unread as unread:  # a whole-input bound, already recorded where it was reached
        if not unread.whole_input:
            raise


def preload_readers() -> None:
    """Import the standard library's archive readers now (they are otherwise imported on the first archive)."""
    _corrupt()


@cache
def _corrupt() -> tuple[type[Exception], ...]:
    """What the standard library's readers raise on damaged, truncated, encrypted or unsupported input.

    The readers are imported on the first archive, so the pre-commit hook's start never pays for them.
    """
    import lzma
    import tarfile
    import zipfile
    import zlib

    return (zipfile.BadZipFile, tarfile.TarError, lzma.LZMAError, zlib.error, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError)


def _open(data: bytes, parts: tuple[str, ...], depth: int, budget: _Budget) -> Iterator[Leaf | NotScanned]:
    kind = archive_kind(data)
    if kind is None:
        yield Leaf(data, parts)
        return
    if depth <= 0:
        limit = budget.limits.archive_depth
        why = "archives are not opened (archive depth 0)" if limit == 0 else f"nested deeper than archive depth {limit}"
        yield NotScanned(join(parts), f"{why}: only its raw bytes are scanned", user_limit=True)
        yield Leaf(data, parts, archive_not_opened=True)
        return
    if kind == "zip":
        yield from _zip(data, parts, depth, budget)
    elif kind == "tar":
        yield from _tar(_Metered(io.BytesIO(data), budget, len(data)), parts, depth, budget, raw=data)
    else:
        yield from _compressed(data, parts, depth, budget, kind)


def _zip(data: bytes, parts: tuple[str, ...], depth: int, budget: _Budget) -> Iterator[Leaf | NotScanned]:
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _corrupt() as error:
        yield NotScanned(join(parts), f"corrupt archive: {error}")
        yield Leaf(data, parts, archive_not_opened=True)
        return
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            member = (*parts, info.filename)
            content = yield from _read_or_record(partial(_zip_member, archive, info, budget), member, parts,
                                                 "corrupt archive member")
            if content is not None:
                yield from _open(content, member, depth - 1, budget)


def _zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> bytes:
    """One member's bytes, its header's claims checked against the bounds before a byte is decompressed."""
    limits = budget.limits
    budget.take_member()
    if info.flag_bits & 0x1:
        raise _Unread("encrypted archive member")
    if info.file_size > RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise _Unread(f"archive bound reached: expands more than {limits.max_ratio} times")
    if info.file_size > limits.max_member_bytes:
        raise _too_large(limits.max_member_bytes)
    with archive.open(info) as stream:
        return _Metered(stream, budget, info.compress_size).readall_within(limits.max_member_bytes)


def _read_or_record(read: Callable[[], bytes], member: tuple[str, ...], archive: tuple[str, ...],
                    corrupt: str) -> Generator[NotScanned, None, bytes | None]:
    """``read()``, or None and the record of why it could not be read (``corrupt`` names damage)."""
    try:
        return read()
    except _Unread as unread:
        yield from _record_unread(unread, member, archive)
    except _corrupt() as error:
        yield NotScanned(join(member), f"{corrupt}: {error}")
    return None


def _tar(stream: _Metered, parts: tuple[str, ...], depth: int, budget: _Budget,
         raw: bytes | None = None) -> Iterator[Leaf | NotScanned]:
    """Members of a tar read as a stream, so a compressed tar is never held whole in memory.

    The standard library's reader ends quietly at a damaged header after the first; anything but NUL bytes
    from where it stopped makes the tar corrupt. A corrupt uncompressed tar (``raw``) is also scanned as its
    bytes: a tar stores members as they are, so what its damage hides is still there to read (and a text
    that only looked like a tar is read whole).
    """
    import tarfile

    limits = budget.limits
    try:
        archive = tarfile.open(fileobj=stream, mode="r|")  # noqa: SIM115 - reads a stream it does not own: nothing to release
        for info in archive:
            if not info.isfile():
                continue
            member = (*parts, info.name)
            try:
                budget.take_member()
                if info.size > limits.max_member_bytes:
                    raise _too_large(limits.max_member_bytes)
                extracted = archive.extractfile(info)
                content = extracted.read() if extracted is not None else b""
            except _Unread as unread:
                yield from _record_unread(unread, member, parts)
                continue
            yield from _open(content, member, depth - 1, budget)
        if not stream.only_zeros_from(archive.offset):
            raise tarfile.ReadError(f"unreadable header at offset {archive.offset}")
    except _Unread as unread:  # raised by the decompressing stream under the tar
        yield from _record_unread(unread, parts, parts)
    except _corrupt() as error:
        if raw is not None and isinstance(error, tarfile.ReadError) and str(error) == "end of file header":
            # The end-of-archive block where the first member would be: an archive of headers alone, as
            # git archive writes for an empty tree. Its bytes are all there is, and they are read.
            yield Leaf(raw, parts, archive_not_opened=True)
            return
        yield NotScanned(join(parts), f"corrupt archive: {error}")
        if raw is not None:
            yield Leaf(raw, parts, archive_not_opened=True)


def _record_unread(unread: _Unread, member: tuple[str, ...], archive: tuple[str, ...]) -> Iterator[NotScanned]:
    """Record why the member is left unread; a whole-input bound is recorded once, on the archive where it was
    reached, and stops every archive of the input."""
    if unread.whole_input:
        if not unread.recorded:
            unread.recorded = True
            yield NotScanned(join(archive), str(unread))
        raise unread
    yield NotScanned(join(member), str(unread), user_limit=unread.user_limit)


def _compressed(data: bytes, parts: tuple[str, ...], depth: int, budget: _Budget,
                kind: str) -> Iterator[Leaf | NotScanned]:
    """A gzip, bzip2 or xz stream: a tar inside is walked as this archive's members, anything else is one member."""
    stream = _Metered(_decompressing(kind, io.BytesIO(data)), budget, len(data))
    head = yield from _read_or_record(partial(stream.read, 512), parts, parts, "corrupt archive")
    if head is None:
        return
    stream.head = head
    if _is_tar(head):
        yield from _tar(stream, parts, depth, budget)
        return
    content = yield from _read_or_record(partial(stream.readall_within, budget.limits.max_member_bytes), parts,
                                         parts, "corrupt archive")
    if content is not None:
        yield from _open(content, (*parts, _inner_name(parts[-1])), depth - 1, budget)


def _inner_name(name: str) -> str:
    """``notes.txt`` for ``dir/notes.txt.gz``: the name a compressed single file had before compression."""
    base = posixpath.basename(name.replace("\\", "/"))
    stem, ext = posixpath.splitext(base)
    return stem if ext.lower() in (".gz", ".gzip", ".bz2", ".xz", ".z") and stem else base


def _decompressing(kind: str, compressed: IO[bytes]) -> io.BufferedIOBase:
    """A reader of the ``gz``, ``bz2`` or ``xz`` stream in ``compressed``."""
    if kind == "gz":
        import gzip

        return gzip.GzipFile(fileobj=compressed)
    if kind == "bz2":
        import bz2

        return bz2.BZ2File(compressed)
    import lzma

    return lzma.LZMAFile(compressed)
