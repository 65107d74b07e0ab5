"""``secretguard migrate plan|apply|finalize|rollback|status``: move plaintext secrets into AWS Secrets Manager.

Importing this module registers the ``migrate`` group on the main app.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from secretguard.cli.aws import EndpointOpt, ProfileOpt
from secretguard.cli.common import ConfigOpt
from secretguard.errors import SecretguardError

if TYPE_CHECKING:
    import boto3

    from secretguard.aws.migrate_plan import Clients, Item, Plan

app = typer.Typer(help="Move plaintext secrets from Lambda, ECS, Batch, CodeBuild and .env files into AWS Secrets "
                       "Manager, and SSM String parameters into SecureStrings.",
                  no_args_is_help=True)

PYTHON_SNIPPET = '''\
import json
import os
import boto3

_secrets = boto3.client("secretsmanager")


def secret_env(name: str) -> str:
    """The value of NAME, from Secrets Manager when NAME_SECRET_ARN is set (ARN, or ARN:json-key:: for a key pair)."""
    reference = os.environ.get(f"{name}_SECRET_ARN")
    if not reference:
        return os.environ[name]
    parts = reference.split(":")
    value = _secrets.get_secret_value(SecretId=":".join(parts[:7]))["SecretString"]
    return json.loads(value)[parts[7]] if len(parts) > 7 and parts[7] else value
'''
NODE_SNIPPET = '''\
const { SecretsManagerClient, GetSecretValueCommand } = require("@aws-sdk/client-secrets-manager");
const secrets = new SecretsManagerClient({});

// The value of NAME, from Secrets Manager when NAME_SECRET_ARN is set (ARN, or ARN:json-key:: for a key pair).
async function secretEnv(name) {
  const reference = process.env[`${name}_SECRET_ARN`];
  if (!reference) return process.env[name];
  const parts = reference.split(":");
  const out = await secrets.send(new GetSecretValueCommand({ SecretId: parts.slice(0, 7).join(":") }));
  return parts[7] ? JSON.parse(out.SecretString)[parts[7]] : out.SecretString;
}
'''


@contextlib.contextmanager
def _aws_errors() -> Iterator[None]:
    """An AWS failure outside a journaled step (credentials, network) as one line."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from secretguard.aws.session import error_line

    try:
        yield
    except NoCredentialsError:
        raise SecretguardError("no AWS credentials found: pass --profile or configure the default credential "
                               "chain") from None
    except (ClientError, BotoCoreError) as exc:
        raise SecretguardError(error_line(exc)) from None


def _clients(profile: str | None, endpoint_url: str | None) -> tuple[boto3.Session, Clients]:
    from secretguard.aws.migrate import session_clients
    from secretguard.aws.session import make_session

    session = make_session(profile)
    return session, session_clients(session, endpoint_url)


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _verified(journal: Path, clients: Clients, config: Path | None) -> int:
    """Read back what the plan touched, print the result table, and fail (1) on any plaintext left behind."""
    from rich.console import Console
    from rich.table import Table

    from secretguard.aws.migrate_scan import Scanner
    from secretguard.aws.migrate_verify import KEPT, LEFT, MOVED, RESTORED, SKIPPED, verify
    from secretguard.config import find_config

    with _aws_errors():
        result = verify(journal, clients, Scanner(find_config(config, Path.cwd())).plaintext)
    console = Console(file=sys.stdout, highlight=False, width=None if sys.stdout.isatty() else 200)
    table = Table(title="read back from AWS", show_lines=False, expand=False, title_justify="left")
    for column in ("resource", "variable", "status", "detail"):
        table.add_column(column, overflow="fold")
    for row in result.rows:
        table.add_row(row.resource, row.variable, ("[bold red]" if row.failed else "") + row.status, row.detail)
    console.print(table)
    for note in result.notes:
        typer.echo(f"note: {note}")
    typer.echo(f"verified: {result.count(MOVED)} moved, {result.count(KEPT)} kept until finalize, "
               f"{result.count(RESTORED)} restored, {result.count(LEFT)} still plaintext, "
               f"{result.count(SKIPPED)} skipped")
    for row in result.failures:
        _say(f"error: {row.resource} {row.variable}: {row.status}: {row.detail}")
    return 1 if result.failures else 0


@app.command("plan")
def plan(
    region: Annotated[list[str] | None, typer.Option("--region", help="Region(s) to look in (repeatable; default: the session's).")] = None,
    findings: Annotated[Path | None, typer.Option("--from", help="A `scan aws --format json` report: plan what it found.")] = None,
    function: Annotated[list[str] | None, typer.Option("--function", help="Lambda function name or ARN (repeatable).")] = None,
    task_definition: Annotated[list[str] | None, typer.Option("--task-definition", help="ECS task definition family (repeatable).")] = None,
    env_file: Annotated[list[Path] | None, typer.Option("--env-file", help=".env file in a working tree (repeatable).")] = None,
    batch_job_definition: Annotated[list[str] | None, typer.Option("--batch-job-definition", help="AWS Batch job definition name (repeatable).")] = None,
    codebuild_project: Annotated[list[str] | None, typer.Option("--codebuild-project", help="CodeBuild project name or ARN (repeatable).")] = None,
    ssm_parameter: Annotated[list[str] | None, typer.Option("--ssm-parameter", help="SSM String parameter name, to become a SecureString (repeatable).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the plan here, for `migrate apply`.")] = None,
    name_template: Annotated[str | None, typer.Option("--name-template", help="Secret name (default secretguard/{kind}/{resource}/{variable}); placeholders {kind} {resource} {variable} {container} {region}.")] = None,
    kms_key_id: Annotated[str | None, typer.Option("--kms-key-id", help="Customer-managed KMS key (ID, ARN or alias) for the secrets and SecureStrings.")] = None,
    update_services: Annotated[bool, typer.Option("--update-services", help="ECS: also point services running the old revision at the new one.")] = False,
    remove_plaintext: Annotated[bool, typer.Option("--remove-plaintext", help="Lambda: remove the plaintext variable in the same step (no separate finalize).")] = False,
    update_existing: Annotated[bool, typer.Option("--update-existing", help="A secret of the planned name holding another value (rotated since) gets this value as a new version; rollback makes the previous one current again.")] = False,
    lambda_mode: Annotated[str, typer.Option("--lambda-mode", help="Lambda: `reference` = add <VAR>_SECRET_ARN for your code, finalize removes the plaintext later; `wrapper` = also add secretguard's exec wrapper layer, which exports <VAR> from the secret before the runtime starts, and remove the plaintext at once (Python runtimes).")] = "reference",
    pairs: Annotated[str, typer.Option("--pairs", help="An AWS key ID with its secret key (and session token): `json` = one secret holding {\"AccessKeyId\", \"SecretAccessKey\"[, \"SessionToken\"]}; `separate` = one secret per variable.")] = "json",
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
) -> int:
    """Show every plaintext secret that would move and the exact AWS changes; nothing is changed."""
    from secretguard.aws.migrate_plan import DEFAULT_NAME_TEMPLATE, PlanRequest, build_plan, write_plan
    from secretguard.aws.migrate_scan import Scanner
    from secretguard.aws.session import select_regions
    from secretguard.config import find_config

    session, clients = _clients(profile, endpoint_url)
    by_name = bool(function or task_definition or env_file or batch_job_definition or codebuild_project
                   or ssm_parameter)  # a findings report names its own regions
    request = PlanRequest(
        regions=tuple(select_regions(session, "lambda", region or [], False) if by_name else region or ()),
        findings=findings, functions=tuple(function or ()), task_definitions=tuple(task_definition or ()),
        env_files=tuple(env_file or ()), batch_job_definitions=tuple(batch_job_definition or ()),
        codebuild_projects=tuple(codebuild_project or ()), ssm_parameters=tuple(ssm_parameter or ()),
        name_template=name_template or DEFAULT_NAME_TEMPLATE, kms_key_id=kms_key_id,
        update_services=update_services, remove_plaintext=remove_plaintext, update_existing=update_existing,
        pairs=pairs, lambda_mode=lambda_mode,
    )
    with _aws_errors():
        result = build_plan(clients, request, Scanner(find_config(config, Path.cwd())).findings)
    _print_plan(result)
    if output is not None:
        write_plan(result, output)
        _say(f"wrote the plan to {output}; carry it out with `secretguard migrate apply {output}`")
    return 0


def _print_plan(plan: Plan) -> None:
    """One table per resource, then the skipped variables; wide when written to a file or pipe."""
    from itertools import groupby

    from rich.console import Console
    from rich.table import Table

    from secretguard.aws.migrate_plan import describe_plan

    console = Console(file=sys.stdout, highlight=False, width=None if sys.stdout.isatty() else 200)
    moving = sum(len(i.moves) for i in plan.items)
    console.print(f"migration plan: {moving} secret(s) to move, {len(plan.skipped)} skipped; nothing has been changed")
    for resource, rows in groupby(describe_plan(plan), key=lambda row: row.resource):
        table = Table(title=resource, show_lines=True, expand=False, title_justify="left")
        table.add_column("variable", overflow="fold", max_width=32)
        for column in ("secret", "IAM grant", "resource change"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(row.variable + (f"\nrotate: {row.rotate}" if row.rotate else ""), row.secret, row.grant,
                          row.change)
        console.print(table)
    if plan.skipped:
        table = Table(title="skipped", show_lines=False, expand=False, title_justify="left")
        for column in ("resource", "variable", "reason"):
            table.add_column(column, overflow="fold")
        for skip in plan.skipped:
            table.add_row(skip.resource, "/".join(p for p in (skip.container, skip.variable) if p) or "*", skip.reason)
        console.print(table)


@app.command("apply")
def apply(
    plan_file: Annotated[Path, typer.Argument(help="The plan written by `migrate plan --output`.")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="ECS with --update-services: wait until the services run the new revision.")] = True,
    wait_timeout: Annotated[int, typer.Option("--wait-timeout", help="With --wait: seconds to wait at most.")] = 600,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
) -> int:
    """Carry out the plan one item at a time, journaled beside it; run it again to resume after a failure."""
    from secretguard.aws.migrate import apply_plan
    from secretguard.aws.migrate_journal import journal_path
    from secretguard.aws.migrate_plan import load_plan
    from secretguard.aws.migrate_verify import wait_for_services

    _, clients = _clients(profile, endpoint_url)
    with _aws_errors():
        outcome = apply_plan(plan_file, clients, _say)
        if wait:
            wait_for_services(load_plan(plan_file)[0], outcome.revisions, clients, wait_timeout, _say)
    typer.echo(f"applied {len(outcome.applied)} item(s); journal: {journal_path(plan_file)}")
    for skip in outcome.skipped:
        typer.echo(f"skipped {skip.resource} {skip.variable or ''}: {skip.reason}")
    for item in outcome.applied:
        if item.kind == "ecs" and not item.services:
            advice = "" if item.update_services else "; `migrate plan --update-services` makes a plan that does it"
            typer.echo(f"deploy {outcome.revisions[item.resource]} to your services (none was pointed at it{advice})")
    waiting = sorted({p.variable for i in outcome.applied if i.kind == "lambda" and not i.remove_plaintext
                      and i not in outcome.finalized for m in i.moves for p in m.parts})
    if waiting:
        typer.echo("\nLambda cannot inject secrets: the plaintext stays until your code reads the secret instead of "
                   f"{', '.join(waiting)}.\nPython:\n\n{PYTHON_SNIPPET}\nNode.js:\n\n{NODE_SNIPPET}\n"
                   f"Once that code is deployed: secretguard migrate finalize {plan_file}")
    _print_rotation(outcome.applied)
    return _verified(journal_path(plan_file), clients, config)


def _print_rotation(items: list[Item]) -> None:
    if not items:
        return
    typer.echo("\nThese values sat in plaintext and may already have leaked; moving them does not undo that. "
               "Rotate each one:")
    for item in items:
        for move in item.moves:
            typer.echo(f"  {item.resource} {move.label}")
            if move.aws_key_id:
                typer.echo(f"    AWS access key {move.aws_key_id} (account {move.aws_account or 'unknown'}): create a "
                           "new key, deploy it, then deactivate and delete this one")


@app.command("finalize")
def finalize(
    plan_file: Annotated[Path, typer.Argument(help="The plan that was applied.")],
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
) -> int:
    """Lambda: remove the plaintext variables, once the code reading *_SECRET_ARN is deployed."""
    from secretguard.aws.migrate import finalize_plan
    from secretguard.aws.migrate_journal import journal_path

    _, clients = _clients(profile, endpoint_url)
    with _aws_errors():
        outcome = finalize_plan(plan_file, clients, _say)
    typer.echo(f"finalized {len(outcome.finalized)} function(s)")
    return _verified(journal_path(plan_file), clients, config)


@app.command("rollback")
def rollback(
    journal: Annotated[Path, typer.Argument(help="The journal apply wrote beside the plan (PLAN.journal.jsonl).")],
    delete_secrets: Annotated[bool, typer.Option("--delete-secrets", help="Also schedule the secrets this migration created for deletion.")] = False,
    recovery_window_days: Annotated[int, typer.Option("--recovery-window-days", help="With --delete-secrets: days (7-30) during which a deleted secret can be restored.")] = 7,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
) -> int:
    """Undo, newest first, what the journal says was done; the original environment comes back exactly."""
    from secretguard.aws.migrate import rollback as run_rollback

    _, clients = _clients(profile, endpoint_url)
    with _aws_errors():
        outcome = run_rollback(journal, clients, _say, delete_secrets, recovery_window_days)
    for note in outcome.notes:
        typer.echo(f"note: {note}")
    if outcome.kept_secrets:
        typer.echo("kept (the original values are in them; --delete-secrets schedules them for deletion):")
        for arn in outcome.kept_secrets:
            typer.echo(f"  {arn}")
    typer.echo("rolled back")
    return _verified(journal, clients, config)


@app.command("status")
def status(
    journal: Annotated[Path, typer.Argument(help="The journal apply wrote beside the plan (PLAN.journal.jsonl).")],
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
) -> int:
    """Read back every resource of the plan and show what is moved, still plaintext, or skipped; changes nothing."""
    _, clients = _clients(profile, endpoint_url)
    return _verified(journal, clients, config)

