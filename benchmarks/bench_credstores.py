#!/usr/bin/env python3
"""What reading encrypted credential stores costs: importing ``cryptography`` (paid once, by the first such file
only), reading one DBeaver ``credentials-config.json`` and one ``.mylogin.cnf``, and what asking every binary
whether it is such a store adds to the scan of binaries' own bytes (shared libraries of this Python).

    python benchmarks/bench_credstores.py [--repeat 5] [--files 2000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))
from secretguard.config import RuleSelection  # noqa: E402
from secretguard.extractors import view_text  # noqa: E402
from secretguard.pipeline import detector_for, pieces, scan_chunk  # noqa: E402
from secretguard.provenance import FileAt  # noqa: E402
from secretguard.sources import Chunk  # noqa: E402
from tests.credstores import DBEAVER_REAL, MYLOGIN_REAL, dbeaver_file, mylogin_file  # noqa: E402


def best(work: Callable[[], object], repeat: int) -> float:
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        walls.append(time.perf_counter() - start)
    return min(walls)


def import_cost(repeat: int) -> float:
    probe = "import time; t = time.perf_counter(); import cryptography.hazmat.primitives.ciphers; " \
            "print(time.perf_counter() - t)"
    return min(float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                    check=True).stdout) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--files", type=int, default=2000)
    args = parser.parse_args()
    print(f"import cryptography (fresh process)          {import_cost(args.repeat) * 1e3:7.1f} ms")
    for kind, data in (("dbeaver-credentials", dbeaver_file(DBEAVER_REAL, "bench")),
                       ("mysql-login", mylogin_file(MYLOGIN_REAL, "bench"))):
        view_text(kind, data)  # the import, paid once
        wall = best(lambda: [view_text(kind, data) for _ in range(args.files)], args.repeat)  # noqa: B023
        print(f"read one {kind:<22}              {wall / args.files * 1e6:7.1f} µs")

    libraries = sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.so"))
    libraries += sorted((Path(sys.prefix) / "lib").rglob("*.so"))
    raw = []
    for path in libraries:
        chunk = Chunk(path.read_bytes(), FileAt(path.as_posix()))
        raw += [piece for piece in pieces(chunk)[0] if piece.raw]
    size = sum(len(piece.data) for piece in raw)
    detector = detector_for(RuleSelection())
    before = best(lambda: [scan_chunk(detector, p, decode_depth=0) for p in raw], args.repeat)
    after = best(lambda: [scan_chunk(detector, p) for p in raw], args.repeat)
    head = f"{len(raw)} binaries, {size / 1e6:.1f} MB: own bytes,"
    print(f"{head} no reader  {before:6.2f} s  {size / 1e6 / before:7.1f} MB/s")
    print(f"{head} store check {after:6.2f} s  {size / 1e6 / after:7.1f} MB/s")


if __name__ == "__main__":
    main()
