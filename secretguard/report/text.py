"""A readable report for terminals: one table per severity, most severe first."""

from __future__ import annotations

from itertools import groupby
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from secretguard.findings import Finding, Origin, redact
from secretguard.hashing import SecretHasher
from secretguard.report import ScanSummary

STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}
MAX_LOCATIONS_SHOWN = 5


def describe(origin: Origin) -> str:
    """One short line for a location: path:line:col, plus commit or cloud resource."""
    return origin.describe()


def enrichment_label(name: str) -> str:
    """How an enrichment is labelled beside a secret: ``aws_account`` reads "account"."""
    return name.rsplit("_", 1)[-1]


def _secret_cell(finding: Finding, reveal: bool) -> str:
    shown = (lambda s: s) if reveal else redact
    text = shown(finding.secret)
    if finding.pair:
        text += f"\n+ {shown(finding.pair.secret)}"
    for name, value in finding.enrichment.items():
        text += f"\n{enrichment_label(name)} {value}"
    if finding.validation:
        text += f"\n[{finding.validation.get('status', '?')}]"
        if finding.validation.get("respond"):
            text += f"\n{finding.validation['respond']}"
    return text


def write_text(findings: list[Finding], out: TextIO, summary: ScanSummary, reveal: bool,
               hasher: SecretHasher) -> None:
    console = Console(file=out, highlight=False, soft_wrap=False)
    for severity, group in groupby(findings, key=lambda f: f.severity):
        items = list(group)
        table = Table(title=f"{severity.upper()} ({len(items)})", title_style=STYLES.get(severity, ""),
                      show_lines=True, expand=False)
        table.add_column("rule", overflow="fold")
        table.add_column("secret", overflow="fold")
        table.add_column("locations", overflow="fold")
        for finding in items:
            shown = [describe(o) for o in sorted(finding.locations, key=Origin.sort_key)]
            if len(shown) > MAX_LOCATIONS_SHOWN:
                shown = shown[:MAX_LOCATIONS_SHOWN] + [f"… and {len(shown) - MAX_LOCATIONS_SHOWN} more"]
            # Secrets and paths may hold [brackets]; they are text, not markup.
            table.add_row(finding.rule, escape(_secret_cell(finding, reveal)), escape("\n".join(shown)))
        console.print(table)
    for path, reason in summary.skipped:
        console.print(escape(f"skipped {path}: {reason}"), style="dim")
    for path, reason in summary.unreadable:
        console.print(escape(f"not scanned {path}: {reason}"), style="bold red")
    for note in summary.notes:
        console.print(escape(note), style="dim")
    total = len(findings)
    scanned = f"{summary.scanned} {summary.source or 'items'}, {summary.scanned_bytes / 1e6:.1f} MB"
    if total:
        console.print(f"[bold]{total} finding{'s' if total != 1 else ''}[/bold] in {scanned}.")
    elif summary.unreadable:
        unread = len(summary.unreadable)
        console.print(f"No secrets found in {scanned}, but {unread} input{'s' if unread != 1 else ''} "
                      f"could not be scanned.")
    else:
        console.print(f"No secrets found in {scanned}.")
