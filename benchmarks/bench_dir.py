#!/usr/bin/env python3
"""Working-tree scan throughput: copies this Python's standard library (no site-packages, no
bytecode) until the tree holds at least --megabytes, then times ``secretguard scan dir`` on it as a
user runs it (a fresh process, all rules, all cores) and prints MB/s, CPU time and peak memory.

    python benchmarks/bench_dir.py [--megabytes 200] [--jobs N] [--keep DIR] [--runs N] [--against SRC]

``--against SRC`` compares with another checkout of secretguard (``SRC`` holds its ``secretguard``
package, e.g. ``git archive REV | tar -x -C SRC``): runs alternate between the two, so load on a shared
machine falls on both alike, and the medians of wall and CPU time (user + system, less sensitive to load)
are printed for each, with the median of the paired ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path


def build_tree(target: Path, megabytes: int) -> int:
    """Copy the standard library into ``target`` as many times as needed; return the bytes copied."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = [p for p in sorted(stdlib.rglob("*"))
             if p.is_file() and not p.is_symlink() and "site-packages" not in p.parts and "__pycache__" not in p.parts]
    total, copy = 0, 0
    while total < megabytes * 1_000_000:
        for path in files:
            dest = target / f"copy{copy}" / path.relative_to(stdlib)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            total += dest.stat().st_size
        copy += 1
    return total


def _importing(source: Path) -> dict[str, str]:
    """An environment in which ``python -m secretguard`` runs the package in ``source``, from bytecode as an
    installed package does (the warm-up run writes it, whatever PYTHONDONTWRITEBYTECODE says)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(source), os.environ.get("PYTHONPATH")]))}


def run_scan(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """One scan: wall seconds, CPU seconds (user + system, its workers included) and the number of findings."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode not in (0, 1) or not run.stdout:
        sys.exit(f"scan failed: {run.stderr.strip()}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, len(json.loads(run.stdout)["findings"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="Build the tree here (and reuse it if present).")
    parser.add_argument("--extra-args", default="", help="More arguments for `scan dir`.")
    parser.add_argument("--against-args", default="", help="More arguments for the other tree's `scan dir`.")
    parser.add_argument("--runs", type=int, default=1, help="Timed runs (of each, with --against).")
    parser.add_argument("--against", type=Path, help="Another secretguard source tree to compare with.")
    args = parser.parse_args()

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="sg-bench-dir-"))
    if not any(workdir.glob("copy*")):
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"building a {args.megabytes} MB tree in {workdir} …", file=sys.stderr)
        build_tree(workdir, args.megabytes)
    size = sum(p.stat().st_size for p in workdir.rglob("*") if p.is_file())
    command = [sys.executable, "-m", "secretguard", "scan", "dir", str(workdir), "--format", "json",
               "--no-progress", *(["--jobs", str(args.jobs)] if args.jobs else [])]
    variants = {"this": (command + args.extra_args.split(), _importing(Path(__file__).resolve().parent.parent))}
    if args.against is not None:
        variants["against"] = (command + args.against_args.split(), _importing(args.against.resolve()))
    # Warm the page cache and the compiled-rules cache so the runs measure scanning, not the disk.
    for variant, env in variants.values():
        subprocess.run(variant, capture_output=True, env=env, cwd=tempfile.gettempdir())
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    findings: dict[str, int] = {}
    for _ in range(args.runs):
        for name, (variant, env) in variants.items():
            wall, cpu, findings[name] = run_scan(variant, env)
            times[name].append((wall, cpu))
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"tree: {size / 1e6:.1f} MB in {sum(1 for _ in workdir.rglob('*'))} entries")
    for name, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"scan dir ({name}): median of {len(runs)}: {wall:.2f} s wall, {size / 1e6 / wall:.1f} MB/s, "
              f"{cpu:.2f} s CPU, {findings[name]} findings")
    if args.against is not None:
        ratios = [(t[0] / a[0], t[1] / a[1]) for t, a in zip(times["this"], times["against"], strict=True)]
        print(f"this / against, median of paired runs: wall {statistics.median(r[0] for r in ratios):.3f}, "
              f"CPU {statistics.median(r[1] for r in ratios):.3f}")
    print(f"peak RSS of the largest process: {peak_mb:.0f} MB")
    if args.keep is None:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
