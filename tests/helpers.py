"""Running the command line the way a user does, in-process, capturing output and exit code."""

from __future__ import annotations

import io
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from secretguard.cli import main

MINI_RULES = Path(__file__).parent / "data" / "mini_rules.yaml"


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_cli(*args: str | Path) -> Run:
    """``secretguard ARGS…`` in this process: exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
    sys.stdout.flush()
    return Run(code, out.getvalue(), err.getvalue())
