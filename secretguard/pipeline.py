"""The one scan driver: every command runs its source through :func:`scan`.

1. Set up: load and check the rules (before any worker starts), pick the engine.
2. Enumerate: the source's items, in this process; what it passes over goes to the summary.
3. Fan out: batches of items through an executor (:mod:`secretguard.executors`): forked worker processes
   (each inherits the loaded detector), a Ray cluster the caller chose, or inline when the input is small.
   In a worker, each item is read into chunks, each chunk is turned into scannable pieces (:func:`pieces`),
   and each piece is scanned, decoders and extractors included.
   Whatever a worker cannot read comes back as an :class:`~secretguard.sources.Unscanned` record.
4. Collect: the source refines its hits (git places blobs at their introducing commits), hits become
   findings through the user's filters and baseline, enrichers and validators run as the rules name them.
5. Summarise: every input is scanned, skipped (listed) or unreadable (listed, and the run fails).
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from secretguard import content, decoders, extractors
from secretguard.archives import DEFAULT_ARCHIVE_DEPTH, Limits, NotScanned
from secretguard.baseline import Baseline
from secretguard.config import Config, RuleSelection
from secretguard.engine import Detector, Match
from secretguard.executors import Executor, Inline, Lost, Processes, Work
from secretguard.filters import user_filter
from secretguard.findings import Finding, Hit, Pair, RuleInfo, collect
from secretguard.provenance import ArchiveMember, Converted, Provenance, source_provenance
from secretguard.rules import load_rules
from secretguard.sources import Chunk, Inventory, Reader, Source, Unreadable, Unscanned, reader, refine
from secretguard.summary import ScanSummary

Progress = Callable[[int], None]
INLINE_BYTES = 2 * 1024 * 1024
"""Below this much input, starting worker processes costs more than it saves."""
REGEX_ONLY_BELOW = 1024 * 1024
"""Inputs smaller than this skip Hyperscan when the caller asks for a quick start (the commit hook): building
or loading its database costs more than it saves."""
BATCH_BYTES = 4 * 1024 * 1024
BATCH_ITEMS = 256


# --- detector set-up -------------------------------------------------------------------------------------

_detectors: dict[tuple[object, ...], Detector] = {}


def detector_for(selection: RuleSelection, use_hyperscan: bool | None = None) -> Detector:
    """This process's detector for ``selection``, built on first use (``use_hyperscan=False``: regex only)."""
    key = (selection.extra_files, selection.disabled, use_hyperscan)
    detector = _detectors.get(key)
    if detector is None:
        _detectors.clear()  # one rule set at a time
        detector = _detectors[key] = Detector(load_rules(selection.extra_files, selection.disabled),
                                              use_hyperscan=use_hyperscan)
    if selection.decode_depth > 0:  # compiled here, so forked workers inherit them too
        decoders.default_finder("chunk")
        decoders.default_finder("region")
    return detector


def rule_info(config: Config) -> dict[str, RuleInfo]:
    """Rule id to (name, severity, kind), registered detectors included, for turning hits into findings."""
    from secretguard.detectors import registered_info

    rules = load_rules(config.rules.extra_files, config.rules.disabled)
    return {r.id: RuleInfo(r.spec.name, r.spec.severity, r.spec.kind) for r in rules} | \
        registered_info(config.rules.disabled)


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# --- one chunk -------------------------------------------------------------------------------------------

def pieces(chunk: Chunk, archive_depth: int = DEFAULT_ARCHIVE_DEPTH) -> tuple[list[Chunk], list[Unscanned]]:
    """The scannable pieces of a chunk's bytes, and what in it could not be scanned.

    This is the one place where content is expanded (:mod:`secretguard.content`): text in other encodings is
    decoded, a binary gives its bytes and strings, archives their members down to ``archive_depth``. A piece
    keeps the chunk's provenance, inside an :class:`ArchiveMember` and a :class:`Converted` where it is one.
    What could not be scanned fails the run, unless a limit the user sets (archive depth, size) left it out.
    """
    if content.is_plain(chunk.data):
        return [chunk], []
    name = chunk.provenance.origin().path or ""
    scannable: list[Chunk] = []
    unscanned: list[Unscanned] = []
    for piece in content.pieces(chunk.data, name, Limits(archive_depth=archive_depth)):
        if isinstance(piece, NotScanned):
            place = _member(chunk.provenance, piece.path[len(name) + 1:])
            unscanned.append(Unscanned(place.describe(), piece.reason, fails=not piece.user_limit))
            continue
        provenance = _member(chunk.provenance, piece.member or "")
        if piece.binary or piece.encoding:
            provenance = Converted(provenance, piece.binary, piece.encoding)
        whole = provenance is chunk.provenance  # the chunk itself, as it is
        scannable.append(Chunk(piece.data, provenance, chunk.fields if whole else (), raw=piece.raw))
    return scannable, unscanned


def _member(provenance: Provenance, member: str) -> Provenance:
    return ArchiveMember(provenance, member) if member else provenance


def _hits_from(matches: list[Match], chunk: Chunk) -> list[Hit]:
    if not matches:  # most chunks: no location to build
        return []
    origin = chunk.provenance.origin()
    return [
        Hit(
            rule=m.rule.id,
            secret=m.secret_text,
            entropy=m.entropy,
            origin=origin.at(m.line, m.column),
            pair=Pair(m.pair.rule.id, m.pair.secret_text) if m.pair else None,
        )
        for m in matches
    ]


def scan_chunk(detector: Detector, chunk: Chunk, *, decode_depth: int = decoders.DEFAULT_DECODE_DEPTH) -> list[Hit]:
    """Hits in the chunk's bytes, then in what decoders and extractors recover from them (``decode_depth`` 0: off).

    In a chunk of named values, each hit is placed at its name, and registered detectors add theirs. A binary's
    own bytes (``raw``) are left to the readers of binary credential files: no decoder has anything to gain there.
    """
    matches = detector.scan(chunk.data)
    hits = _hits_from(matches, chunk)
    if decode_depth > 0:
        budget = [decoders.MAX_DECODED_BYTES]
        origin = chunk.provenance.origin()
        regions = [] if chunk.raw else decoders.decode_regions(chunk.data, decode_depth, budget,
                                                                spans=[(m.start, m.end) for m in matches])
        regions += extractors.extract_regions(origin.path, chunk.data, decode_depth, budget, binary=chunk.raw)
        if regions:
            hits = decoders.merge(detector, hits, decoders.scan_regions(detector, chunk.data, origin, regions))
    return _at_fields(chunk, hits) if chunk.fields else hits


def _at_fields(chunk: Chunk, hits: list[Hit]) -> list[Hit]:
    """Hits placed at the named value they are in (lines of ``NAME=value`` text mean nothing to a reader),
    plus what registered detectors find in the values no rule matched."""
    from secretguard.detectors import field_hits

    starts = [line for _, _, line in chunk.fields]
    base = chunk.provenance.origin()
    matched: set[int] = set()
    placed = []
    for hit in hits:
        index = bisect.bisect_right(starts, hit.origin.line or 1) - 1
        matched.add(index)
        if hit.pair is not None:  # a pair's second half is reported with the first, not on its own
            matched.update(i for i, (_, value, _) in enumerate(chunk.fields) if hit.pair.secret in value)
        placed.append(replace(hit, origin=replace(base, variable=chunk.fields[index][0])))
    unmatched = [(name, value) for i, (name, value, _) in enumerate(chunk.fields) if i not in matched]
    return placed + [replace(h, origin=replace(base, variable=h.origin.variable)) for h in field_hits(unmatched)]


# --- workers ---------------------------------------------------------------------------------------------

@dataclass
class BatchResult:
    """What a worker sends back for one batch: hits per chunk (only chunks with hits) and what it could not scan."""

    hits: list[tuple[Provenance, list[Hit]]] = field(default_factory=list)
    unscanned: list[Unscanned] = field(default_factory=list)
    items_failed: int = 0


@dataclass(frozen=True)
class Job:
    """What every worker needs, set once per scan: what reads the items, the rules, the engine choice."""

    source: Reader
    selection: RuleSelection
    use_hyperscan: bool | None = None


def scan_items(job: Job, items: Iterable[Any]) -> BatchResult:
    """Read each item into chunks, each chunk into pieces, and scan every piece."""
    detector = detector_for(job.selection, job.use_hyperscan)
    disabled = job.selection.disabled
    result = BatchResult()
    read_ahead = getattr(job.source, "read_ahead", None)
    if read_ahead is not None:
        items = list(items)
        read_ahead(items)
    for item in items:
        try:
            chunks = list(job.source.read(item))
        except Unreadable as exc:
            result.unscanned.append(Unscanned(job.source.describe(item), str(exc)))
            result.items_failed += 1
            continue
        scanned = not chunks
        for chunk in chunks:
            scannable, unscanned = pieces(chunk, job.selection.archive_depth)
            result.unscanned.extend(unscanned)
            scanned = scanned or bool(scannable)
            for piece in scannable:
                hits = [h for h in scan_chunk(detector, piece, decode_depth=job.selection.decode_depth)
                        if h.rule not in disabled]
                if hits:
                    result.hits.append((piece.provenance, hits))
        result.items_failed += not scanned
    return result


def _scan_batch(job: Job, batch: list[tuple[Any, int]]) -> BatchResult:
    return scan_items(job, (item for item, _ in batch))


def batches(items: Iterable[tuple[Any, int]]) -> Iterator[list[tuple[Any, int]]]:
    """Group items into batches of a few MB so each worker task is worth sending."""
    batch: list[tuple[Any, int]] = []
    size = 0
    for item in items:
        batch.append(item)
        size += item[1]
        if size >= BATCH_BYTES or len(batch) >= BATCH_ITEMS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def fan_out(job: Job, groups: Iterable[list[tuple[Any, int]]], executor: Executor,
            on_done: Progress = lambda n: None) -> Iterator[BatchResult]:
    """Scan every batch through ``executor``, yielding results as they finish.

    A batch whose worker died runs again one item at a time; an item that kills its worker on its own comes
    back unreadable, with the reason: the run fails, and names it, instead of ending.
    """
    lost: list[tuple[Any, int]] = []
    for batch, outcome in executor.run(Work(_scan_batch, job, name=lambda batch: "scan batch"), groups):
        if isinstance(outcome, Lost) and len(batch) > 1:
            lost.extend(batch)
            continue
        on_done(sum(size for _, size in batch))
        if isinstance(outcome, Lost):
            outcome = BatchResult(unscanned=[Unscanned(job.source.describe(batch[0][0]), outcome.reason)],
                                  items_failed=1)
        yield outcome
    if lost:
        yield from fan_out(job, ([item] for item in lost), executor, on_done)


def local_executor(job: Job, jobs: int) -> Executor:
    """``jobs`` forked worker processes (inline for 1, or where processes cannot be forked).

    Workers inherit the job (the source, with whatever its enumeration built) and the loaded detector by fork,
    so a source need not be picklable. At most ``2 * jobs`` batches are in flight, so memory stays bounded.
    """
    if jobs > 1:
        from multiprocessing import get_all_start_methods  # not on the hook's path

        if "fork" in get_all_start_methods():
            detector_for(job.selection, job.use_hyperscan)  # forked workers inherit it, already loaded
            content.preload()  # and these
            return Processes(jobs, start="fork")
    return Inline()


# --- whole scans -----------------------------------------------------------------------------------------

@dataclass
class RawScan:
    """Refined hits of a scan, before filters, and its summary."""

    hits: list[Hit]
    summary: ScanSummary


@dataclass(frozen=True)
class ScanResult:
    findings: list[Finding]
    summary: ScanSummary


def scan_hits(source: Source, selection: RuleSelection, jobs: int = 1, *, quick_start: bool = False,
              executor: Executor | None = None,
              on_total: Progress = lambda n: None, on_advance: Progress = lambda n: None) -> RawScan:
    """Run ``source`` through the detector: every item read and scanned, every hit refined by the source.

    The work fans out through ``executor`` (the caller's, a Ray cluster for one), else to ``jobs`` local
    processes; small inputs are scanned here either way. ``quick_start`` skips Hyperscan for small inputs
    (the commit hook). ``on_total``/``on_advance`` report bytes for a progress bar.
    """
    inventory = Inventory()
    items: list[tuple[Any, int]] = []
    total = 0
    for item, size in source.items(inventory):
        items.append((item, size))
        total += size
        on_total(total)
    use_hyperscan = False if quick_start and total < REGEX_ONLY_BELOW else None
    job = Job(reader(source), selection, use_hyperscan)
    hits: list[Hit] = []
    unscanned = list(inventory.skipped)
    failed = 0
    if items:
        small = total < INLINE_BYTES
        runner = Inline() if small else executor or local_executor(job, jobs)
        try:
            for result in fan_out(job, batches(items), runner, on_advance):
                for provenance, chunk_hits in result.hits:
                    hits.extend(refine(source, source_provenance(provenance), chunk_hits))
                unscanned.extend(result.unscanned)
                failed += result.items_failed
        finally:
            if runner is not executor:
                runner.close()
    summary = ScanSummary(
        target=source.target, source=source.label, scanned=len(items) - failed, scanned_bytes=total,
        skipped=tuple((u.what, u.reason) for u in unscanned if not u.fails),
        unreadable=tuple((u.what, u.reason) for u in unscanned if u.fails),
        notes=tuple(inventory.notes), history_complete=inventory.complete)
    return RawScan(hits, summary)


def scan(source: Source, config: Config, jobs: int = 1, baseline: Baseline | None = None, *,
         quick_start: bool = False, validation: Validation | None = None, executor: Executor | None = None,
         on_total: Progress = lambda n: None, on_advance: Progress = lambda n: None) -> ScanResult:
    """A whole scan of ``source``: hits gathered into findings through the allowlist and the baseline,
    enriched and (with ``validation``) validated as their rules say. ``executor``: see :func:`scan_hits`."""
    info = rule_info(config)  # loads (and checks) the rules before any worker starts
    raw = scan_hits(source, config.rules, jobs, quick_start=quick_start, executor=executor, on_total=on_total,
                    on_advance=on_advance)
    findings = finish_findings(collect(raw.hits, info, user_filter(config.allowlist, baseline)), config, validation)
    return ScanResult(findings, raw.summary)


@dataclass(frozen=True)
class Validation:
    """``--validate``: how many checks at once, accounts never to call, where to send calls, where warnings go."""

    jobs: int = 4
    skip_accounts: tuple[str, ...] = ()
    endpoint_url: str | None = None
    warn: Callable[[str], None] | None = None


def finish_findings(findings: list[Finding], config: Config, validation: Validation | None = None) -> list[Finding]:
    """Run the enrichers and, when asked, the validators that the findings' rules name."""
    from secretguard.plugins import enrich, validate

    enrich(findings, config.rules)
    if validation is not None:
        validate(findings, config.rules, validation)
    return findings
