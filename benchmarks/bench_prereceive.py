#!/usr/bin/env python3
"""Speed of the server's pre-receive hook, as git runs it on a real push over the local file transport.

Builds a history with make_history.py (default 2,500 commits x 350 files, roughly a psf/requests-sized
push), installs ``secretguard hook install --pre-receive`` into bare repositories, and times the hook's own
run (wrapped, so git's transfer is not counted) for:

- the first push of the whole history into an empty bare repository (target: at most 3 s);
- a push of 1,000 new commits onto a server that has the rest (target: at most 1.5 s);
- a one-commit push (target: at most 150 ms; the median of --runs pushes).

Planted secrets make some pushes refused: the hook's time is what is measured either way.

    python benchmarks/bench_prereceive.py [--keep DIR] [--commits 2500] [--files 350] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAKE_HISTORY_CANDIDATES = (HERE / "make_history.py", HERE.parents[1] / "shared" / "bench" / "make_history.py")
TIMER = """#!/bin/sh
start=$(date +%s%N)
"${0%/*}/pre-receive.timed" "$@"
rc=$?
echo $(( $(date +%s%N) - start )) >> "${0%/*}/../hook-times"
exit $rc
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def timed_server(path: Path, history: Path, already: str | None = None) -> Path:
    """A bare repository holding ``already`` of ``history`` (pushed before the hook), with the pre-receive hook
    installed behind a wrapper that records its run time."""
    git(path.parent, "init", "-q", "--bare", str(path))
    if already:
        git(history, "push", "-q", "--no-verify", str(path), f"{already}:refs/heads/main")
    subprocess.run([sys.executable, "-m", "secretguard", "hook", "install", "--pre-receive", "--max-seconds", "600",
                    str(path)], check=True, capture_output=True)
    hooks = path / "hooks"
    (hooks / "pre-receive").rename(hooks / "pre-receive.timed")
    (hooks / "pre-receive").write_text(TIMER)
    (hooks / "pre-receive").chmod(0o755)
    return path


def last_hook_seconds(server: Path) -> float:
    return int((server / "hook-times").read_text().split()[-1]) / 1e9


def push(client: Path, server: Path, refspec: str) -> float:
    """Push ``refspec``; the hook's own seconds for it."""
    subprocess.run(["git", "push", "-q", "--no-verify", str(server), refspec], cwd=client, capture_output=True)
    return last_hook_seconds(server)


def make_history(out: Path, commits: int, files: int) -> None:
    script = next((p for p in MAKE_HISTORY_CANDIDATES if p.is_file()), None)
    if script is None:
        sys.exit("error: make_history.py is missing (benchmarks/ or ../shared/bench/)")
    subprocess.run([sys.executable, str(script), str(out), "--commits", str(commits), "--files", str(files)],
                   check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temporary directory)")
    parser.add_argument("--commits", type=int, default=2500)
    parser.add_argument("--files", type=int, default=350)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="sg-prereceive-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        history = work / "history"
        if not (history / ".git").is_dir():
            make_history(history, args.commits, args.files)
        blob_bytes = sum(int(line.split()[0]) for line in git(
            history, "cat-file", "--batch-all-objects", "--batch-check=%(objectsize) %(objecttype)").splitlines()
            if line.endswith(" blob"))
        count = int(git(history, "rev-list", "--all", "--objects", "--count"))
        print(f"history: {args.commits} commits, {count} objects, {blob_bytes / 1e6:.0f} MB of blobs")

        first = timed_server(work / "first.git", history)
        seconds = push(history, first, "HEAD:refs/heads/main")
        print(f"first push of the whole history:  {seconds:6.2f} s   (target <= 3 s)")

        partial = timed_server(work / "partial.git", history, "HEAD~1000")
        seconds = push(history, partial, "HEAD:refs/heads/main")
        print(f"push of 1,000 new commits:        {seconds:6.2f} s   (target <= 1.5 s)")

        one = timed_server(work / "one.git", history, "HEAD")
        client = work / "client"
        shutil.rmtree(client, ignore_errors=True)
        git(work, "clone", "-q", "-b", "main", str(one), str(client))
        times = []
        for run in range(args.runs):
            (client / "CHANGELOG.txt").write_text(f"run {run}\n" + "a line of release notes\n" * 200)
            git(client, "add", "-A")
            git(client, "-c", "user.name=bench", "-c", "user.email=bench@example.test",
                "commit", "-q", "--no-verify", "-m", f"run {run}")
            times.append(push(client, one, "HEAD:refs/heads/main"))
        print(f"one-commit push (median of {args.runs}): {statistics.median(times) * 1000:6.0f} ms "
              f"(best {min(times) * 1000:.0f} ms; target <= 150 ms)")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("GIT_TERMINAL_PROMPT", "0")
    main()
