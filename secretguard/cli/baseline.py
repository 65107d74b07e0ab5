"""``secretguard baseline create|update``: accept today's findings so only new ones fail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from secretguard.baseline import DEFAULT_BASELINE, read_baseline, write_baseline
from secretguard.cli.common import ConfigOpt, JobsOpt, load_inputs
from secretguard.scanning import default_jobs

app = typer.Typer(help="Record accepted findings so that only new ones are reported.", no_args_is_help=True)
OutputOpt = Annotated[Path, typer.Option("--output", "-o", help="Baseline file to write.")]
PathArg = Annotated[Path, typer.Argument(help="Directory to scan.")]


def _scan(path: Path, config: Path | None, jobs: int) -> list:
    from secretguard.scans import scan_directory

    cfg, _ = load_inputs(config, path, None)
    return scan_directory(path, cfg, jobs or default_jobs()).findings


@app.command("create")
def create(path: PathArg = Path("."), output: OutputOpt = Path(DEFAULT_BASELINE),
           config: ConfigOpt = None, jobs: JobsOpt = 0) -> int:
    """Scan PATH and write every finding to a new baseline."""
    count = write_baseline(_scan(path, config, jobs), output)
    typer.echo(f"wrote {count} fingerprint(s) to {output}", err=True)
    return 0


@app.command("update")
def update(path: PathArg = Path("."), output: OutputOpt = Path(DEFAULT_BASELINE),
           config: ConfigOpt = None, jobs: JobsOpt = 0) -> int:
    """Scan PATH and add its findings to an existing baseline (entries already there are kept)."""
    previous = read_baseline(output) if output.exists() else []
    count = write_baseline(_scan(path, config, jobs), output, previous)
    typer.echo(f"wrote {count} fingerprint(s) to {output}", err=True)
    return 0
