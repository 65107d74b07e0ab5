"""``secretguard scan git``, ``secretguard scan staged`` and ``secretguard hook install|run``."""

from __future__ import annotations

from dataclasses import replace
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
    warn,
)
from secretguard.pipeline import default_jobs
from secretguard.report import reporter_for

RepoArg = Annotated[Path, typer.Argument(help="Repository: a work tree, a bare or a mirror clone.")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="Only commits after REV (REV and its ancestors are left out).", metavar="REV")]
BranchOpt = Annotated[list[str] | None, typer.Option("--branch", help="Only the history of this branch or revision (repeatable; default: every ref).", metavar="NAME")]
AllObjectsOpt = Annotated[bool, typer.Option("--all-objects", help="Every object in the database, unreachable ones too (deleted branches, dropped stashes).")]

scan_commands = typer.Typer()
"""``scan git`` and ``scan staged``, added to the ``scan`` group."""
hook_app = typer.Typer(help="Install the git hooks that stop commits and pushes adding secrets.", no_args_is_help=True)


@scan_commands.command("git")
def scan_git(
    repo: RepoArg = Path("."),
    fmt: FormatOpt = "text",
    output: OutputOpt = None,
    reveal: RevealOpt = False,
    config: ConfigOpt = None,
    baseline: BaselineOpt = None,
    jobs: JobsOpt = None,
    ray: RayOpt = None,
    no_progress: NoProgressOpt = False,
    quiet: QuietOpt = False,
    since: SinceOpt = None,
    branch: BranchOpt = None,
    all_objects: AllObjectsOpt = False,
    max_file_size: MaxFileSizeOpt = None,
    validate: ValidateOpt = False,
    validate_jobs: ValidateJobsOpt = 4,
    skip_account: SkipAccountOpt = None,
) -> int:
    """Scan every unique blob in the history of REPO, each once; report where each secret was introduced."""
    from secretguard.pipeline import scan
    from secretguard.sources.git import GitSource

    reporter_for(fmt)  # a bad --format or --skip-account fails before any work
    checks = validation(validate, validate_jobs, skip_account, quiet=quiet)
    cfg, accepted = load_inputs(config, repo, baseline)
    if max_file_size is not None:
        cfg = replace(cfg, max_file_size=max_file_size)
    with ray_cluster(ray, jobs) as cluster, \
            progress_bar(not no_progress and not quiet, "scanning history") as (set_total, advance):
        source = GitSource(str(repo), cfg.max_file_size, refs=branch or (), exclude=[since] if since else (),
                           all_objects=all_objects)
        result = scan(source, cfg, jobs or default_jobs(), accepted, validation=checks, executor=cluster,
                      on_total=set_total, on_advance=advance)
    if source.history_gap is not None and not quiet:
        warn(f"{repo}: history incomplete: {source.history_gap}")
    return finish(result.findings, result.summary, fmt, output, reveal, quiet)


@scan_commands.command("staged")
def scan_staged(
    repo: RepoArg = Path("."),
    fmt: FormatOpt = "text",
    output: OutputOpt = None,
    reveal: RevealOpt = False,
    config: ConfigOpt = None,
    baseline: Annotated[Path | None, typer.Option("--baseline", "-b", help="Do not report findings whose fingerprint is in this baseline (default: .secretguard-baseline.json at the top of the work tree, if there is one).")] = None,
    quiet: QuietOpt = False,
) -> int:
    """Scan what `git commit` is about to record: the lines the index adds to HEAD."""
    from secretguard.pipeline import scan
    from secretguard.sources import staged

    reporter_for(fmt)
    top = staged.open_staged(repo)
    cfg, accepted = load_inputs(config, top, baseline or staged.default_baseline(top))
    result = scan(staged.StagedSource(top, cfg.max_file_size), cfg, 1, accepted, quick_start=True)
    return finish(result.findings, result.summary, fmt, output, reveal, quiet)


@hook_app.command("install")
def install(
    repo: Annotated[Path, typer.Argument(help="Repository to install into (for --pre-receive, the server's bare repository).")] = Path("."),
    pre_push: Annotated[bool, typer.Option("--pre-push", help="Install the pre-push hook as well.")] = False,
    chain: Annotated[bool, typer.Option("--chain", help="Keep an existing hook and run it first.")] = False,
    pre_receive: Annotated[bool, typer.Option("--pre-receive", help="Install the server's pre-receive hook instead: it refuses pushes that add a secret.")] = False,
    server_config: Annotated[Path | None, typer.Option("--server-config", help="pre-receive: the server's configuration file (never one from the pushed commits).", exists=True, dir_okay=False)] = None,
    server_baseline: Annotated[Path | None, typer.Option("--server-baseline", help="pre-receive: a baseline of accepted findings.", exists=True, dir_okay=False)] = None,
    max_seconds: Annotated[float, typer.Option("--max-seconds", help="pre-receive: the scan's time budget.", min=0.001)] = 5.0,
    fail_open: Annotated[bool, typer.Option("--fail-open", help="pre-receive: let a push through when the scan fails or runs out of time (default: refuse it).")] = False,
    no_bypass: Annotated[bool, typer.Option("--no-bypass", help="pre-receive: refuse `git push -o secretguard.bypass=REASON`.")] = False,
    audit_log: Annotated[Path | None, typer.Option("--audit-log", help="pre-receive: where bypasses are recorded (default: secretguard-audit.jsonl in the repository).")] = None,
    print_only: Annotated[bool, typer.Option("--print", help="pre-receive: print the hook script (for GitLab or Gitea custom hook folders) instead of installing it.")] = False,
) -> int:
    """Install the pre-commit hook (with --pre-push the pre-push hook too; with --pre-receive the server's hook) into REPO."""
    from secretguard.hook import hook_script, install_hook

    if not pre_receive:
        for kind in ("pre-commit", "pre-push") if pre_push else ("pre-commit",):
            typer.echo(install_hook(repo, kind, chain), err=True)
        return 0
    from secretguard.prereceive import ServerPolicy, enable_push_options, install_options

    options = install_options(ServerPolicy(config=server_config, baseline=server_baseline, max_seconds=max_seconds,
                                           fail_open=fail_open, allow_bypass=not no_bypass, audit_log=audit_log))
    if print_only:
        typer.echo(hook_script("pre-receive", options), nl=False)
        return 0
    typer.echo(install_hook(repo, "pre-receive", chain, options), err=True)
    if not no_bypass:
        enable_push_options(repo)
    return 0


@hook_app.command("run")
def run(
    kind: Annotated[str, typer.Argument(help="pre-commit or pre-push.")],
    args: Annotated[list[str] | None, typer.Argument(help="The arguments git gives the hook.")] = None,
) -> int:
    """Run a hook as git would (what the hook scripts call when they cannot find secretguard's Python)."""
    from secretguard.hook import main

    return main([kind, *(args or [])])

