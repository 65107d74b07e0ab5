"""AWS source: every place AWS keeps plaintext, in every version, read region by region and service by service.

This module reads Lambda environments (every function version) and ECS task definitions (every revision,
ACTIVE and INACTIVE, and the S3 environment files they load); each other kind of resource is a module of
its own (``aws_ssm``, ``aws_ecr``, …), registered in :data:`READERS`. Lambda keeps each published version's
environment as it was when published, so ``$LATEST`` being clean says nothing about version 3: old versions
are read in full.

Each environment (named values: one function version, one container of one revision, a parameter version)
is one chunk of ``NAME=value`` lines with its variables as fields, so name-aware rules fire, key pairs in
neighbouring variables pair up, and the registered ``cloud-secret-env-var`` detector sees each name and
value. A document (a template, user data, a build spec) is scanned as the text it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from botocore.parsers import ResponseParserError

from secretguard.aws.session import error_code, error_line, make_client
from secretguard.errors import SecretguardError, SourceError
from secretguard.findings import Hit
from secretguard.provenance import CloudResource, Provenance
from secretguard.sources import (
    Chunk,
    Inventory,
    aws_amplify,
    aws_apigateway,
    aws_apprunner,
    aws_batch,
    aws_cloudformation,
    aws_codebuild,
    aws_ec2,
    aws_ecr,
    aws_elasticbeanstalk,
    aws_glue,
    aws_lambda_code,
    aws_sagemaker,
    aws_ssm,
    aws_stepfunctions,
)
from secretguard.sources.aws_items import Document, Environment, Variables, variables_of

DEFAULT_READERS = 8
NOT_ENABLED_CODES = frozenset({"UnrecognizedClientException", "InvalidClientTokenId", "AuthFailure", "OptInRequired"})


def lambda_environments(client: Any, region: str) -> Iterator[Environment]:
    """The environment of every function version in the client's region, ``$LATEST`` and every published one."""
    for page in client.get_paginator("list_functions").paginate(FunctionVersion="ALL"):
        for fn in page.get("Functions", []):
            environment = fn.get("Environment") or {}
            variables, error = environment.get("Variables") or {}, environment.get("Error")
            if not variables and not error:
                continue
            arn, version = fn["FunctionArn"], fn.get("Version", "$LATEST")
            if not arn.endswith(f":{version}"):
                arn = f"{arn}:{version}"
            yield Environment(CloudResource("lambda", arn, region), variables_of(variables.items()),
                              f"{error.get('ErrorCode', 'Error')}: {error.get('Message', '')}".strip(" :")
                              if error else None)


ENV_FILE_MAX_BYTES = 1024 * 1024
"""Longer environment files are read this far: ECS itself limits each file to far less."""


class EnvironmentFiles:
    """Reads the S3 environment files task definitions name (``environmentFiles``), each once per scan."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3
        self._read: dict[str, tuple[Variables, str | None]] = {}

    def variables(self, arn: str) -> tuple[Variables, str | None]:
        """The ``NAME=value`` lines of the file at S3 object ``arn``, or why it could not be read."""
        if arn not in self._read:
            self._read[arn] = self._fetch(arn)
        return self._read[arn]

    def _fetch(self, arn: str) -> tuple[Variables, str | None]:
        bucket, _, key = arn.partition(":::")[2].partition("/")
        if not bucket or not key:
            return (), "not an S3 object ARN"
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"]
            text = body.read(ENV_FILE_MAX_BYTES).decode("utf-8", "replace")
        except (ClientError, BotoCoreError) as exc:
            return (), error_line(exc)
        # The format ECS reads: NAME=value per line and '#' comments; quotes are part of the value.
        lines = [line.strip() for line in text.splitlines()]
        return variables_of(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")), None


def s3_uri(arn: str) -> str:
    """``s3://bucket/key`` for an S3 object ARN."""
    return "s3://" + arn.partition(":::")[2]


def ecs_environments(client: Any, region: str, files: EnvironmentFiles | None = None) -> Iterator[Environment]:
    """The plain ``environment`` of every container of every task definition revision, ACTIVE and INACTIVE, and
    with ``files``, the S3 ``environmentFiles`` they load.

    ``secrets`` entries are references to Secrets Manager or SSM and are not read.
    """
    paginator = client.get_paginator("list_task_definitions")
    for status in ("ACTIVE", "INACTIVE"):
        for page in paginator.paginate(status=status):
            for arn in page.get("taskDefinitionArns", []):
                definition = client.describe_task_definition(taskDefinition=arn)["taskDefinition"]
                for container in definition.get("containerDefinitions", []):
                    origin = CloudResource("ecs", definition.get("taskDefinitionArn", arn), region,
                                           container.get("name"))
                    variables = variables_of((e.get("name", ""), e.get("value", ""))
                                           for e in container.get("environment") or [])
                    if variables:
                        yield Environment(origin, variables)
                    if files is not None:
                        yield from _file_environments(files, origin, container.get("environmentFiles") or [])


def _file_environments(files: EnvironmentFiles, origin: CloudResource,
                       entries: list[dict[str, str]]) -> Iterator[Environment]:
    for entry in entries:
        if entry.get("type", "s3") == "s3" and entry.get("value"):
            variables, error = files.variables(entry["value"])
            uri = s3_uri(entry["value"])
            if variables or error:
                yield Environment(replace(origin, path=uri), variables, f"{uri}: {error}" if error else None)


Item = Environment | Document | aws_lambda_code.Package | aws_ecr.ImageConfig
SHARED = (aws_lambda_code.Package, aws_ecr.ImageConfig)
"""Items downloaded once for every resource that has the same bytes (``sharing`` names the others)."""
Reader = Callable[[Callable[[str], Any], str], Iterator[Item]]
READERS: dict[str, Reader] = {
    "lambda": lambda client, region: lambda_environments(client("lambda"), region),
    "lambda-code": aws_lambda_code.read,
    "ecs": lambda client, region: ecs_environments(client("ecs"), region, EnvironmentFiles(client("s3"))),
    "ssm": aws_ssm.read,
    "cloudformation": aws_cloudformation.read,
    "ec2": aws_ec2.read,
    "codebuild": aws_codebuild.read,
    "batch": aws_batch.read,
    "apigateway": aws_apigateway.read,
    "stepfunctions": aws_stepfunctions.read,
    "glue": aws_glue.read,
    "sagemaker": aws_sagemaker.read,
    "ecr": aws_ecr.read,
    "apprunner": aws_apprunner.read,
    "amplify": aws_amplify.read,
    "elasticbeanstalk": aws_elasticbeanstalk.read,
}
SERVICES = tuple(READERS)
"""Per service: its environments and documents in a region, given a function that makes a client of any
service there."""


@dataclass
class ReadResult:
    """What one (service, region) read gave: its items, or why it failed (code and one line)."""

    service: str
    region: str
    items: list[Item] = field(default_factory=list)
    error_code: str | None = None
    error: str | None = None


def read_service(session: boto3.Session, service: str, region: str, endpoint_url: str | None,
                 reader: Reader | None = None) -> ReadResult:
    """Read one service in one region (with ``reader``, else the service's own); an AWS or network failure is
    kept, not raised, so other regions go on."""
    result = ReadResult(service, region)
    try:
        result.items.extend((reader or READERS[service])(
            lambda name: make_client(session, name, region, endpoint_url), region))
    except NoCredentialsError:  # not a region's problem: the whole scan stops
        raise
    except (ClientError, BotoCoreError, ResponseParserError) as exc:  # an answer botocore cannot parse, too
        call = getattr(exc, "operation_name", None)  # the denied call tells which permission is missing
        result.error_code, result.error = error_code(exc), f"{call}: {error_line(exc)}" if call else error_line(exc)
    return result


def offered(session: boto3.Session, service: str, region: str) -> bool:
    """False only where botocore's endpoint data lists ``service`` in ``region``'s partition, but not in ``region``
    (App Runner exists in a third of the regions); a region or service it does not know is tried."""
    for partition in session.get_available_partitions():
        if region in session.get_available_regions("ec2", partition):
            listed = session.get_available_regions(service, partition)
            return not listed or region in listed
    return True


def _account_failures(failed: list[ReadResult], inventory: Inventory) -> None:
    """Each failed (service, region) as an input not read; regions the credentials cannot use (where nothing
    can be kept) are folded into one note."""
    not_enabled = sorted({r.region for r in failed if r.error_code in NOT_ENABLED_CODES})
    for r in failed:
        if r.region not in not_enabled:
            inventory.skip(f"{r.service} in {r.region}", r.error or "")
    if not_enabled:
        inventory.notes.append(f"regions not enabled for these credentials (skipped): {', '.join(not_enabled)}")


@dataclass
class AwsSource:
    """The environments and documents of ``services`` in ``regions``: read from AWS while enumerating
    (``readers`` calls at once), scanned in the driver.

    A failing region or service, or an environment that cannot be read, is listed as not scanned and the scan
    goes on; if nothing at all could be read, that is an error.
    """

    session: boto3.Session
    regions: Sequence[str]
    services: Sequence[str]
    readers: int = DEFAULT_READERS
    endpoint_url: str | None = None
    label: str = "resources"
    ecr_images: int | None = None
    """Read only this many of the newest images of each ECR repository; all of them when None."""
    _sharing: dict[str, tuple[str, ...]] = field(default_factory=dict, init=False, repr=False)
    """Per Lambda package or image config (by the resource it was read for), the further resources that have the
    same bytes."""

    def __post_init__(self) -> None:
        unknown = [s for s in self.services if s not in READERS]
        if unknown:
            raise SecretguardError(f"unknown service '{unknown[0]}' (choose from {', '.join(SERVICES)})")

    @property
    def target(self) -> str:
        where = ", ".join(self.regions) if len(self.regions) <= 4 else f"{len(self.regions)} regions"
        return f"aws {'/'.join(self.services)} in {where}"

    def items(self, inventory: Inventory) -> Iterator[tuple[Item, int]]:
        tasks = [(service, region) for region in self.regions for service in self.services]
        readers: dict[str, Reader] = {**READERS, "ecr": partial(aws_ecr.read, newest=self.ecr_images)}
        absent = [(service, region) for service, region in tasks if not offered(self.session, service, region)]
        for service in dict.fromkeys(service for service, _ in absent):
            regions = ", ".join(region for s, region in absent if s == service)
            inventory.notes.append(f"{service} is not offered in {regions} (nothing there to read; skipped)")
        tasks = [task for task in tasks if task not in absent]
        try:
            with ThreadPoolExecutor(max_workers=max(1, min(self.readers, len(tasks)))) as pool:
                results = list(pool.map(
                    lambda t: read_service(self.session, t[0], t[1], self.endpoint_url, readers[t[0]]), tasks))
        except NoCredentialsError:
            raise SecretguardError("no AWS credentials found: pass --profile or configure the default credential "
                                   "chain") from None
        failed = [r for r in results if r.error is not None]
        if results and len(failed) == len(results):
            first = failed[0]
            raise SourceError(f"could not read any region: {first.service} in {first.region}: {first.error}")
        _account_failures(failed, inventory)
        for item in (item for r in results for item in r.items):
            if item.error is None:
                if isinstance(item, SHARED) and item.sharing:
                    self._sharing[item.origin.resource] = item.sharing
                yield item, item.size
            else:
                inventory.skip(str(item.origin.origin().resource), f"{item.noun} not readable: {item.error}")

    def read(self, item: Item) -> Iterator[Chunk]:
        yield item.chunk()

    def refine(self, provenance: Provenance, hits: list[Hit]) -> Iterator[Hit]:
        """Hits in a Lambda package or an image config, also at every further resource that has the same bytes."""
        for hit in hits:
            yield hit
            for arn in self._sharing.get(hit.origin.resource or "", ()):
                yield replace(hit, origin=replace(hit.origin, resource=arn))

    def describe(self, item: Item) -> str:
        return item.origin.describe()
