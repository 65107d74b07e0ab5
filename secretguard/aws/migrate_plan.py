"""Migration plans: which plaintext values move into which secrets, and the exact AWS changes that takes.

A plan is built by reading the resources themselves (Lambda ``$LATEST``, the latest ACTIVE revision of an ECS
family, a ``.env`` file) and deciding which variables are secret with the same logic as ``scan aws``. It never
holds a plaintext value: each variable carries the sha256 of its value, so ``apply`` can tell when the resource
drifted after the plan was made.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from secretguard.aws.keys import KEY_ID, account_from_key_id
from secretguard.aws.session import error_code, error_line
from secretguard.config import Config
from secretguard.errors import SecretguardError, SourceError
from secretguard.filters import user_filter
from secretguard.findings import Origin, redact, sha256_hex
from secretguard.scanning import detector_for
from secretguard.sources.aws_env import Environment, environment_hits, is_secret_name

Clients = Callable[[str, str], Any]
"""``clients(service, region)``: a boto3 client; the one seam where callers choose endpoint, credentials or faults."""

PLAN_VERSION = 1
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
AWS_KEY_RULE = "aws-access-key-id"
DOTENV_ASSIGNMENT = re.compile(
    r"^(?P<lead>[ \t]*(?:export[ \t]+)?)(?P<name>[A-Za-z_][A-Za-z0-9_.]*)(?P<eq>[ \t]*=[ \t]*)(?P<rest>.*)$"
)
DOTENV_COMMENT = re.compile(r"[ \t]#")


@dataclass(frozen=True)
class Move:
    """One variable going into one secret."""

    variable: str
    value_sha256: str
    secret_name: str
    container: str | None = None
    aws_key_id: str | None = None
    """Redacted: the AWS access key this value is (or is the secret of), for the reminder to rotate it."""
    aws_account: str | None = None

    @property
    def key(self) -> str:
        """Unique within its item: ``container/VAR`` for ECS, ``VAR`` otherwise."""
        return f"{self.container}/{self.variable}" if self.container else self.variable

    @property
    def reference(self) -> str:
        """The Lambda variable that will hold the secret's ARN."""
        return self.variable + REFERENCE_SUFFIX


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


@dataclass(frozen=True)
class Plan:
    id: str
    created: str
    items: tuple[Item, ...]
    skipped: tuple[Skipped, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"version": PLAN_VERSION, **asdict(self)}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Plan:
        items = tuple(
            Item(**{**i, "moves": tuple(Move(**m) for m in i["moves"]),
                    "services": tuple(Service(**s) for s in i.get("services", ()))})
            for i in data["items"]
        )
        return Plan(data["id"], data["created"], items, tuple(Skipped(**s) for s in data.get("skipped", ())))


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
        if data.get("version") != PLAN_VERSION:
            raise SecretguardError(f"{path}: plan version {data.get('version')!r} is not {PLAN_VERSION}")
        return Plan.from_dict(data), sha256_hex(text)
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


def latest_active_revision(ecs: Any, family: str) -> str | None:
    """The ARN of the newest ACTIVE revision of ``family`` (the one ``RegisterTaskDefinition`` builds on)."""
    pages = ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, status="ACTIVE", sort="DESC")
    for page in pages:
        for arn in page.get("taskDefinitionArns", []):
            if task_family(arn)[0] == family:
                return str(arn)
    return None


def lambda_variables(config: dict[str, Any]) -> dict[str, str]:
    return dict((config.get("Environment") or {}).get("Variables") or {})


def container_variables(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("environment") or []}


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
    name_template: str = DEFAULT_NAME_TEMPLATE
    kms_key_id: str | None = None
    update_services: bool = False
    remove_plaintext: bool = False


Wanted = frozenset[tuple[str | None, str]] | None
"""(container, variable) pairs named by a findings file, or None for every secret the rules see."""


def findings_targets(path: Path) -> dict[tuple[str, str, str], set[tuple[str | None, str]]]:
    """(kind, resource, region) -> (container, variable) for every cloud location in a ``scan aws`` JSON report.

    Lambda versions collapse to their function and ECS revisions to their family: only ``$LATEST`` and the
    latest ACTIVE revision can change.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        locations = [loc for f in document["findings"] for loc in f["locations"]]
    except OSError as exc:
        raise SecretguardError(f"{path}: cannot read findings: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise SecretguardError(f"{path}: not a secretguard JSON report ({type(exc).__name__}: {exc})") from None
    targets: dict[tuple[str, str, str], set[tuple[str | None, str]]] = {}
    for loc in locations:
        source, resource, variable = loc.get("source"), loc.get("resource") or "", loc.get("variable")
        if source not in ("lambda", "ecs") or not variable or resource.count(":") < 5:
            continue
        region = loc.get("region") or resource.split(":")[3]
        base = function_arn(resource) if source == "lambda" else task_family(resource)[0]
        targets.setdefault((source, base, region), set()).add((loc.get("container"), variable))
    return targets


class _Planner:
    """Reads each resource once and turns its secret variables into moves."""

    def __init__(self, clients: Clients, request: PlanRequest, config: Config) -> None:
        self.clients = clients
        self.request = request
        self.config = config
        self.items: list[Item] = []
        self.skipped: list[Skipped] = []
        self._keys: dict[str, str | None] = {}

    def _call(self, what: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise SourceError(f"{what}: {error_line(exc)}") from None

    def secrets_in(self, variables: dict[str, str], origin: Origin) -> dict[str, str | None]:
        """The variables ``scan aws`` would report, each with the AWS key ID its value is (or is paired with).

        The key ID is only held in memory: a move keeps it redacted (see :meth:`move`).
        """
        keep = user_filter(self.config.allowlist)
        env = Environment(origin, tuple(sorted(variables.items())))
        hits = [h for h in environment_hits(detector_for(self.config.rules), env) if keep(h)]
        found: dict[str, str | None] = {h.origin.variable: None for h in hits if h.origin.variable}
        for name in found:
            if KEY_ID.match(variables[name]):
                found[name] = variables[name]
        for hit in hits:
            if hit.rule == AWS_KEY_RULE and hit.pair is not None:
                # The secret key is reported as the key ID's pair, not on its own: find its variable.
                for name, value in variables.items():
                    if hit.pair.secret in value:
                        found[name] = hit.secret
        return found

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

    def move(self, kind: str, resource: str, variable: str, value: str, container: str | None, region: str,
             key_id: str | None) -> Move:
        """A move holding the value's sha256 and, for an AWS key, the key ID redacted and its account."""
        return Move(variable, sha256_hex(value), self.secret_name(kind, resource, variable, container, region),
                    container, redact(key_id) if key_id else None, account_from_key_id(key_id) if key_id else None)

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

    def choose(self, resource: str, variables: dict[str, str], secrets: dict[str, str | None], wanted: Wanted,
               container: str | None, blocked: dict[str, str]) -> list[str]:
        """The variables of one environment to move; the rest of those asked for are skipped with a reason."""
        asked = sorted(v for c, v in wanted if c == container) if wanted is not None else sorted(secrets)
        chosen = []
        for variable in asked:
            reason = blocked.get(variable)
            if variable not in variables:
                reason = ("not in the current configuration (only in older versions or revisions, "
                          "which cannot change): rotate the value")
            elif variable not in secrets:
                reason = "no longer holds a literal secret"
            if reason:
                self.skipped.append(Skipped(resource, reason, variable, container))
            else:
                chosen.append(variable)
        return chosen

    def add(self, item: Item, problem: str | None) -> None:
        if not item.moves:
            return
        if problem:
            self.skipped.extend(Skipped(item.resource, problem, m.variable, m.container) for m in item.moves)
        else:
            self.items.append(item)

    def plan_lambda(self, function: str, region: str, wanted: Wanted) -> None:
        lam = self.clients("lambda", region)
        config = self._call(f"Lambda function {function} in {region}", lam.get_function_configuration,
                            FunctionName=function)
        arn = function_arn(config["FunctionArn"])
        variables = lambda_variables(config)
        secrets = self.secrets_in(variables, Origin(source="lambda", resource=arn, region=region))
        blocked = {v: f"{v}{REFERENCE_SUFFIX} is already set" for v in variables if v + REFERENCE_SUFFIX in variables}
        moves = tuple(self.move("lambda", config["FunctionName"], v, variables[v], None, region, secrets[v])
                      for v in self.choose(arn, variables, secrets, wanted, None, blocked))
        item = Item("lambda", arn, config["FunctionName"], region, moves, config.get("Role"),
                    self.kms_key(region) if moves else None, remove_plaintext=self.request.remove_plaintext)
        self.add(item, self.role_problem(item.role_arn, arn, region, "the function has no role") if moves else None)

    def plan_ecs(self, family: str, region: str, wanted: Wanted) -> None:
        ecs = self.clients("ecs", region)
        latest = self._call(f"ECS task definition family {family} in {region}", latest_active_revision, ecs=ecs,
                            family=family)
        if latest is None:
            raise SourceError(f"ECS task definition family {family} in {region}: no ACTIVE revision")
        definition = self._call(f"ECS task definition {latest}", ecs.describe_task_definition,
                                taskDefinition=latest)["taskDefinition"]
        moves = []
        for container in definition.get("containerDefinitions", []):
            name = container.get("name")
            variables = container_variables(container)
            counts = [e["name"] for e in container.get("environment") or []]
            blocked = {v: "defined more than once in the container" for v in counts if counts.count(v) > 1}
            blocked |= {s["name"]: "already a name in the container's secrets" for s in container.get("secrets") or []
                        if s["name"] in variables}
            secrets = self.secrets_in(variables, Origin(source="ecs", resource=latest, container=name, region=region))
            moves += [self.move("ecs", family, v, variables[v], name, region, secrets[v])
                      for v in self.choose(latest, variables, secrets, wanted, name, blocked)]
        services = tuple(self._call(f"ECS services in {region}", services_using, ecs=ecs, task_definition_arn=latest)
                         ) if moves and self.request.update_services else ()
        role = definition.get("executionRoleArn")
        item = Item("ecs", latest, family, region, tuple(moves), role, self.kms_key(region) if moves else None,
                    services)
        missing = ("the task definition has no execution role: ECS needs one to read secrets, "
                   "and adding one would widen permissions")
        self.add(item, self.role_problem(role, latest, region, missing) if moves else None)

    def plan_dotenv(self, path: Path, region: str) -> None:
        path = path.resolve()
        entries = dotenv_entries(read_dotenv(path))
        names = [e.name for e in entries]
        variables = {e.name: e.value for e in entries if e.value is not None}
        secrets = self.secrets_in(variables, Origin(source="file", path=str(path)))
        blocked = {n: "defined more than once in the file" for n in names if names.count(n) > 1}
        for entry in entries:
            if entry.value is None and is_secret_name(entry.name):
                self.skipped.append(Skipped(str(path), "value spans lines or uses escapes: move it by hand",
                                            entry.name))
        label = NOT_IN_SECRET_NAME.sub("-", f"{path.parent.name}/{path.name}")
        moves = tuple(self.move("dotenv", label, v, variables[v], None, region, secrets[v])
                      for v in self.choose(str(path), variables, secrets, None, None, blocked))
        self.add(Item("dotenv", str(path), path.name, region, moves, None, self.kms_key(region) if moves else None),
                 None)

    def find_region(self, service: str, name: str) -> str:
        """The first requested region where a function or family called ``name`` exists."""
        for region in self.request.regions:
            client = self.clients(service, region)
            try:
                if service == "lambda":
                    client.get_function_configuration(FunctionName=name)
                    return region
                if latest_active_revision(client, name):
                    return region
            except ClientError as exc:
                if error_code(exc) not in ("ResourceNotFoundException", "ClientException"):
                    raise SourceError(f"{service} {name} in {region}: {error_line(exc)}") from None
        what = "Lambda function" if service == "lambda" else "ECS task definition family"
        raise SourceError(f"{what} {name} not found in {', '.join(self.request.regions)}")


def build_plan(clients: Clients, request: PlanRequest, config: Config) -> Plan:
    """Read every resource named in ``request`` and plan moving its secret variables; nothing is changed."""
    if not (request.findings or request.functions or request.task_definitions or request.env_files):
        raise SecretguardError("nothing to plan: pass --from FINDINGS.json, --function, --task-definition "
                               "or --env-file")
    planner = _Planner(clients, request, config)
    if request.findings is not None:
        for (kind, resource, region), wanted in sorted(findings_targets(request.findings).items()):
            target = planner.plan_lambda if kind == "lambda" else planner.plan_ecs
            try:
                target(resource, region, frozenset(wanted))
            except SourceError as exc:  # a report can be older than the account: say so and go on
                planner.skipped.append(Skipped(resource, str(exc)))
    for function in request.functions:
        region = function.split(":")[3] if function.startswith("arn:") else planner.find_region("lambda", function)
        planner.plan_lambda(function, region, None)
    for family in request.task_definitions:
        planner.plan_ecs(family, planner.find_region("ecs", family), None)
    for path in request.env_files:
        planner.plan_dotenv(path, request.regions[0])
    items = _unique(planner.items)
    _check_names(items)
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return Plan(str(uuid.uuid4()), now, tuple(items), tuple(planner.skipped))


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
            if first[1].value_sha256 != move.value_sha256:
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
            kms = item.kms_key_arn or "aws/secretsmanager (AWS managed)"
            tags = ", ".join(f"{k}={v}" for k, v in item.tags(move).items())
            secret = f"create {move.secret_name} (or reuse it if it holds the same value)\nKMS key: {kms}\ntags: {tags}"
            grant = "none (no workload role)" if item.role_arn is None else (
                f"inline policy {policy_name(move)} on role {role_name(item.role_arn)}: "
                "secretsmanager:GetSecretValue on this secret only"
                + (f", kms:Decrypt on {item.kms_key_arn} via Secrets Manager only" if item.kms_key_arn else ""))
            rows.append(Change(item.resource, move.key, secret, grant, _change_text(item, move), _rotate_text(move)))
    return rows


def _change_text(item: Item, move: Move) -> str:
    if item.kind == "ecs":
        family, revision = task_family(item.resource)
        text = (f"register {family}:{revision}+1 with {move.variable} moved from environment to secrets "
                f"in container {move.container} (valueFrom the secret ARN), all else unchanged")
        if item.services:
            text += "; point " + ", ".join(s.arn.rsplit("/", 1)[-1] for s in item.services) + " at it"
        return text
    if item.kind == "lambda":
        if item.remove_plaintext:
            return f"set {move.reference} = secret ARN and remove {move.variable}"
        return f"set {move.reference} = secret ARN beside {move.variable}; `migrate finalize` removes {move.variable}"
    return f"replace the value of {move.variable} with '# moved to secretsmanager:<ARN>' (backup kept until done)"


def _rotate_text(move: Move) -> str:
    if move.aws_key_id is None:
        return ""
    return f"AWS key {move.aws_key_id} (account {move.aws_account or 'unknown'})"
