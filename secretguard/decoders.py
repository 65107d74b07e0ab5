"""Decoders: find encoded tokens in a chunk, decode them, scan what they hide, and report it where the token is.

Candidates come from one Hyperscan pass (a few standard-library searches where Hyperscan is missing) and, for
free, from the plain scan's matches: base64/base64url and hex values whose every group can only encode ASCII text (so
identifiers, digests and binary blobs such as images, fonts and lockfile hashes are never candidates),
``%XX`` percent escapes, and JSON/JavaScript escapes (``\\":``, ``\\/``, ``\\u00XX``). Each decoded token
becomes a :class:`Region`: its text between the line's text before and after the token (so a name such as
``password:`` or ``Authorization: Basic`` and the quotes still stand around the decoded value), searched
again for tokens, up to ``depth`` decoders deep, within :data:`MAX_DECODED_BYTES` per chunk. All regions of
a chunk are scanned together by the detector; :func:`merge` then keeps what is new.
"""

from __future__ import annotations

import binascii
import contextlib
import json
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from itertools import islice
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from secretguard.engine import Detector, LineIndex, Match, compile_database, hyperscan
from secretguard.filters import is_inline_allowed
from secretguard.findings import Hit, Origin, Pair

if TYPE_CHECKING:
    import regex

DEFAULT_DECODE_DEPTH = 2
MAX_DECODE_DEPTH = 8
MAX_DECODED_BYTES = 256 * 1024
"""Hard cap on the bytes all decoders together may produce for one chunk; longer tokens are skipped."""
MAX_TOKEN_CHARS = MAX_DECODED_BYTES * 2
MAX_TOKENS = 2048
"""Candidate tokens looked at per chunk and level, so a file of many tiny tokens stays cheap too."""
MAX_CANDIDATES = 4 * MAX_TOKENS + 1
"""Candidate hits gathered per chunk before the search stops."""
CONTEXT_BYTES = 80
"""Bytes of the line before a token that are copied in front of its decoded text."""
PRINTABLE_SHARE = 0.9
TEXT_BYTES = bytes([9, 10, 13, *range(32, 127)])

# --- candidate tokens -----------------------------------------------------------------------------------------
# base64 of ASCII text: each group of 4 characters encodes 3 bytes < 0x80, which limits its first three
# characters (tab, newline and carriage return included): the 1st encodes bits 7-2 of a text byte, the 2nd
# the low bits of that byte and the high nibble of the next, the 3rd that byte's low nibble and the top bits
# of the third byte. At least 4 groups (16 characters, 12 bytes) and the whole run must have this shape.
_B64 = "A-Za-z0-9+/_-"
_C1, _C2, _C3 = "[C-DI-Za-f]", "[AC-HQS-Xgi-nwy-z0-3]", "[ABEFIJMNQRUVYZcdghklopstwx014589]"
_B64_BODY = f"(?:{_C1}{_C2}{_C3}[{_B64}]){{4,}}(?:{_C1}{_C2}{_C3}?)?={{0,2}}"
_HEX_BODY = "(?:[2-7][0-9A-Fa-f]|0[9aAdD]){10,}"
# Percent escapes of the characters that break a secret's token (upper-case hex, as RFC 3986 asks; so printf's
# %2d and %5f are not candidates). JSON escapes that hide a value: an escaped key (\"name\":), an escaped
# slash and \u00XX; plain \n and \" are left to the rules, which already read PEM blocks through them.
_PERCENT = "%(?:2[1-9A-F]|3[0-9A-F]|40|5[B-F]|60|7[B-E])"
_ESCAPE = r'\\":|\\" :|\\/|\\u00'  # literals: Hyperscan skips to them
# In a chunk, base64 and hex values are looked for after '=' (an assignment, an environment variable, a query
# parameter), with optional spaces and an opening quote; the other candidates come for free from the plain
# scan's matches, which name them (password: <base64>, Authorization: Basic <base64>). Anchoring on '=' lets
# Hyperscan skip most text: looking at every word of every file cost as much as the detector itself. In
# decoded text (small) every delimited run is a candidate. One expression finds base64 and hex alike (one
# automaton, about half the cost of two); which one a run is, its characters tell. Hyperscan reports where a
# match ends (the run ends before the delimiter, or at the end of the data).
_VALUE = "=[\\t ]{0,4}[\"'`]?"
_ENCODED = f"(?:{_B64_BODY}|{_HEX_BODY})"
_HS_PATTERNS = {
    "chunk": {"value": f"{_VALUE}{_ENCODED}(?:[^={_B64}]|\\z)", "percent": _PERCENT, "json-escape": _ESCAPE},
    "region": {"value": f"(?:\\A|[^{_B64}]){_ENCODED}(?:[^={_B64}]|\\z)", "percent": _PERCENT, "json-escape": _ESCAPE},
}
# The fallback finds delimited runs of the base64 alphabet with the standard `re` and checks their shape by
# slicing (each character class at its offset in a 4-character group, or in a hex pair), so a huge run costs
# one linear pass and no backtracking state. A run longer than any token worth decoding is skipped on both
# paths (see _run_token).
_RUN = f"(?=([{_B64}]+={{0,2}})(?![={_B64}]))"  # a lookahead, so the padding can open the next candidate
_RE_RUNS = {
    "chunk": re.compile(f"{_VALUE}{_RUN}".encode()),
    "region": re.compile(f"(?<![{_B64}]){_RUN}".encode()),
}
_RE_PATTERNS = {
    where: {"percent": re.compile(_PERCENT.encode()), "json-escape": re.compile(_ESCAPE.encode())}
    for where in _RE_RUNS
}
_ENCODED_TOKEN = re.compile(_ENCODED.encode())
_KINDS = ("value", "percent", "json-escape")
_B64_RUN = f"[{_B64}]+={{0,2}}".encode()
_HEX_RUN = re.compile(rb"(?:[0-9A-Fa-f]{2})+")
# A percent token is a run without spaces or quotes around the hit, an escape's token the double-quoted
# string holding it (else the run of non-space bytes): found by searching back from the hit, then forward,
# so a long line of many tokens (a minified file, a source map's sourcesContent) is read about once.
_URL_RUN, _URL_FORWARD = rb"""[^\s"'<>`]+""", re.compile(rb"""[^\s"'<>`]*""")
_WORD_RUN, _WORD_FORWARD = rb"\S+", re.compile(rb"\S*")
_STRING_REST = re.compile(rb'(?:[^"\\\r\n]++|\\.)*+"')
_ESCAPE_SEQ = re.compile(rb'\\(?:u([0-9A-Fa-f]{4})|x([0-9A-Fa-f]{2})|(.))', re.S)
_SIMPLE_ESCAPES = {b"n": "\n", b"t": "\t", b"r": "\r", b"b": "\b", b"f": "\f", b"0": "\0", b"v": "\v"}
TOKEN_WINDOW = 16 * 1024
"""How far each way from a percent or escape hit its enclosing token is looked for."""


class CandidateFinder:
    """The compiled candidate search for chunks or for decoded text: one Hyperscan database for every decoder,
    else a few standard-library patterns."""

    def __init__(self, where: str = "chunk", use_hyperscan: bool | None = None) -> None:
        self.database = None
        self.where = where
        if hyperscan is not None and use_hyperscan is not False:
            self.database = compile_database([_HS_PATTERNS[where][k].encode() for k in _KINDS], [0] * len(_KINDS))

    def _hits(self, data: bytes) -> list[tuple[int, str]]:
        """(offset, decoder) of each candidate: where its run, ``%XX`` or escape ends."""
        found: list[tuple[int, str]] = []
        if self.database is None:  # the same first candidates Hyperscan's early stop keeps
            runs = (m.end(1) for m in _RE_RUNS[self.where].finditer(data) if _encoded_shape(data, *m.span(1)))
            found += islice(((end, "value") for end in runs), MAX_CANDIDATES)
            for kind, pattern in _RE_PATTERNS[self.where].items():
                found += islice(((m.end(), kind) for m in pattern.finditer(data)), MAX_CANDIDATES)
            return sorted(found)[:MAX_CANDIDATES]

        def on_match(index: int, _start: int, end: int, _flags: int, _ctx: object) -> bool:
            found.append((end, _KINDS[index]))
            return len(found) >= MAX_CANDIDATES  # True stops the scan

        with contextlib.suppress(hyperscan.error):  # stopped early: enough candidates
            self.database.scan(data, match_event_handler=on_match)
        return found

    def tokens(self, data: bytes, spans: Iterable[tuple[int, int]] = ()) -> Iterator[tuple[str, int, int]]:
        """(decoder, start, end) of each distinct candidate token in ``data``, in order of where they end;
        ``spans`` (where the plain scan found secrets) are candidates too when they are base64 or hex of text.
        Lazy, so a caller that has used up its budget stops the search there."""
        events = [(end, kind, 0) for end, kind in self._hits(data)]
        events += [(end, "span", start) for start, end in spans]
        events.sort()
        seen: set[tuple[int, int]] = set()
        last_end = {"percent": 0, "json-escape": 0}
        for offset, kind, start in events:
            if kind == "span":
                span = (start, offset) if _ENCODED_TOKEN.fullmatch(data, start, offset) else (0, 0)
            elif kind == "value":
                span = _run_token(data, offset)
            elif offset <= last_end[kind] or (kind == "json-escape" and not _ascii_escape(data, offset)):
                continue  # inside the token an earlier hit gave, or \u00XX of a character beyond ASCII
            elif kind == "percent":
                span = _run_around(data, offset - 1, _URL_RUN, _URL_FORWARD, last_end[kind])
                last_end[kind] = max(span[1], offset)
            else:
                span = _string_around(data, offset - 1, last_end[kind])
                if span[1] <= span[0]:
                    span = _run_around(data, offset - 1, _WORD_RUN, _WORD_FORWARD, last_end[kind])
                last_end[kind] = max(span[1], offset)
            if span[1] <= span[0] or span in seen:
                continue
            seen.add(span)
            if kind in ("span", "value"):
                kind = "hex" if _HEX_RUN.fullmatch(data, *span) else "base64"
            yield kind, *span
            if len(seen) >= MAX_TOKENS:
                return


def _ascii_escape(data: bytes, end: int) -> bool:
    """Whether the escape ending at ``end`` is not a ``\\u00XX`` of a character beyond ASCII (``\\u00e9``)."""
    return data[end - 1] != ord("0") or data[end : end + 1] in b"01234567"


@lru_cache(maxsize=2)
def default_finder(where: str = "chunk") -> CandidateFinder:
    """This process's candidate search for chunks or decoded text, compiled on first use."""
    return CandidateFinder(where)


def _run_token(data: bytes, end: int) -> tuple[int, int]:
    """The base64-alphabet run that a Hyperscan report at ``end`` closes (the regex path reports the run's
    own end). A run longer than the decoding budget could use comes back empty."""
    if end > 0 and data[end - 1] not in _B64_ALPHABET:
        end -= 1  # the delimiter after the run
    low = max(0, end - MAX_TOKEN_CHARS)
    m = _reverse(_B64_RUN).search(data, low, end)
    if m is None or m.end() != end or (m.start() == low and low > 0):
        return end, end
    return m.start(), m.end()


def _encoded_shape(data: bytes, start: int, end: int) -> bool:
    """Whether the delimited run ``data[start:end]`` has the shape of ``_ENCODED`` (base64 of text, or hex of
    text), checked by slicing; a run longer than any token worth decoding is refused unread, as
    :func:`_run_token` refuses it."""
    if end - start > MAX_TOKEN_CHARS + 2:
        return False
    run = data[start:end]
    body = run.rstrip(b"=")
    if len(body) >= 16 and len(body) % 4 != 1 and not (
        body[0::4].translate(None, _C1_BYTES) or body[1::4].translate(None, _C2_BYTES)
        or body[2::4].translate(None, _C3_BYTES)
    ):
        return True
    if body != run or len(body) < 20 or len(body) % 2:
        return False
    highs, lows = body[0::2], body[1::2]
    if highs.translate(None, b"0234567") or lows.translate(None, _HEX_DIGITS):
        return False
    return all(lows[i] in b"9aAdD" for i in _indexes(highs, b"0"))


def _indexes(data: bytes, byte: bytes) -> Iterator[int]:
    """Every offset of ``byte`` in ``data``."""
    i = data.find(byte)
    while i >= 0:
        yield i
        i = data.find(byte, i + 1)


def _class_bytes(char_class: str) -> bytes:
    """The bytes a one-character regex class such as ``[C-DI-Za-f]`` admits."""
    return bytes(b for b in range(128) if re.fullmatch(char_class.encode(), bytes([b])))


_C1_BYTES, _C2_BYTES, _C3_BYTES = (_class_bytes(c) for c in (_C1, _C2, _C3))
_HEX_DIGITS = b"0123456789abcdefABCDEF"


_B64_ALPHABET = bytes(range(65, 91)) + bytes(range(97, 123)) + b"0123456789+/_-="


@cache
def _reverse(pattern: bytes) -> regex.Pattern[bytes]:
    """``pattern`` compiled to search backwards from the end of a range (a `regex` feature), on first use."""
    import regex

    return regex.compile(b"(?r)" + pattern)


def _run_around(data: bytes, pos: int, run: bytes, forward: re.Pattern[bytes], low: int) -> tuple[int, int]:
    """The ``run`` (a pattern, searched backwards) that ends at ``pos``, continued by ``forward``, not starting
    before ``low``."""
    m = _reverse(run).search(data, max(low, pos - TOKEN_WINDOW), pos + 1)
    if m is None or m.end() != pos + 1:
        return pos, pos
    end = forward.match(data, pos, min(len(data), pos + TOKEN_WINDOW))
    return m.start(), end.end() if end else pos + 1


def _escaped(data: bytes, index: int) -> bool:
    """Whether the byte at ``index`` follows an odd number of backslashes."""
    start = index
    while start > 0 and data[start - 1] == 0x5C:
        start -= 1
    return (index - start) % 2 == 1


def _string_around(data: bytes, pos: int, low: int) -> tuple[int, int]:
    """The double-quoted string holding ``pos``: back to the nearest unescaped quote, on to the closing one."""
    floor = max(low, pos - TOKEN_WINDOW)
    quote = data.rfind(b'"', floor, pos)
    while quote != -1 and _escaped(data, quote):
        quote = data.rfind(b'"', floor, quote)
    if quote == -1:
        return pos, pos
    m = _STRING_REST.match(data, quote + 1, min(len(data), pos + TOKEN_WINDOW))
    return (quote, m.end()) if m and m.end() > pos else (pos, pos)


# --- decoders -------------------------------------------------------------------------------------------------

def is_text(data: bytes) -> bool:
    """Mostly printable ASCII (tab and line breaks count as printable)."""
    return bool(data) and len(data.translate(None, TEXT_BYTES)) <= len(data) * (1 - PRINTABLE_SHARE)


def decode_base64(token: bytes) -> bytes | None:
    """Standard or URL-safe base64, padded or not; None unless it decodes to text."""
    body = token.rstrip(b"=")
    url, std = any(c in body for c in b"-_"), any(c in body for c in b"+/")
    if (url and std) or len(body) % 4 == 1:
        return None
    if url:
        body = body.translate(bytes.maketrans(b"-_", b"+/"))
    try:
        decoded = binascii.a2b_base64(body + b"=" * (-len(body) % 4), strict_mode=True)
    except binascii.Error:
        return None
    return decoded if is_text(decoded) else None


def decode_hex(token: bytes) -> bytes | None:
    """Hex pairs; None unless they are text."""
    try:
        decoded = bytes.fromhex(token[: len(token) // 2 * 2].decode("ascii"))
    except ValueError:
        return None
    return decoded if is_text(decoded) else None


def decode_percent(token: bytes) -> bytes | None:
    """``%XX`` escapes; ``+`` is a space only in a query string, as form encoding has it."""
    path, question, query = token.partition(b"?")
    decoded = unquote_to_bytes(path) + question + unquote_to_bytes(query.replace(b"+", b" "))
    return decoded if decoded != token else None


def _unescape_one(m: re.Match[bytes]) -> str:
    code, byte, char = m.groups()
    if code is not None:
        return chr(int(code, 16))
    if byte is not None:
        return chr(int(byte, 16))
    return _SIMPLE_ESCAPES.get(char, char.decode("latin-1"))


def decode_escapes(token: bytes) -> bytes | None:
    """JSON / JavaScript string escapes, in a quoted string (the quotes go) or a bare run."""
    inner = token[1:-1] if len(token) >= 2 and token[:1] == token[-1:] == b'"' else token
    try:
        text = json.loads(b'"' + inner + b'"')
    except ValueError:  # JavaScript's \x41 and \', or raw control characters
        text = _ESCAPE_SEQ.sub(lambda m: _unescape_one(m).encode("utf-8", "surrogatepass"), inner).decode(
            "utf-8", "surrogateescape")
    decoded = text.encode("utf-8", "surrogatepass")
    return decoded if decoded != inner else None


DECODERS: dict[str, Callable[[bytes], bytes | None]] = {
    "base64": decode_base64,
    "hex": decode_hex,
    "percent": decode_percent,
    "json-escape": decode_escapes,
}
_SIZE_FACTOR = {"base64": 0.75, "hex": 0.5, "percent": 1.0, "json-escape": 1.0}


# --- regions --------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Region:
    """Text recovered from a chunk, to be scanned like the chunk itself.

    ``chain`` names the decoders that turned the chunk's bytes into ``text``, outermost first, and ``origins``
    is the chunk offset each line of ``text`` is reported at (the last serves any further lines). A decoded
    region's ``text`` is the line's ``context`` bytes before the token, the decoded ``token``, then ``tail``
    bytes of the line after it: names and quotes around a value stay where rules expect them. Regions an
    extractor built have no token; those of a credential store may name the store's entry of each line
    (``entries``, parallel to ``origins``).
    """

    text: bytes
    chain: tuple[str, ...]
    origins: tuple[int, ...]
    token: bytes = b""
    context: int = 0
    tail: int = 0
    entries: tuple[str, ...] = ()


def decode_regions(data: bytes, depth: int, budget: list[int] | None = None, within: Region | None = None,
                   spans: Iterable[tuple[int, int]] = ()) -> list[Region]:
    """Every token of ``data`` that decodes, each followed by what decodes inside it, ``depth`` decoders deep.

    ``budget`` (a one-item list, shared with the rest of the chunk's decoding) is the number of decoded bytes
    still allowed; tokens are followed to the bottom in order, so a budget that runs out keeps whole chains.
    ``data`` is the chunk (``spans``: its plain matches' secrets), or the text of the region ``within``, whose
    decoded (or extracted) part is searched.
    """
    budget = budget if budget is not None else [MAX_DECODED_BYTES]
    regions: list[Region] = []
    if depth <= 0:
        return regions
    low, high = (within.context, len(data) - within.tail) if within is not None else (0, len(data))
    for kind, start, end in default_finder("chunk" if within is None else "region").tokens(data, spans):
        if budget[0] <= 0:
            break
        token = data[start:end]
        if start < low or end > high or len(token) * _SIZE_FACTOR[kind] > budget[0]:
            continue
        decoded = DECODERS[kind](token)
        if decoded is None:
            continue
        budget[0] -= len(decoded)
        line_start = data.rfind(b"\n", 0, start) + 1
        line_end = data.find(b"\n", end)
        context = data[max(line_start, start - CONTEXT_BYTES) : start]
        tail = data[end : min(end + CONTEXT_BYTES, len(data) if line_end == -1 else line_end)]
        chain: tuple[str, ...] = (kind,)
        origins = (start,)
        if within is not None:
            line = data.count(b"\n", 0, start)
            chain, origins = (*within.chain, kind), (within.origins[min(line, len(within.origins) - 1)],)
        region = Region(context + decoded + tail, chain, origins, token, len(context), len(tail))
        regions.append(region)
        regions += decode_regions(region.text, depth - 1, budget, region)
    return regions


@lru_cache(maxsize=8)
def _separator(detector: Detector) -> bytes:
    """Blank lines enough that no rule pairs or windows across two regions (NUL stops character classes)."""
    reach = max([p.within_lines for r in detector.rules for p in (r.spec.pair, r.spec.requires) if p] or [0])
    return b"\n" + b"\x00\n" * (reach + 2)


@dataclass(frozen=True, slots=True)
class Recovered:
    """A hit found in a region, and the region it came from."""

    hit: Hit
    region: Region


def scan_regions(detector: Detector, data: bytes, origin: Origin, regions: Iterable[Region]) -> list[Recovered]:
    """Scan all regions of a chunk in one detector call; hits point at the chunk's bytes.

    A match counts when its secret starts in a region's decoded or extracted text (not in the copied context).
    """
    regions = list(regions)
    if not regions:
        return []
    sep = _separator(detector)
    starts: list[int] = []
    offset = 0
    for region in regions:
        starts.append(offset)
        offset += len(region.text) + len(sep)
    joined = sep.join(r.text for r in regions)
    lines = LineIndex(data)
    out: list[Recovered] = []
    for match in detector.scan(joined):
        index = bisect_right(starts, match.start) - 1
        region, base = regions[index], starts[index]
        if not base + region.context <= match.start < base + len(region.text) - region.tail:
            continue
        if match.end > base + len(region.text):
            continue  # across the separator
        line = joined.count(b"\n", base, match.start)
        at = region.origins[min(line, len(region.origins) - 1)]
        if is_inline_allowed(lines.lines_text(at, at + 1)):
            continue
        entry = region.entries[min(line, len(region.entries) - 1)] if region.entries else ""
        place = replace(origin, entry=entry) if entry else origin
        out.append(Recovered(_hit(match, place, lines, at, region.chain), region))
    return out


def _hit(match: Match, origin: Origin, lines: LineIndex, at: int, chain: tuple[str, ...]) -> Hit:
    column = at - lines.start_of(at) + 1
    return Hit(
        rule=match.rule.id,
        secret=match.secret_text,
        entropy=match.entropy,
        origin=origin.at(lines.line_of(at), column),
        pair=Pair(match.pair.rule.id, match.pair.secret_text) if match.pair else None,
        decoded=chain,
    )


# --- merging with the plain scan ------------------------------------------------------------------------------

_LAYOUT = re.compile(r"\\[nrt]|\\|\s")


def _same(secret: str) -> str:
    """A secret without line breaks, escapes and spaces, so an escaped and a decoded PEM block compare equal."""
    return _LAYOUT.sub("", secret)


def _encoded_in(secret: str, region: Region) -> bool:
    """Whether ``secret`` is (part of) ``region``'s token in its encoded form: the base64 blob itself, the
    ``%2F``-escaped password, the ``\\"``-escaped value."""
    raw = secret.encode("utf-8", "surrogateescape")
    if not region.token or raw not in region.token:
        return False
    outer = region.chain[-1]
    return outer in ("base64", "hex") or (b"%" if outer == "percent" else b"\\") in raw


@lru_cache(maxsize=8)
def _generic_rules(detector: Detector) -> frozenset[str]:
    return frozenset(r.id for r in detector.rules if r.is_generic)


@lru_cache(maxsize=8)
def _superseded(detector: Detector) -> dict[str, frozenset[str]]:
    return {r.id: frozenset(r.spec.supersedes) for r in detector.rules if r.spec.supersedes}


def merge(detector: Detector, hits: list[Hit], recovered: Iterable[Recovered]) -> list[Hit]:
    """The plain ``hits`` with what decoding and extraction recovered.

    A recovered secret already seen (in the plain scan or an earlier region) is not reported again, but it
    improves the earlier hit: a specific rule replaces a generic one (as in the detector), a rule replaces one
    it supersedes (a credential file's rule one that knows the value by its shape alone), bringing the store
    entry it was read under, and a pair is given to a hit that has none; the earlier hit keeps its place (a
    plain hit's is exact). A hit that is the encoded form of a newly recovered one (the base64 blob, the
    ``%2F``-escaped password) gives way to it, and as in the detector, a secret claimed as a pair is not
    reported on its own.
    """
    recovered = list(recovered)
    if not recovered:
        return hits
    generic = _generic_rules(detector)
    superseded = _superseded(detector)
    out = list(hits)
    first: dict[str, int] = {}
    for i, hit in enumerate(hits):
        first.setdefault(_same(hit.secret), i)
    productive: list[Region] = []
    for item in recovered:
        hit, key = item.hit, _same(item.hit.secret)
        if key in first:
            earlier = out[first[key]]
            replaces = earlier.rule in superseded.get(hit.rule, ())
            if (earlier.rule in generic and hit.rule not in generic) or replaces:
                earlier = replace(earlier, rule=hit.rule, entropy=hit.entropy, pair=earlier.pair or hit.pair,
                                  origin=replace(earlier.origin, entry=earlier.origin.entry or hit.origin.entry))
            if earlier.pair is None and hit.pair is not None and earlier.rule == hit.rule:
                earlier = replace(earlier, pair=hit.pair, decoded=earlier.decoded or hit.decoded)
            out[first[key]] = earlier
            continue
        first[key] = len(out)
        out.append(hit)
        if item.region.token:
            productive.append(item.region)
    claimed = {_same(h.pair.secret) for h in out if h.pair is not None}
    return [
        h for h in out
        if _same(h.secret) not in claimed and not any(_encoded_in(h.secret, r) for r in productive)
    ]
