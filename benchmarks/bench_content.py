#!/usr/bin/env python3
"""Cost of :func:`secretguard.content.pieces` on the ``bench_dir.py`` tree (a copy of the standard library), in
one process: the function alone, then the scan of every file (decoders included) as before it (files with a
NUL in their first 8 KiB skipped) and with it (every piece scanned), with archives opened and without.
Prints MB/s of the tree for each, best of --repeat, and what the tree holds.

    python benchmarks/bench_content.py [--megabytes 100] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_dir import build_tree  # noqa: E402

from secretguard.archives import NotScanned  # noqa: E402
from secretguard.config import RuleSelection  # noqa: E402
from secretguard.content import pieces  # noqa: E402
from secretguard.pipeline import detector_for, scan_chunk  # noqa: E402
from secretguard.pipeline import pieces as chunk_pieces  # noqa: E402
from secretguard.provenance import FileAt  # noqa: E402
from secretguard.sources import Chunk  # noqa: E402


def timed(label: str, size: int, work: Callable[[], object], repeat: int) -> float:
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        walls.append(time.perf_counter() - start)
    wall = min(walls)
    print(f"{label:<44} {wall:6.2f} s  {size / 1e6 / wall:8.1f} MB/s")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Build the tree here (and reuse it if present).")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="sg-bench-content-"))
    if not any(workdir.glob("copy*")):
        workdir.mkdir(parents=True, exist_ok=True)
        build_tree(workdir, args.megabytes)
    inputs = [(p.relative_to(workdir).as_posix(), p.read_bytes()) for p in sorted(workdir.rglob("*")) if p.is_file()]
    size = sum(len(data) for _, data in inputs)
    kinds: Counter[str] = Counter()
    for name, data in inputs:
        for piece in pieces(data, name):
            kinds["not scanned" if isinstance(piece, NotScanned) else
                  "archive member" if piece.member else "binary" if piece.binary else
                  piece.encoding or "text as it is"] += 1
    print(f"tree: {size / 1e6:.1f} MB in {len(inputs)} files; pieces: {dict(kinds)}")
    detector = detector_for(RuleSelection())

    def before() -> None:
        for name, data in inputs:
            if b"\0" not in data[:8192]:
                scan_chunk(detector, Chunk(data, FileAt(name)))

    def after(archive_depth: int) -> Callable[[], None]:
        def work() -> None:  # as the pipeline's workers do
            for name, data in inputs:
                for piece in chunk_pieces(Chunk(data, FileAt(name)), archive_depth)[0]:
                    scan_chunk(detector, piece, decode_depth=0 if piece.raw else 2)
        return work

    timed("pieces() alone", size, lambda: [list(pieces(data, name)) for name, data in inputs], args.repeat)
    old = timed("scan, binaries skipped (before)", size, before, args.repeat)
    for depth in (0, 3):
        new = timed(f"scan of every piece, archive depth {depth}", size, after(depth), args.repeat)
        print(f"{'':<44} {100 * (new / old - 1):+.1f}% against before")
    if args.keep is None:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
