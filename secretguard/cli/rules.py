"""``secretguard rules list|test``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from secretguard.detectors import DETECTORS
from secretguard.rules import load_rules

app = typer.Typer(help="Show the rules, or run every rule's examples.", no_args_is_help=True)
ExtraOpt = Annotated[list[Path] | None, typer.Option("--rules", "-r", help="Extra rule file(s) to load.")]


@app.command("list")
def list_rules(extra: ExtraOpt = None) -> int:
    """List every rule, and every detector written as code: id, severity and name."""
    for rule in load_rules(extra or []):
        typer.echo(f"{rule.id:45} {rule.spec.severity:9} {rule.spec.name}")
    for detector in DETECTORS:
        typer.echo(f"{detector.id:45} {detector.severity:9} {detector.name} (named values)")
    return 0


@app.command("test")
def test_rules(extra: ExtraOpt = None) -> int:
    """Check every rule: examples found, negative examples not, under both matching paths; and every detector's."""
    from secretguard.rules_check import check_rules

    rules = load_rules(extra or [])
    problems = [str(p) for p in check_rules(rules)]
    problems += [f"detector '{d.id}': {problem}" for d in DETECTORS for problem in d.problems()]
    for problem in problems:
        typer.echo(problem, err=True)
    examples = sum(len(r.spec.examples) + len(r.spec.negative_examples) for r in rules)
    examples += sum(len(d.examples) + len(d.negative_examples) for d in DETECTORS)
    typer.echo(f"{len(rules) + len(DETECTORS)} rules, {examples} examples, {len(problems)} problem(s)")
    return 1 if problems else 0
