"""``secretguard scan …``: one subcommand per source."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from secretguard.cli.common import (
    BaselineOpt,
    ConfigOpt,
    FormatOpt,
    JobsOpt,
    MaxFileSizeOpt,
    NoProgressOpt,
    OutputOpt,
    QuietOpt,
    RayOpt,
    RevealOpt,
    SkipAccountOpt,
    ValidateJobsOpt,
    ValidateOpt,
    finish,
    load_inputs,
    progress_bar,
    ray_cluster,
    validation,
)
from secretguard.pipeline import default_jobs
from secretguard.report import reporter_for

app = typer.Typer(help="Scan a working tree, a git history, a staged change or an AWS account.", no_args_is_help=True)


@app.command("dir")
def scan_dir(
    path: Annotated[Path, typer.Argument(help="Directory or file to scan.")] = Path("."),
    fmt: FormatOpt = "text",
    output: OutputOpt = None,
    reveal: RevealOpt = False,
    config: ConfigOpt = None,
    baseline: BaselineOpt = None,
    jobs: JobsOpt = None,
    ray: RayOpt = None,
    no_progress: NoProgressOpt = False,
    quiet: QuietOpt = False,
    respect_gitignore: Annotated[bool, typer.Option("--respect-gitignore", help="Skip files git ignores.")] = False,
    max_file_size: MaxFileSizeOpt = None,
    decode_depth: Annotated[int | None, typer.Option("--decode-depth", help="Decode base64, hex, %-escapes and JSON escapes this many layers deep (default 2, or the config's decode_depth); 0 turns decoders off.")] = None,
    archive_depth: Annotated[int | None, typer.Option("--archive-depth", help="Open archives (zip, jar, tar, gz, bz2, xz, …) nested this many levels deep (default 3, or the config's archive_depth); 0 turns archives off.")] = None,
    validate: ValidateOpt = False,
    validate_jobs: ValidateJobsOpt = 4,
    skip_account: SkipAccountOpt = None,
) -> int:
    """Scan every file under PATH (skipping .git and oversized files), inside archives too."""
    from dataclasses import replace

    from secretguard.archives import MAX_ARCHIVE_DEPTH
    from secretguard.config import is_depth
    from secretguard.decoders import MAX_DECODE_DEPTH
    from secretguard.errors import SecretguardError
    from secretguard.pipeline import scan
    from secretguard.sources.files import FileSource

    reporter_for(fmt)  # a bad --format or --skip-account fails before any work
    checks = validation(validate, validate_jobs, skip_account, quiet=quiet)
    if decode_depth is not None and not is_depth(decode_depth, MAX_DECODE_DEPTH):
        raise SecretguardError(f"--decode-depth must be a whole number from 0 to {MAX_DECODE_DEPTH}")
    if archive_depth is not None and not is_depth(archive_depth, MAX_ARCHIVE_DEPTH):
        raise SecretguardError(f"--archive-depth must be a whole number from 0 to {MAX_ARCHIVE_DEPTH}")
    cfg, accepted = load_inputs(config, path, baseline)
    if max_file_size is not None:
        cfg = replace(cfg, max_file_size=max_file_size)
    if decode_depth is not None:
        cfg = replace(cfg, rules=replace(cfg.rules, decode_depth=decode_depth))
    if archive_depth is not None:
        cfg = replace(cfg, rules=replace(cfg.rules, archive_depth=archive_depth))
    with ray_cluster(ray, jobs) as cluster, \
            progress_bar(not no_progress and not quiet, "scanning") as (set_total, advance):
        result = scan(FileSource(path, cfg.max_file_size, respect_gitignore), cfg, jobs or default_jobs(), accepted,
                      validation=checks, executor=cluster, on_total=set_total,
                      on_advance=advance)
    return finish(result.findings, result.summary, fmt, output, reveal, quiet)
