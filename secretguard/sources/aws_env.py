"""AWS source: environment variables of every Lambda function version and every ECS task definition revision.

Lambda keeps each published version's environment as it was when published, so ``$LATEST`` being clean
says nothing about version 3; ECS keeps INACTIVE revisions readable forever. Both are read in full.

Each environment (one function version, or one container of one task definition revision) is scanned as
``NAME=value`` lines, so name-aware rules fire and key pairs in neighbouring variables pair up. On top of
the rule set, the cloud rule ``cloud-secret-env-var`` reports a variable whose *name* says secret and
whose value is a literal rather than a reference.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from secretguard.aws.session import error_code, error_line, make_client
from secretguard.config import Config
from secretguard.engine import Detector
from secretguard.entropy import shannon_entropy
from secretguard.errors import SecretguardError, SourceError
from secretguard.filters import is_dropped, user_filter
from secretguard.findings import Hit, Origin, collect
from secretguard.report import ScanSummary
from secretguard.scanning import detector_for, scan_chunk
from secretguard.sources import Chunk
from secretguard.scans import ScanResult, rule_info

SERVICES = ("lambda", "ecs")
CLOUD_RULE = "cloud-secret-env-var"
CLOUD_RULE_INFO = {CLOUD_RULE: ("Secret-named environment variable with a literal value", "high")}
DEFAULT_READERS = 8

SECRET_NAME = re.compile(
    r"""(?x) PASSWORD | PASSWD | PASSPHRASE | (?:^|_)PASS(?:_|$) | (?:^|_)PWD$ | SECRET | TOKEN
    | API_?KEY | PRIVATE_?KEY | CREDENTIALS? | ACCESS_?KEY | AUTH_?KEY | SIGNING_?KEY | ENCRYPTION_?KEY
    | MASTER_?KEY | CLIENT_?KEY | CONNECTION_?STRING"""
)
# Names that say secret but hold something about the secret: where it is, how long it lives, what it is.
NOT_A_SECRET_NAME = re.compile(
    r"""(?x) (?:^|_)(?:ARN|NAME|ID|IDS|KEY_ID|PATH|FILE|DIR|URL|URI|ENDPOINT|HOST|PORT|REGION|BUCKET|TABLE
    | QUEUE|TOPIC|PARAM|PARAMETER|TTL|EXPIRY|EXPIRES|EXPIRATION|SECONDS|MINUTES|HOURS|DAYS|LENGTH|SIZE
    | HEADER|TYPE|ENABLED|DISABLED|VERSION|COUNT|FORMAT|ALGORITHM|ROTATION|POLICY)$"""
)
REFERENCE_VALUE = re.compile(r"(?i)^arn:aws[a-z-]*:|\{\{resolve:")
NOT_A_SECRET_VALUE = re.compile(r"(?i)^(?:true|false|yes|no|on|off|enabled|disabled|[0-9]{1,6})$")
NOT_ENABLED_CODES = frozenset({"UnrecognizedClientException", "InvalidClientTokenId", "AuthFailure", "OptInRequired"})


def is_secret_name(name: str) -> bool:
    """A variable name that says it holds a secret (``DB_PASSWORD``), not one that points at it (``SECRET_ARN``)."""
    upper = name.upper()
    return SECRET_NAME.search(upper) is not None and NOT_A_SECRET_NAME.search(upper) is None


def is_literal_value(value: str) -> bool:
    """A value that is the secret itself: not empty, not an ARN or ``{{resolve:…}}``, not a placeholder or flag."""
    value = value.strip()
    return bool(value) and not REFERENCE_VALUE.search(value) and not NOT_A_SECRET_VALUE.match(value) \
        and not is_dropped(value, CLOUD_RULE)


Variables = tuple[tuple[str, str], ...]
"""Environment variables as (name, value) pairs, sorted by name."""

@dataclass(frozen=True, slots=True)
class Environment:
    """The variables of one function version or one container of one task definition revision."""

    origin: Origin
    variables: Variables
    error: str | None = None
    """Why the variables could not be read (a KMS key the caller cannot use), if so."""

    def text(self) -> tuple[bytes, list[int]]:
        """``NAME=value`` lines sorted by name (key pairs sit together), and the first line of each variable."""
        starts, lines, line = [], [], 1
        for name, value in self.variables:
            starts.append(line)
            lines.append(f"{name}={value}")
            line += 1 + value.count("\n")
        return "\n".join(lines).encode("utf-8", "surrogateescape"), starts


def environment_hits(detector: Detector, env: Environment) -> list[Hit]:
    """Every rule's hits in ``env``, decoded values included, each placed at its variable; plus the cloud rule
    for secret-named variables where no rule matched."""
    data, starts = env.text()
    hits: list[Hit] = []
    matched: set[int] = set()
    for hit in scan_chunk(detector, Chunk(data, env.origin)):
        index = bisect.bisect_right(starts, hit.origin.line or 1) - 1
        matched.add(index)
        if hit.pair is not None:  # a pair's second half is reported with the first, not on its own
            pair = hit.pair.secret
            matched.update(i for i, (_, value) in enumerate(env.variables) if pair in value)
        # Lines of the synthetic NAME=value text mean nothing to a reader: the variable is the place.
        hits.append(replace(hit, origin=replace(env.origin, variable=env.variables[index][0])))
    for index, (name, value) in enumerate(env.variables):
        if index not in matched and is_secret_name(name) and is_literal_value(value):
            hits.append(Hit(CLOUD_RULE, value, shannon_entropy(value), replace(env.origin, variable=name)))
    return hits


def _variables(pairs: Any) -> Variables:
    return tuple(sorted((str(k), str(v)) for k, v in pairs))


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
            yield Environment(Origin(source="lambda", resource=arn, region=region), _variables(variables.items()),
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
        return _variables(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")), None


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
                    origin = Origin(source="ecs", resource=definition.get("taskDefinitionArn", arn),
                                    container=container.get("name"), region=region)
                    variables = _variables((e.get("name", ""), e.get("value", ""))
                                           for e in container.get("environment") or [])
                    if variables:
                        yield Environment(origin, variables)
                    if files is not None:
                        yield from _file_environments(files, origin, container.get("environmentFiles") or [])


def _file_environments(files: EnvironmentFiles, origin: Origin, entries: list[dict[str, str]]) -> Iterator[Environment]:
    for entry in entries:
        if entry.get("type", "s3") == "s3" and entry.get("value"):
            variables, error = files.variables(entry["value"])
            uri = s3_uri(entry["value"])
            if variables or error:
                yield Environment(replace(origin, path=uri), variables, f"{uri}: {error}" if error else None)


READERS: dict[str, Callable[[Callable[[str], Any], str], Iterator[Environment]]] = {
    "lambda": lambda client, region: lambda_environments(client("lambda"), region),
    "ecs": lambda client, region: ecs_environments(client("ecs"), region, EnvironmentFiles(client("s3"))),
}
"""Per service: its environments in a region, given a function that makes a client of any service there."""


@dataclass
class ReadResult:
    """What one (service, region) read gave: its environments, or why it failed (code and one line)."""

    service: str
    region: str
    environments: list[Environment] = field(default_factory=list)
    error_code: str | None = None
    error: str | None = None


def read_service(session: boto3.Session, service: str, region: str, endpoint_url: str | None) -> ReadResult:
    """Read one service in one region; an AWS or network failure is kept, not raised, so other regions go on."""
    result = ReadResult(service, region)
    try:
        result.environments.extend(READERS[service](
            lambda name: make_client(session, name, region, endpoint_url), region))
    except NoCredentialsError:  # not a region's problem: the whole scan stops
        raise
    except (ClientError, BotoCoreError) as exc:
        result.error_code, result.error = error_code(exc), error_line(exc)
    return result


def _failure_notes(failed: list[ReadResult]) -> list[str]:
    """One line per failed (service, region); regions the credentials cannot use are folded into one line."""
    not_enabled = sorted({r.region for r in failed if r.error_code in NOT_ENABLED_CODES})
    notes = [f"{r.service} in {r.region}: {r.error}" for r in failed if r.region not in not_enabled]
    if not_enabled:
        notes.append(f"regions not enabled for these credentials (skipped): {', '.join(not_enabled)}")
    return notes


def scan_aws(session: boto3.Session, regions: Sequence[str], services: Sequence[str], config: Config,
             baseline: frozenset[str] = frozenset(), readers: int = DEFAULT_READERS,
             endpoint_url: str | None = None) -> ScanResult:
    """Scan every Lambda version and ECS task definition revision of ``services`` in ``regions``.

    A failing region or service becomes a note in the summary and the scan goes on; if nothing at all could
    be read, that is an error.
    """
    unknown = [s for s in services if s not in READERS]
    if unknown:
        raise SecretguardError(f"unknown service '{unknown[0]}' (choose from {', '.join(SERVICES)})")
    info = rule_info(config) | CLOUD_RULE_INFO
    detector = detector_for(config.rules)
    tasks = [(service, region) for region in regions for service in services]
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(readers, len(tasks)))) as pool:
            results = list(pool.map(lambda t: read_service(session, t[0], t[1], endpoint_url), tasks))
    except NoCredentialsError:
        raise SecretguardError("no AWS credentials found: pass --profile or configure the default credential chain") from None
    failed = [r for r in results if r.error is not None]
    if results and len(failed) == len(results):
        first = failed[0]
        raise SourceError(f"could not read any region: {first.service} in {first.region}: {first.error}")
    hits: list[Hit] = []
    scanned_bytes = 0
    environments = [env for r in results for env in r.environments if env.error is None]
    unreadable = [f"{env.origin.resource}: environment not readable: {env.error}"
                  for r in results for env in r.environments if env.error is not None]
    for env in environments:
        scanned_bytes += len(env.text()[0])
        hits.extend(environment_hits(detector, env))
    findings = collect(hits, info, user_filter(config.allowlist, baseline))
    summary = ScanSummary(
        target=f"aws {'/'.join(services)} in {', '.join(regions) if len(regions) <= 4 else f'{len(regions)} regions'}",
        source="environments",
        scanned=len(environments),
        scanned_bytes=scanned_bytes,
        notes=tuple(unreadable + _failure_notes(failed)),
    )
    return ScanResult(findings, summary)
