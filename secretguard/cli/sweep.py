"""``secretguard sweep``, ``secretguard report`` and ``secretguard findings triage``: many repositories, one store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from secretguard.cli.common import (
    ConfigOpt,
    FormatOpt,
    JobsOpt,
    NoProgressOpt,
    OutputOpt,
    QuietOpt,
    RayOpt,
    finish,
    load_inputs,
    progress_bar,
    warn,
)
from secretguard.pipeline import default_jobs
from secretguard.report import reporter_for

EXIT_FAILED = 2

commands = typer.Typer()
"""``sweep`` and ``report``, top-level commands."""
findings_app = typer.Typer(help="Record decisions about findings in a sweep store.", no_args_is_help=True)

DbOpt = Annotated[Path, typer.Option("--db", help="The sweep store (SQLite).")]


@commands.command("sweep")
def sweep_command(
    repos: Annotated[list[str] | None, typer.Argument(help="Local paths or clone URLs (file://, ssh://, git@host:…, https://, git://).", show_default=False)] = None,
    from_file: Annotated[Path | None, typer.Option("--from-file", help="Also sweep the repositories listed in FILE, one per line (# comments).")] = None,
    db: DbOpt = Path("sweep.db"),
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Where URLs are mirrored (default: DB's name + '.mirrors', beside it).")] = None,
    jobs: JobsOpt = None,
    ray: RayOpt = None,
    validate: Annotated[bool, typer.Option("--validate", help="Check found AWS key pairs against STS (sends them to AWS).")] = False,
    config: ConfigOpt = None,
    no_progress: NoProgressOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Scan the full history of many repositories into one store; only blobs it has not seen are scanned.

    A sweep cut short is resumed by running the same command again. Exit code: 2 when any repository
    failed (each is recorded with its error), else 1 when the store holds open findings, else 0.
    """
    from secretguard.executors import Executor, Processes, RayCluster
    from secretguard.sweep import read_inputs, sweep
    from secretguard.sweep.store import RepoRecord, Store

    sources = read_inputs(repos or [], from_file)
    cfg, _ = load_inputs(config, None, None)
    mirrors = cache_dir or db.with_name(db.name + ".mirrors")

    def show(rec: RepoRecord) -> None:
        if quiet:
            return
        for line in rec.warnings:
            warn(line)
        if rec.error:
            typer.echo(f"failed  {rec.error}", err=True)
        else:
            typer.echo(f"ok      {rec.key}: {len(rec.scanned_blobs)} blobs scanned, {len(rec.findings)} findings "
                       f"({rec.seconds:.1f} s)", err=True)

    executor: Executor = RayCluster(ray, jobs or 0) if ray else Processes(jobs or default_jobs())
    try:
        with Store(db) as store, progress_bar(not no_progress and not quiet, "sweeping", "repositories") as bar:
            set_total, advance = bar

            def record(rec: RepoRecord) -> None:
                show(rec)
                advance(1)

            result = sweep(sources, store, executor, cfg, mirrors, validate, on_record=record,
                           on_total=set_total)
            open_findings = len(store.findings())
    except KeyboardInterrupt:
        if not quiet:
            typer.echo("interrupted: run the same sweep again to resume it", err=True)
        raise
    finally:
        executor.close()
    t = result.totals
    if not quiet:
        if result.run.resumed:
            typer.echo(f"resumed run #{t.id}: {len(result.run.done)} repositories were already done", err=True)
        typer.echo(f"run #{t.id}: {t.repositories} repositories ({len(t.failed)} failed), {t.blobs_scanned} blobs "
                   f"scanned ({t.bytes_scanned / 1e6:.1f} MB), {t.new_findings} new findings, "
                   f"{open_findings} open in {db} ({result.seconds:.1f} s)", err=True)
    return EXIT_FAILED if t.failed else 1 if open_findings else 0


@commands.command("report")
def report_command(
    db: DbOpt = Path("sweep.db"),
    fmt: FormatOpt = "text",
    output: OutputOpt = None,
    include_triaged: Annotated[bool, typer.Option("--all", help="Also list findings triaged as false positive, revoked or accepted.")] = False,
    quiet: QuietOpt = False,
) -> int:
    """Report a sweep store's open findings, live keys first, with totals per repository, rule and status.

    The store holds no plaintext secrets, so secrets are always shown redacted. Exit code 1 when any
    finding is listed, else 0.
    """
    from secretguard.sweep import report_from_store
    from secretguard.sweep.store import Store

    reporter_for(fmt)  # a bad --format fails before any work
    with Store(db, create=False) as store:
        findings, summary = report_from_store(store, include_triaged)
    return finish(findings, summary, fmt, output, reveal=False, quiet=quiet)


@findings_app.command("triage")
def triage_command(
    fingerprint: Annotated[str, typer.Argument(help="The finding's fingerprint, or its first 8 or more hex digits.")],
    status: Annotated[str, typer.Option("--status", help="false-positive, revoked or accepted.")],
    note: Annotated[str, typer.Option("--note", help="Why: kept with the decision.")] = "",
    db: DbOpt = Path("sweep.db"),
) -> int:
    """Record a decision about a finding; later sweeps keep it, and reports leave the finding out."""
    from secretguard.sweep.store import Store
    from secretguard.sweep.triage import current_user, triage

    with Store(db, create=False) as store:
        full = triage(store, fingerprint, status, note, current_user())
    typer.echo(f"{full}: {status}", err=True)
    return 0
