"""Whole scans: a source's work fanned out over worker processes, gathered into findings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from secretguard.config import Config
from secretguard.filters import user_filter
from secretguard.findings import Finding, RuleInfo, collect
from secretguard.report import ScanSummary
from secretguard.rules import load_rules
from secretguard.scanning import run_batches
from secretguard.sources import files

Progress = Callable[[int], None]
INLINE_BYTES = 2 * 1024 * 1024
"""Below this much input, starting worker processes costs more than it saves."""


@dataclass(frozen=True)
class ScanResult:
    findings: list[Finding]
    summary: ScanSummary


def rule_info(config: Config) -> dict[str, RuleInfo]:
    """Rule id to (name, severity, kind), for turning hits into findings."""
    return {r.id: RuleInfo(r.spec.name, r.spec.severity, r.spec.kind)
            for r in load_rules(config.rules.extra_files, config.rules.disabled)}


def scan_directory(root: Path, config: Config, jobs: int, baseline: frozenset[str] = frozenset(),
                   respect_gitignore: bool = False, on_total: Progress = lambda n: None,
                   on_advance: Progress = lambda n: None) -> ScanResult:
    """Scan every file under ``root``; ``on_total``/``on_advance`` report bytes for a progress bar."""
    info = rule_info(config)  # loads (and checks) the rules before any worker starts
    report = files.WalkReport()
    items = list(files.walk(root, config.max_file_size, respect_gitignore, report))
    on_total(report.bytes)
    if report.bytes < INLINE_BYTES:
        jobs = 1
    hits = []
    for batch_hits in run_batches(files.scan_file_batch, files.batches(iter(items)), config.rules, jobs,
                                  on_done=lambda batch: on_advance(sum(item[2] for item in batch))):
        hits.extend(batch_hits)
    findings = collect(hits, info, user_filter(config.allowlist, baseline))
    summary = ScanSummary(target=str(root), source="files", scanned=report.files,
                          scanned_bytes=report.bytes, skipped=tuple(report.skipped))
    return ScanResult(findings, summary)
