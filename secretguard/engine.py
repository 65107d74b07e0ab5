"""The detector: finds rule matches in bytes, knowing nothing of where the bytes came from.

One Hyperscan database holding every rule finds candidate spans in a single pass (compiled in
prefilter mode, so it may over-report but never misses). The rule's ``regex`` pattern then runs only
on the lines around each candidate and extracts the ``secret`` group; keywords, entropy and the content
filters decide; rules that ``require`` another run only near its matches; pairs are joined last.
Where Hyperscan cannot load, the same rules run through ``regex`` alone, behind a keyword check, and
give the same results.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from secretguard.cache import read_entry, write_entry
from secretguard.checksums import CHECKSUMS
from secretguard.entropy import shannon_entropy
from secretguard.filters import is_dropped, is_inline_allowed
from secretguard.rules import SECRET_GROUP, Rule, prefilter_pattern

ENGINE_VARIABLE = "SECRETGUARD_ENGINE"
"""Set to ``regex`` to run every rule on the pure-``regex`` path even where Hyperscan is installed."""

if TYPE_CHECKING:
    import hyperscan
elif os.environ.get(ENGINE_VARIABLE) == "regex":
    hyperscan = None
else:
    try:  # Hyperscan has wheels for x86-64 and 64-bit ARM; everything still works without it.
        import hyperscan
    except ImportError:  # pragma: no cover - exercised on machines without the wheel
        hyperscan = None


@dataclass(frozen=True, slots=True)
class Match:
    """A rule's secret at a byte span of the scanned data (1-based line and column)."""

    rule: Rule
    secret: bytes
    start: int
    end: int
    line: int
    column: int
    entropy: float
    pair: Match | None = None

    @property
    def secret_text(self) -> str:
        return self.secret.decode("utf-8", "surrogateescape")


class LineIndex:
    """Line arithmetic on a buffer, done with C-speed searches so files without matches cost nothing."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._last = (0, 1)  # (offset, line) of the previous lookup, to count forward from

    def line_of(self, offset: int) -> int:
        """1-based line number of ``offset``."""
        last_offset, last_line = self._last
        if offset >= last_offset:
            line = last_line + self.data.count(b"\n", last_offset, offset)
        else:
            line = self.data.count(b"\n", 0, offset) + 1
        self._last = (offset, line)
        return line

    def start_of(self, offset: int, lines_before: int = 0) -> int:
        """Offset where the line holding ``offset`` starts, or the line ``lines_before`` above it."""
        pos = offset
        for _ in range(lines_before + 1):
            pos = self.data.rfind(b"\n", 0, pos)
            if pos == -1:
                return 0
        return pos + 1

    def end_of(self, offset: int, lines_after: int = 0) -> int:
        """Offset of the newline ending the line holding ``offset`` (or ``lines_after`` below it)."""
        pos = offset - 1
        for _ in range(lines_after + 1):
            pos = self.data.find(b"\n", pos + 1)
            if pos == -1:
                return len(self.data)
        return pos

    def lines_text(self, start: int, end: int) -> bytes:
        """The full lines that the span ``start:end`` touches."""
        return self.data[self.start_of(start) : self.end_of(max(start, end - 1))]


def _merge(windows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _hit_windows(ends: list[int], width: int, lines: LineIndex) -> list[tuple[int, int]]:
    """Whole-line windows reaching ``width`` bytes back from each hit end, merged.

    Hyperscan reports ends in increasing order, so an end inside the current window adds nothing.
    """
    windows: list[tuple[int, int]] = []
    covered = -1
    for end in ends:
        if end <= covered:
            continue
        start = lines.start_of(max(0, end - width))
        covered = lines.end_of(max(0, end - 1))
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], covered)
        else:
            windows.append((start, covered))
    return windows


def _compile(expressions: list[bytes], flags: list[int]) -> hyperscan.Database:
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(expressions=expressions, ids=list(range(len(expressions))), elements=len(expressions),
                     flags=flags)
    return database


def compile_database(expressions: list[bytes], flags: list[int]) -> hyperscan.Database:
    """A block-mode database of ``expressions``, each reported by its index; loaded from the on-disk cache
    when the same expressions were compiled before, since compiling costs far more than scanning a commit."""
    digest = hashlib.sha256(repr((expressions, flags)).encode()).hexdigest()[:32]
    entry = f"hs-{getattr(hyperscan, '__version__', '0')}-{digest}.db"
    cached = read_entry(entry)
    if cached is not None:
        with contextlib.suppress(hyperscan.error):
            database = hyperscan.loadb(cached, hyperscan.HS_MODE_BLOCK)
            database.scratch = hyperscan.Scratch(database)
            return database
    database = _compile(expressions, flags)
    write_entry(entry, hyperscan.dumpb(database))
    return database


def _prefilter(rules: list[Rule]) -> tuple[list[bytes], list[int]]:
    """The expressions and flags of a prefilter database for ``rules``."""
    return [prefilter_pattern(r.spec.pattern).encode() for r in rules], [hyperscan.HS_FLAG_PREFILTER] * len(rules)


def _compiles(rule: Rule) -> bool:
    """Whether Hyperscan accepts this one rule."""
    try:
        _compile(*_prefilter([rule]))
    except hyperscan.error:
        return False
    return True


class Detector:
    """Scans bytes with a fixed rule set. Build one per process; scanning is not thread-safe."""

    def __init__(self, rules: list[Rule], use_hyperscan: bool | None = None) -> None:
        self.rules = rules
        self.prefiltered = [r for r in rules if r.spec.requires is None]
        self.dependents: dict[str, list[Rule]] = defaultdict(list)
        for rule in rules:
            if rule.spec.requires is not None:
                self.dependents[rule.spec.requires.rule].append(rule)
        want = hyperscan is not None if use_hyperscan is None else use_hyperscan
        if want and hyperscan is None:
            raise RuntimeError("hyperscan is not installed")
        self.database: hyperscan.Database | None = None
        self.hs_rules: list[Rule] = []
        self.regex_only: list[Rule] = list(self.prefiltered)
        if want:
            self._load_database()

    @property
    def uses_hyperscan(self) -> bool:
        return self.database is not None

    # --- the Hyperscan database -------------------------------------------------------------------

    def _load_database(self) -> None:
        """Compile (or load from the on-disk cache) one database of every rule Hyperscan accepts."""
        try:
            self.database = compile_database(*_prefilter(self.prefiltered))
            self.hs_rules, self.regex_only = self.prefiltered, []
        except hyperscan.error:
            # Some rule is beyond Hyperscan even in prefilter mode: it runs on the regex path alone.
            self.hs_rules = [r for r in self.prefiltered if _compiles(r)]
            self.regex_only = [r for r in self.prefiltered if r not in self.hs_rules]
            import logging  # this rare path alone logs

            for rule in self.regex_only:
                logging.getLogger(__name__).warning(
                    "rule %s runs without the prefilter: Hyperscan cannot compile it", rule.id)
            self.database = compile_database(*_prefilter(self.hs_rules)) if self.hs_rules else None

    # --- scanning ----------------------------------------------------------------------------------

    def scan(self, data: bytes) -> list[Match]:
        """Every match in ``data``, filtered and paired, in order of position."""
        if not data:
            return []
        lines = LineIndex(data)
        found: dict[tuple[str, int, int], Match] = {}
        for rule, windows in self._windows(data, lines):
            for start, end in windows:
                self._collect(rule, data, lines, start, end, found)
        self._run_dependents(data, lines, found)
        matches = _drop_generic_overlaps(list(found.values()))
        return sorted(_join_pairs(matches), key=lambda m: (m.start, m.rule.id))

    def _windows(self, data: bytes, lines: LineIndex) -> Iterator[tuple[Rule, list[tuple[int, int]]]]:
        """For each rule worth running, the byte ranges to run its pattern on."""
        if self.regex_only:
            lowered = data.lower()
            for rule in self.regex_only:
                if not rule.keywords or any(k in lowered for k in rule.keywords):
                    yield rule, [(0, len(data))]
        if self.database is None:
            return
        hits: dict[int, list[int]] = defaultdict(list)

        def on_match(rule_index: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            hits[rule_index].append(end)

        self.database.scan(data, match_event_handler=on_match)
        for index, ends in hits.items():
            yield self.hs_rules[index], _hit_windows(ends, self.hs_rules[index].max_width, lines)

    def _collect(self, rule: Rule, data: bytes, lines: LineIndex, start: int, end: int,
                 found: dict[tuple[str, int, int], Match]) -> None:
        for m in rule.regex.finditer(data, start, end):
            s_start, s_end = m.span(SECRET_GROUP)
            if s_start < 0 or s_end <= s_start or (rule.id, s_start, s_end) in found:
                continue
            secret = data[s_start:s_end]
            if rule.keywords:  # in the match, or before it on its line (a rule may keep its name in a lookbehind)
                context = data[lines.start_of(m.start()):m.end()].lower()
                if not any(k in context for k in rule.keywords):
                    continue
            entropy = shannon_entropy(secret)
            if rule.spec.entropy is not None and entropy < rule.spec.entropy:
                continue
            text = secret.decode("utf-8", "surrogateescape")
            if rule.spec.checksum is not None and not CHECKSUMS[rule.spec.checksum](text):
                continue
            if is_dropped(text, rule.id):
                continue
            if is_inline_allowed(lines.lines_text(m.start(), m.end())):
                continue
            line = lines.line_of(s_start)
            column = s_start - lines.start_of(s_start) + 1
            found[(rule.id, s_start, s_end)] = Match(rule, secret, s_start, s_end, line, column, entropy)

    def _run_dependents(self, data: bytes, lines: LineIndex, found: dict[tuple[str, int, int], Match]) -> None:
        """Run each rule that ``requires`` another on the lines around that rule's matches."""
        anchors: dict[str, list[int]] = defaultdict(list)
        for match in list(found.values()):
            if match.rule.id in self.dependents:
                anchors[match.rule.id].append(match.start)
        for anchor_id, offsets in anchors.items():
            for rule in self.dependents[anchor_id]:
                assert rule.spec.requires is not None
                n = rule.spec.requires.within_lines
                windows = _merge((lines.start_of(o, n), lines.end_of(o, n)) for o in offsets)
                for start, end in windows:
                    self._collect(rule, data, lines, start, end, found)


def _drop_generic_overlaps(matches: list[Match]) -> list[Match]:
    """A generic rule's match yields to a specific rule's match on an overlapping secret."""
    specific = [(m.start, m.end) for m in matches if not m.rule.is_generic]
    return [
        m for m in matches
        if not m.rule.is_generic or not any(s < m.end and m.start < e for s, e in specific)
    ]


def _join_pairs(matches: list[Match]) -> list[Match]:
    """Attach to each match of a pairing rule the nearest unclaimed match of its partner rule.

    A claimed partner is no longer reported on its own, nor is any other rule's match of the same span.
    """
    by_rule: dict[str, list[Match]] = defaultdict(list)
    for m in matches:
        by_rule[m.rule.id].append(m)
    claimed: set[tuple[int, int]] = set()
    joined: dict[int, Match] = {}
    for m in sorted(matches, key=lambda m: m.start):
        pair = m.rule.spec.pair
        if pair is None:
            continue
        candidates = [
            p for p in by_rule.get(pair.rule, ())
            if abs(p.line - m.line) <= pair.within_lines and (p.start, p.end) not in claimed
        ]
        if not candidates:
            continue
        partner = min(candidates, key=lambda p: (abs(p.line - m.line), p.line < m.line, abs(p.start - m.start)))
        claimed.add((partner.start, partner.end))
        joined[id(m)] = replace(m, pair=partner)
    return [
        joined.get(id(m), m) for m in matches
        if (m.start, m.end) not in claimed or id(m) in joined
    ]
