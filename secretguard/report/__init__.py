"""Reporters write findings in one format each; they never scan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, TextIO

from secretguard.errors import SecretguardError
from secretguard.findings import Finding

FORMATS = ("text", "json", "jsonl", "sarif", "html")


@dataclass(frozen=True)
class ScanSummary:
    """What was scanned, for the reporters that show it."""

    target: str = ""
    source: str = ""
    scanned: int = 0
    scanned_bytes: int = 0
    skipped: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    history_complete: bool | None = None
    """For a git history: False when the repository lacks part of it (shallow or partial clone); else None."""


class Reporter(Protocol):
    def __call__(self, findings: list[Finding], out: TextIO, summary: ScanSummary, reveal: bool) -> None: ...


def reporter_for(fmt: str) -> Reporter:
    """The writer for ``fmt``; an unknown format is a usage error."""
    if fmt == "text":
        from secretguard.report.text import write_text
        return write_text
    if fmt in ("json", "jsonl"):
        from secretguard.report import json_lines
        return json_lines.write_json if fmt == "json" else json_lines.write_jsonl
    if fmt == "sarif":
        from secretguard.report.sarif import write_sarif
        return write_sarif
    if fmt == "html":
        from secretguard.report.html import write_html
        return write_html
    raise SecretguardError(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})")
