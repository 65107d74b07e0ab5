#!/usr/bin/env python3
"""Org-sweep speed: 50 generated repositories (some of them forks sharing history) swept cold, then swept
again after one new commit in 5 of them. Prints both wall times and blobs scanned; the warm re-sweep
should take at most 10% of the cold one.

Repositories are built with ``../shared/bench/make_history.py`` and swept by URL (``file://``), so the cold
sweep clones every mirror and the warm one fetches them, as a nightly sweep of an organisation would. Each
sweep is ``secretguard sweep`` in a fresh process, as cron runs it.

    python benchmarks/bench_sweep.py [--repos 50] [--forks 10] [--commits 400] [--files 120] [--jobs N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAKE_HISTORY = Path(__file__).resolve().parents[2] / "shared" / "bench" / "make_history.py"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def build(workdir: Path, repos: int, forks: int, commits: int, files: int) -> list[Path]:
    """``repos - forks`` generated histories, and ``forks`` clones of some of them with a little work of their own."""
    bases = []
    for i in range(repos - forks):
        out = workdir / f"repo{i:02d}"
        if not out.exists():
            subprocess.run([sys.executable, str(MAKE_HISTORY), str(out), "--commits", str(commits), "--files",
                            str(files), "--secrets", "3", "--seed", str(i + 1)], check=True, capture_output=True)
        bases.append(out)
    made = list(bases)
    for i in range(forks):
        fork = workdir / f"fork{i:02d}"
        if not fork.exists():
            subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(bases[i % len(bases)]), str(fork)], check=True)
            for n in range(3):
                (fork / f"fork_{n}.txt").write_text(f"work of fork {i}, change {n}\n")
                git(fork, "add", "-A")
                git(fork, "-c", "user.name=Fork", "-c", "user.email=fork@example.test", "commit", "-q",
                    "-m", f"fork {n}")
        made.append(fork)
    return made


def sweep(listing: Path, db: Path, cache: Path, jobs: int) -> tuple[float, int, int]:
    """Wall seconds, blobs scanned and repositories failed of one ``secretguard sweep`` run."""
    command = [sys.executable, "-m", "secretguard", "sweep", "--from-file", str(listing), "--db", str(db),
               "--cache-dir", str(cache), "--quiet", *(["--jobs", str(jobs)] if jobs else [])]
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if run.returncode not in (0, 1):
        sys.exit(f"sweep failed ({run.returncode}): {run.stderr.strip()}")
    with sqlite3.connect(db) as con:
        blobs, failed = con.execute(
            "SELECT coalesce(sum(blobs_scanned), 0), coalesce(sum(status = 'failed'), 0) FROM run_repository "
            "WHERE run_id = (SELECT max(id) FROM run)").fetchone()
    return wall, blobs, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--commits", type=int, default=400)
    parser.add_argument("--files", type=int, default=120)
    parser.add_argument("--changed", type=int, default=5, help="Repositories given one new commit before the re-sweep.")
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="Build the repositories here (and reuse them if present).")
    args = parser.parse_args()

    workdir = (args.keep or Path(tempfile.mkdtemp(prefix="sg-bench-sweep-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"building {args.repos} repositories ({args.forks} forks) in {workdir} …", file=sys.stderr)
    repos = build(workdir, args.repos, args.forks, args.commits, args.files)
    listing = workdir / "repos.txt"
    listing.write_text("".join(f"{r.as_uri()}\n" for r in repos))
    db, cache = workdir / "sweep.db", workdir / "mirrors"
    shutil.rmtree(cache, ignore_errors=True)
    for stale in workdir.glob("sweep.db*"):
        stale.unlink()
    # Warm the compiled-rules cache so the cold sweep measures sweeping, not a one-off rule compilation.
    subprocess.run([sys.executable, "-m", "secretguard", "rules", "list"], capture_output=True, check=True)

    cold = sweep(listing, db, cache, args.jobs)
    for i, repo in enumerate(repos[:args.changed]):
        night = time.time_ns()  # unique, so a kept --keep directory gets a new commit on every run
        (repo / "src" / f"nightly_{i}.py").write_text(f"VALUE = {night}\n")
        (repo / "NEWS").write_text(f"change {i} of the night {night}\n")
        git(repo, "add", "-A")
        git(repo, "-c", "user.name=Dev", "-c", "user.email=dev@example.test", "commit", "-q", "-m", "nightly change")
    warm = sweep(listing, db, cache, args.jobs)

    print(f"{'sweep':6} {'wall s':>8} {'blobs scanned':>14} {'failed':>7}")
    for name, (wall, blobs, failed) in (("cold", cold), ("warm", warm)):
        print(f"{name:6} {wall:8.2f} {blobs:14d} {failed:7d}")
    ratio = warm[0] / cold[0]
    print(f"warm/cold wall time: {ratio:.1%} ({'within' if ratio <= 0.10 else 'OVER'} the 10% target)")


if __name__ == "__main__":
    main()
