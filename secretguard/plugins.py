"""Validators and enrichers, dispatched from rule data: the core names no provider.

A rule's ``validate: NAME`` picks a validator from :data:`VALIDATORS`; a validator's provider also brings
enrichers (:data:`ENRICHERS_BY_VALIDATOR`): an AWS key ID rule, validated with ``aws-sts``, is enriched with
the account the key belongs to. Each entry is ``module:function``, imported only when a finding needs it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

from secretguard.config import RuleSelection
from secretguard.errors import SecretguardError
from secretguard.findings import Finding
from secretguard.rules import load_rules

if TYPE_CHECKING:
    from secretguard.pipeline import Validation

VALIDATORS: dict[str, str] = {
    "aws-sts": "secretguard.aws.validate:validate_sts",
}
"""``validator(candidates, all_findings, validation)`` fills ``finding.validation`` of each candidate."""
ENRICHERS: dict[str, str] = {
    "aws-account": "secretguard.aws.keys:account_enrichment",
}
"""``enricher(secret) -> {field: value}``: offline facts about a secret, shown beside it."""
ENRICHERS_BY_VALIDATOR: dict[str, tuple[str, ...]] = {
    "aws-sts": ("aws-account",),
}


def _load(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    return getattr(import_module(module), name)  # type: ignore[no-any-return]


def _validators(selection: RuleSelection) -> dict[str, str]:
    """Rule id to the validator its rule names."""
    return {r.id: r.spec.validate for r in load_rules(selection.extra_files, selection.disabled) if r.spec.validate}


def enrich(findings: list[Finding], selection: RuleSelection) -> None:
    """Add what the enrichers of each finding's rule say about its secret."""
    names = _validators(selection)
    for finding in findings:
        for enricher in ENRICHERS_BY_VALIDATOR.get(names.get(finding.rule, ""), ()):
            finding.enrichment.update(_load(ENRICHERS[enricher])(finding.secret))


def validate(findings: list[Finding], selection: RuleSelection, validation: Validation) -> None:
    """Run each finding's validator, as its rule names it; the validator gets every finding for context."""
    names = _validators(selection)
    candidates: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.rule in names:
            candidates[names[finding.rule]].append(finding)
    for name, chosen in candidates.items():
        if name not in VALIDATORS:
            raise SecretguardError(f"rule '{chosen[0].rule}': unknown validator '{name}' "
                                   f"(choose from {', '.join(VALIDATORS)})")
        _load(VALIDATORS[name])(chosen, findings, validation)
