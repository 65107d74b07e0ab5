"""Migration plans: which plaintext values move into which secrets, and the exact AWS changes that takes.

A plan starts from findings: those of a ``scan aws`` report (``--from``), read as they are, or those a
:data:`FindingsOf` callable gives for a resource named on the command line. It then reads each resource itself
(Lambda ``$LATEST``, the highest ACTIVE revision of an ECS task or Batch job definition, a CodeBuild project, an SSM
parameter's current version, a ``.env`` file) for the current values. An SSM ``String`` parameter does not move
into Secrets Manager: it becomes a ``SecureString`` of the same name. An AWS key
ID, its secret key and an ``ASIA`` key's session token are one credential: they move together, by default into
one secret holding a JSON object. A plan never holds a plaintext value, nor a fast hash of one: each variable
carries the scrypt hash of its value under a salt kept in the plan (:class:`~secretguard.hashing.SaltedHasher`),
so ``apply`` can tell when the resource drifted after the plan was made while a reader of the plan pays one scrypt
per guess. A version 1 plan kept plain sha256 digests; it is read by stretching each into the hash it would have
under a salt derived from the plan's id (:func:`legacy_hasher`), so it still checks drift.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from secretguard.aws.keys import KEY_ID, account_from_key_id
from secretguard.aws.migrate_wrapper import wrapper_problem
from secretguard.aws.session import error_code, error_line
from secretguard.aws.validate import load_findings
from secretguard.errors import SecretguardError, SourceError
from secretguard.findings import Finding, Origin, redact, sha256_hex
from secretguard.hashing import SALT_BYTES, SaltedHasher

Clients = Callable[[str, str], Any]
"""``clients(service, region)``: a boto3 client; the one seam where callers choose endpoint, credentials or faults."""
FindingsOf = Callable[[dict[str, str], Origin], list[Finding]]
"""``findings_of(variables, origin)``: what ``scan aws`` would report in one environment (see ``migrate_scan``)."""

PLAN_VERSION = 2
READABLE_PLAN_VERSIONS = (1, PLAN_VERSION)
"""1: values as plain sha256 digests (``value_sha256``); 2: scrypt under the plan's salt (``value_hash``)."""
DEFAULT_NAME_TEMPLATE = "secretguard/{kind}/{resource}/{variable}"
REFERENCE_SUFFIX = "_SECRET_ARN"
SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
NOT_IN_SECRET_NAME = re.compile(r"[^A-Za-z0-9/_+=.@-]")
TAG_VALUE_MAX = 256
READ_ONLY_TASK_FIELDS = frozenset({
    "taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
    "registeredAt", "registeredBy", "deregisteredAt",
})
"""Fields ``DescribeTaskDefinition`` returns that ``RegisterTaskDefinition`` does not take."""
READ_ONLY_JOB_FIELDS = frozenset({"jobDefinitionArn", "revision", "status", "containerOrchestrationType"})
"""Fields ``DescribeJobDefinitions`` returns that ``RegisterJobDefinition`` does not take."""
KINDS = ("lambda", "ecs", "batch", "codebuild", "ssm")
"""The kinds of AWS resource a ``scan aws`` location can name and a plan can move; ``.env`` files come by name."""
SECURE_STRING = "SecureString"
AWS_KEY_RULE = "aws-access-key-id"
SESSION_TOKEN_RULE = "aws-session-token"
PAIRS = ("json", "separate")
"""How a key pair is stored: one secret holding a JSON object (the default), or one secret per variable."""
LAMBDA_MODES = ("reference", "wrapper")
"""Lambda: ``reference`` adds ``<VAR>_SECRET_ARN`` for the code to read; ``wrapper`` also adds secretguard's exec
wrapper layer, which exports ``<VAR>`` from it before the runtime starts, so the plaintext goes at once."""
PAIR_KEYS = ("AccessKeyId", "SecretAccessKey", "SessionToken")
"""The JSON keys of a pair's secret, as the AWS SDKs' ``credential_process`` output names them."""
DOTENV_ASSIGNMENT = re.compile(
    r"^(?P<lead>[ \t]*(?:export[ \t]+)?)(?P<name>[A-Za-z_][A-Za-z0-9_.]*)(?P<eq>[ \t]*=[ \t]*)(?P<rest>.*)$"
)
DOTENV_COMMENT = re.compile(r"[ \t]#")


@dataclass(frozen=True)
class Field:
    """One variable of a key pair moving into one JSON secret, under ``json_key``."""

    variable: str
    value_hash: str
    json_key: str


@dataclass(frozen=True)
class Move:
    """One variable, or the variables of one key pair, going into one secret."""

    variable: str
    """The variable (for a pair, the key ID's); the secret is named after it."""
    value_hash: str
    """The plan's hash of the secret's value: the variable's value, or for a pair the JSON object
    :func:`pair_document` makes."""
    secret_name: str
    container: str | None = None
    aws_key_id: str | None = None
    """Redacted: the AWS access key this value is (or is the secret of), for the reminder to rotate it."""
    aws_account: str | None = None
    fields: tuple[Field, ...] = ()
    """A pair's variables, each with its JSON key; empty for a single variable."""

    @property
    def key(self) -> str:
        """Unique within its item: ``container/VAR`` for ECS, ``VAR`` otherwise."""
        return f"{self.container}/{self.variable}" if self.container else self.variable

    @property
    def parts(self) -> tuple[Field, ...]:
        """Every variable this move empties: the pair's fields, or the one variable (with no JSON key)."""
        return self.fields or (Field(self.variable, self.value_hash, ""),)

    @property
    def label(self) -> str:
        """All of its variables, for people: ``app/KEY_ID + SECRET_KEY``."""
        names = " + ".join(p.variable for p in self.parts)
        return f"{self.container}/{names}" if self.container else names


def reference_name(variable: str) -> str:
    """The Lambda variable that will hold the secret's ARN for ``variable``."""
    return variable + REFERENCE_SUFFIX


def value_from(secret_arn: str, json_key: str, kind: str = "") -> str:
    """Where a variable's value is: the secret's ARN, or for one key of a JSON secret ECS's ``ARN:json-key::`` form
    (CodeBuild's is ``ARN:json-key``)."""
    if not json_key:
        return secret_arn
    return f"{secret_arn}:{json_key}" if kind == "codebuild" else f"{secret_arn}:{json_key}::"


def pair_document(values: dict[str, str]) -> str:
    """A key pair's secret: ``{"AccessKeyId", "SecretAccessKey"[, "SessionToken"]}``, always written the same way."""
    return json.dumps({k: values[k] for k in PAIR_KEYS if k in values}, separators=(",", ":"))


def field_value(secret_string: str, json_key: str) -> str | None:
    """A variable's value from its secret: the whole string, or one key of a JSON secret (None if absent)."""
    if not json_key:
        return secret_string
    try:
        value = json.loads(secret_string).get(json_key)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Service:
    """An ECS service running the revision being migrated."""

    cluster: str
    arn: str


@dataclass(frozen=True)
class Item:
    """One resource and the variables moving out of it; ``resource`` is also the item's identity in the journal."""

    kind: str
    resource: str
    name: str
    region: str
    moves: tuple[Move, ...]
    role_arn: str | None = None
    kms_key_arn: str | None = None
    services: tuple[Service, ...] = ()
    remove_plaintext: bool = False
    update_services: bool = False
    """``--update-services`` was asked for (``services`` may still be empty: none ran the revision)."""
    update_existing: bool = False
    """``--update-existing``: a secret of this name holding another value gets this one as a new version."""
    lambda_mode: str = "reference"
    """One of :data:`LAMBDA_MODES`; ``wrapper`` removes the plaintext in the same change."""

    def tags(self, move: Move) -> dict[str, str]:
        """The tags the secret for ``move`` gets."""
        return {
            "secretguard:source": self.kind,
            "secretguard:resource": self.resource[-TAG_VALUE_MAX:],
            "secretguard:variable": move.key,
        }


@dataclass(frozen=True)
class Skipped:
    """A variable (or a whole resource, when ``variable`` is None) the plan leaves alone, and why."""

    resource: str
    reason: str
    variable: str | None = None
    container: str | None = None


def legacy_hasher(plan_id: str) -> SaltedHasher:
    """The hasher a version 1 plan (which kept no salt) is read with: its salt derives from the plan's random id,
    so every run reading the plan, and the journal it writes, agree on it."""
    return SaltedHasher(hashlib.sha256(b"secretguard migrate plan\0" + plan_id.encode()).digest()[:SALT_BYTES])


@dataclass(frozen=True)
class Plan:
    id: str
    created: str
    items: tuple[Item, ...]
    skipped: tuple[Skipped, ...] = ()
    hasher: SaltedHasher = field(default_factory=SaltedHasher.fresh, compare=False, repr=False)
    """Hashes the values of this plan (and of its journal): ``value_hash == hasher.secret_hash(value)``."""

    def to_dict(self) -> dict[str, Any]:
        return {"version": PLAN_VERSION, "id": self.id, "created": self.created, "hash": self.hasher.params(),
                "items": [asdict(i) for i in self.items], "skipped": [asdict(s) for s in self.skipped]}

    @staticmethod
    def from_dict(data: dict[str, Any], where: str = "plan") -> Plan:
        """A plan as :meth:`to_dict` writes it, or as version 1 did (each ``value_sha256`` stretched on reading)."""
        if data.get("version") == 1:
            hasher = legacy_hasher(data["id"])

            def value_hash(entry: dict[str, Any]) -> dict[str, Any]:
                plain = entry.pop("value_sha256")
                return {**entry, "value_hash": hasher.hash_digest(bytes.fromhex(plain))}
        else:
            hasher = SaltedHasher.from_params(data["hash"], where)

            def value_hash(entry: dict[str, Any]) -> dict[str, Any]:
                return entry
        items = tuple(
            Item(**{**i, "moves": tuple(Move(**value_hash({**m, "fields": tuple(Field(**value_hash(dict(f)))
                                                                                  for f in m.get("fields", ()))}))
                                        for m in i["moves"]),
                    "services": tuple(Service(**s) for s in i.get("services", ()))})
            for i in data["items"]
        )
        return Plan(data["id"], data["created"], items, tuple(Skipped(**s) for s in data.get("skipped", ())), hasher)


def write_plan(plan: Plan, path: Path) -> None:
    """Write ``plan`` as JSON (it holds no plaintext)."""
    try:
        path.write_text(json.dumps(plan.to_dict(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise SecretguardError(f"{path}: cannot write plan: {exc.strerror or exc}") from None


def load_plan(path: Path) -> tuple[Plan, str]:
    """The plan in ``path`` and the sha256 of its text (the journal is bound to it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SecretguardError(f"{path}: cannot read plan: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
        if data.get("version") not in READABLE_PLAN_VERSIONS:
            raise SecretguardError(f"{path}: plan version {data.get('version')!r} is not one of "
                                   f"{', '.join(map(str, READABLE_PLAN_VERSIONS))}")
        return Plan.from_dict(data, str(path)), sha256_hex(text)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SecretguardError(f"{path}: not a secretguard migration plan ({type(exc).__name__}: {exc})") from None


def policy_name(move: Move) -> str:
    """The inline policy that grants reading ``move``'s secret: named after the variable and the secret."""
    return f"secretguard-{move.variable[:80]}-{sha256_hex(move.secret_name)[:12]}"


def grant_document(secret_arn: str, kms_key_arn: str | None, region: str) -> dict[str, Any]:
    """Least privilege: read this one secret, and decrypt with its customer-managed key only through Secrets Manager."""
    statements: list[dict[str, Any]] = [{
        "Sid": "SecretguardReadSecret", "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn,
    }]
    if kms_key_arn:
        statements.append({
            "Sid": "SecretguardDecryptSecret", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": kms_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
        })
    return {"Version": "2012-10-17", "Statement": statements}


def role_name(role_arn: str) -> str:
    """``arn:aws:iam::123:role/path/name`` -> ``name``."""
    return role_arn.rsplit("/", 1)[-1]


def arn_account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def task_family(task_definition_arn: str) -> tuple[str, int]:
    """``…:task-definition/web:7`` -> ``("web", 7)``."""
    family, _, revision = task_definition_arn.rsplit("/", 1)[-1].partition(":")
    return family, int(revision or 0)


def function_arn(arn: str) -> str:
    """A Lambda function ARN without its version or alias qualifier."""
    return ":".join(arn.split(":")[:7])


def active_revisions(ecs: Any, family: str) -> list[str]:
    """The ARNs of every ACTIVE revision of ``family``, highest revision number first.

    Sorted here: a server may ignore ``sort`` (moto does), and the first one listed is then the oldest.
    """
    pages = ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, status="ACTIVE", sort="DESC")
    arns = [str(a) for p in pages for a in p.get("taskDefinitionArns", []) if task_family(a)[0] == family]
    return sorted(arns, key=lambda arn: task_family(arn)[1], reverse=True)


def active_job_definitions(batch: Any, name: str) -> list[dict[str, Any]]:
    """Every ACTIVE revision of the Batch job definition ``name``, highest revision first."""
    pages = batch.get_paginator("describe_job_definitions").paginate(jobDefinitionName=name, status="ACTIVE")
    found = [d for p in pages for d in p.get("jobDefinitions", []) if d.get("jobDefinitionName") == name]
    return sorted(found, key=lambda d: int(d["revision"]), reverse=True)


def codebuild_project(codebuild: Any, project: str) -> dict[str, Any] | None:
    """A CodeBuild project by name or ARN, or None."""
    return next(iter(codebuild.batch_get_projects(names=[project]).get("projects") or []), None)


def codebuild_variables(project: dict[str, Any]) -> dict[str, str]:
    """The project's ``PLAINTEXT`` environment variables (the others are references)."""
    return {v["name"]: v.get("value", "") for v in (project.get("environment") or {}).get("environmentVariables") or []
            if v.get("type", "PLAINTEXT") == "PLAINTEXT"}


def codebuild_references(project: dict[str, Any]) -> dict[str, str]:
    """The project's ``SECRETS_MANAGER`` variables: name -> ``ARN[:json-key]``."""
    return {v["name"]: v.get("value", "") for v in (project.get("environment") or {}).get("environmentVariables") or []
            if v.get("type") == "SECRETS_MANAGER"}


def ssm_variables(parameter: dict[str, Any]) -> dict[str, str]:
    """A ``String`` parameter as one variable named after it; nothing for any other type."""
    return {parameter["Name"]: parameter.get("Value", "")} if parameter.get("Type") == "String" else {}


def latest_active_revision(ecs: Any, family: str) -> str | None:
    """The ARN of the highest ACTIVE revision of ``family`` (the one ``RegisterTaskDefinition`` builds on)."""
    return next(iter(active_revisions(ecs, family)), None)


def lambda_variables(config: dict[str, Any]) -> dict[str, str]:
    return dict((config.get("Environment") or {}).get("Variables") or {})


def container_variables(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("environment") or []}


def container_blocked(container: dict[str, Any], variables: dict[str, str]) -> dict[str, str]:
    """The variables of an ECS or Batch container that cannot move, and why."""
    counts = [e["name"] for e in container.get("environment") or []]
    blocked = {v: "defined more than once in the container" for v in counts if counts.count(v) > 1}
    return blocked | {s["name"]: "already a name in the container's secrets" for s in container.get("secrets") or []
                      if s["name"] in variables}


def services_using(ecs: Any, task_definition_arn: str) -> list[Service]:
    """Every service, in every cluster of the client's region, whose task definition is ``task_definition_arn``."""
    found = []
    for page in ecs.get_paginator("list_clusters").paginate():
        for cluster in page.get("clusterArns", []):
            arns = [a for p in ecs.get_paginator("list_services").paginate(cluster=cluster)
                    for a in p.get("serviceArns", [])]
            for start in range(0, len(arns), 10):
                for service in ecs.describe_services(cluster=cluster, services=arns[start:start + 10])["services"]:
                    if service.get("taskDefinition") == task_definition_arn:
                        found.append(Service(cluster, service["serviceArn"]))
    return found


@dataclass(frozen=True)
class DotenvEntry:
    """One ``NAME=value`` line of a ``.env`` file, split so that ``head + value + tail`` is the line again.

    ``head`` ends with the opening quote and ``tail`` starts with the closing one, so neither holds the value.
    ``value`` is None when the value spans lines or uses escapes: those are left to a person.
    """

    line: int
    name: str
    assignment: str
    head: str
    value: str | None
    tail: str

    def reference(self, secret_arn: str) -> str:
        """The line that replaces this one once its value is in Secrets Manager."""
        return f"{self.assignment.rstrip()} # moved to secretsmanager:{secret_arn}"


def dotenv_entries(text: str) -> list[DotenvEntry]:
    """Every assignment in a ``.env`` file, in order."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = DOTENV_ASSIGNMENT.match(line)
        if match is None:
            continue
        assignment = match["lead"] + match["name"] + match["eq"]
        rest = match["rest"]
        value: str | None
        if rest[:1] in ("'", '"'):
            end = rest.find(rest[0], 1)
            value = rest[1:end] if end > 0 and not (rest[0] == '"' and "\\" in rest[1:end]) else None
            head, tail = assignment + rest[0], rest[end:] if end > 0 else ""
        else:
            comment = DOTENV_COMMENT.search(rest)
            value = rest[:comment.start() if comment else len(rest)].rstrip(" \t")
            head, tail = assignment, rest[len(value):]
        entries.append(DotenvEntry(number, match["name"], assignment, head, value, tail))
    return entries


def read_dotenv(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SourceError(f"{path}: not UTF-8 text") from None


@dataclass(frozen=True)
class PlanRequest:
    """What to plan: a findings file and/or named resources, and how the secrets are to be made."""

    regions: tuple[str, ...]
    findings: Path | None = None
    functions: tuple[str, ...] = ()
    task_definitions: tuple[str, ...] = ()
    env_files: tuple[Path, ...] = ()
    codebuild_projects: tuple[str, ...] = ()
    batch_job_definitions: tuple[str, ...] = ()
    ssm_parameters: tuple[str, ...] = ()
    name_template: str = DEFAULT_NAME_TEMPLATE
    kms_key_id: str | None = None
    update_services: bool = False
    remove_plaintext: bool = False
    update_existing: bool = False
    pairs: str = "json"
    lambda_mode: str = "reference"


@dataclass(frozen=True)
class Sighting:
    """Where a finding was seen in one environment, and the other half of its credential (as the finding holds it:
    plaintext, or redacted)."""

    resource: str
    container: str | None
    variable: str
    rule: str
    pair_secret: str | None = None


Targets = dict[tuple[str, str, str], set[Sighting]]
"""(kind, function ARN, ECS or Batch family, CodeBuild project ARN or SSM parameter name, region) -> the sightings
in any of its versions or revisions."""


def _target(kind: str, resource: str, variable: str) -> str:
    """What a location's resource belongs to: the one thing of it that can change."""
    if kind == "lambda":
        return function_arn(resource)
    if kind in ("ecs", "batch"):
        return task_family(resource)[0]
    return variable if kind == "ssm" else resource


def sightings(findings: Iterable[Finding]) -> Targets:
    """Every location of ``findings`` in a kind of resource a plan can move, by what it belongs to.

    Lambda versions collapse to their function, ECS and Batch revisions to their family, SSM parameter versions
    to the parameter: only ``$LATEST``, the highest ACTIVE revision and the current version can change.
    """
    targets: Targets = {}
    for finding in findings:
        pair = finding.pair.secret if finding.pair else None
        for loc in finding.locations:
            resource = loc.resource or ""
            region = loc.region or (resource.split(":")[3] if resource.count(":") >= 5 else "")
            if loc.source not in KINDS or not loc.variable or not region:
                continue
            base = _target(loc.source, resource, loc.variable)
            targets.setdefault((loc.source, base, region), set()).add(
                Sighting(resource, loc.container, loc.variable, finding.rule, pair))
    return targets


def read_report(path: Path) -> Targets:
    """The sightings of a ``scan aws`` json or jsonl report (redacted or not), read as findings."""
    return sightings(load_findings(path, require_revealed=False))


def _holds(value: str, secret: str) -> bool:
    """``value`` is ``secret``, given in plaintext or redacted."""
    return value == secret or redact(value) == secret


Group = tuple[tuple[str, str], ...]
"""The variables moving into one secret: (JSON key, variable) for a pair's members, ("", variable) alone."""


class _Planner:
    """Reads each resource once and turns the variables its findings name into moves."""

    def __init__(self, clients: Clients, request: PlanRequest, findings_of: FindingsOf | None) -> None:
        if request.pairs not in PAIRS:
            raise SecretguardError(f"--pairs {request.pairs!r}: choose from {', '.join(PAIRS)}")
        if request.lambda_mode not in LAMBDA_MODES:
            raise SecretguardError(f"--lambda-mode {request.lambda_mode!r}: choose from {', '.join(LAMBDA_MODES)}")
        self.clients = clients
        self.request = request
        self.findings_of = findings_of
        self.items: list[Item] = []
        self.skipped: list[Skipped] = []
        self.hasher = SaltedHasher.fresh()
        self._keys: dict[str, str | None] = {}

    def _call(self, what: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise SourceError(f"{what}: {error_line(exc)}") from None

    def scan(self, variables: dict[str, str], origin: Origin) -> set[Sighting]:
        """The sightings in one environment named on the command line."""
        if self.findings_of is None:
            raise SecretguardError("planning a named resource needs a scanner")
        found = self.findings_of(variables, origin)
        return {Sighting(origin.resource or origin.path or "", origin.container, loc.variable, f.rule,
                         f.pair.secret if f.pair else None)
                for f in found for loc in f.locations if loc.variable}

    def secret_name(self, kind: str, resource: str, variable: str, container: str | None, region: str) -> str:
        try:
            name = self.request.name_template.format(kind=kind, resource=resource, variable=variable,
                                                     container=container or "", region=region)
        except (KeyError, IndexError, ValueError) as exc:
            raise SecretguardError(f"--name-template {self.request.name_template!r}: {exc} (placeholders: "
                                   "{kind} {resource} {variable} {container} {region})") from None
        name = str(re.sub(r"/{2,}", "/", name)).strip("/")
        if not SECRET_NAME.match(name):
            raise SecretguardError(f"--name-template gives {name!r}, not a valid secret name "
                                   "(letters, digits and /_+=.@- only, at most 512)")
        return name

    def kms_key(self, region: str) -> str | None:
        """The ARN of ``--kms-key-id`` in ``region``; it must exist and be enabled."""
        if self.request.kms_key_id is None:
            return None
        if region not in self._keys:
            kms = self.clients("kms", region)
            meta = self._call(f"KMS key {self.request.kms_key_id} in {region}", kms.describe_key,
                              KeyId=self.request.kms_key_id)["KeyMetadata"]
            if meta.get("KeyState", "Enabled") != "Enabled":
                raise SecretguardError(f"KMS key {meta['Arn']} is {meta['KeyState']}, not Enabled")
            self._keys[region] = meta["Arn"] if meta.get("KeyManager") == "CUSTOMER" else None
        return self._keys[region]

    def role_problem(self, role_arn: str | None, resource_arn: str, region: str, missing: str) -> str | None:
        """Why a workload role cannot be granted the secret, or None when it can."""
        if not role_arn:
            return missing
        if arn_account(role_arn) != arn_account(resource_arn):
            return f"role {role_arn} is in another account; grant it by hand"
        try:
            self.clients("iam", region).get_role(RoleName=role_name(role_arn))
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return f"role {role_arn} does not exist"
            raise SourceError(f"IAM role {role_arn}: {error_line(exc)}") from None
        return None

    def choose(self, resource: str, variables: dict[str, str], seen: set[Sighting], is_current: Callable[[str], bool],
               container: str | None, blocked: dict[str, str]) -> list[Group]:
        """The variables of one environment to move, a key pair's together; the rest are skipped with a reason.

        ``seen`` are the sightings in this environment's resource (any version); only those ``is_current`` says
        were seen in the configuration that can change are moved.
        """
        current = [s for s in seen if s.container == container and is_current(s.resource)]
        groups = self.pairs(variables, current)
        paired = {v for g in groups for _, v in g}
        names = {s.variable for s in current}
        for variable in sorted({s.variable for s in seen if s.container == container} - names - paired):
            reason = ("not in the current configuration (only in older versions or revisions, which cannot change): "
                      "rotate the value") if variable not in variables else (
                      "reported only in older versions or revisions, not in the current configuration: "
                      "scan again, or rotate the value")
            self.skipped.append(Skipped(resource, reason, variable, container))
        groups += [(("", v),) for v in sorted(names - paired) if v in variables]
        chosen = []
        for group in sorted(groups, key=lambda g: g[0][1]):
            blocked_by = next((blocked[v] for _, v in group if v in blocked), None)
            if blocked_by:
                self.skipped.extend(Skipped(resource, blocked_by, v, container) for _, v in group)
            else:
                chosen.append(group)
        return chosen

    def pairs(self, variables: dict[str, str], current: list[Sighting]) -> list[Group]:
        """Each key ID with the variable holding its secret key and, for an ``ASIA`` key alone in the environment,
        the session token's."""
        groups: list[list[tuple[str, str]]] = []
        for key in sorted((s for s in current if s.rule == AWS_KEY_RULE and s.variable in variables),
                          key=lambda s: s.variable):
            group = [(PAIR_KEYS[0], key.variable)]
            secret = key.pair_secret
            partner = sorted(n for n, v in variables.items() if secret and n != key.variable and _holds(v, secret))
            if partner:
                group.append((PAIR_KEYS[1], partner[0]))
            groups.append(group)
        temporary = [g for g in groups if len(g) > 1 and variables[g[0][1]].startswith("ASIA")]
        tokens = sorted({s.variable for s in current if s.rule == SESSION_TOKEN_RULE and s.variable in variables})
        if len(temporary) == 1 and len(tokens) == 1:
            temporary[0].append((PAIR_KEYS[2], tokens[0]))
        return [tuple(g) if len(g) > 1 else (("", g[0][1]),) for g in groups]

    def moves(self, kind: str, label: str, variables: dict[str, str], groups: list[Group], container: str | None,
              region: str) -> tuple[Move, ...]:
        """One move per group (per variable with ``--pairs separate``), holding the plan's hashes of the values and,
        for an AWS key, the key ID redacted and its account."""
        key_of: dict[str, str] = {}
        for group in groups:
            keys = [variables[v] for _, v in group if KEY_ID.match(variables[v])]
            key_of.update((v, keys[0]) for _, v in group if keys)
        if self.request.pairs == "separate":
            groups = [(("", v),) for group in groups for _, v in group]
        moves = []
        for group in groups:
            first = group[0][1]
            key_id = key_of.get(first)
            fields = tuple(Field(v, self.hasher.secret_hash(variables[v]), k) for k, v in group) \
                if len(group) > 1 else ()
            value = pair_document({k: variables[v] for k, v in group}) if fields else variables[first]
            moves.append(Move(first, self.hasher.secret_hash(value),
                              self.secret_name(kind, label, first, container, region),
                              container, redact(key_id) if key_id else None,
                              account_from_key_id(key_id) if key_id else None, fields))
        return tuple(moves)

    def add(self, item: Item, problem: str | None) -> None:
        if not item.moves:
            return
        if problem:
            self.skipped.extend(Skipped(item.resource, problem, p.variable, m.container)
                                for m in item.moves for p in m.parts)
        else:
            self.items.append(item)

    def item(self, kind: str, resource: str, name: str, region: str, moves: tuple[Move, ...], role: str | None,
             services: tuple[Service, ...] = ()) -> Item:
        wrapper = self.request.lambda_mode == "wrapper" and kind == "lambda"
        return Item(kind, resource, name, region, moves, role, self.kms_key(region) if moves else None, services,
                    remove_plaintext=(self.request.remove_plaintext or wrapper) and kind == "lambda",
                    update_services=self.request.update_services and kind == "ecs",
                    update_existing=self.request.update_existing, lambda_mode="wrapper" if wrapper else "reference")

    def plan_lambda(self, function: str, region: str, seen: set[Sighting] | None) -> None:
        lam = self.clients("lambda", region)
        config = self._call(f"Lambda function {function} in {region}", lam.get_function_configuration,
                            FunctionName=function)
        arn = function_arn(config["FunctionArn"])
        variables = lambda_variables(config)
        if seen is None:
            seen = self.scan(variables, Origin(source="lambda", resource=arn, region=region))
        blocked = {v: f"{reference_name(v)} is already set" for v in variables if reference_name(v) in variables}
        groups = self.choose(arn, variables, seen, lambda r: r in (arn, f"{arn}:$LATEST"), None, blocked)
        moves = self.moves("lambda", config["FunctionName"], variables, groups, None, region)
        item = self.item("lambda", arn, config["FunctionName"], region, moves, config.get("Role"))
        problem = self.role_problem(item.role_arn, arn, region, "the function has no role") if moves else None
        if item.lambda_mode == "wrapper" and problem is None:
            problem = wrapper_problem(config)
        self.add(item, problem)

    def plan_ecs(self, family: str, region: str, seen: set[Sighting] | None) -> None:
        ecs = self.clients("ecs", region)
        latest = self._call(f"ECS task definition family {family} in {region}", latest_active_revision, ecs=ecs,
                            family=family)
        if latest is None:
            raise SourceError(f"ECS task definition family {family} in {region}: no ACTIVE revision")
        definition = self._call(f"ECS task definition {latest}", ecs.describe_task_definition,
                                taskDefinition=latest)["taskDefinition"]
        moves: list[Move] = []
        for container in definition.get("containerDefinitions", []):
            name = container.get("name")
            variables = container_variables(container)
            blocked = container_blocked(container, variables)
            found = seen if seen is not None else self.scan(
                variables, Origin(source="ecs", resource=latest, container=name, region=region))
            groups = self.choose(latest, variables, found, lambda r: r == latest, name, blocked)
            moves += self.moves("ecs", family, variables, groups, name, region)
        services = tuple(self._call(f"ECS services in {region}", services_using, ecs=ecs, task_definition_arn=latest)
                         ) if moves and self.request.update_services else ()
        role = definition.get("executionRoleArn")
        item = self.item("ecs", latest, family, region, tuple(moves), role, services)
        missing = ("the task definition has no execution role: ECS needs one to read secrets, "
                   "and adding one would widen permissions")
        self.add(item, self.role_problem(role, latest, region, missing) if moves else None)

    def plan_batch(self, name: str, region: str, seen: set[Sighting] | None) -> None:
        batch = self.clients("batch", region)
        definitions = self._call(f"Batch job definition {name} in {region}", active_job_definitions, batch=batch,
                                 name=name)
        if not definitions:
            raise SourceError(f"Batch job definition {name} in {region}: no ACTIVE revision")
        latest = definitions[0]["jobDefinitionArn"]
        container = definitions[0].get("containerProperties")
        if not container:
            if seen:
                self.skipped.append(Skipped(latest, "only single-container job definitions (containerProperties) "
                                                    "are moved: move multi-node and ECS-properties ones by hand"))
            return
        variables = container_variables(container)
        found = seen if seen is not None else self.scan(variables, Origin(source="batch", resource=latest,
                                                                          region=region))
        groups = self.choose(latest, variables, found, lambda r: r == latest, None,
                             container_blocked(container, variables))
        role = container.get("executionRoleArn")
        moves = self.moves("batch", name, variables, groups, None, region)
        item = self.item("batch", latest, name, region, moves, role)
        missing = ("the job definition has no execution role: Batch needs one to read secrets, "
                   "and adding one would widen permissions")
        self.add(item, self.role_problem(role, latest, region, missing) if item.moves else None)

    def plan_codebuild(self, project: str, region: str, seen: set[Sighting] | None) -> None:
        found = self._call(f"CodeBuild project {project} in {region}", codebuild_project,
                           codebuild=self.clients("codebuild", region), project=project)
        if found is None:
            raise SourceError(f"CodeBuild project {project} in {region}: not found")
        arn, name = found["arn"], found["name"]
        variables = codebuild_variables(found)
        if seen is None:
            seen = self.scan(variables, Origin(source="codebuild", resource=arn, region=region))
        names = [v["name"] for v in (found.get("environment") or {}).get("environmentVariables") or []]
        blocked = {v: "defined more than once in the project" for v in names if names.count(v) > 1}
        groups = self.choose(arn, variables, seen, lambda r: r == arn, None, blocked)
        item = self.item("codebuild", arn, name, region, self.moves("codebuild", name, variables, groups, None, region),
                         found.get("serviceRole"))
        self.add(item, self.role_problem(item.role_arn, arn, region, "the project has no service role")
                 if item.moves else None)

    def plan_ssm(self, name: str, region: str, seen: set[Sighting] | None) -> None:
        parameter = self._call(f"SSM parameter {name} in {region}", self.clients("ssm", region).get_parameter,
                               Name=name)["Parameter"]
        arn = parameter["ARN"]
        variables = ssm_variables(parameter)
        if parameter.get("Type") == "StringList" and seen:
            self.skipped.append(Skipped(arn, "a StringList cannot become a SecureString: move it by hand", name))
            return
        if seen is None:
            seen = self.scan(variables, Origin(source="ssm", resource=f"{arn} version {parameter['Version']}",
                                               region=region))
        # ``scan aws`` names a version by the parameter's ARN or, where DescribeParameters gives none, by name
        groups = self.choose(arn, variables, seen, lambda r: r.endswith(f" version {parameter['Version']}"), None, {})
        moves = tuple(replace(m, secret_name=parameter["Name"], fields=())
                      for m in self.moves("ssm", parameter["Name"], variables, groups, None, region))
        self.add(self.item("ssm", arn, parameter["Name"], region, moves, None), None)

    def plan_dotenv(self, path: Path, region: str) -> None:
        path = path.resolve()
        text = read_dotenv(path)
        entries = dotenv_entries(text)
        lines = text.splitlines()
        names = [e.name for e in entries]
        variables = {e.name: e.value for e in entries if e.value is not None}
        unreadable = {e.name: lines[e.line - 1][len(e.assignment):] for e in entries if e.value is None}
        seen = self.scan({**unreadable, **variables}, Origin(source="file", resource=str(path), path=str(path)))
        for name in sorted({s.variable for s in seen} & set(unreadable)):
            self.skipped.append(Skipped(str(path), "value spans lines or uses escapes: move it by hand", name))
        blocked = {n: "defined more than once in the file" for n in names if names.count(n) > 1}
        label = NOT_IN_SECRET_NAME.sub("-", f"{path.parent.name}/{path.name}")
        known = {s for s in seen if s.variable in variables}
        groups = self.choose(str(path), variables, known, lambda r: True, None, blocked)
        self.add(self.item("dotenv", str(path), path.name, region,
                           self.moves("dotenv", label, variables, groups, None, region), None), None)

    def find_region(self, service: str, name: str) -> str:
        """The region of an ARN, else the first requested region where a resource of ``service`` called ``name``
        exists."""
        if name.startswith("arn:") and name.count(":") >= 5:
            return name.split(":")[3]
        what, exists = _LOOKUPS[service]
        for region in self.request.regions:
            try:
                if exists(self.clients(service, region), name):
                    return region
            except ClientError as exc:
                if error_code(exc) not in ("ResourceNotFoundException", "ClientException", "ParameterNotFound"):
                    raise SourceError(f"{service} {name} in {region}: {error_line(exc)}") from None
        raise SourceError(f"{what} {name} not found in {', '.join(self.request.regions)}")


_LOOKUPS: dict[str, tuple[str, Callable[[Any, str], Any]]] = {
    "lambda": ("Lambda function", lambda client, name: client.get_function_configuration(FunctionName=name)),
    "ecs": ("ECS task definition family", latest_active_revision),
    "batch": ("Batch job definition", active_job_definitions),
    "codebuild": ("CodeBuild project", codebuild_project),
    "ssm": ("SSM parameter", lambda client, name: client.get_parameter(Name=name)),
}
"""Per service: what its resources are called, and how to tell one exists in a client's region."""


def build_plan(clients: Clients, request: PlanRequest, findings_of: FindingsOf | None = None) -> Plan:
    """Plan moving the secret variables of every resource in ``request``; nothing is changed.

    A ``--from`` report is read as findings and never scanned again; resources named on the command line are
    scanned with ``findings_of``.
    """
    planner = _Planner(clients, request, findings_of)
    by_name = {"lambda": (request.functions, planner.plan_lambda), "ecs": (request.task_definitions, planner.plan_ecs),
               "batch": (request.batch_job_definitions, planner.plan_batch),
               "codebuild": (request.codebuild_projects, planner.plan_codebuild),
               "ssm": (request.ssm_parameters, planner.plan_ssm)}
    if not (request.findings or request.env_files or any(names for names, _ in by_name.values())):
        raise SecretguardError("nothing to plan: pass --from FINDINGS.json, --function, --task-definition, "
                               "--batch-job-definition, --codebuild-project, --ssm-parameter or --env-file")
    if request.findings is not None:
        for (kind, resource, region), seen in sorted(read_report(request.findings).items()):
            try:
                by_name[kind][1](resource, region, seen)
            except SourceError as exc:  # a report can be older than the account: say so and go on
                planner.skipped.append(Skipped(resource, str(exc)))
    for kind, (names, plan) in by_name.items():
        for name in names:
            plan(name, planner.find_region(kind, name), None)
    for path in request.env_files:
        planner.plan_dotenv(path, request.regions[0])
    items = _unique(planner.items)
    _check_names(items)
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return Plan(str(uuid.uuid4()), now, tuple(items), tuple(planner.skipped), planner.hasher)


def _unique(items: Iterable[Item]) -> list[Item]:
    """A resource named twice (by a findings file and by name) is planned once."""
    seen: dict[str, Item] = {}
    for item in items:
        seen.setdefault(item.resource, item)
    return list(seen.values())


def _check_names(items: list[Item]) -> None:
    """Two variables may share a secret only when they hold the same value."""
    owners: dict[str, tuple[str, Move]] = {}
    for item in items:
        for move in item.moves:
            first = owners.setdefault(move.secret_name, (item.resource, move))
            if first[1].value_hash != move.value_hash:
                raise SecretguardError(
                    f"{first[0]} {first[1].key} and {item.resource} {move.key} would both go to secret "
                    f"{move.secret_name} with different values: use --name-template with {{container}} or {{region}}")


@dataclass(frozen=True)
class Change:
    """One move of the plan as a person reads it."""

    resource: str
    variable: str
    secret: str
    grant: str
    change: str
    rotate: str = ""


def describe_plan(plan: Plan) -> list[Change]:
    """Every move with the exact AWS changes it makes, for the plan table."""
    rows = []
    for item in plan.items:
        for move in item.moves:
            if item.kind == "ssm":
                rows.append(Change(item.resource, move.label, "none: the value stays in the parameter, encrypted",
                                   "none (readers of the parameter need kms:Decrypt on its key)",
                                   _change_text(item, move), _rotate_text(move)))
                continue
            kms = item.kms_key_arn or "aws/secretsmanager (AWS managed)"
            tags = ", ".join(f"{k}={v}" for k, v in item.tags(move).items())
            other = "; put a new version if it holds another" if item.update_existing else ""
            shape = f" as JSON {{{', '.join(p.json_key for p in move.fields)}}}" if move.fields else ""
            secret = (f"create {move.secret_name}{shape} (or reuse it if it holds the same value{other})"
                      f"\nKMS key: {kms}\ntags: {tags}")
            grant = "none (no workload role)" if item.role_arn is None else (
                f"inline policy {policy_name(move)} on role {role_name(item.role_arn)}: "
                "secretsmanager:GetSecretValue on this secret only"
                + (f", kms:Decrypt on {item.kms_key_arn} via Secrets Manager only" if item.kms_key_arn else ""))
            rows.append(Change(item.resource, move.label, secret, grant, _change_text(item, move), _rotate_text(move)))
    return rows


def _change_text(item: Item, move: Move) -> str:
    names = ", ".join(p.variable for p in move.parts)
    where = "the secret ARN" if not move.fields else "the secret ARN and its JSON key (ARN:key::)"
    if item.kind in ("ecs", "batch"):
        family, revision = task_family(item.resource)
        container = f" in container {move.container}" if move.container else ""
        text = (f"register {family}:{revision}+1 with {names} moved from environment to secrets{container} "
                f"(valueFrom {where}), all else unchanged")
        if item.services:
            text += "; point " + ", ".join(s.arn.rsplit("/", 1)[-1] for s in item.services) + " at it"
        return text
    if item.kind == "codebuild":
        where = "the secret ARN" if not move.fields else "the secret ARN and its JSON key (ARN:key)"
        return (f"update project {item.name}: {names} become SECRETS_MANAGER variables holding {where} "
                "instead of PLAINTEXT, all else unchanged")
    if item.kind == "ssm":
        return (f"put {item.name} again as a SecureString (new version, same name and value), encrypted with "
                f"{item.kms_key_arn or 'alias/aws/ssm (AWS managed)'}; older versions keep the plaintext: rotate it")
    if item.kind == "lambda":
        references = ", ".join(reference_name(p.variable) for p in move.parts)
        if item.lambda_mode == "wrapper":
            return (f"set {references} = {where}, remove {names}, and add the secretguard exec wrapper layer "
                    "(AWS_LAMBDA_EXEC_WRAPPER), which sets them from the secret before the runtime starts")
        if item.remove_plaintext:
            return f"set {references} = {where} and remove {names}"
        return f"set {references} = {where} beside {names}; `migrate finalize` removes {names}"
    return f"replace the value of {names} with '# moved to secretsmanager:<ARN>' (backup kept until done)"


def _rotate_text(move: Move) -> str:
    if move.aws_key_id is None:
        return ""
    return f"AWS key {move.aws_key_id} (account {move.aws_account or 'unknown'})"
