"""SARIF 2.1.0: one run, one reporting descriptor per rule, one result per location of each finding."""

from __future__ import annotations

import json
from typing import Any, TextIO

from secretguard import __version__
from secretguard.findings import Finding
from secretguard.hashing import SecretHasher
from secretguard.report import ScanSummary

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def _location(origin: dict[str, Any]) -> dict[str, Any]:
    uri = origin.get("path") or origin.get("resource") or origin.get("repo") or "unknown"
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
    if origin.get("line"):
        physical["region"] = {"startLine": origin["line"], "startColumn": origin.get("column") or 1}
    location: dict[str, Any] = {"physicalLocation": physical}
    extra = {k: v for k, v in origin.items() if k not in ("path", "line", "column")}
    if extra:
        location["properties"] = extra
    return location


def write_sarif(findings: list[Finding], out: TextIO, summary: ScanSummary, reveal: bool,
                hasher: SecretHasher) -> None:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for finding in findings:
        data = finding.to_dict(reveal, hasher)
        rules.setdefault(finding.rule, {
            "id": finding.rule,
            "name": finding.name,
            "shortDescription": {"text": finding.name},
            "defaultConfiguration": {"level": LEVELS.get(finding.severity, "warning")},
            "properties": {"security-severity": SECURITY_SEVERITY.get(finding.severity, "5.0"),
                           "tags": ["security", "secret"]},
        })
        properties = {k: v for k, v in data.items() if k not in ("locations", "rule", "name", "fingerprint")}
        for origin in data["locations"]:
            results.append({
                "ruleId": finding.rule,
                "level": LEVELS.get(finding.severity, "warning"),
                "message": {"text": f"{finding.name}: {data['secret']}"},
                "locations": [_location(origin)],
                "partialFingerprints": {"secretguard/v2": data["fingerprint"]},
                "properties": properties,
            })
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "secretguard",
                "version": __version__,
                "rules": list(rules.values()),
            }},
            "results": results,
            "invocations": [{
                "executionSuccessful": not summary.unreadable,
                "toolExecutionNotifications": [
                    {"level": "error", "message": {"text": f"not scanned {path}: {reason}"}}
                    for path, reason in summary.unreadable],
            }],
        }],
    }
    json.dump(document, out, indent=2)
    out.write("\n")
