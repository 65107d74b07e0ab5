"""Baselines: fingerprints of accepted findings, so only new ones fail a scan or a hook.

The file is deterministic and merge-friendly: entries sorted by fingerprint, no timestamps and no
line numbers, so editing unrelated lines never changes it. It holds hashes, never secrets.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from secretguard.errors import SecretguardError
from secretguard.findings import Finding

BASELINE_VERSION = 1
DEFAULT_BASELINE = ".secretguard-baseline.json"


def read_baseline(path: Path) -> list[dict[str, object]]:
    """The entries of a baseline file, checked."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SecretguardError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise SecretguardError(f"{path}: baseline is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(document, dict) or document.get("version") != BASELINE_VERSION:
        raise SecretguardError(f"{path}: not a secretguard baseline (version {BASELINE_VERSION})")
    entries = document.get("findings", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "fingerprint" in e for e in entries):
        raise SecretguardError(f"{path}: baseline 'findings' must be a list of entries with a fingerprint")
    return entries


def load_baseline(path: Path) -> frozenset[str]:
    """The fingerprints a baseline file accepts."""
    return frozenset(str(e["fingerprint"]) for e in read_baseline(path))


def write_baseline(findings: list[Finding], path: Path, previous: Sequence[dict[str, object]] = ()) -> int:
    """Write ``findings`` (merged over ``previous`` entries, for ``update``) as a baseline; return the count."""
    merged = {str(e["fingerprint"]): e for e in previous}
    for f in findings:
        merged[f.fingerprint] = {
            "fingerprint": f.fingerprint,
            "rule": f.rule,
            "secret_sha256": f.secret_sha256,
            "paths": sorted({o.path or o.resource or "" for o in f.locations} - {""}),
        }
    document = {"version": BASELINE_VERSION, "findings": [merged[k] for k in sorted(merged)]}
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return len(merged)
