#!/usr/bin/env python3
"""Working-tree scan throughput: copies this Python's standard library (no site-packages, no
bytecode) until the tree holds at least --megabytes, then times ``secretguard scan dir`` on it as a
user runs it (a fresh process, all rules, all cores) and prints MB/s and peak memory.

    python benchmarks/bench_dir.py [--megabytes 200] [--jobs N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="Build the tree here (and reuse it if present).")
    parser.add_argument("--extra-args", default="", help="More arguments for `scan dir`.")
    args = parser.parse_args()

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="sg-bench-dir-"))
    if not any(workdir.glob("copy*")):
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"building a {args.megabytes} MB tree in {workdir} …", file=sys.stderr)
        build_tree(workdir, args.megabytes)
    size = sum(p.stat().st_size for p in workdir.rglob("*") if p.is_file())
    command = [sys.executable, "-m", "secretguard", "scan", "dir", str(workdir), "--format", "json",
               "--no-progress", *(["--jobs", str(args.jobs)] if args.jobs else []), *args.extra_args.split()]
    # Warm the page cache and the compiled-rules cache so the run measures scanning, not the disk.
    subprocess.run(command, capture_output=True)
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if run.returncode not in (0, 1):
        sys.exit(f"scan failed: {run.stderr.strip()}")
    findings = len(json.loads(run.stdout)["findings"])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"tree: {size / 1e6:.1f} MB in {sum(1 for _ in workdir.rglob('*'))} entries")
    print(f"scan dir: {wall:.2f} s wall, {size / 1e6 / wall:.1f} MB/s, {findings} findings")
    print(f"peak RSS of the largest process: {peak_mb:.0f} MB")
    if args.keep is None:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
