"""Reporters write findings in one format each; they never scan.

:data:`REPORTERS` is the registry: a new format is one module here and one entry there, and the command
line's ``--format`` choices and help come from it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Protocol, TextIO, cast

from secretguard.errors import SecretguardError
from secretguard.findings import Finding
from secretguard.hashing import SecretHasher
from secretguard.summary import ScanSummary

__all__ = ["FORMATS", "REPORTERS", "Reporter", "ScanSummary", "format_help", "reporter_for"]


class Reporter(Protocol):
    """Write ``findings``; ``hasher`` keys every fingerprint and secret hash the format shows."""

    def __call__(self, findings: list[Finding], out: TextIO, summary: ScanSummary, reveal: bool,
                 hasher: SecretHasher) -> None: ...


REPORTERS: dict[str, str] = {
    "text": "secretguard.report.text:write_text",
    "json": "secretguard.report.json_lines:write_json",
    "jsonl": "secretguard.report.json_lines:write_jsonl",
    "sarif": "secretguard.report.sarif:write_sarif",
    "html": "secretguard.report.html:write_html",
}
"""Format name to ``module:function``; modules are imported only when their format is used."""
FORMATS = tuple(REPORTERS)


def format_help() -> str:
    """The ``--format`` help text: every registered format."""
    return f"{', '.join(FORMATS[:-1])} or {FORMATS[-1]}."


def reporter_for(fmt: str) -> Reporter:
    """The writer for ``fmt``; an unknown format is a usage error."""
    target = REPORTERS.get(fmt)
    if target is None:
        raise SecretguardError(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})")
    module, _, name = target.partition(":")
    return cast(Reporter, getattr(import_module(module), name))
