#!/usr/bin/env python3
"""Precision on real code with no real secrets: scans this virtualenv's site-packages (without secretguard
itself) as a user would (``secretguard scan dir``, all rules, all cores) and prints findings per 100 MB, by
rule, then every finding (redacted) with its first place, for review. Target: at most 2 findings per 100 MB.

    python benchmarks/bench_precision.py [--site-packages DIR] [--target 2.0] [--jobs N]

Exits 1 when the target is missed, 2 when the scan fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from pathlib import Path

OWN = ("secretguard", "_editable_impl_secretguard", "__editable__.secretguard", "__editable___secretguard")


def link_tree(site_packages: Path, target: Path) -> list[str]:
    """Symlink every entry of ``site_packages`` but secretguard's own into ``target``; return those left out."""
    left_out = []
    for entry in sorted(site_packages.iterdir()):
        if entry.name.lower().startswith(OWN):
            left_out.append(entry.name)
            continue
        os.symlink(entry, target / entry.name)
    return left_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site-packages", type=Path, default=Path(sysconfig.get_paths()["purelib"]))
    parser.add_argument("--target", type=float, default=2.0, help="Most findings per 100 MB (default 2).")
    parser.add_argument("--jobs", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sg-bench-precision-") as workdir:
        left_out = link_tree(args.site_packages, Path(workdir))
        command = [sys.executable, "-m", "secretguard", "scan", "dir", workdir, "--format", "json", "--no-progress",
                   *(["--jobs", str(args.jobs)] if args.jobs else [])]
        start = time.perf_counter()
        run = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
    if run.returncode not in (0, 1):
        sys.exit(f"scan failed: {run.stderr.strip()}")
    report = json.loads(run.stdout)
    summary, findings = report["summary"], report["findings"]
    hundreds = summary["scanned_bytes"] / 100e6
    rate = len(findings) / hundreds if hundreds else 0.0

    print(f"tree: {args.site_packages} without {', '.join(left_out) or 'nothing'}")
    print(f"scanned: {summary['scanned']} files, {summary['scanned_bytes'] / 1e6:.1f} MB in {wall:.1f} s; "
          f"skipped {len(summary['skipped'])}")
    print(f"findings: {len(findings)}, {rate:.2f} per 100 MB (target <= {args.target:g})")
    for rule, count in Counter(f["rule"] for f in findings).most_common():
        print(f"  {count / hundreds:6.2f} per 100 MB  {count:4}  {rule}")
    for finding in findings:
        first = min(finding["locations"], key=lambda o: (o.get("path") or "", o.get("line") or 0))
        places = len(finding["locations"])
        more = f"  (+{places - 1} more places)" if places > 1 else ""
        print(f"  - {finding['rule']}: {finding['secret']}  {first.get('path')}:{first.get('line')}{more}")
    sys.exit(0 if rate <= args.target else 1)


if __name__ == "__main__":
    main()
