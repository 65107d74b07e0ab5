"""Run the detector over chunks, in this process or in worker processes, and turn matches into hits.

Each worker process builds its own :class:`~secretguard.engine.Detector` once (the compiled rule
database is cached on disk, so this is quick) and then scans whatever batches it is given.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

from secretguard import decoders, extractors
from secretguard.config import RuleSelection
from secretguard.engine import Detector, Match
from secretguard.findings import Hit, Origin, Pair
from secretguard.rules import load_rules
from secretguard.sources import Chunk

if TYPE_CHECKING:
    from concurrent.futures import Future

T = TypeVar("T")
_detector: Detector | None = None
_selection: RuleSelection | None = None


def detector_for(selection: RuleSelection) -> Detector:
    """This process's detector for ``selection``, built on first use."""
    global _detector, _selection
    if _detector is None or _selection is None or _rules_of(_selection) != _rules_of(selection):
        _detector = Detector(load_rules(selection.extra_files, selection.disabled))
    if selection.decode_depth > 0:  # compiled here, so forked workers inherit them too
        decoders.default_finder("chunk")
        decoders.default_finder("region")
    _selection = selection
    return _detector


def _rules_of(selection: RuleSelection) -> tuple[object, ...]:
    return (selection.extra_files, selection.disabled)


def _hits_from(matches: Iterable[Match], origin: Origin) -> list[Hit]:
    """Matches in one chunk as hits at that chunk's origin."""
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


def scan_chunk(detector: Detector, chunk: Chunk, *, decode_depth: int | None = None) -> list[Hit]:
    """Hits in the chunk's bytes, then in what decoders and extractors recover from them.

    ``decode_depth`` defaults to that of the selection this process's detector was built for (so worker
    tasks follow ``--decode-depth``), else :data:`~secretguard.decoders.DEFAULT_DECODE_DEPTH`; 0 is off.
    """
    matches = detector.scan(chunk.data)
    hits = _hits_from(matches, chunk.origin)
    if decode_depth is None:
        own = _selection if detector is _detector else None
        decode_depth = own.decode_depth if own is not None else decoders.DEFAULT_DECODE_DEPTH
    if decode_depth <= 0:
        return hits
    budget = [decoders.MAX_DECODED_BYTES]
    regions = decoders.decode_regions(chunk.data, decode_depth, budget, spans=[(m.start, m.end) for m in matches])
    regions += extractors.extract_regions(chunk.origin.path, chunk.data, decode_depth, budget)
    if not regions:
        return hits
    return decoders.merge(detector, hits, decoders.scan_regions(detector, chunk.data, chunk.origin, regions))


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_batches(
    work: Callable[[RuleSelection, T], list[Hit]],
    batches: Iterable[T],
    selection: RuleSelection,
    jobs: int,
    on_done: Callable[[T], None] = lambda batch: None,
) -> Iterator[list[Hit]]:
    """Apply ``work(selection, batch)`` to every batch, in ``jobs`` processes, yielding results as they finish.

    ``work`` must be a module-level function so it can be sent to workers. At most ``2 * jobs``
    batches are in flight, so memory stays bounded however many batches there are.
    """
    if jobs <= 1:
        for batch in batches:
            yield work(selection, batch)
            on_done(batch)
        return
    detector_for(selection)  # forked workers inherit it, already loaded, instead of each building one
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait  # not on the hook's path

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        pending: dict[Future[list[Hit]], T] = {}
        for batch in batches:
            pending[pool.submit(work, selection, batch)] = batch
            if len(pending) >= 2 * jobs:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                    on_done(pending.pop(future))
        for future in list(pending):
            yield future.result()
            on_done(pending.pop(future))
