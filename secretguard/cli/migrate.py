"""``secretguard migrate plan|apply|finalize|rollback``: move plaintext secrets into AWS Secrets Manager.

Importing this module registers the ``migrate`` group on the main app.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from secretguard.cli import app as main_app
from secretguard.cli.aws import EndpointOpt, ProfileOpt
from secretguard.cli.common import ConfigOpt
from secretguard.errors import SecretguardError

app = typer.Typer(help="Move plaintext secrets from Lambda, ECS and .env files into AWS Secrets Manager.",
                  no_args_is_help=True)

PYTHON_SNIPPET = '''\
import os
import boto3

_secrets = boto3.client("secretsmanager")


def secret_env(name: str) -> str:
    """The value of NAME, from Secrets Manager when NAME_SECRET_ARN is set."""
    arn = os.environ.get(f"{name}_SECRET_ARN")
    if arn:
        return _secrets.get_secret_value(SecretId=arn)["SecretString"]
    return os.environ[name]
'''
NODE_SNIPPET = '''\
const { SecretsManagerClient, GetSecretValueCommand } = require("@aws-sdk/client-secrets-manager");
const secrets = new SecretsManagerClient({});

// The value of NAME, from Secrets Manager when NAME_SECRET_ARN is set.
async function secretEnv(name) {
  const arn = process.env[`${name}_SECRET_ARN`];
  if (!arn) return process.env[name];
  const out = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
  return out.SecretString;
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
        raise SecretguardError("no AWS credentials found: pass --profile or configure the default credential chain") from None
    except (ClientError, BotoCoreError) as exc:
        raise SecretguardError(error_line(exc)) from None


def _clients(profile: str | None, endpoint_url: str | None):  # type: ignore[no-untyped-def]
    from secretguard.aws.migrate import session_clients
    from secretguard.aws.session import make_session

    session = make_session(profile)
    return session, session_clients(session, endpoint_url)


def _say(message: str) -> None:
    typer.echo(message, err=True)


@app.command("plan")
def plan(
    region: Annotated[list[str] | None, typer.Option("--region", help="Region(s) to look in (repeatable; default: the session's).")] = None,
    findings: Annotated[Path | None, typer.Option("--from", help="A `scan aws --format json` report: plan what it found.")] = None,
    function: Annotated[list[str] | None, typer.Option("--function", help="Lambda function name or ARN (repeatable).")] = None,
    task_definition: Annotated[list[str] | None, typer.Option("--task-definition", help="ECS task definition family (repeatable).")] = None,
    env_file: Annotated[list[Path] | None, typer.Option("--env-file", help=".env file in a working tree (repeatable).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the plan here, for `migrate apply`.")] = None,
    name_template: Annotated[str, typer.Option("--name-template", help="Secret name; placeholders {kind} {resource} {variable} {container} {region}.")] = "secretguard/{kind}/{resource}/{variable}",
    kms_key_id: Annotated[str | None, typer.Option("--kms-key-id", help="Customer-managed KMS key (ID, ARN or alias) for the secrets.")] = None,
    update_services: Annotated[bool, typer.Option("--update-services", help="ECS: also point services running the old revision at the new one.")] = False,
    remove_plaintext: Annotated[bool, typer.Option("--remove-plaintext", help="Lambda: remove the plaintext variable in the same step (no separate finalize).")] = False,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
) -> int:
    """Show every plaintext secret that would move and the exact AWS changes; nothing is changed."""
    from secretguard.aws.migrate_plan import PlanRequest, build_plan, write_plan
    from secretguard.aws.session import select_regions
    from secretguard.config import find_config

    session, clients = _clients(profile, endpoint_url)
    request = PlanRequest(
        regions=tuple(select_regions(session, "lambda", region or [], False)),
        findings=findings, functions=tuple(function or ()), task_definitions=tuple(task_definition or ()),
        env_files=tuple(env_file or ()), name_template=name_template, kms_key_id=kms_key_id,
        update_services=update_services, remove_plaintext=remove_plaintext,
    )
    with _aws_errors():
        result = build_plan(clients, request, find_config(config, None))
    _print_plan(result)
    if output is not None:
        write_plan(result, output)
        _say(f"wrote the plan to {output}; carry it out with `secretguard migrate apply {output}`")
    return 0


def _print_plan(plan) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.table import Table

    from secretguard.aws.migrate_plan import describe_plan

    rows = describe_plan(plan)
    console = Console(file=sys.stdout, highlight=False, soft_wrap=False)
    moving = sum(len(i.moves) for i in plan.items)
    table = Table(title=f"migration plan: {moving} secret(s) to move, {len(plan.skipped)} skipped",
                  show_lines=True, expand=False)
    for column in ("resource", "variable", "secret", "IAM grant", "resource change"):
        table.add_column(column, overflow="fold")
    for row in rows:
        variable = row.variable + (f"\nrotate: {row.rotate}" if row.rotate else "")
        table.add_row(row.resource, variable, row.secret, row.grant, row.change)
    console.print(table)


@app.command("apply")
def apply(
    plan_file: Annotated[Path, typer.Argument(help="The plan written by `migrate plan --output`.")],
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
) -> int:
    """Carry out the plan one item at a time, journaled beside it; run it again to resume after a failure."""
    from secretguard.aws.migrate import apply_plan
    from secretguard.aws.migrate_journal import journal_path

    _, clients = _clients(profile, endpoint_url)
    with _aws_errors():
        outcome = apply_plan(plan_file, clients, _say)
    typer.echo(f"applied {len(outcome.applied)} item(s); journal: {journal_path(plan_file)}")
    for item in outcome.applied:
        if item.kind == "ecs" and not item.services:
            typer.echo(f"deploy {outcome.revisions[item.resource]} to your services "
                       "(they still run the old revision; --update-services does it for you)")
    pending = [(i, m) for i in outcome.applied if i.kind == "lambda" and not i.remove_plaintext for m in i.moves]
    if pending:
        typer.echo("\nLambda cannot inject secrets: the plaintext stays until your code reads the secret instead of "
                   f"{', '.join(sorted({m.variable for _, m in pending}))}.\nPython:\n\n{PYTHON_SNIPPET}\n"
                   f"Node.js:\n\n{NODE_SNIPPET}\nOnce that code is deployed: "
                   f"secretguard migrate finalize {plan_file}")
    _print_rotation(outcome.applied)
    return 0


def _print_rotation(items) -> None:  # type: ignore[no-untyped-def]
    from secretguard.aws.keys import account_from_key_id

    if not items:
        return
    typer.echo("\nThese values sat in plaintext and may already have leaked; moving them does not undo that. "
               "Rotate each one:")
    for item in items:
        for move in item.moves:
            typer.echo(f"  {item.resource} {move.key}")
            if move.aws_key_id:
                account = account_from_key_id(move.aws_key_id) or "unknown"
                typer.echo(f"    AWS access key {move.aws_key_id} (account {account}): create a new key, deploy it, "
                           "then deactivate and delete this one")


@app.command("finalize")
def finalize(
    plan_file: Annotated[Path, typer.Argument(help="The plan that was applied.")],
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
) -> int:
    """Lambda: remove the plaintext variables, once the code reading *_SECRET_ARN is deployed."""
    from secretguard.aws.migrate import finalize_plan

    _, clients = _clients(profile, endpoint_url)
    with _aws_errors():
        outcome = finalize_plan(plan_file, clients, _say)
    typer.echo(f"finalized {len(outcome.finalized)} function(s)")
    return 0


@app.command("rollback")
def rollback(
    journal: Annotated[Path, typer.Argument(help="The journal apply wrote beside the plan (PLAN.journal.jsonl).")],
    delete_secrets: Annotated[bool, typer.Option("--delete-secrets", help="Also schedule the secrets this migration created for deletion.")] = False,
    recovery_window_days: Annotated[int, typer.Option("--recovery-window-days", help="With --delete-secrets: days (7-30) during which a deleted secret can be restored.")] = 7,
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
    return 0


main_app.add_typer(app, name="migrate")
