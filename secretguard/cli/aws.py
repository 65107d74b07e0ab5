"""AWS commands: ``scan aws``, ``validate FINDINGS.json`` and ``aws key-info``.

Importing this module registers them: ``scan aws`` on the scan app, the other two on the main app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from secretguard.cli.common import (
    BaselineOpt,
    ConfigOpt,
    FormatOpt,
    OutputOpt,
    QuietOpt,
    RevealOpt,
    SkipAccountOpt,
    ValidateJobsOpt,
    ValidateOpt,
    finish,
    load_inputs,
    validation,
)
from secretguard.errors import SecretguardError
from secretguard.findings import redact
from secretguard.report import ScanSummary, reporter_for

EndpointOpt = Annotated[str | None, typer.Option("--endpoint-url", help="Send every AWS call here instead of the endpoint boto3 resolves.")]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="AWS profile to use (default: the usual credential chain).")]

app = typer.Typer(help="AWS helpers that need no scan.", no_args_is_help=True)
scan_commands = typer.Typer()
"""``scan aws``, added to the ``scan`` group."""
commands = typer.Typer()
"""``validate``, a top-level command."""


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


@scan_commands.command("aws")
def scan_aws(
    region: Annotated[list[str] | None, typer.Option("--region", "-r", help="Region to read (repeatable, or comma-separated).")] = None,
    all_regions: Annotated[bool, typer.Option("--all-regions", help="Read every region the services exist in.")] = False,
    profile: ProfileOpt = None,
    services: Annotated[str, typer.Option("--services", help="Comma-separated, of lambda, lambda-code, ecs, ssm, cloudformation, ec2, codebuild, batch, apigateway, stepfunctions, glue, sagemaker, ecr, apprunner, amplify, elasticbeanstalk; or all.")] = "all",
    ecr_images: Annotated[int | None, typer.Option("--ecr-images", min=1, metavar="N", help="Read only the N newest images of each ECR repository (default: every image).")] = None,
    endpoint_url: EndpointOpt = None,
    fmt: FormatOpt = "text",
    output: OutputOpt = None,
    reveal: RevealOpt = False,
    config: ConfigOpt = None,
    baseline: BaselineOpt = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Regions and services read at once.")] = 8,
    quiet: QuietOpt = False,
    validate: ValidateOpt = False,
    validate_jobs: ValidateJobsOpt = 4,
    skip_account: SkipAccountOpt = None,
) -> int:
    """Scan every place AWS keeps plaintext, in every version: Lambda environments and code, ECS environments, SSM parameters and
    documents, CloudFormation stacks, EC2 user data, CodeBuild projects, Batch job definitions, API Gateway stages,
    Step Functions definitions, Glue jobs and connections, SageMaker lifecycle scripts, training jobs and models,
    ECR image configs, App Runner services, Amplify apps and branches, Elastic Beanstalk environments and saved
    configurations."""
    from secretguard.aws.session import make_session, select_regions
    from secretguard.pipeline import scan
    from secretguard.sources.aws_env import SERVICES, AwsSource

    reporter_for(fmt)  # a bad --format or --skip-account fails before any AWS call
    checks = validation(validate, validate_jobs, skip_account, endpoint_url, quiet)
    wanted = list(SERVICES) if services.strip() == "all" else _split([services])
    cfg, accepted = load_inputs(config, None, baseline)
    session = make_session(profile)
    regions = select_regions(session, wanted, _split(region), all_regions)
    source = AwsSource(session, regions, wanted, jobs, endpoint_url, ecr_images=ecr_images)
    result = scan(source, cfg, 1, accepted, validation=checks)
    return finish(result.findings, result.summary, fmt, output, reveal, quiet)


@commands.command("validate")
def validate(
    findings_file: Annotated[Path, typer.Argument(metavar="FINDINGS.json", help="A json or jsonl report written with --reveal.")],
    fmt: FormatOpt = "text",
    output: OutputOpt = None,
    reveal: RevealOpt = False,
    quiet: QuietOpt = False,
    validate_jobs: ValidateJobsOpt = 4,
    skip_account: SkipAccountOpt = None,
    endpoint_url: EndpointOpt = None,
) -> int:
    """Check the AWS key pairs of a saved report against STS and report them with their status."""
    from secretguard.aws.validate import load_findings
    from secretguard.config import Config
    from secretguard.pipeline import finish_findings

    reporter_for(fmt)
    checks = validation(True, validate_jobs, skip_account, endpoint_url, quiet)
    findings = finish_findings(load_findings(findings_file), Config(), checks)
    summary = ScanSummary(target=str(findings_file), source="findings", scanned=len(findings))
    return finish(findings, summary, fmt, output, reveal, quiet)


@app.command("key-info")
def key_info(
    key_id: Annotated[str, typer.Argument(help="An access key ID (AKIA…, ASIA…).")],
    lookup: Annotated[bool, typer.Option("--lookup", help="Also ask sts:GetAccessKeyInfo, with your own credentials.")] = False,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
) -> int:
    """The account and key type of an access key ID, decoded offline (no AWS call unless --lookup)."""
    from secretguard.aws.keys import KEY_ID, account_from_key_id, key_type

    key_id = key_id.strip()
    if not KEY_ID.match(key_id):
        raise SecretguardError(f"'{redact(key_id)}' is not an AWS access key ID")
    account = account_from_key_id(key_id)
    typer.echo(f"key ID   {redact(key_id)}")
    typer.echo(f"type     {key_type(key_id) or 'unknown prefix ' + key_id[:4]}")
    typer.echo(f"account  {account + ' (decoded offline)' if account else 'unknown (old key ID format)'}")
    if lookup:
        typer.echo(f"account  {_lookup_account(key_id, profile, endpoint_url)} (sts:GetAccessKeyInfo)")
    return 0


def _lookup_account(key_id: str, profile: str | None, endpoint_url: str | None) -> str:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from secretguard.aws.session import PROBE_CONFIG, error_line, make_client, make_session

    try:
        client = make_client(make_session(profile), "sts", endpoint_url=endpoint_url, config=PROBE_CONFIG)
        return str(client.get_access_key_info(AccessKeyId=key_id)["Account"])
    except NoCredentialsError:
        raise SecretguardError("sts:GetAccessKeyInfo: no AWS credentials found: pass --profile") from None
    except (ClientError, BotoCoreError) as exc:
        raise SecretguardError(f"sts:GetAccessKeyInfo: {error_line(exc)}") from None

