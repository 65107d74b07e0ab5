"""``secretguard rules test``: every rule's examples must match and its negative examples must not,
under both matching paths, and both paths must agree."""

from __future__ import annotations

from dataclasses import dataclass

from secretguard.engine import Detector, Match, hyperscan
from secretguard.extractors import extractor_names, view_text
from secretguard.rules import Rule

MIN_EXAMPLES = 2


@dataclass(frozen=True)
class Problem:
    rule: str
    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: rule '{self.rule}': {self.message}"


def rules_seen(matches: list[Match]) -> set[str]:
    """Rule ids that matched, counting the partner half of a pair."""
    return {m.rule.id for m in matches} | {m.pair.rule.id for m in matches if m.pair}


def _summary(matches: list[Match]) -> list[tuple[str, int, int, str | None]]:
    return [(m.rule.id, m.start, m.end, m.pair.rule.id if m.pair else None) for m in matches]


def check_rules(rules: list[Rule], min_examples: int = MIN_EXAMPLES) -> list[Problem]:
    """Run every example under each available path; return what is wrong (empty when all pass)."""
    detectors = [Detector(rules, use_hyperscan=False)]
    if hyperscan is not None:
        detectors.append(Detector(rules, use_hyperscan=True))
    problems: list[Problem] = []
    for rule in (detectors[-1].regex_only if len(detectors) == 2 else []):
        problems.append(Problem(rule.id, rule.spec.source, "Hyperscan cannot compile it, even in prefilter mode"))
    for rule in rules:
        spec = rule.spec

        def problem(message: str) -> None:
            problems.append(Problem(spec.id, spec.source, message))  # noqa: B023 - only called in this iteration

        if len(spec.examples) < min_examples:
            problem(f"needs at least {min_examples} examples")
        if len(spec.negative_examples) < min_examples:
            problem(f"needs at least {min_examples} negative_examples")
        if spec.extractor is not None and spec.extractor not in extractor_names():
            problem(f"unknown extractor '{spec.extractor}'")
            continue
        for expect, examples in ((True, spec.examples), (False, spec.negative_examples)):
            for example in examples:
                data = spec.example_bytes(example)
                if spec.extractor is not None:  # written in the file's format: the rule sees the reader's lines
                    data = view_text(spec.extractor, data)
                results = [d.scan(data) for d in detectors]
                for detector, matches in zip(detectors, results, strict=True):
                    path = "hyperscan" if detector.uses_hyperscan else "regex"
                    if (spec.id in rules_seen(matches)) != expect:
                        kind = "example not found" if expect else "negative example matched"
                        problem(f"{kind} ({path}): {example[:80]!r}")
                if len(results) == 2 and _summary(results[0]) != _summary(results[1]):
                    problem(f"hyperscan and regex paths disagree on {example[:80]!r}")
    return problems
