"""``secretguard baseline create|update``: accept today's findings so only new ones fail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from secretguard.baseline import DEFAULT_BASELINE, read_baseline, salt_of, write_baseline
from secretguard.cli.common import ConfigOpt, JobsOpt, load_inputs
from secretguard.errors import SecretguardError
from secretguard.findings import Finding
from secretguard.pipeline import default_jobs, scan

app = typer.Typer(help="Record accepted findings so that only new ones are reported.", no_args_is_help=True)
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help=f"Baseline file to write (default: {DEFAULT_BASELINE}; with --git or --staged, at the top of the repository's work tree, where the hooks read it).")]
PathArg = Annotated[Path, typer.Argument(help="Directory to scan (with --git or --staged: the repository).")]
GitOpt = Annotated[bool, typer.Option("--git", help="Record the findings of PATH's whole git history.")]
StagedOpt = Annotated[bool, typer.Option("--staged", help="Record the findings of the change staged in PATH's repository.")]


def _scan(path: Path, config: Path | None, jobs: int | None, git: bool, staged: bool) -> tuple[list[Finding], Path]:
    """The findings to record, and where the baseline goes by default."""
    if git and staged:
        raise SecretguardError("choose one of --git and --staged")
    if staged:
        from secretguard.sources import staged as staged_source

        top = staged_source.open_staged(path)
        cfg, _ = load_inputs(config, top, None)
        return scan(staged_source.StagedSource(top, cfg.max_file_size), cfg, quick_start=True).findings, \
            top / DEFAULT_BASELINE
    if git:
        from secretguard.sources.git import GitSource, open_repository

        workdir = open_repository(path).workdir
        top = Path(workdir) if workdir else path
        cfg, _ = load_inputs(config, top, None)
        output = top / DEFAULT_BASELINE if workdir else Path(DEFAULT_BASELINE)
        return scan(GitSource(str(top), cfg.max_file_size), cfg, jobs or default_jobs()).findings, output
    from secretguard.sources.files import FileSource

    cfg, _ = load_inputs(config, path, None)
    return scan(FileSource(path, cfg.max_file_size), cfg, jobs or default_jobs()).findings, Path(DEFAULT_BASELINE)


@app.command("create")
def create(path: PathArg = Path("."), output: OutputOpt = None, config: ConfigOpt = None, jobs: JobsOpt = None,
           git: GitOpt = False, staged: StagedOpt = False) -> int:
    """Scan PATH and write every finding to a new baseline."""
    findings, default = _scan(path, config, jobs, git, staged)
    target = output or default
    count = write_baseline(findings, target, hasher=salt_of(target))  # same salt: unchanged entries stay the same
    typer.echo(f"wrote {count} fingerprint(s) to {target}", err=True)
    return 0


@app.command("update")
def update(path: PathArg = Path("."), output: OutputOpt = None, config: ConfigOpt = None, jobs: JobsOpt = None,
           git: GitOpt = False, staged: StagedOpt = False) -> int:
    """Scan PATH and add its findings to an existing baseline (entries already there are kept)."""
    findings, default = _scan(path, config, jobs, git, staged)
    target = output or default
    previous = read_baseline(target) if target.exists() else None
    count = write_baseline(findings, target, previous)
    typer.echo(f"wrote {count} fingerprint(s) to {target}", err=True)
    return 0
