"""The command line's shape: command modules import each other in one direction, and none imports the app."""

from __future__ import annotations

import ast
from pathlib import Path

import secretguard.cli

CLI = Path(secretguard.cli.__file__).parent


def _cli_imports(module: Path) -> set[str]:
    """The ``secretguard.cli`` modules ``module`` imports, anywhere in it (function bodies too)."""
    found = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("secretguard.cli"):
            found.add(node.module if node.module != "secretguard.cli" else "secretguard.cli")
            if node.module == "secretguard.cli":
                found.update(f"secretguard.cli.{alias.name}" for alias in node.names
                             if (CLI / f"{alias.name}.py").exists())
    return found


def test_command_modules_do_not_import_the_app_or_each_other_in_a_cycle() -> None:
    graph = {f"secretguard.cli.{p.stem}": _cli_imports(p) for p in CLI.glob("*.py") if p.stem != "__init__"}
    assert not {name for name, imports in graph.items() if "secretguard.cli" in imports}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == target or (nxt not in seen and reaches(nxt, target, seen | {nxt})):
                return True
        return False

    assert [name for name in graph if reaches(name, name, set())] == []
