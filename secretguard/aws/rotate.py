"""Rotate a leaked IAM user key from the owner's side: new key into Secrets Manager, old key deactivated, then deleted.

``rotate`` creates a second key for the same user, stores it in Secrets Manager (a new version of the given
secret, or of ``secretguard/iam-user/<user>``), deactivates the leaked key and, with ``quarantine``, attaches
AWS's ``AWSCompromisedKeyQuarantineV3`` to the user. ``finalize`` deletes the old key once the grace period
is over (and detaches the quarantine policy it attached). ``rollback`` undoes what the journal says began.

Every step goes through the migration journal (append-only, fsynced, one process at a time): it names users,
key IDs, secret ARNs and version IDs, never a secret. The new key's secret lives only in this process until
Secrets Manager holds it, so a run killed before that deletes the unsaved key and makes another.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from secretguard.aws.keys import account_from_key_id
from secretguard.aws.migrate_journal import Journal, StepKey
from secretguard.aws.session import error_code, error_line
from secretguard.errors import SecretguardError
from secretguard.findings import redact

QUARANTINE_POLICY = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"
SECRET_NAME = "secretguard/iam-user/{user}"
RECOVERY_WINDOW_DAYS = 7
NOT_FOUND = ("NoSuchEntity", "NoSuchEntityException", "ResourceNotFoundException")

Echo = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Clients:
    """The owner's IAM and Secrets Manager clients; nothing is ever signed with the leaked key."""

    iam: Any
    secrets: Any
    account: str


def journal_path(key_id: str, directory: Path | None = None) -> Path:
    """``rotate-<KEY_ID>.journal.jsonl`` in ``directory`` (default: the current one)."""
    return (directory or Path.cwd()) / f"rotate-{key_id}.journal.jsonl"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _step(journal: Journal, key: StepKey, action: Callable[[], dict[str, Any] | None], **intent: Any) -> dict[str, Any]:
    """Journal ``begin`` (with ``intent``), act, then ``done`` with what ``action`` returns; a failure is journaled."""
    journal.append("begin", key, **intent)
    try:
        result = action() or {}
    except (ClientError, BotoCoreError) as exc:
        journal.append("failed", key, error=error_line(exc))
        raise SecretguardError(f"{key.step}: {error_line(exc)}; run the same command again to resume") from None
    journal.append("done", key, **result)
    return journal.merged(key)


def _keys(clients: Clients, user: str) -> list[dict[str, Any]]:
    pages = clients.iam.get_paginator("list_access_keys").paginate(UserName=user)
    return [k for page in pages for k in page["AccessKeyMetadata"]]


def _describe(keys: list[dict[str, Any]], shown: Callable[[str], str]) -> str:
    return ", ".join(f"{shown(k['AccessKeyId'])} ({k['Status']}, created {k['CreateDate']:%Y-%m-%d})" for k in keys)


def _owner(clients: Clients, key_id: str) -> str:
    account = account_from_key_id(key_id)
    if account is not None and account != clients.account:
        raise SecretguardError(f"{redact(key_id)} belongs to account {account}, not to {clients.account}: "
                               "run rotate with that account's credentials")
    try:
        user = clients.iam.get_access_key_last_used(AccessKeyId=key_id).get("UserName")
    except ClientError as exc:
        if error_code(exc) in NOT_FOUND:
            raise SecretguardError(f"{redact(key_id)}: no such key in account {clients.account}") from None
        raise SecretguardError(f"iam:GetAccessKeyLastUsed: {error_line(exc)}") from None
    if not user or user == "root":
        raise SecretguardError(
            f"{redact(key_id)} is a root user key: delete it in the console, root keys cannot be rotated")
    return str(user)


def _rotatable_user(clients: Clients, key_id: str, shown: Callable[[str], str]) -> str:
    """The key's user, checked: in this account, not root, and with room for a second key."""
    user = _owner(clients, key_id)
    keys = _keys(clients, user)
    if len(keys) >= 2:
        raise SecretguardError(f"user {user} already has two access keys: {_describe(keys, shown)}; AWS allows "
                               "two, so delete the one that is not in use first")
    return user


def _created_keys(journal: Journal, clients: Clients, key: StepKey, user: str, old: str) -> list[str]:
    """Keys of ``user`` that this rotation created: neither the old key nor one the user had before."""
    before = set((journal.first(key, "begin") or {}).get("existing", []))
    return [k["AccessKeyId"] for k in _keys(clients, user)
            if k["AccessKeyId"] != old and k["AccessKeyId"] not in before]


def _create_and_store(journal: Journal, clients: Clients, run: dict[str, Any]) -> dict[str, Any]:
    old, user = run["key_id"], run["user"]
    create, store = StepKey(old, "create-key"), StepKey(old, "store")
    if journal.is_done(store):
        return journal.merged(store)
    if (journal.last(create) or {"event": "undone"})["event"] != "undone":
        # A run that died before storing its key: nobody has that key's secret, so it goes.
        for unsaved in _created_keys(journal, clients, create, user, old):
            _delete_key(clients, user, unsaved)
            journal.append("undone", create, discarded=unsaved)
    existing = [k["AccessKeyId"] for k in _keys(clients, user)]
    created: dict[str, Any] = {}

    def create_key() -> dict[str, Any]:
        created.update(clients.iam.create_access_key(UserName=user)["AccessKey"])
        return {"new_key": created["AccessKeyId"]}

    new_key = _step(journal, create, create_key, user=user, existing=existing)["new_key"]
    value = json.dumps({"AccessKeyId": new_key, "SecretAccessKey": created["SecretAccessKey"]})
    first = journal.first(store, "begin")
    target = (first or {}).get("secret") or run.get("secret_id") or SECRET_NAME.format(user=user)
    previous = _current_version(clients, target) if first is None else first.get("previous")
    existed = previous is not None if first is None else first.get("existed")
    token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"secretguard-rotate:{journal.run_start()['ts']}:{new_key}"))  # type: ignore[index]

    def put() -> dict[str, Any]:
        if _current_version(clients, target) is None and run.get("secret_id") is None:
            answer = clients.secrets.create_secret(
                Name=target, SecretString=value, ClientRequestToken=token,
                Description=f"Access key of IAM user {user}, rotated by secretguard",
                Tags=[{"Key": "secretguard:iam-user", "Value": user}])
        else:
            answer = clients.secrets.put_secret_value(SecretId=target, SecretString=value, ClientRequestToken=token)
        return {"secret_arn": answer["ARN"], "version": answer["VersionId"]}

    result = _step(journal, store, put, secret=target, previous=previous, existed=existed, new_key=new_key)
    return result | {"new_key": new_key, "new_secret": created["SecretAccessKey"]}


def _current_version(clients: Clients, secret: str) -> str | None:
    """The version ID labelled AWSCURRENT, or None when the secret does not exist."""
    try:
        stages = clients.secrets.describe_secret(SecretId=secret).get("VersionIdsToStages", {})
    except ClientError as exc:
        if error_code(exc) in NOT_FOUND:
            return None
        raise
    return next((v for v, labels in stages.items() if "AWSCURRENT" in labels), None)


def _grace_ends(journal: Journal, run: dict[str, Any]) -> datetime.datetime:
    """When the old key may be deleted: ``grace_days`` after it was deactivated."""
    deactivated = datetime.datetime.fromisoformat(journal.merged(StepKey(run["key_id"], "deactivate"))["ts"])
    return deactivated + datetime.timedelta(days=run["grace_days"])


def _attached(clients: Clients, user: str, policy: str) -> bool:
    pages = clients.iam.get_paginator("list_attached_user_policies").paginate(UserName=user)
    return any(p["PolicyArn"] == policy for page in pages for p in page["AttachedPolicies"])


def rotate(key_id: str, clients: Clients, journal_file: Path, *, secret_id: str | None = None,
           grace_days: int = 7, quarantine: bool = False, reveal: bool = False, echo: Echo = print) -> None:
    """Create, store, deactivate (and quarantine); run again to resume after a failure or a kill."""
    shown = (lambda s: s) if reveal else redact
    checked = None if journal_file.exists() else _rotatable_user(clients, key_id, shown)  # refuse before writing
    with Journal.open(journal_file, create=True) as journal:
        run = journal.run_start() or journal.append(
            "start", key_id=key_id, user=checked or _rotatable_user(clients, key_id, shown), secret_id=secret_id,
            grace_days=grace_days, quarantine=quarantine)
        if run["key_id"] != key_id:
            raise SecretguardError(f"{journal.path}: this journal rotates another key")
        user = run["user"]
        if any(r.get("rolled_back") for r in journal.records):
            raise SecretguardError(
                f"{journal.path}: this rotation was rolled back; move the journal away to start again")
        if journal.is_done(StepKey(key_id, "delete-old")):
            raise SecretguardError(f"{shown(key_id)} was already rotated and deleted")
        stored = _create_and_store(journal, clients, run)
        step = StepKey(key_id, "deactivate")
        if not journal.is_done(step):
            _step(journal, step, lambda: _set_status(clients, user, key_id, "Inactive"))
        step = StepKey(key_id, "quarantine")
        if run.get("quarantine") and not journal.is_done(step):
            first = journal.first(step, "begin")  # a killed run may have attached it: that was not "already"
            already = first["already"] if first else _attached(clients, user, QUARANTINE_POLICY)
            _step(journal, step, lambda: None if already else _attach(clients, user, QUARANTINE_POLICY),
                  policy=QUARANTINE_POLICY, already=already)
        due = _grace_ends(journal, run)
        echo(f"new key {shown(stored['new_key'])} for user {user} stored in {stored['secret_arn']} "
             f"(version {stored['version']})")
        if reveal and "new_secret" in stored:
            echo(f"new secret access key: {stored['new_secret']}")
        echo(f"old key {shown(key_id)} is inactive" + (f"; {QUARANTINE_POLICY} is attached to {user}"
                                                        if run.get("quarantine") else ""))
        echo(f"move the workload to the new key, then after {due:%Y-%m-%d %H:%M} UTC run "
             f"`secretguard aws rotate {shown(key_id)} --finalize` to delete the old key")


def finalize(key_id: str, clients: Clients, journal_file: Path, *, reveal: bool = False,
             now: datetime.datetime | None = None, echo: Echo = print) -> None:
    """Delete the old key once the grace period is over, and detach the quarantine policy rotate attached."""
    shown = (lambda s: s) if reveal else redact
    with Journal.open(journal_file, create=False) as journal:
        run = journal.run_start()
        deactivate = StepKey(key_id, "deactivate")
        if run is None or run.get("key_id") != key_id or not journal.is_done(deactivate):
            raise SecretguardError(f"{journal_file}: {shown(key_id)} has not been rotated yet: run rotate first")
        user = run["user"]
        due = _grace_ends(journal, run)
        if (now or _now()) < due:
            raise SecretguardError(
                f"the grace period ends {due:%Y-%m-%d %H:%M} UTC; the old key stays inactive until then")
        delete = StepKey(key_id, "delete-old")
        if not journal.is_done(delete):
            status = {k["AccessKeyId"]: k["Status"] for k in _keys(clients, user)}.get(key_id)
            if status == "Active":
                raise SecretguardError(f"{shown(key_id)} was made active again since the rotation: something still "
                                       "needs it; move that to the new key, deactivate the old one and finalize again")
            new_key = journal.merged(StepKey(key_id, "create-key"))["new_key"]
            used = clients.iam.get_access_key_last_used(AccessKeyId=new_key).get("AccessKeyLastUsed", {})
            if not used.get("LastUsedDate"):
                echo(f"note: the new key {shown(new_key)} has never been used: is the workload on it?")
            _step(journal, delete, lambda: _delete_key(clients, user, key_id))
        quarantined = journal.merged(StepKey(key_id, "quarantine"))
        step = StepKey(key_id, "unquarantine")
        if (journal.is_done(StepKey(key_id, "quarantine")) and not quarantined.get("already")
                and not journal.is_done(step)):
            _step(journal, step, lambda: _detach(clients, user, QUARANTINE_POLICY), policy=QUARANTINE_POLICY)
        echo(f"old key {shown(key_id)} deleted" + (f"; {QUARANTINE_POLICY} detached from {user}"
                                                    if journal.is_done(step) else ""))


def _unless_gone(call: Callable[..., Any], **kwargs: Any) -> None:
    """``call(**kwargs)``; a resource that no longer exists counts as done (a retried delete or detach)."""
    try:
        call(**kwargs)
    except ClientError as exc:
        if error_code(exc) not in NOT_FOUND:
            raise


def _delete_key(clients: Clients, user: str, key_id: str) -> None:
    _unless_gone(clients.iam.delete_access_key, UserName=user, AccessKeyId=key_id)


def _delete_keys(clients: Clients, user: str, key_ids: list[str]) -> None:
    for key_id in key_ids:
        _delete_key(clients, user, key_id)


def _set_status(clients: Clients, user: str, key_id: str, status: str) -> None:
    clients.iam.update_access_key(UserName=user, AccessKeyId=key_id, Status=status)


def _attach(clients: Clients, user: str, policy: str) -> None:
    clients.iam.attach_user_policy(UserName=user, PolicyArn=policy)


def _detach(clients: Clients, user: str, policy: str) -> None:
    _unless_gone(clients.iam.detach_user_policy, UserName=user, PolicyArn=policy)


def _undo(journal: Journal, key: StepKey, action: Callable[[], None]) -> None:
    journal.append("undo-begin", key)
    try:
        action()
    except (ClientError, BotoCoreError) as exc:
        journal.append("failed", key, error=error_line(exc))
        raise SecretguardError(f"undo {key.step}: {error_line(exc)}; run rollback again to resume") from None
    journal.append("undone", key)


def rollback(journal_file: Path, clients: Clients, *, reveal: bool = False, echo: Echo = print) -> None:
    """Undo, newest first, every step the journal says began: the old key works again, the new one is gone."""
    shown = (lambda s: s) if reveal else redact
    with Journal.open(journal_file, create=False) as journal:
        run = journal.run_start()
        if run is None:
            raise SecretguardError(f"{journal_file}: nothing was done")
        old, user = run["key_id"], run["user"]
        deleting = journal.last(StepKey(old, "delete-old"))
        if deleting is not None and old not in {k["AccessKeyId"] for k in _keys(clients, user)}:
            raise SecretguardError(f"{shown(old)} was deleted by --finalize: there is no old key to go back to")
        for key in journal.pending():
            info = journal.merged(key)
            if key.step == "quarantine" and not info.get("already"):
                _undo(journal, key, lambda: _detach(clients, user, QUARANTINE_POLICY))
                echo(f"{QUARANTINE_POLICY} detached from {user}")
            elif key.step == "deactivate":
                _undo(journal, key, lambda: _set_status(clients, user, old, "Active"))
                echo(f"old key {shown(old)} active again")
            elif key.step == "store":
                _undo(journal, key, lambda: _restore_secret(clients, journal.first(key, "begin") or {}))  # noqa: B023
                echo(f"{info['secret']}: " + ("previous version is current again" if info.get("existed")
                                              else f"scheduled for deletion in {RECOVERY_WINDOW_DAYS} days"))
            elif key.step == "create-key":
                _undo(journal, key,  # _undo calls the action at once
                      lambda: _delete_keys(clients, user, _created_keys(journal, clients, key, user, old)))  # noqa: B023
                echo(f"new key {shown(info['new_key']) if info.get('new_key') else '(unsaved)'} deleted")
            else:  # an already attached quarantine policy, or a finalize step that changed nothing
                journal.append("undone", key)
        journal.append("finish", rolled_back=True)
        echo("rolled back")


def _restore_secret(clients: Clients, began: dict[str, Any]) -> None:
    secret = began["secret"]
    if not began.get("existed"):
        _unless_gone(clients.secrets.delete_secret, SecretId=secret, RecoveryWindowInDays=RECOVERY_WINDOW_DAYS)
        return
    current = _current_version(clients, secret)
    if current != began["previous"]:
        clients.secrets.update_secret_version_stage(SecretId=secret, VersionStage="AWSCURRENT",
                                                    MoveToVersionId=began["previous"], RemoveFromVersionId=current)
