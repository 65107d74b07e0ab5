#!/usr/bin/env python3
"""What keyed hashes cost: one scrypt at the documented work factor (what each guess costs a reader of a
baseline or sweep store, and each distinct secret costs a scan with a baseline), and the wall time of
``baseline create`` and of ``scan dir`` with and without that baseline on a tree of --secrets distinct tokens,
each in a fresh process as a user runs it.

    python benchmarks/bench_hashing.py [--secrets 200] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from secretguard.hashing import SaltedHasher


def build_tree(target: Path, secrets: int) -> None:
    """``secrets`` files, each holding one distinct GitHub token (found by a shipped rule)."""
    rng = random.Random(1)
    for i in range(secrets):
        token = "ghp_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(36))
        (target / f"service{i:04d}.env").write_text(f"GITHUB_TOKEN={token}\n")


def timed(*args: str) -> float:
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "secretguard", *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if run.returncode not in (0, 1):
        sys.exit(f"secretguard {' '.join(args)} failed ({run.returncode}): {run.stderr.strip()}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="Build the tree here (and reuse it if present).")
    args = parser.parse_args()

    hasher = SaltedHasher.fresh()
    samples = []
    for _ in range(20):
        start = time.perf_counter()
        hasher.secret_hash(os.urandom(16).hex())
        samples.append(time.perf_counter() - start)
    per_guess = statistics.median(samples)
    print(f"scrypt N={hasher.n}, r=8, p=1: {per_guess * 1000:.1f} ms median "
          f"({per_guess * 100_000 / 3600:.1f} core-hours for 10^5 guesses)")

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="sg-bench-hashing-"))
    tree, baseline = workdir / "tree", workdir / "baseline.json"
    if not tree.is_dir():
        tree.mkdir(parents=True)
        build_tree(tree, args.secrets)
    report_args = ("--no-progress", "--format", "json")
    timed("scan", "dir", str(tree), *report_args)  # warm the page and rules caches
    create = timed("baseline", "create", str(tree), "--output", str(baseline))
    plain = statistics.median(timed("scan", "dir", str(tree), *report_args) for _ in range(3))
    with_baseline = statistics.median(timed("scan", "dir", str(tree), "--baseline", str(baseline), *report_args)
                                      for _ in range(3))
    print(f"{args.secrets} distinct secrets: baseline create {create:.2f} s; scan dir {plain:.2f} s, "
          f"with the baseline {with_baseline:.2f} s (+{(with_baseline - plain) / args.secrets * 1000:.1f} ms a secret)")


if __name__ == "__main__":
    main()
