"""Carry out a migration plan: ``apply``, ``finalize`` and ``rollback``, one journaled step at a time.

Per item (one resource) the steps are: ``secret`` (create, or reuse one holding the same value), ``verify``
(read it back), ``grant`` (an inline policy on the workload role for that one secret), ``change`` (the
resource), then ``service`` (ECS, per service) or ``finalize`` (Lambda, later). An SSM parameter has only a
``change``: it is put again as a ``SecureString``. Every step first looks at
the real state, so a resumed run never does anything twice; then writes ``begin`` with what it is about to
do, acts, and writes ``done``. The resource is changed by one call, after every secret is in place, so it is
either unchanged or fully changed.

Rollback walks the journal backwards and undoes each step that began, again by looking first. The journal
holds no value, so the originals come back from where they still are: a Lambda variable, a CodeBuild variable or
a ``.env`` line from its secret (checked against the journaled value hash), a Lambda variable else from a published
function version holding the same value, an SSM parameter from its own ``SecureString``; an ECS task or Batch job
definition needs no value at all, since its original revision is never changed and rollback only retires the
new one. Secrets are kept unless ``--delete-secrets``, and then
deleted with a recovery window, never forced.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NoReturn, TypeGuard

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from secretguard.aws.migrate_journal import JOURNAL_VERSION, Journal, StepKey, fsync_directory, journal_path
from secretguard.aws.migrate_plan import (
    SECURE_STRING,
    Clients,
    Item,
    Move,
    Plan,
    Service,
    Skipped,
    codebuild_project,
    codebuild_references,
    codebuild_variables,
    container_variables,
    dotenv_entries,
    field_value,
    grant_document,
    lambda_variables,
    load_plan,
    pair_document,
    policy_name,
    read_dotenv,
    reference_name,
    role_name,
    services_using,
    ssm_variables,
    value_from,
)
from secretguard.aws.migrate_revisions import (
    JobDefinitions,
    Revisions,
    TaskDefinitions,
    journaled_value_from,
    register_request,
    registered,
)
from secretguard.aws.migrate_wrapper import EXEC_WRAPPER, WRAPPER_PATH, ensure_layer, layer_arns
from secretguard.aws.session import error_code, error_line, make_client
from secretguard.errors import SecretguardError
from secretguard.findings import redact
from secretguard.hashing import SaltedHasher

Say = Callable[[str], None]
TOKEN_NAMESPACE = uuid.UUID("5f0c3c9e-2d43-4c8a-9a51-7d1f7e0b9a2e")
DEFAULT_RECOVERY_DAYS = 7
BACKUP_SUFFIX = ".secretguard-backup"


def session_clients(session: boto3.Session, endpoint_url: str | None = None) -> Clients:
    """One client per (service, region), built by :mod:`secretguard.aws.session`."""

    @cache
    def client(service: str, region: str) -> Any:
        return make_client(session, service, region, endpoint_url)

    return client


@dataclass
class Outcome:
    """What a run did, for the summary the command prints."""

    applied: list[Item] = field(default_factory=list)
    skipped: tuple[Skipped, ...] = ()
    """What the plan leaves alone, and why."""
    revisions: dict[str, str] = field(default_factory=dict)
    """ECS: original revision ARN -> the revision that reads the secrets."""
    finalized: list[Item] = field(default_factory=list)
    kept_secrets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def apply_plan(plan_path: Path, clients: Clients, say: Say) -> Outcome:
    """Carry out the plan, resuming from its journal; stops at the first failure with a one-line error."""
    plan, digest = load_plan(plan_path)
    with Journal.open(journal_path(plan_path), create=True) as journal:
        _bind(journal, plan, digest, plan_path)
        journal.append("start", command="apply", version=JOURNAL_VERSION, hash=plan.hasher.params(),
                       plan_id=plan.id, plan_sha256=digest, plan_path=str(plan_path.resolve()))
        run = _Run(clients, journal, say, plan.hasher)
        run.outcome.skipped = plan.skipped
        run.check_drift(plan)
        for item in plan.items:
            run.apply_item(plan, item)
        run.remove_backups()
        journal.append("finish", command="apply", plan_id=plan.id)
        return run.outcome


def finalize_plan(plan_path: Path, clients: Clients, say: Say) -> Outcome:
    """Remove the plaintext Lambda variables that ``apply`` left beside their ``*_SECRET_ARN`` references."""
    plan, digest = load_plan(plan_path)
    with Journal.open(journal_path(plan_path), create=False) as journal:
        _bind(journal, plan, digest, plan_path)
        journal.append("start", command="finalize", version=JOURNAL_VERSION, hash=plan.hasher.params(),
                       plan_id=plan.id)
        run = _Run(clients, journal, say, plan.hasher)
        for item in plan.items:
            if item.kind == "lambda" and not item.remove_plaintext:
                run.finalize_lambda(item)
        journal.append("finish", command="finalize", plan_id=plan.id)
        return run.outcome


def rollback(journal_file: Path, clients: Clients, say: Say, delete_secrets: bool = False,
             recovery_days: int = DEFAULT_RECOVERY_DAYS) -> Outcome:
    """Undo, newest first, every step the journal says began; secrets are only deleted with ``delete_secrets``."""
    if not 7 <= recovery_days <= 30:
        raise SecretguardError("--recovery-window-days must be between 7 and 30")
    with Journal.open(journal_file, create=False) as journal:
        plan_id = (journal.run_start() or {}).get("plan_id")
        journal.append("start", command="rollback", plan_id=plan_id)
        run = _Run(clients, journal, say, journal.hasher() or SaltedHasher.fresh())
        for key in journal.pending():
            run.undo(key, delete_secrets, recovery_days)
        journal.append("finish", command="rollback", plan_id=plan_id)
        return run.outcome


def _bind(journal: Journal, plan: Plan, digest: str, plan_path: Path) -> None:
    """A journal belongs to one plan, unchanged since its first run."""
    start = journal.run_start()
    if start is None:
        return
    if start.get("plan_id") != plan.id:
        raise SecretguardError(f"{journal.path}: belongs to another plan ({start.get('plan_id')}), not {plan_path}")
    if start.get("plan_sha256") != digest:
        raise SecretguardError(f"{plan_path}: changed since it was first applied; restore it, or roll back "
                               f"with `secretguard migrate rollback {journal.path}` and make a new plan")


class _Run:
    """One apply, finalize or rollback run over one journal."""

    def __init__(self, clients: Clients, journal: Journal, say: Say, hasher: SaltedHasher) -> None:
        self.clients = clients
        self.journal = journal
        self.say = say
        self.hasher = hasher
        self.outcome = Outcome()
        self._known: list[str] = []  # plaintext seen in this run, kept out of every message
        self._values: dict[str, dict[str, str]] = {}  # item -> move key -> the secret's value, read by check_drift

    # --- plumbing -------------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        for value in sorted(self._known, key=len, reverse=True):
            if len(value) >= 4:
                text = text.replace(value, redact(value))
        return text

    def _seen(self, value: str) -> str:
        self._known.append(value)
        return value

    def _holds(self, value: str | None, value_hash: str) -> TypeGuard[str]:
        """``value`` is the one the plan or journal recorded as ``value_hash``."""
        return value is not None and self.hasher.secret_hash(self._seen(value)) == value_hash

    def _recorded(self, moved: dict[str, Any]) -> str:
        """The value hash of a journaled move (a version 1 journal's sha256, stretched)."""
        return self.journal.value_hash(moved, self.hasher)

    def _as_moved(self, value: str | None, moved: dict[str, Any]) -> TypeGuard[str]:
        """``value`` is the one a journaled move recorded."""
        return self._holds(value, self._recorded(moved))

    @contextlib.contextmanager
    def _step(self, key: StepKey, undoing: bool = False) -> Iterator[None]:
        """Turn an AWS or our own failure into a ``failed`` record and one line naming item, step and cause."""
        try:
            yield
        except (ClientError, BotoCoreError) as exc:
            self._fail(key, error_line(exc), undoing)
        except SecretguardError as exc:
            self._fail(key, str(exc), undoing)

    def _fail(self, key: StepKey, message: str, undoing: bool) -> NoReturn:
        message = self._scrub(message)
        self.journal.append("failed", key, error=message)
        where = f"{key.item}: {'undo ' if undoing else ''}{key.step}{' ' + key.sub if key.sub else ''}"
        hint = (f"fix it and run `secretguard migrate rollback {self.journal.path}` again" if undoing else
                "the resource is as the journal says; run apply again to resume, or "
                f"`secretguard migrate rollback {self.journal.path}` to undo")
        raise SecretguardError(f"{where}: {message} ({hint})")

    @staticmethod
    def _ids(item: Item, **fields: Any) -> dict[str, Any]:
        return {"kind": item.kind, "region": item.region, **fields}

    # --- apply ----------------------------------------------------------------------------------------------

    def apply_item(self, plan: Plan, item: Item) -> None:
        change = StepKey(item.resource, "change")
        services = [StepKey(item.resource, "service", s.arn) for s in item.services]
        if self.journal.is_done(change) and all(self.journal.is_done(k) for k in services):
            self.say(f"{item.resource}: already applied")
        else:
            self.say(f"{item.resource}:")
            arns = {}
            for move in item.moves if item.kind != "ssm" else ():
                arns[move.key] = self._create_secret(plan, item, move)
                self._verify_secret(item, move, arns[move.key])
                if item.role_arn:
                    self._grant(item, move, arns[move.key])
            {"lambda": self._change_lambda, "ecs": self._change_ecs, "dotenv": self._change_dotenv,
             "batch": self._change_batch, "codebuild": self._change_codebuild, "ssm": self._change_ssm}[item.kind](
                item, arns)
            for service in item.services:
                self._point_service(item, service)
        if item.kind == "ecs":
            self.outcome.revisions[item.resource] = self.journal.merged(change)["revision_arn"]
        if self.journal.is_done(StepKey(item.resource, "finalize")):
            self.outcome.finalized.append(item)
        self.outcome.applied.append(item)

    def check_drift(self, plan: Plan) -> None:
        """Before the first change: every item not yet changed must still hold the values the plan recorded.

        Reads each resource once and keeps the values for the secrets; on any difference nothing is changed
        and the error names the resource and the variable.
        """
        for item in plan.items:
            change = StepKey(item.resource, "change")
            if self.journal.first(change, "begin") is not None or self.journal.is_done(change):
                continue  # changed, or maybe changed, by an earlier run: its own step checks it
            try:
                found = self._read_values(item)
            except (ClientError, BotoCoreError) as exc:
                self._refuse(f"{item.resource}: cannot read it: {error_line(exc)}")
            values: dict[str, str] = {}
            for move in item.moves:
                parts = {}
                for part in move.parts:
                    value = found.get((move.container, part.variable))
                    if not self._holds(value, part.value_hash):
                        where = f"{move.container}/{part.variable}" if move.container else part.variable
                        self._refuse(f"{item.resource}: {where} {'is no longer set' if value is None else 'changed'} "
                                     "since the plan was made: make a new plan (nothing was changed by this run)")
                    parts[part.json_key] = value
                values[move.key] = pair_document(parts) if move.fields else parts[""]
            self._values[item.resource] = values

    def _refuse(self, message: str) -> NoReturn:
        self.journal.append("failed", command="apply", error=self._scrub(message))
        raise SecretguardError(self._scrub(message))

    def _read_values(self, item: Item) -> dict[tuple[str | None, str], str]:
        """(container, variable) -> value, as the resource holds them now."""
        if item.kind == "lambda":
            config = _function_config(self.clients("lambda", item.region), item.resource)
            return {(None, k): v for k, v in lambda_variables(config).items()}
        if item.kind == "ecs":
            described = self.clients("ecs", item.region).describe_task_definition(taskDefinition=item.resource)
            return {(c["name"], k): v for c in described["taskDefinition"]["containerDefinitions"]
                    for k, v in container_variables(c).items()}
        if item.kind == "batch":
            container = JobDefinitions(self.clients("batch", item.region)).described(item.resource)
            return {(None, k): v for k, v in container_variables(container.get("containerProperties") or {}).items()}
        if item.kind == "codebuild":
            project = codebuild_project(self.clients("codebuild", item.region), item.resource) or {}
            return {(None, k): v for k, v in codebuild_variables(project).items()}
        if item.kind == "ssm":
            parameter = self.clients("ssm", item.region).get_parameter(Name=item.name)["Parameter"]
            return {(None, k): v for k, v in ssm_variables(parameter).items()}
        return {(None, e.name): e.value for e in dotenv_entries(read_dotenv(Path(item.resource)))
                if e.value is not None}

    def _create_secret(self, plan: Plan, item: Item, move: Move) -> str:
        """Create the secret, reuse one holding the same value, or (``--update-existing``, or a different
        ``--kms-key-id``) put the value as a new version, journaling both version IDs for rollback."""
        key = StepKey(item.resource, "secret", move.key)
        last = self.journal.last(key)
        if last is not None and last["event"] == "done":
            return str(last["secret_arn"])
        sm = self.clients("secretsmanager", item.region)
        token = str(uuid.uuid5(TOKEN_NAMESPACE, f"{plan.id}\n{item.resource}\n{move.key}"))
        ids = self._ids(item, secret_name=move.secret_name, token=token, value_hash=move.value_hash)
        with self._step(key):
            existing = _describe_secret(sm, move.secret_name)
            prior = self.journal.first(key, "begin") or {}
            if existing is None:
                self.journal.append("begin", key, **ids)
                request: dict[str, Any] = {
                    "Name": move.secret_name, "SecretString": self._values[item.resource][move.key],
                    "ClientRequestToken": token,
                    "Description": f"Moved by secretguard from {item.resource} {move.label}"[:2048],
                    "Tags": [{"Key": k, "Value": v} for k, v in item.tags(move).items()],
                }
                if item.kms_key_arn:
                    request["KmsKeyId"] = item.kms_key_arn
                created = sm.create_secret(**request)
                arn, result = created["ARN"], {"created": True, "version_id": created["VersionId"]}
                action = "created"
            elif token in (existing.get("VersionIdsToStages") or {}):  # written by a run that then stopped
                arn = existing["ARN"]
                result = {"created": "previous_version_id" not in prior, "version_id": token}
                action = "created" if result["created"] else "new version"
            else:
                arn, result, action = self._reuse_secret(sm, item, move, key, existing, ids)
            self.journal.append("done", key, **ids, secret_arn=arn, **result)
        self.say(f"  secret   {move.label} -> {arn} ({action})")
        return str(arn)

    def _reuse_secret(self, sm: Any, item: Item, move: Move, key: StepKey, existing: dict[str, Any],
                      ids: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
        """An existing secret of the planned name: kept as it is when it holds the value under the planned key,
        else given the value as a new version (which also re-encrypts it with the planned key)."""
        arn = existing["ARN"]
        if existing.get("DeletedDate"):
            raise SecretguardError(f"secret {move.secret_name} is scheduled for deletion: restore it "
                                   f"(aws secretsmanager restore-secret --secret-id {arn}) or choose "
                                   "another --name-template")
        current = _current_version(existing)
        same = self._holds(_secret_string(sm, arn), move.value_hash)
        key_now = _customer_key(self.clients("kms", item.region), sm, arn)
        if not same and not item.update_existing:
            raise SecretguardError(f"secret {move.secret_name} already exists and holds a different value (rotated "
                                   "since?): make the plan again with --update-existing to put this value as a new "
                                   "version of it, or choose another --name-template")
        if same and (item.kms_key_arn is None or key_now == item.kms_key_arn):
            return arn, {"created": False, "version_id": current}, "reused: same value"
        request: dict[str, Any] = {"SecretId": arn, "SecretString": self._values[item.resource][move.key],
                                   "ClientRequestToken": ids["token"]}
        if item.kms_key_arn:
            request["KmsKeyId"] = item.kms_key_arn
        previous = {"previous_version_id": current, "previous_kms_key": key_now or ""}
        self.journal.append("begin", key, **ids, **previous)
        version = sm.update_secret(**request)["VersionId"]
        action = "new version" if not same else f"new version encrypted with {item.kms_key_arn}"
        return arn, {"created": False, "version_id": version, **previous}, f"{action}; previous {current} kept"

    def _verify_secret(self, item: Item, move: Move, arn: str) -> None:
        key = StepKey(item.resource, "verify", move.key)
        with self._step(key):
            held = self._seen(_secret_string(self.clients("secretsmanager", item.region), arn))
            if not self._holds(held, move.value_hash):
                raise SecretguardError(f"secret {arn} does not hold the value of {move.key} (its hash differs): "
                                       "not going on")
        if not self.journal.is_done(key):
            self.journal.append("done", key, **self._ids(item, secret_arn=arn, value_hash=move.value_hash))
        self.say(f"  verify   {move.key}: read back, same value")

    def _grant(self, item: Item, move: Move, arn: str) -> None:
        key = StepKey(item.resource, "grant", move.key)
        if self.journal.is_done(key):
            return
        assert item.role_arn is not None
        iam = self.clients("iam", item.region)
        role, name = role_name(item.role_arn), policy_name(move)
        with self._step(key):
            kms_key = _customer_key(self.clients("kms", item.region), self.clients("secretsmanager", item.region), arn)
            document = grant_document(arn, kms_key, item.region)
            current = _role_policy(iam, role, name)
            if current is not None and current != document:
                raise SecretguardError(f"role {role} already has an inline policy {name} with another document: "
                                       "not changing it")
            prior = self.journal.first(key, "begin")
            existed = bool(prior["existed"]) if prior else current is not None
            ids = self._ids(item, role_arn=item.role_arn, policy_name=name, secret_arn=arn)
            if prior is None:
                self.journal.append("begin", key, **ids, document=document, existed=existed)
            if current is None:
                iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))
            self.journal.append("done", key, **ids, created=not existed)
        self.say(f"  grant    {role}: {name} (GetSecretValue on {arn}{', kms:Decrypt' if kms_key else ''})")

    def _change_lambda(self, item: Item, arns: dict[str, str]) -> None:
        key = StepKey(item.resource, "change")
        if self.journal.is_done(key):
            return
        lam = self.clients("lambda", item.region)
        moved = self._moved(item, arns)
        with self._step(key):
            config = _function_config(lam, item.resource)
            variables, layers = lambda_variables(config), layer_arns(config)
            layer = (self.journal.first(key, "begin") or {}).get("layer_arn") or (
                ensure_layer(lam) if item.lambda_mode == "wrapper" else None)
            applied = all(variables.get(m["reference"]) == m["value_from"]
                          and (m["variable"] not in variables or not item.remove_plaintext) for m in moved) and (
                layer is None or (layer in layers and variables.get(EXEC_WRAPPER) == WRAPPER_PATH))
            if not applied:
                updated = dict(variables)
                for m in moved:
                    value, reference = variables.get(m["variable"]), variables.get(m["reference"])
                    if not self._holds(value, m["value_hash"]):
                        raise SecretguardError(f"{m['variable']} changed since the plan was made: make a new plan")
                    if reference not in (None, m["value_from"]):
                        raise SecretguardError(f"{m['reference']} is already set to something else")
                    updated[m["reference"]] = m["value_from"]
                    if item.remove_plaintext:
                        del updated[m["variable"]]
                if layer is not None:
                    updated[EXEC_WRAPPER] = WRAPPER_PATH
                self.journal.append("begin", key, **self._ids(item, moves=moved, layer_arn=layer,
                                                              remove_plaintext=item.remove_plaintext))
                _update_function(lam, item.resource, config, updated,
                                 None if layer is None or layer in layers else [*layers, layer])
            self.journal.append("done", key, **self._ids(item))
        what = "replaced by" if item.remove_plaintext else "kept beside"
        self.say(f"  change   {', '.join(m['reference'] for m in moved)} set; plaintext {what} them"
                 + (f"; exec wrapper layer {layer}" if layer else ""))

    def _change_ecs(self, item: Item, arns: dict[str, str]) -> None:
        self._register_revision(item, arns, TaskDefinitions(self.clients("ecs", item.region)))

    def _change_batch(self, item: Item, arns: dict[str, str]) -> None:
        self._register_revision(item, arns, JobDefinitions(self.clients("batch", item.region)))

    def _register_revision(self, item: Item, arns: dict[str, str], revisions: Revisions) -> None:
        """Register the latest revision again with the moved variables in ``secrets``; a revision registered by
        a run that stopped before journaling it is found by its content and reused."""
        key = StepKey(item.resource, "change")
        if self.journal.is_done(key):
            return
        moved = self._moved(item, arns)
        with self._step(key):
            request = register_request(revisions, item.resource, moved, self._as_moved)
            copies = registered(revisions, item.resource, request) if self.journal.first(key, "begin") else []
            if copies:
                revision = copies[0]
            else:
                latest = revisions.latest(item.resource)
                if latest != item.resource:
                    raise SecretguardError(f"{item.name} has a newer revision ({latest}) than the plan's: "
                                           "make a new plan")
                self.journal.append("begin", key, **self._ids(item, moves=moved))
                revision = revisions.register(request)
                copies = registered(revisions, item.resource, request)
            for copy in copies:
                if copy != revision:  # a call retried after its first answer was lost registered it twice
                    revisions.deregister(copy)
            self.journal.append("done", key, **self._ids(item), revision_arn=revision)
        self.say(f"  change   registered {revision}")

    def _change_codebuild(self, item: Item, arns: dict[str, str]) -> None:
        """One ``UpdateProject``: each moved variable becomes a ``SECRETS_MANAGER`` variable naming its secret."""
        key = StepKey(item.resource, "change")
        if self.journal.is_done(key):
            return
        codebuild = self.clients("codebuild", item.region)
        moved = self._moved(item, arns)
        with self._step(key):
            project = codebuild_project(codebuild, item.resource)
            if project is None:
                raise SecretguardError("the project no longer exists")
            references, plain = codebuild_references(project), codebuild_variables(project)
            if not all(references.get(m["variable"]) == m["value_from"] for m in moved):
                targets = {m["variable"]: m for m in moved}
                for m in moved:
                    if not self._holds(plain.get(m["variable"]), m["value_hash"]):
                        raise SecretguardError(f"{m['variable']} changed since the plan was made: make a new plan")
                environment = project["environment"]
                variables = [{**v, "type": "SECRETS_MANAGER", "value": targets[v["name"]]["value_from"]}
                             if v["name"] in targets else v for v in environment.get("environmentVariables") or []]
                self.journal.append("begin", key, **self._ids(item, moves=moved))
                codebuild.update_project(name=project["name"],
                                         environment={**environment, "environmentVariables": variables})
            self.journal.append("done", key, **self._ids(item))
        self.say(f"  change   {', '.join(m['variable'] for m in moved)} now read from Secrets Manager")

    def _change_ssm(self, item: Item, arns: dict[str, str]) -> None:
        """Put the parameter again as a ``SecureString`` holding the same value (under ``--kms-key-id``)."""
        key = StepKey(item.resource, "change")
        if self.journal.is_done(key):
            return
        ssm = self.clients("ssm", item.region)
        (move,) = item.moves
        with self._step(key):
            parameter = ssm.get_parameter(Name=item.name, WithDecryption=True)["Parameter"]
            value = parameter.get("Value")
            done_before = parameter["Type"] == SECURE_STRING and self.journal.first(key, "begin") is not None
            if not self._holds(value, move.value_hash) or parameter["Type"] != "String" and not done_before:
                raise SecretguardError(f"{item.name} changed since the plan was made: make a new plan")
            if not done_before:
                self.journal.append("begin", key, **self._ids(item, moves=[{"variable": item.name,
                                                                            "value_hash": move.value_hash}],
                                                              previous_version=parameter["Version"]))
                request = {"Name": item.name, "Value": value, "Type": SECURE_STRING, "Overwrite": True}
                if item.kms_key_arn:
                    request["KeyId"] = item.kms_key_arn
                ssm.put_parameter(**request)
            self.journal.append("done", key, **self._ids(item))
        self.say(f"  change   {item.name} is a SecureString now")

    def _point_service(self, item: Item, service: Service) -> None:
        key = StepKey(item.resource, "service", service.arn)
        if self.journal.is_done(key):
            return
        ecs = self.clients("ecs", item.region)
        revision = self.journal.merged(StepKey(item.resource, "change"))["revision_arn"]
        ids = self._ids(item, cluster=service.cluster, service=service.arn, previous=item.resource,
                        revision_arn=revision)
        with self._step(key):
            current = _service_revision(ecs, service.cluster, service.arn)
            if current != revision:
                if current != item.resource:
                    raise SecretguardError(f"service {service.arn} now runs {current}, not {item.resource}: "
                                           "not touching it")
                self.journal.append("begin", key, **ids)
                ecs.update_service(cluster=service.cluster, service=service.arn, taskDefinition=revision)
            self.journal.append("done", key, **ids)
        self.say(f"  service  {service.arn} -> {revision}")

    def _change_dotenv(self, item: Item, arns: dict[str, str]) -> None:
        key = StepKey(item.resource, "change")
        if self.journal.is_done(key):
            return
        path = Path(item.resource)
        backup = path.with_name(path.name + BACKUP_SUFFIX)
        with self._step(key):
            text = read_dotenv(path)
            lines = text.splitlines(keepends=True)
            entries = dotenv_entries(text)
            moved, pending = [], []
            for m in self._moved(item, arns):
                found = [e for e in entries if e.name == m["variable"]]
                if len(found) == 1 and lines[found[0].line - 1].rstrip("\r\n") == found[0].reference(m["value_from"]):
                    continue  # moved by a run that stopped before writing ``done``
                if len(found) != 1 or not self._holds(found[0].value, m["value_hash"]):
                    raise SecretguardError(f"{m['variable']} changed since the plan was made: make a new plan")
                entry = found[0]
                moved.append({**m, "head": entry.head, "tail": entry.tail,
                              "reference": entry.reference(m["value_from"])})
                pending.append(entry)
            if pending:
                if not backup.exists():
                    _copy_private(path, backup)
                self.journal.append("begin", key, **self._ids(item, moves=moved, backup=str(backup)))
                for entry, m in zip(pending, moved, strict=True):
                    line = lines[entry.line - 1]
                    lines[entry.line - 1] = m["reference"] + line[len(line.rstrip("\r\n")):]
                _write_atomically(path, "".join(lines))
            self.journal.append("done", key, **self._ids(item))
        self.say(f"  change   {path}: {sum(len(m.parts) for m in item.moves)} value(s) replaced by references "
                 f"(backup {backup})")

    def remove_backups(self) -> None:
        """The run succeeded: the ``.env`` backups it kept are no longer needed."""
        for record in self.journal.records:
            if record.get("step") == "change" and record.get("backup"):
                Path(record["backup"]).unlink(missing_ok=True)

    def _moved(self, item: Item, arns: dict[str, str]) -> list[dict[str, Any]]:
        """The journal's account of the moves, one entry per variable: names, ARNs, version and digests, never
        a value."""
        moved = []
        for m in item.moves:
            version = self.journal.merged(StepKey(item.resource, "secret", m.key)).get("version_id")
            for part in m.parts:
                entry = {"variable": part.variable, "container": m.container, "secret_arn": arns[m.key],
                         "json_key": part.json_key or None,
                         "value_from": value_from(arns[m.key], part.json_key, item.kind),
                         "value_hash": part.value_hash, "version_id": version}
                if item.kind == "lambda":
                    entry["reference"] = reference_name(part.variable)
                moved.append({k: v for k, v in entry.items() if v is not None})
        return moved

    # --- finalize -------------------------------------------------------------------------------------------

    def finalize_lambda(self, item: Item) -> None:
        change, key = StepKey(item.resource, "change"), StepKey(item.resource, "finalize")
        if not self.journal.is_done(change):
            raise SecretguardError(f"{item.resource}: not applied yet: run `secretguard migrate apply` first")
        if self.journal.is_done(key):
            self.say(f"{item.resource}: already finalized")
            return
        lam = self.clients("lambda", item.region)
        moved = self.journal.merged(change)["moves"]
        with self._step(key):
            config = _function_config(lam, item.resource)
            variables = lambda_variables(config)
            for m in moved:
                value = variables.get(m["variable"])
                if variables.get(m["reference"]) != journaled_value_from(m):
                    raise SecretguardError(f"{m['reference']} no longer holds {journaled_value_from(m)}: "
                                           f"not removing {m['variable']}")
                if value is not None and not self._as_moved(value, m):
                    raise SecretguardError(f"{m['variable']} changed after apply: not removing it")
            remaining = {k: v for k, v in variables.items() if k not in {m["variable"] for m in moved}}
            if remaining != variables:
                self.journal.append("begin", key, **self._ids(item, moves=moved))
                _update_function(lam, item.resource, config, remaining)
            self.journal.append("done", key, **self._ids(item))
        self.say(f"{item.resource}: removed {', '.join(m['variable'] for m in moved)}")
        self.outcome.finalized.append(item)

    # --- rollback -------------------------------------------------------------------------------------------

    def undo(self, key: StepKey, delete_secrets: bool, recovery_days: int) -> None:
        info = self.journal.merged(key)
        if key.step == "verify" or (self.journal.first(key, "begin") is None
                                    and self.journal.first(key, "done") is None):
            self.journal.append("undone", key)  # read-only, or failed before acting: nothing to undo
            return
        with self._step(key, undoing=True):
            if key.step == "secret":
                self._undo_secret(key, info, delete_secrets, recovery_days)
            elif key.step == "grant":
                self._undo_grant(key, info)
            elif key.step == "service":
                self._undo_service(key, info)
            elif info["kind"] == "ecs":
                ecs = self.clients("ecs", info["region"])
                self._undo_revision(key, info, TaskDefinitions(ecs),
                                    lambda arn: [s.arn for s in services_using(ecs, arn)])
            elif info["kind"] == "batch":
                self._undo_revision(key, info, JobDefinitions(self.clients("batch", info["region"])), lambda arn: [])
            elif info["kind"] == "codebuild":
                self._undo_codebuild(key, info)
            elif info["kind"] == "ssm":
                self._undo_ssm(key, info)
            elif info["kind"] == "dotenv":
                self._undo_dotenv(key, info)
            else:
                self._undo_lambda(key, info, remove_references=key.step == "change")

    def _undone(self, key: StepKey, message: str, **fields: Any) -> None:
        self.journal.append("undone", key, **fields)
        self.say(f"{key.item}: {message}")

    def _undo_secret(self, key: StepKey, info: dict[str, Any], delete: bool, recovery_days: int) -> None:
        sm = self.clients("secretsmanager", info["region"])
        existing = _describe_secret(sm, info["secret_name"])
        if existing is None or existing.get("DeletedDate"):
            self._undone(key, f"secret {info['secret_name']} already gone")
            return
        stages = existing.get("VersionIdsToStages") or {}
        created = info["created"] if "created" in info else (
            "previous_version_id" not in info and info["token"] in stages)
        if info.get("previous_version_id"):
            self._restore_version(key, info, sm, existing)
        elif not created:
            self._undone(key, f"secret {existing['ARN']} kept: it existed before this migration")
        elif not delete:
            self.outcome.kept_secrets.append(existing["ARN"])  # stays pending: --delete-secrets can come back for it
        else:
            self.journal.append("undo-begin", key)
            sm.delete_secret(SecretId=existing["ARN"], RecoveryWindowInDays=recovery_days)
            self._undone(key, f"secret {existing['ARN']} scheduled for deletion in {recovery_days} days "
                              "(restore-secret brings it back until then)", deleted=True)

    def _restore_version(self, key: StepKey, info: dict[str, Any], sm: Any, existing: dict[str, Any]) -> None:
        """A secret that existed before and got a new version: its previous version is current again, under the
        key it had (the new version stays, labelled ``AWSPREVIOUS``)."""
        ours, previous = info.get("version_id") or info["token"], info["previous_version_id"]
        current = _current_version(existing)
        if current not in (ours, previous):
            self.outcome.notes.append(f"secret {existing['ARN']} has a newer version ({current}) than this "
                                      "migration's; left as it is")
        else:
            self.journal.append("undo-begin", key)
            if current == ours:
                sm.update_secret_version_stage(SecretId=existing["ARN"], VersionStage="AWSCURRENT",
                                               MoveToVersionId=previous, RemoveFromVersionId=ours)
            if "previous_kms_key" in info and _customer_key(self.clients("kms", info["region"]), sm,
                                                            existing["ARN"]) != (info["previous_kms_key"] or None):
                sm.update_secret(SecretId=existing["ARN"],
                                 KmsKeyId=info["previous_kms_key"] or "alias/aws/secretsmanager")
        self._undone(key, f"secret {existing['ARN']}: version {previous} is current again")

    def _undo_grant(self, key: StepKey, info: dict[str, Any]) -> None:
        role = role_name(info["role_arn"])
        if info.get("existed"):
            self._undone(key, f"policy {info['policy_name']} on {role} kept: it existed before this migration")
            return
        iam = self.clients("iam", info["region"])
        current = _role_policy(iam, role, info["policy_name"])
        if current is not None and current != info["document"]:
            self.outcome.notes.append(f"policy {info['policy_name']} on role {role} was changed after the migration; "
                                      "left in place")
            self._undone(key, f"policy {info['policy_name']} on {role} changed since: left in place")
            return
        if current is not None:
            self.journal.append("undo-begin", key)
            iam.delete_role_policy(RoleName=role, PolicyName=info["policy_name"])
        self._undone(key, f"policy {info['policy_name']} removed from role {role}")

    def _undo_lambda(self, key: StepKey, info: dict[str, Any], remove_references: bool) -> None:
        lam = self.clients("lambda", info["region"])
        config = _function_config(lam, key.item)
        variables = lambda_variables(config)
        restored = dict(variables)
        for m in info.get("moves", []):
            value = variables.get(m["variable"])
            if value is None:
                restored[m["variable"]] = self._original_value(info["region"], m, key.item)
            elif not self._as_moved(value, m):
                self.outcome.notes.append(f"{key.item}: {m['variable']} changed after the migration; left as it is")
            if remove_references and restored.get(m["reference"]) == journaled_value_from(m):
                del restored[m["reference"]]
        layers = layer_arns(config)
        if remove_references and info.get("layer_arn"):
            layers = [arn for arn in layers if arn != info["layer_arn"]]
            if restored.get(EXEC_WRAPPER) == WRAPPER_PATH:
                del restored[EXEC_WRAPPER]
        if restored != variables or layers != layer_arns(config):
            self.journal.append("undo-begin", key)
            _update_function(lam, key.item, config, restored, layers if layers != layer_arns(config) else None)
        self._undone(key, f"{key.step} undone: environment restored")

    def _undo_revision(self, key: StepKey, info: dict[str, Any], revisions: Revisions,
                       users: Callable[[str], list[str]]) -> None:
        """Deregister the revision the change registered (found by content if the run stopped before saying
        which), unless something (``users``: ECS services) still runs it."""
        revision = info.get("revision_arn")
        if revision is None and info.get("moves"):  # registered by a run that stopped before writing ``done``?
            request = register_request(revisions, key.item, info["moves"], self._as_moved)
            revision = next(iter(registered(revisions, key.item, request)), None)
        if revision is None:
            self._undone(key, "no new revision was registered")
            return
        running = users(revision)
        if running:
            raise SecretguardError(f"{revision} is still used by {', '.join(running)}: point them back "
                                   f"at {key.item} first")
        if revisions.is_active(revision):
            self.journal.append("undo-begin", key, revision_arn=revision)
            revisions.deregister(revision)
        self._undone(key, f"{revision} deregistered; {key.item} is the latest revision again", revision_arn=revision)

    def _undo_codebuild(self, key: StepKey, info: dict[str, Any]) -> None:
        codebuild = self.clients("codebuild", info["region"])
        project = codebuild_project(codebuild, key.item)
        if project is None:
            raise SecretguardError("the project no longer exists")
        environment = project["environment"]
        variables = environment.get("environmentVariables") or []
        restored = list(variables)
        for m in info.get("moves", []):
            index = next((i for i, v in enumerate(variables) if v["name"] == m["variable"]), None)
            current = variables[index] if index is not None else None
            if index is not None and current is not None and current.get("type") == "SECRETS_MANAGER" \
                    and current.get("value") == journaled_value_from(m):
                restored[index] = {**current, "type": "PLAINTEXT",
                                   "value": self._original_value(info["region"], m, None)}
            elif current is None or not self._as_moved(current.get("value"), m):
                self.outcome.notes.append(f"{key.item}: {m['variable']} changed after the migration; left as it is")
        if restored != variables:
            self.journal.append("undo-begin", key)
            codebuild.update_project(name=project["name"],
                                     environment={**environment, "environmentVariables": restored})
        self._undone(key, "variables restored as PLAINTEXT")

    def _undo_ssm(self, key: StepKey, info: dict[str, Any]) -> None:
        ssm = self.clients("ssm", info["region"])
        (moved,) = info["moves"]
        parameter = ssm.get_parameter(Name=moved["variable"], WithDecryption=True)["Parameter"]
        if not self._as_moved(parameter.get("Value"), moved):
            self.outcome.notes.append(f"{key.item}: {moved['variable']} changed after the migration; left as it is")
        elif parameter["Type"] == SECURE_STRING:
            self.journal.append("undo-begin", key)
            ssm.put_parameter(Name=moved["variable"], Value=parameter["Value"], Type="String", Overwrite=True)
        self._undone(key, f"{moved['variable']} is a String again")

    def _undo_service(self, key: StepKey, info: dict[str, Any]) -> None:
        ecs = self.clients("ecs", info["region"])
        current = _service_revision(ecs, info["cluster"], info["service"])
        if current == info["revision_arn"]:
            self.journal.append("undo-begin", key)
            ecs.update_service(cluster=info["cluster"], service=info["service"], taskDefinition=info["previous"])
        elif current != info["previous"]:
            self.outcome.notes.append(f"service {info['service']} now runs {current}; left alone")
        self._undone(key, f"service {info['service']} -> {info['previous']}")

    def _undo_dotenv(self, key: StepKey, info: dict[str, Any]) -> None:
        path = Path(key.item)
        lines = read_dotenv(path).splitlines(keepends=True)
        changed = False
        for m in info.get("moves", []):
            where = [i for i, line in enumerate(lines) if line.rstrip("\r\n") == m["reference"]]
            if not where:
                self.outcome.notes.append(f"{path}: the reference line for {m['variable']} is gone; left as it is")
                continue
            value = self._original_value(info["region"], m, None)
            for i in where:
                lines[i] = m["head"] + value + m["tail"] + lines[i][len(lines[i].rstrip("\r\n")):]
            changed = True
        if changed:
            self.journal.append("undo-begin", key)
            _write_atomically(path, "".join(lines))
        self._undone(key, "values restored")

    def _original_value(self, region: str, moved: dict[str, Any], function: str | None) -> str:
        """A value as it was before the migration: from its secret, else from a published Lambda version."""
        try:
            held = _secret_string(self.clients("secretsmanager", region), moved["secret_arn"], moved.get("version_id"))
            value = field_value(self._seen(held), moved.get("json_key", ""))
            if self._as_moved(value, moved):
                return self._seen(value)
        except ClientError:
            pass
        if function is not None:
            lam = self.clients("lambda", region)
            name = function.rsplit(":", 1)[-1]
            for page in lam.get_paginator("list_versions_by_function").paginate(FunctionName=name):
                for version in page.get("Versions", []):
                    kept = lambda_variables(version).get(moved["variable"])
                    if self._as_moved(kept, moved):
                        return self._seen(kept)
        raise SecretguardError(f"cannot restore {moved['variable']}: secret {moved['secret_arn']} no longer holds "
                               f"its value{' and no published version of the function does' if function else ''}")


def _current_version(described: dict[str, Any]) -> str:
    """The version ID labelled ``AWSCURRENT`` in a ``DescribeSecret`` answer."""
    stages = described.get("VersionIdsToStages") or {}
    return next((v for v, labels in stages.items() if "AWSCURRENT" in labels), "")


def _describe_secret(sm: Any, name: str) -> dict[str, Any] | None:
    try:
        found = sm.describe_secret(SecretId=name)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    return found if found.get("Name") == name else None


def _secret_string(sm: Any, arn: str, version_id: str | None = None) -> str:
    """The secret's current value, or that of ``version_id``."""
    version = {"VersionId": version_id} if version_id else {}
    return str(sm.get_secret_value(SecretId=arn, **version).get("SecretString") or "")


def _customer_key(kms: Any, sm: Any, secret_arn: str) -> str | None:
    """The ARN of the customer-managed key encrypting the secret, or None for the AWS managed key."""
    key_id = sm.describe_secret(SecretId=secret_arn).get("KmsKeyId")
    if not key_id:
        return None
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    return str(meta["Arn"]) if meta.get("KeyManager") == "CUSTOMER" else None


def _role_policy(iam: Any, role: str, name: str) -> dict[str, Any] | None:
    try:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise
    return json.loads(document) if isinstance(document, str) else dict(document)


def _function_config(lam: Any, arn: str) -> dict[str, Any]:
    """``$LATEST``'s configuration, once no update is in progress."""
    lam.get_waiter("function_updated_v2").wait(FunctionName=arn)
    return dict(lam.get_function_configuration(FunctionName=arn))


def _update_function(lam: Any, arn: str, config: dict[str, Any], variables: dict[str, str],
                     layers: list[str] | None = None) -> None:
    """Replace the environment (and the layers, if given) in one call, refusing if the function changed since
    ``config`` was read (where AWS tells)."""
    guard: dict[str, Any] = {"RevisionId": config["RevisionId"]} if config.get("RevisionId") else {}
    if layers is not None:
        guard["Layers"] = layers
    lam.update_function_configuration(FunctionName=arn, Environment={"Variables": variables}, **guard)
    lam.get_waiter("function_updated_v2").wait(FunctionName=arn)


def _service_revision(ecs: Any, cluster: str, service: str) -> str:
    found = ecs.describe_services(cluster=cluster, services=[service]).get("services") or []
    if not found:
        raise SecretguardError(f"service {service} no longer exists")
    return str(found[0]["taskDefinition"])


def _copy_private(source: Path, target: Path) -> None:
    """A durable copy readable by the owner only (it holds the plaintext)."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
        shutil.copyfileobj(src, out)
        out.flush()
        os.fsync(out.fileno())


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a crash leaves the old file or the new one, never half of each."""
    temporary = path.with_name(f".{path.name}.secretguard-tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    shutil.copymode(path, temporary)
    os.replace(temporary, path)
    fsync_directory(path.parent)
