"""What a migration left behind, read back from AWS: the table every run ends with, and ``migrate status``.

For each variable of the plan, the journal says what should be true now (moved, kept beside its reference until
``finalize``, restored by a rollback, or not applied yet), and the resource, read again and scanned with the same
rules as ``scan aws``, says what is. A variable the journal says is moved but that still holds plaintext, or one a
rollback should have restored but did not, fails the run; so does an ECS service deployment that failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from secretguard.aws.migrate_journal import Journal, StepKey
from secretguard.aws.migrate_plan import (
    SECURE_STRING,
    Clients,
    Field,
    Item,
    Move,
    Plan,
    codebuild_project,
    codebuild_references,
    codebuild_variables,
    container_variables,
    dotenv_entries,
    lambda_variables,
    load_plan,
    read_dotenv,
    reference_name,
    ssm_variables,
    task_family,
    value_from,
)
from secretguard.aws.migrate_revisions import JobDefinitions
from secretguard.aws.session import error_line
from secretguard.errors import SecretguardError, SourceError
from secretguard.findings import Origin, redact
from secretguard.hashing import SaltedHasher

Plaintext = Callable[[dict[str, str], Origin], dict[str, str]]
"""``plaintext(variables, origin)``: variable -> the rule that finds plaintext in it (``migrate_scan.Scanner``)."""

MOVED, KEPT, LEFT, RESTORED, NOT_RESTORED, NOT_APPLIED, SKIPPED = (
    "moved", "kept until finalize", "still plaintext", "restored", "not restored", "not applied", "skipped")


@dataclass(frozen=True)
class Row:
    """One variable as it is now: its status, why, and whether that fails the run."""

    resource: str
    variable: str
    status: str
    detail: str
    failed: bool = False


@dataclass
class Verification:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Row]:
        return [r for r in self.rows if r.failed]

    def count(self, *statuses: str) -> int:
        return sum(r.status in statuses for r in self.rows)


@dataclass(frozen=True)
class _Seen:
    """One environment as read back: its variables, what the rules find in them, and its references."""

    variables: dict[str, str]
    plaintext: dict[str, str]
    references: dict[str, str]
    """Variable -> where its value is now (Lambda ``*_SECRET_ARN``, an ECS ``secrets`` entry, a ``.env`` comment)."""


def plan_of(journal: Journal) -> tuple[Plan, Path]:
    """The plan a journal belongs to, found where its first run recorded it or beside the journal."""
    start = journal.run_start()
    if start is None or not start.get("plan_path"):
        raise SecretguardError(f"{journal.path}: no run recorded in it yet")
    recorded = Path(start["plan_path"])
    for candidate in (recorded, journal.path.parent / recorded.name):
        if candidate.is_file():
            plan, _ = load_plan(candidate)
            if plan.id != start.get("plan_id"):
                raise SecretguardError(f"{candidate}: not the plan of {journal.path}")
            return plan, candidate
    raise SecretguardError(f"{journal.path}: its plan {recorded} is not there any more")


def verify(journal_file: Path, clients: Clients, plaintext: Plaintext) -> Verification:
    """Read every resource the plan names back from AWS (or disk) and compare with what the journal says."""
    with Journal.open(journal_file, create=False) as journal:
        plan, _ = plan_of(journal)
        result = Verification()
        skipped = {(s.resource, s.container, s.variable) for s in plan.skipped}
        for item in plan.items:
            try:
                _verify_item(journal, item, clients, plaintext, result, skipped, plan.hasher)
            except (ClientError, BotoCoreError) as exc:
                result.rows.extend(Row(item.resource, _label(m, p), LEFT, f"cannot read it back: {error_line(exc)}",
                                       True) for m in item.moves for p in m.parts)
            except SourceError as exc:
                result.rows.extend(Row(item.resource, _label(m, p), LEFT, f"cannot read it back: {exc}", True)
                                   for m in item.moves for p in m.parts)
        result.rows.extend(Row(s.resource, "/".join(p for p in (s.container, s.variable) if p) or "*", SKIPPED,
                               s.reason) for s in plan.skipped)
        return result


def _label(move: Move, part: Field) -> str:
    return f"{move.container}/{part.variable}" if move.container else part.variable


def _phase(journal: Journal, item: Item) -> str:
    """What the journal says should be true of the item's variables now."""
    change = journal.last(StepKey(item.resource, "change"))
    event = (change or {}).get("event")
    if event == "undone":
        return RESTORED
    if event != "done":
        return "incomplete" if journal.first(StepKey(item.resource, "change"), "begin") else NOT_APPLIED
    if item.kind == "lambda" and not item.remove_plaintext and not journal.is_done(StepKey(item.resource, "finalize")):
        return KEPT
    return MOVED


def _verify_item(journal: Journal, item: Item, clients: Clients, plaintext: Plaintext, result: Verification,
                 skipped: set[tuple[str, str | None, str | None]], hasher: SaltedHasher) -> None:
    phase = _phase(journal, item)
    change = journal.merged(StepKey(item.resource, "change"))
    revision = change.get("revision_arn") if phase in (MOVED, KEPT) else None
    seen = _read(item, clients, plaintext, revision)
    arns = {m.key: journal.merged(StepKey(item.resource, "secret", m.key)).get("secret_arn") for m in item.moves}
    for move in item.moves:
        for part in move.parts:
            env = seen.get(move.container, _Seen({}, {}, {}))
            arn = arns[move.key]
            expected = SECURE_STRING if item.kind == "ssm" else (
                value_from(arn, part.json_key, item.kind) if arn else None)
            result.rows.append(_row(item, move, part, phase, env, expected, hasher))
    planned = {(m.container, p.variable) for m in item.moves for p in m.parts}
    for container, env in seen.items():
        for variable, rule in sorted(env.plaintext.items()):
            if (container, variable) not in planned and (item.resource, container, variable) not in skipped:
                name = f"{container}/{variable}" if container else variable
                result.rows.append(Row(item.resource, name, LEFT, f"not in the plan ({rule}): "
                                       f"{redact(env.variables.get(variable, ''))}"))
    if revision is not None and item.kind in ("ecs", "batch"):
        result.notes.append(f"{item.resource}: older revisions keep their values (they cannot change): rotate them")
    if revision is not None and item.kind == "ecs":
        _verify_services(journal, item, clients, revision, result)
    if item.kind == "ssm" and phase == MOVED:
        result.notes.append(f"{item.name}: its older versions keep the plaintext (parameter history): rotate it")


def _row(item: Item, move: Move, part: Field, phase: str, env: _Seen, expected: str | None,
         hasher: SaltedHasher) -> Row:
    label = _label(move, part)
    value = env.variables.get(part.variable)
    planned = value is not None and hasher.secret_hash(value) == part.value_hash
    plain = part.variable in env.plaintext or planned
    shown = f"{env.plaintext.get(part.variable, 'the planned value')}: {redact(value or '')}"
    referenced = expected is not None and env.references.get(part.variable) == expected
    if phase == MOVED:
        if plain:
            return Row(item.resource, label, LEFT, f"{shown} (the plan removes it)", True)
        if not referenced:
            return Row(item.resource, label, LEFT if value else MOVED, "no reference to its secret any more", True)
        return Row(item.resource, label, MOVED, f"now read from {expected}")
    if phase == KEPT:
        if plain and referenced:
            return Row(item.resource, label, KEPT, f"{reference_name(part.variable)} is set; "
                       "`migrate finalize` removes the plaintext once your code reads it")
        return Row(item.resource, label, LEFT if plain else MOVED,
                   shown if plain else "plaintext gone (removed outside secretguard)", plain and not referenced)
    if phase == RESTORED:
        restored = planned and not referenced
        return Row(item.resource, label, RESTORED if restored else NOT_RESTORED,
                   "the original value is back" if restored else
                   ("still points at its secret" if referenced else "its original value is not there"),
                   not restored)
    status = LEFT if plain else MOVED
    note = "the run stopped before this change finished: run apply again, or roll back" if phase == "incomplete" \
        else "not applied yet"
    return Row(item.resource, label, status if phase == "incomplete" else NOT_APPLIED,
               f"{shown}; {note}" if plain else note)


def _read(item: Item, clients: Clients, plaintext: Plaintext, revision: str | None) -> dict[str | None, _Seen]:
    """Each environment of the item as it is now, by container (None for Lambda and ``.env``)."""
    if item.kind == "lambda":
        config = clients("lambda", item.region).get_function_configuration(FunctionName=item.resource)
        variables = lambda_variables(config)
        origin = Origin(source="lambda", resource=f"{item.resource}:$LATEST", region=item.region)
        references = {v[:-len(reference_name(""))]: ref for v, ref in variables.items()
                      if v.endswith(reference_name(""))}
        return {None: _Seen(variables, plaintext(variables, origin), references)}
    if item.kind == "ecs":
        arn = revision or item.resource
        definition = clients("ecs", item.region).describe_task_definition(taskDefinition=arn)["taskDefinition"]
        seen = {}
        for container in definition.get("containerDefinitions", []):
            variables = container_variables(container)
            origin = Origin(source="ecs", resource=arn, container=container["name"], region=item.region)
            references = {s["name"]: s.get("valueFrom", "") for s in container.get("secrets") or []}
            seen[container["name"]] = _Seen(variables, plaintext(variables, origin), references)
        return seen
    if item.kind == "batch":
        arn = revision or item.resource
        container = JobDefinitions(clients("batch", item.region)).described(arn).get("containerProperties") or {}
        variables = container_variables(container)
        references = {s["name"]: s.get("valueFrom", "") for s in container.get("secrets") or []}
        origin = Origin(source="batch", resource=arn, region=item.region)
        return {None: _Seen(variables, plaintext(variables, origin), references)}
    if item.kind == "codebuild":
        project = codebuild_project(clients("codebuild", item.region), item.resource)
        if project is None:
            raise SourceError(f"{item.resource}: the project no longer exists")
        variables = codebuild_variables(project)
        origin = Origin(source="codebuild", resource=item.resource, region=item.region)
        return {None: _Seen(variables, plaintext(variables, origin), codebuild_references(project))}
    if item.kind == "ssm":
        parameter = clients("ssm", item.region).get_parameter(Name=item.name)["Parameter"]
        variables = ssm_variables(parameter)
        origin = Origin(source="ssm", resource=f"{item.resource} version {parameter['Version']}", region=item.region)
        references = {item.name: SECURE_STRING} if parameter.get("Type") == SECURE_STRING else {}
        return {None: _Seen(variables, plaintext(variables, origin), references)}
    path = Path(item.resource)
    entries = dotenv_entries(read_dotenv(path))
    variables = {e.name: e.value for e in entries if e.value is not None}
    origin = Origin(source="file", resource=str(path), path=str(path))
    marker = "# moved to secretsmanager:"
    references = {e.name: e.tail.partition(marker)[2] for e in entries if marker in e.tail}
    return {None: _Seen(variables, plaintext(variables, origin), references)}


def _verify_services(journal: Journal, item: Item, clients: Clients, revision: str, result: Verification) -> None:
    ecs = clients("ecs", item.region)
    for service in item.services:
        info = journal.merged(StepKey(item.resource, "service", service.arn))
        if info.get("event") != "done":
            result.notes.append(f"service {service.arn} was not pointed at {revision}")
            continue
        found = ecs.describe_services(cluster=service.cluster, services=[service.arn]).get("services") or []
        state = deployment_state(found[0], revision) if found else "gone"
        result.notes.append(f"service {service.arn}: {state}")
        if state.startswith("failed"):
            result.rows.append(Row(item.resource, service.arn, "deployment failed", state, True))


def deployment_state(service: dict[str, Any], revision: str) -> str:
    """Where a service is in moving to ``revision``: ``running <rev>``, ``deploying <rev>``, or ``failed: …``."""
    name = "{}:{}".format(*task_family(revision))
    if service.get("taskDefinition") != revision:
        return f"runs {service.get('taskDefinition')}, not {name}"
    primary = next((d for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"), None)
    if primary is None or primary.get("taskDefinition") != revision:
        return f"deploying {name}"
    if primary.get("rolloutState") == "FAILED":
        return f"failed: {primary.get('rolloutStateReason') or 'the deployment failed'}"
    others = [d for d in service.get("deployments") or [] if d is not primary]
    settled = not others and primary.get("runningCount", 0) >= primary.get("desiredCount", 0)
    return f"running {name}" if settled or primary.get("rolloutState") == "COMPLETED" else f"deploying {name}"


def wait_for_services(plan: Plan, revisions: dict[str, str], clients: Clients, timeout: float,
                      say: Callable[[str], None], poll: float = 6.0) -> dict[str, str]:
    """Poll, at most ``timeout`` seconds, until every service the plan points at a new revision runs it (or its
    deployment failed); service ARN -> its last state."""
    import time

    pending = {s.arn: (item, s) for item in plan.items for s in item.services if item.resource in revisions}
    states: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while pending:
        for arn, (item, service) in list(pending.items()):
            found = clients("ecs", item.region).describe_services(cluster=service.cluster,
                                                                  services=[arn]).get("services") or []
            states[arn] = deployment_state(found[0], revisions[item.resource]) if found else "gone"
            if not states[arn].startswith("deploying"):
                say(f"service {arn}: {states[arn]}")
                del pending[arn]
        if not pending or time.monotonic() + poll > deadline:
            break
        time.sleep(poll)
    for arn in pending:
        say(f"service {arn}: still {states[arn]} after {timeout:.0f} s; `migrate status` shows it later")
    return states
