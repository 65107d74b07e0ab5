"""JSON (one document with findings and a summary) and JSON Lines (one finding per line)."""

from __future__ import annotations

import json
from typing import TextIO

from secretguard import __version__
from secretguard.findings import Finding
from secretguard.hashing import SecretHasher
from secretguard.report import ScanSummary


def write_json(findings: list[Finding], out: TextIO, summary: ScanSummary, reveal: bool,
               hasher: SecretHasher) -> None:
    document = {
        "tool": {"name": "secretguard", "version": __version__},
        "target": summary.target,
        "summary": {
            "findings": len(findings),
            "scanned": summary.scanned,
            "scanned_bytes": summary.scanned_bytes,
            "skipped": [{"path": p, "reason": r} for p, r in summary.skipped],
            "unreadable": [{"path": p, "reason": r} for p, r in summary.unreadable],
            "notes": list(summary.notes),
            **({"history_complete": summary.history_complete} if summary.history_complete is not None else {}),
        },
        "findings": [f.to_dict(reveal, hasher) for f in findings],
    }
    json.dump(document, out, indent=2)
    out.write("\n")


def write_jsonl(findings: list[Finding], out: TextIO, summary: ScanSummary, reveal: bool,
                hasher: SecretHasher) -> None:
    for finding in findings:
        out.write(json.dumps(finding.to_dict(reveal, hasher), separators=(",", ":")) + "\n")
