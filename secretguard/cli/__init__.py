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
    """Put each command module's commands in place; no command module imports this one."""
    from secretguard.cli import allow, aws, baseline, git, migrate, respond, rules, scan, sweep

    scan.app.add_typer(git.scan_commands)
    scan.app.add_typer(aws.scan_commands)
    app.add_typer(scan.app, name="scan")
    app.add_typer(aws.commands)
    app.add_typer(rules.app, name="rules")
    app.add_typer(baseline.app, name="baseline")
    aws.app.add_typer(respond.app)
    app.add_typer(aws.app, name="aws")
    app.add_typer(migrate.app, name="migrate")
    app.add_typer(sweep.commands)
    app.add_typer(sweep.findings_app, name="findings")
    app.add_typer(git.hook_app, name="hook")
    app.add_typer(allow.commands)


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
