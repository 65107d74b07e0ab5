"""The wheel carries the rules: build it, install it apart from the checkout, and scan with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_patterns_and_scans_from_a_clean_install(tmp_path: Path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    [wheel] = dist.glob("secretguard-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).name for n in names if n.startswith("secretguard/patterns/")}
    assert shipped == {p.name for p in (ROOT / "patterns").glob("*.yaml")}

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
                    "--target", str(site), str(wheel)], check=True, capture_output=True)
    sample = tmp_path / "sample"
    sample.mkdir()
    (sample / "deploy.env").write_text("GITHUB_TOKEN=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\n")
    # Only the installed copy is importable: the checkout is neither the cwd nor on the path.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    probe = subprocess.run([sys.executable, "-P", "-c", "import secretguard.rules as r; print(r.builtin_rules_dir())"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert Path(probe.stdout.strip()).is_relative_to(site)
    run = subprocess.run([sys.executable, "-P", "-m", "secretguard", "scan", "dir", str(sample), "--format", "json"],
                         cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    assert [f["rule"] for f in json.loads(run.stdout)["findings"]] == ["github-pat"]


def test_the_git_benchmark_needs_nothing_outside_the_project(tmp_path: Path):
    """bench_git.py builds its history with a script shipped beside it, which runs from a copy of benchmarks/."""
    import shutil

    copy = tmp_path / "elsewhere" / "benchmarks"
    shutil.copytree(ROOT / "benchmarks", copy)
    probe = ("import runpy, sys\n"
             f"bench = runpy.run_path({str(copy / 'bench_git.py')!r})\n"
             "print(bench['MAKE_HISTORY'])\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path)
    make_history = Path(done.stdout.strip())
    assert make_history.parent == copy

    history = tmp_path / "history"
    subprocess.run([sys.executable, str(make_history), str(history), "--commits", "20", "--files", "5",
                    "--secrets", "2"], check=True, capture_output=True)
    assert json.loads(history.with_name("history.planted.json").read_text())
