"""Turn one input's bytes into text the detector can scan: any encoding, binaries, and archive members.

:func:`pieces` knows nothing of where the bytes came from. Plain UTF-8 text, the overwhelming case, costs a
few byte compares and one search for a NUL in the first 8 KiB, as the old binary check did. Otherwise:

- UTF-16 (LE/BE) and UTF-32 (LE/BE) text, known by its byte-order mark or, without one, by the NUL pattern
  ASCII text has in those encodings, is decoded and scanned as UTF-8, so lines are those of the decoded text;
- text with a few stray NUL bytes (a NUL-prefixed ``.env``) is still text, scanned as it is;
- anything else with NULs is binary, and gives up to three pieces (``binary`` set on each):
  its bytes as they are (the rules only match printable text, so this is what ``strings`` would show, in
  place and without a copy: line and column are those of the raw bytes, lines ending at its newline bytes);
  its UTF-16LE strings of 8 or more characters, one per line in file order (line N is the N-th string),
  with ``encoding`` ``utf-16-le`` (not looked for in ELF files and static libraries, see :data:`_NO_UTF16`);
  and for a SQLite database its stored text values, one ``table.column=value`` per line, since its records
  keep values back to back (``aws_access_key_idAKIA…``);
- archives are opened by :mod:`secretguard.archives`, and each member goes through the same steps.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from secretguard.archives import (
    ARCHIVE_STARTS,
    MAX_ARCHIVE_DEPTH,
    Leaf,
    Limits,
    NotScanned,
    join,
    preload_readers,
    walk,
)

SAMPLE_BYTES = 8192
SQLITE_MAGIC = b"SQLite format 3\0"
MAX_SQLITE_VALUE = 1024 * 1024
MAX_STRAY_NULS = 0.10
"""Text may hold up to this share of NUL bytes (a NUL-prefixed or NUL-separated file) and still be text."""
MAX_CONTROLS = 0.01
"""Text holds at most this share of control characters other than tabs, line breaks, form feeds and ESC."""
MIN_RUN = 8
_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SPECIAL_STARTS = ARCHIVE_STARTS + tuple(bom for bom, _ in _BOMS)
_CONTROLS = bytes(b for b in range(32) if b not in b"\t\n\v\f\r\x1b")
_WIDE_CLASSES = bytes(1 if 0x20 <= b <= 0x7E or b == 9 else 0 if b == 0 else 2 for b in range(256))
"""Printable ASCII as 1, NUL as 0: a UTF-16LE string of ASCII text reads as 1, 0, 1, 0, …"""
_WIDE_WINDOW = rb"(?:[\x20-\x7e\t]\x00){%d}" % MIN_RUN
_WIDE_STRING = re.compile(rb"(?:[\x20-\x7e\t]\x00){%d,}" % MIN_RUN)
_ASCII_RUN = re.compile(rb"[\x20-\x7e\t]{%d,}" % MIN_RUN)
_JAVA_CLASS = b"\xca\xfe\xba\xbe"
_NO_UTF16 = (b"\x7fELF", b"!<arch>\n")
"""ELF files and ar archives (static libraries): Unix toolchains store wide strings as UTF-32, never UTF-16,
and these are the largest binaries in most trees, so they are not searched for UTF-16 strings."""
_wide_database: Any = None
"""The Hyperscan database finding UTF-16LE strings, compiled on first use; False where Hyperscan is missing."""


class Piece(NamedTuple):
    """Bytes to scan (UTF-8 text, or a binary's own bytes), and where they came from.

    ``path`` is the input's name, then each archive member (``a.tgz!app.zip!config/.env``); ``member`` is the
    part inside archives, None for the input itself. ``binary`` when the piece comes from a binary; ``raw``
    when it is that binary's bytes as they are (text only in its printable runs: no decoder or extractor
    has anything to gain there, and large binaries are common); ``encoding`` names the encoding the text
    was decoded from, None when it is scanned as it is. A named tuple: one is made for every file scanned, and
    this is the cheapest immutable record to make.
    """

    data: bytes
    path: str
    member: str | None = None
    binary: bool = False
    encoding: str | None = None
    raw: bool = False


def is_plain(data: bytes) -> bool:
    """Whether ``data`` is plain text, its own one piece: the overwhelming case, told in a µs or two."""
    return data.find(b"\0", 0, SAMPLE_BYTES) < 0 and not data.startswith(_SPECIAL_STARTS) and data[257:262] != b"ustar"


def pieces(data: bytes, name: str, limits: Limits = Limits()) -> Iterator[Piece | NotScanned]:
    """Every scannable piece of one input, and a record of every part of it that was not scanned."""
    if is_plain(data):
        return iter((Piece(data, name),))
    return _expanded(data, name, limits)


class EarlierContent:
    """Earlier versions of one input, to tell whether a secret found in a later version was already there.

    A version holds the secret when its bytes do, or one of its pieces: decoded text, a binary's strings, an
    archive member (opened as deep as archives ever are), so a secret is placed where it was introduced
    however the input stores it. The pieces are made only when the bytes alone do not answer.
    """

    def __init__(self, versions: Iterable[bytes]) -> None:
        self._versions = list(versions)
        self._pieces: list[bytes] | None = None

    def holds(self, secrets: Iterable[str]) -> bool:
        """Whether one version, or one piece of one, holds every one of ``secrets``."""
        wanted = [s.encode("utf-8", "surrogateescape") for s in secrets]
        if any(all(s in version for s in wanted) for version in self._versions):
            return True
        if self._pieces is None:
            limits = Limits(archive_depth=MAX_ARCHIVE_DEPTH)
            self._pieces = [piece.data for version in self._versions if not is_plain(version)
                            for piece in _expanded(version, "", limits) if isinstance(piece, Piece)]
        return any(all(s in piece for s in wanted) for piece in self._pieces)


def _expanded(data: bytes, name: str, limits: Limits) -> Iterator[Piece | NotScanned]:
    for leaf in walk(data, name, limits):
        if isinstance(leaf, NotScanned):
            yield leaf
        else:
            yield from _pieces(leaf)


def _pieces(leaf: Leaf) -> Iterator[Piece]:
    data = leaf.data
    path, member = join(leaf.parts), join(leaf.parts[1:]) or None
    encoding = "binary" if leaf.archive_not_opened else text_encoding(data)
    if encoding is None:
        yield Piece(data, path, member)
    elif encoding != "binary":
        yield Piece(decode(data, encoding), path, member, encoding=encoding)
    else:
        yield Piece(split_length_prefixed(data), path, member, binary=True, raw=True)
        wide = b"" if data.startswith(_NO_UTF16) else wide_strings(data)
        if wide:
            yield Piece(wide, path, member, binary=True, encoding="utf-16-le")
        values = sqlite_values(data)
        if values:
            yield Piece(values, path, member, binary=True)


def text_encoding(data: bytes) -> str | None:
    """None for text to scan as it is (UTF-8 and friends), a codec name for UTF-16/32 text, or ``binary``."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    sample = data[:SAMPLE_BYTES]
    if b"\0" not in sample:
        return None
    wide = _wide_encoding(sample)
    if wide is not None:
        return wide if _is_text(decode(sample, wide)) else "binary"
    return None if _is_text(sample) else "binary"


def _wide_encoding(sample: bytes) -> str | None:
    """UTF-32 or UTF-16 without a byte-order mark, from where ASCII text in them puts its NUL bytes."""
    def zeros(start: int, step: int) -> float:
        column = sample[start::step]
        return column.count(0) / max(len(column), 1)

    for encoding, text_at, nul_at in (("utf-32-le", 0, (1, 2, 3)), ("utf-32-be", 3, (0, 1, 2))):
        if len(sample) >= 16 and zeros(text_at, 4) < 0.1 and all(zeros(i, 4) > 0.9 for i in nul_at):
            return encoding
    for encoding, text_at in (("utf-16-le", 0), ("utf-16-be", 1)):
        if len(sample) >= 8 and zeros(text_at, 2) < 0.1 and zeros(1 - text_at, 2) > 0.8:
            return encoding
    return None


def _is_text(sample: bytes) -> bool:
    """Few NULs, few control characters, and valid UTF-8 (a character cut at the sample's end is fine)."""
    stripped = sample.replace(b"\0", b"")
    if len(stripped) < len(sample) * (1 - MAX_STRAY_NULS):
        return False
    if len(stripped) - len(stripped.translate(None, _CONTROLS)) > len(stripped) * MAX_CONTROLS:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(stripped, final=False)
    except UnicodeDecodeError:
        return False
    return True


def decode(data: bytes, encoding: str) -> bytes:
    """``data`` in ``encoding`` (byte-order mark dropped) as UTF-8; undecodable units become U+FFFD."""
    for bom, bom_encoding in _BOMS:
        if bom_encoding == encoding and data.startswith(bom):
            data = data[len(bom):]
            break
    return data.decode(encoding, "replace").encode("utf-8")


def split_length_prefixed(data: bytes) -> bytes:
    """``data``, where it is a ``.pyc`` or a Java class, with the byte after each length-prefixed string read
    as a space.

    Both store strings back to back behind a length byte, so a key would run into the next field's header
    (``AKIA…WDz(`` in a ``.pyc``) and no rule would see where it ends. Other binaries are returned as they are.
    """
    if not (data.startswith(_JAVA_CLASS) or data[2:4] == b"\r\n"):  # a class file, or a .pyc's magic number
        return data
    split = bytearray(data)
    for run in _ASCII_RUN.finditer(data):
        length = data[run.start() - 1] if run.start() else 0
        if MIN_RUN <= length < run.end() - run.start():
            split[run.start() + length] = 0x20
    return bytes(split)


def wide_strings(data: bytes) -> bytes:
    """The UTF-16LE strings of a binary (8 or more printable ASCII characters), as ASCII, one per line."""
    strings: list[bytes] = []
    done = 0
    for start in _wide_starts(data):
        if start >= done:
            string = _WIDE_STRING.match(data, start)
            if string is not None:
                strings.append(string.group()[::2])
                done = string.end()
    return b"\n".join(strings)


def _wide_starts(data: bytes) -> list[int]:
    """Offsets where a UTF-16LE string of :data:`MIN_RUN` characters starts, in order, some inside others.

    Hyperscan finds them at memory speed; without it, a translation to byte classes and ``find`` do, at
    a few hundred MB/s (large binaries are common in trees, so this search must stay cheap).
    """
    database = _wide_finder()
    if database:
        ends: list[int] = []
        database.scan(data, match_event_handler=lambda _id, _from, end, _flags, _ctx: ends.append(end))
        return [end - 2 * MIN_RUN for end in ends]
    classes = data.translate(_WIDE_CLASSES)
    starts, at = [], classes.find(b"\x01\x00" * MIN_RUN)
    while at >= 0:
        starts.append(at)
        run = _WIDE_STRING.match(data, at)
        assert run is not None  # the classes just found a run of MIN_RUN wide characters here
        at = classes.find(b"\x01\x00" * MIN_RUN, run.end())
    return starts


def _wide_finder() -> Any:
    """This process's Hyperscan database for UTF-16LE strings (from the on-disk cache once compiled), or False
    where Hyperscan is missing, cannot load or is turned off."""
    global _wide_database
    if _wide_database is None:
        from secretguard import engine

        _wide_database = False
        if engine.hyperscan is not None:
            with contextlib.suppress(Exception):  # a Hyperscan that cannot compile here: the fallback search
                _wide_database = engine.compile_database([_WIDE_WINDOW], [0])
    return _wide_database


def preload() -> None:
    """Load what reading binaries and archives needs (the UTF-16 search, the archive readers) in this process,
    so that worker processes forked from it inherit them instead of each loading its own."""
    _wide_finder()
    preload_readers()


def sqlite_values(data: bytes) -> bytes:
    """A SQLite database's stored text values as ``table.column=value`` lines, else empty.

    Only stored columns of real tables are read (no views, no generated columns: nothing in the file's schema
    is evaluated), from an in-memory copy with values capped at :data:`MAX_SQLITE_VALUE` bytes.
    """
    if not data.startswith(SQLITE_MAGIC):
        return b""
    import sqlite3  # here: the pre-commit hook's start should not pay for it
    lines: list[str] = []
    conn = sqlite3.connect(":memory:")
    try:
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_SQLITE_VALUE)
        conn.execute("PRAGMA trusted_schema = OFF")
        conn.deserialize(data)
        conn.execute("PRAGMA query_only = ON")
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")]
        for table in tables:
            columns = [row[1] for row in conn.execute("SELECT * FROM pragma_table_xinfo(?)", (table,)) if row[6] == 0]
            if not columns:
                continue
            names = ", ".join(_quoted(c) for c in columns)
            for row in conn.execute(f"SELECT {names} FROM {_quoted(table)}"):  # noqa: S608 - quoted identifiers
                lines.extend(f"{table}.{column}={value}" for column, value in zip(columns, row, strict=True)
                             if isinstance(value, str))
    except sqlite3.Error:
        pass  # a damaged database is still scanned as its bytes
    finally:
        conn.close()
    return "\n".join(lines).encode("utf-8", "replace")


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
