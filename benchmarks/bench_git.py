#!/usr/bin/env python3
"""History-scan and pre-commit-hook speed, against the targets of the git issue.

History: builds a repository with make_history.py beside this script (3,000 commits x 400 files, about
170 MB of unique blob content), and a copy of it repacked the way a server packs a fetch (deep deltas);
then for each (and each --repo given) times ``secretguard scan git`` as a user runs it (a fresh process,
all rules, all cores) and the same repository's ``git cat-file --batch-all-objects --batch --unordered``,
the floor. Prints unique blob MB, wall seconds, MB/s, peak RSS and the ratio to the floor
(target: at most 2.5x the floor, peak RSS at most 500 MB).

Hook: a 200-line staged change, the pre-commit hook installed by ``secretguard hook install``, run cold
(a new process each time) as git runs it, with the package's bytecode compiled as ``pip install`` leaves it
(target: at most 250 ms).

    python benchmarks/bench_git.py [--keep DIR] [--repo PATH ...] [--no-synthetic] [--runs 3] [--commits 3000]
        [--files 400]

For git/git: ``git clone --bare https://github.com/git/git`` (or any mirror), then
``python benchmarks/bench_git.py --repo git.git --no-synthetic --no-hook --runs 2``.
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
import tempfile
import threading
import time
from pathlib import Path

import secretguard

MAKE_HISTORY = Path(__file__).resolve().parent / "make_history.py"
FLOOR = ["git", "cat-file", "--batch-all-objects", "--batch", "--unordered"]
PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root: int) -> int:
    """Resident memory (bytes) of process ``root`` and all its descendants, now."""
    total, frontier = 0, [root]
    while frontier:
        pid = frontier.pop()
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    frontier.extend(int(child) for child in f.read().split())
        except OSError:  # it ended meanwhile
            continue
    return total


def cpu_of_children() -> float:
    """User plus system seconds of every child process waited for so far (and of their own children)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(command: list[str]) -> tuple[float, int, str, float]:
    """Run ``command``; return wall seconds, peak RSS of its whole process tree (sampled), stdout, and the
    user+sys seconds of the tree."""
    peak = 0
    cpu = cpu_of_children()
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    if process.returncode not in (0, 1, 2):  # 2: some input could not be scanned, the report is still whole
        sys.exit(f"{' '.join(command)} failed: {err.strip()}")
    return wall, peak, out, cpu_of_children() - cpu


def floor_seconds(repo: Path, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(FLOOR, cwd=repo, stdout=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def bench_history(name: str, repo: Path, runs: int, jobs: int, planted: list[dict[str, object]] | None) -> None:
    command = [sys.executable, "-m", "secretguard", "scan", "git", str(repo), "--format", "json", "--no-progress",
               *(["--jobs", str(jobs)] if jobs else [])]
    floor_seconds(repo, 1)  # warm the page cache
    subprocess.run(command, capture_output=True)  # and the compiled-rules cache
    floors, results = [], []
    for _ in range(runs):  # alternate, so both see the same machine load
        floors.append(floor_seconds(repo, 1))
        results.append(run_measured(command))
    walls = [wall for wall, _, _, _ in results]
    ratios = [wall / floor for wall, floor in zip(walls, floors, strict=True)]
    out = results[0][2]
    peak = max(peak for _, peak, _, _ in results)
    cpu = statistics.median(cpu for _, _, _, cpu in results)
    report = json.loads(out)
    megabytes = report["summary"]["scanned_bytes"] / 1e6
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    wall = statistics.median(walls)
    print(f"\n{name}: {repo}")
    print(f"  unique blobs: {report['summary']['scanned']} blobs, {megabytes:.1f} MB")
    print(f"  scan git:     {wall:.2f} s wall (median of {runs}; best {min(walls):.2f} s), "
          f"{megabytes / wall:.1f} MB/s, {len(report['findings'])} findings, "
          f"{cpu:.1f} s user+sys (median; {cpu / wall:.2f} cores busy)")
    print(f"  peak RSS:     {peak / 1e6:.0f} MB for all processes together (largest single process so far: "
          f"{largest:.0f} MB)")
    print(f"  cat-file:     {statistics.median(floors):.2f} s (floor, median)  ->  scan is "
          f"{statistics.median(ratios):.2f}x the floor (median of paired runs; {min(ratios):.2f}-{max(ratios):.2f}x; "
          f"target <= 2.5x)")
    if planted:
        found = {loc["commit"] for f in report["findings"] if f["rule"] == "aws-access-key-id"
                 for loc in f["locations"]}
        print(f"  planted AWS key pairs: {len(planted)}, reported at {len(found)} introducing commits")


def bench_hook(workdir: Path, runs: int) -> None:
    repo = workdir / "hook-repo"
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    lines = [f"def handler_{i}(event):\n    return process(event, retries={i % 7})\n" for i in range(150)]
    (repo / "service.py").write_text("".join(lines))
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], cwd=repo, check=True)
    added = [f"SETTING_{i} = lookup('service.{i}', default={i})\n" for i in range(200)]
    (repo / "service.py").write_text("".join(lines[:75] + added + lines[75:]))
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([sys.executable, "-m", "secretguard", "hook", "install", str(repo)], check=True,
                   capture_output=True)
    hook = repo / ".git" / "hooks" / "pre-commit"
    # Bytecode as `pip install` leaves it (it compiles every module), even where PYTHONDONTWRITEBYTECODE is set.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(secretguard.__file__).parent)], check=True,
                   stdout=subprocess.DEVNULL)
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run([str(hook)], cwd=repo, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        times.append((time.perf_counter() - start) * 1000)
        if done.returncode != 0:
            sys.exit(f"the hook failed on a clean change: {done.stderr.strip()}")
    times = times[1:]  # the first run fills the parsed-rules and compiled-database caches
    print(f"\npre-commit hook, 200 added lines, cold process: best {min(times):.0f} ms, "
          f"median {statistics.median(times):.0f} ms over {runs} runs (target <= 250 ms)")


def bench_histories(workdir: Path, args: argparse.Namespace) -> None:
    history, fetched = workdir / "history", workdir / "fetched.git"
    if not history.exists():
        print(f"building {history} …", file=sys.stderr)
        subprocess.run([sys.executable, str(MAKE_HISTORY), str(history), "--commits", str(args.commits),
                        "--files", str(args.files)], check=True, stdout=subprocess.DEVNULL)
    if not fetched.exists():
        print(f"repacking a copy as a fetch would get it: {fetched} …", file=sys.stderr)
        subprocess.run(["git", "clone", "-q", "--bare", "--no-local", str(history), str(fetched)], check=True)
        subprocess.run(["git", "repack", "-q", "-a", "-d", "-f", "--window=10", "--depth=50"], cwd=fetched,
                       check=True)
    planted = json.loads(Path(f"{history}.planted.json").read_text())
    bench_history("history (make_history.py)", history, args.runs, args.jobs, planted)
    bench_history("the same history, repacked as fetched", fetched, args.runs, args.jobs, planted)


def bench_given(args: argparse.Namespace) -> None:
    for repo in args.repo:
        bench_history("given repository", repo, args.runs, args.jobs, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Build the repositories here (and reuse them if present).")
    parser.add_argument("--repo", type=Path, action="append", default=[], help="Also time this repository.")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--no-hook", action="store_true", help="Skip the hook timing.")
    parser.add_argument("--no-history", action="store_true", help="Time the hook alone.")
    parser.add_argument("--no-synthetic", action="store_true",
                        help="Time only the --repo repositories, without building the synthetic histories.")
    args = parser.parse_args()

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="sg-bench-git-"))
    if not args.no_history:
        if not args.no_synthetic:
            bench_histories(workdir, args)
        bench_given(args)
    if not args.no_hook:
        bench_hook(workdir, max(args.runs, 10))
    if args.keep is None:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
