"""Options every scan shares, and the one place that writes a report and picks the exit code."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, TextIO

import typer

from secretguard.baseline import Baseline, load_baseline
from secretguard.config import Config, find_config
from secretguard.executors import Executor
from secretguard.findings import Finding
from secretguard.hashing import UserKey
from secretguard.pipeline import Progress as Callback
from secretguard.pipeline import Validation
from secretguard.report import ScanSummary, format_help, reporter_for

EXIT_FINDINGS = 1
EXIT_ERROR = 2

FormatOpt = Annotated[str, typer.Option("--format", "-f", help=format_help())]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to FILE instead of stdout.")]
RevealOpt = Annotated[bool, typer.Option("--reveal", help="Show secrets in full (redacted by default).")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Configuration file (default: .secretguard.yaml in the target).")]
BaselineOpt = Annotated[Path | None, typer.Option("--baseline", "-b", help="Do not report findings whose fingerprint is in this baseline.")]
JobsOpt = Annotated[int | None, typer.Option("--jobs", "-j", min=1, show_default=False, help="Worker processes (default: all cores).")]
NoProgressOpt = Annotated[bool, typer.Option("--no-progress", help="No progress bar.")]
ValidateOpt = Annotated[bool, typer.Option("--validate", help="Check found AWS key pairs against STS (sends them to AWS).")]
ValidateJobsOpt = Annotated[int, typer.Option("--validate-jobs", min=1, help="Key pairs checked at once.")]
SkipAccountOpt = Annotated[list[str] | None, typer.Option("--skip-account", help="Never call AWS with keys of this account (repeatable; canary accounts are built in).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on the terminal (--output files are still written); the exit code tells.")]
RayOpt = Annotated[str | None, typer.Option("--ray", metavar="ADDRESS", help="Run on a Ray cluster: 'auto' (the one this machine belongs to) or its ADDRESS (needs secretguard\\[ray]).")]
MaxFileSizeOpt = Annotated[int | None, typer.Option("--max-file-size", min=1, show_default=False, metavar="BYTES", help="Skip files larger than this many bytes (default: 10 MB, or the config's max_file_size).")]


def warn(line: str) -> None:
    """One ``warning:`` line on stderr (callers leave it out under ``--quiet``)."""
    typer.echo(f"warning: {line}", err=True)


def load_inputs(config_path: Path | None, root: Path | None, baseline_path: Path | None) -> tuple[Config, Baseline]:
    config = find_config(config_path, root if root is not None and root.is_dir() else None)
    baseline = load_baseline(baseline_path, warn) if baseline_path is not None else Baseline()
    return config, baseline


@contextlib.contextmanager
def _open_output(output: Path | None, private: bool) -> Iterator[TextIO]:
    """stdout, or ``output`` opened for writing; ``private`` (it holds plaintext secrets) makes the file mode 0600."""
    if output is None:
        yield sys.stdout
        return
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o666)
        if private:
            os.fchmod(fd, 0o600)  # a file that was already there keeps its mode otherwise
        with open(fd, "w", encoding="utf-8") as handle:
            yield handle
    except OSError as exc:
        from secretguard.errors import SecretguardError
        raise SecretguardError(f"{output}: cannot write report: {exc.strerror or exc}") from None


def finish(findings: list[Finding], summary: ScanSummary, fmt: str, output: Path | None,
           reveal: bool, quiet: bool) -> int:
    """Write the report and pick the exit code: 2 with an ``error:`` line when an input could not be scanned
    (findings are still reported), else 1 when there are findings, else 0.

    ``quiet`` silences the terminal only: a report named with ``output`` is always written.
    """
    writer = reporter_for(fmt)
    if output is not None or not quiet:
        with _open_output(output, private=reveal) as out:
            writer(findings, out, summary, reveal, UserKey((lambda line: None) if quiet else warn))
    unread = summary.unread_error()
    if unread is not None:
        print(f"error: {unread}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_FINDINGS if findings else 0


def validation(validate: bool, jobs: int, skip_accounts: list[str] | None, endpoint_url: str | None = None,
               quiet: bool = False) -> Validation | None:
    """``--validate`` and its options as the pipeline takes them; None when not asked."""
    if not validate:
        return None
    from secretguard.aws.validate import parse_accounts  # the only validator's own option check

    return Validation(jobs, tuple(parse_accounts(skip_accounts or [])), endpoint_url,
                      warn=(lambda line: None) if quiet else None)


@contextlib.contextmanager
def ray_cluster(address: str | None, jobs: int | None) -> Iterator[Executor | None]:
    """``--ray``: the cluster at ``address`` while the scan runs (``jobs`` tasks in flight, default twice its
    CPUs); None without ``--ray`` (the scan's own local processes)."""
    if address is None:
        yield None
        return
    from secretguard.executors import RayCluster

    cluster = RayCluster(address, jobs or 0)
    try:
        yield cluster
    finally:
        cluster.close()


@contextlib.contextmanager
def progress_bar(enabled: bool, label: str, unit: str = "bytes") -> Iterator[tuple[Callback, Callback]]:
    """``(set_total, advance)`` callbacks drawing a bar on stderr when it is a terminal.

    ``unit`` is ``bytes`` (sizes and a transfer rate) or the name of what is counted (``repositories``).
    """
    if not enabled or not sys.stderr.isatty():
        yield (lambda n: None), (lambda n: None)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (DownloadColumn(), TransferSpeedColumn()) if unit == "bytes" else (MofNCompleteColumn(), TextColumn(unit))
    with Progress("[progress.description]{task.description}", BarColumn(), *columns, TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield (lambda n: bar.update(task, total=n)), (lambda n: bar.advance(task, n))
