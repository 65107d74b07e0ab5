"""The ``secretguard`` command: a typer app that parses arguments and calls the library, nothing more.

Errors the user can fix become one line ``error: …`` on stderr and exit code 2; nothing prints a traceback.
"""

from __future__ import annotations

import sys

import typer

from secretguard import __version__
from secretguard.cli.common import EXIT_ERROR, EXIT_FINDINGS
from secretguard.errors import SecretguardError

__all__ = ["EXIT_ERROR", "EXIT_FINDINGS", "app", "main"]

app = typer.Typer(
    name="secretguard",
    help="Find cloud credentials, tell whether they are live, and move them where they belong.\n\n"
         "--version (after any command, too) shows the version; -h or --help, the help of any command.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},  # every subcommand inherits them
)



def _register() -> None:
    from secretguard.cli import baseline, rules, scan

    app.add_typer(scan.app, name="scan")
    app.add_typer(rules.app, name="rules")
    app.add_typer(baseline.app, name="baseline")
    from secretguard.cli import aws  # noqa: F401  (registers scan aws, validate and aws key-info)
    from secretguard.cli import migrate  # noqa: F401  (registers migrate plan|apply|finalize|rollback)
    from secretguard.cli import sweep  # noqa: F401  (registers sweep, report and findings triage)
    from secretguard.cli import git  # noqa: F401  (registers scan git, scan staged and hook install|run)


_register()


def _end_of_options(args: list[str]) -> int:
    """Where the options end: at ``--``, after which every word is an argument."""
    return args.index("--") if "--" in args else len(args)


def main(argv: list[str] | None = None) -> None:
    """Run the command line and exit with its code."""
    args = sys.argv[1:] if argv is None else argv
    try:
        if "--version" in args[:_end_of_options(args)]:
            print(f"secretguard {__version__}")
            code = 0
        else:
            code = app(args=args, prog_name="secretguard", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        code = 130
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument, bad value
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        print(f"error: {message}", file=sys.stderr)
        code = EXIT_ERROR
    except SecretguardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = EXIT_ERROR
    except KeyboardInterrupt:
        code = 130
    sys.exit(code if isinstance(code, int) else 0)
