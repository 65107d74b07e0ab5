"""Task and job definitions: resources ``migrate`` changes by registering a new revision, never by editing one.

ECS task definitions and AWS Batch job definitions work alike. A revision cannot change, so ``apply`` registers
the highest ACTIVE revision again with each moved variable taken out of its container's ``environment`` and put
into its ``secrets`` (``valueFrom`` the secret), everything else as it was; rollback deregisters the new revision,
and the original, never touched, is the latest again. A revision registered by a run that stopped before
journaling it is recognised by its content.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from secretguard.aws.migrate_plan import (
    READ_ONLY_JOB_FIELDS,
    READ_ONLY_TASK_FIELDS,
    active_job_definitions,
    active_revisions,
    task_family,
)
from secretguard.errors import SecretguardError

AsMoved = Callable[[str, dict[str, Any]], bool]
"""``as_moved(value, move)``: the variable holds the value the journaled move recorded."""


def journaled_value_from(moved: dict[str, Any]) -> str:
    """Where a moved variable's value is now (journals written before pairs moved together lack the field)."""
    return str(moved.get("value_from") or moved["secret_arn"])


def move_to_secrets(container: dict[str, Any], moved: dict[str, Any], where: str, as_moved: AsMoved) -> None:
    """Take the moved variable out of the container's ``environment`` and add it to its ``secrets``."""
    environment = container.get("environment") or []
    entries = [e for e in environment if e["name"] == moved["variable"]]
    if len(entries) != 1 or not as_moved(entries[0].get("value", ""), moved):
        raise SecretguardError(f"{where} is not as planned")
    container["environment"] = [e for e in environment if e["name"] != moved["variable"]]
    container.setdefault("secrets", []).append({"name": moved["variable"], "valueFrom": journaled_value_from(moved)})


class Revisions(Protocol):
    """One service's revisioned definitions, in one region."""

    def described(self, arn: str) -> dict[str, Any]:
        """The revision as the input that would register it again (read-only fields left out)."""
        ...

    def container(self, request: dict[str, Any], name: str | None) -> dict[str, Any]: ...

    def newer(self, base: str) -> list[str]:
        """ACTIVE revisions of ``base``'s family above it, newest first."""
        ...

    def latest(self, base: str) -> str | None: ...

    def register(self, request: dict[str, Any]) -> str: ...

    def deregister(self, arn: str) -> None: ...

    def is_active(self, arn: str) -> bool: ...


class TaskDefinitions:
    """ECS task definitions; a moved variable's container is named in the move."""

    def __init__(self, ecs: Any) -> None:
        self.ecs = ecs

    def described(self, arn: str) -> dict[str, Any]:
        described = self.ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        request = {k: v for k, v in described["taskDefinition"].items() if k not in READ_ONLY_TASK_FIELDS}
        if described.get("tags"):
            request["tags"] = described["tags"]
        return request

    def container(self, request: dict[str, Any], name: str | None) -> dict[str, Any]:
        return next(c for c in request["containerDefinitions"] if c["name"] == name)

    def newer(self, base: str) -> list[str]:
        family, revision = task_family(base)
        return [arn for arn in active_revisions(self.ecs, family) if task_family(arn)[1] > revision]

    def latest(self, base: str) -> str | None:
        return next(iter(active_revisions(self.ecs, task_family(base)[0])), None)

    def register(self, request: dict[str, Any]) -> str:
        return str(self.ecs.register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"])

    def deregister(self, arn: str) -> None:
        self.ecs.deregister_task_definition(taskDefinition=arn)

    def is_active(self, arn: str) -> bool:
        return bool(self.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"].get("status") == "ACTIVE")


class JobDefinitions:
    """AWS Batch job definitions with one container (``containerProperties``)."""

    def __init__(self, batch: Any) -> None:
        self.batch = batch

    def _describe(self, arn: str) -> dict[str, Any]:
        found = self.batch.describe_job_definitions(jobDefinitions=[arn]).get("jobDefinitions") or []
        if not found:
            raise SecretguardError(f"{arn}: no such job definition")
        return dict(found[0])

    def described(self, arn: str) -> dict[str, Any]:
        return {k: v for k, v in self._describe(arn).items() if k not in READ_ONLY_JOB_FIELDS}

    def container(self, request: dict[str, Any], name: str | None) -> dict[str, Any]:
        container: dict[str, Any] = request["containerProperties"]
        return container

    def newer(self, base: str) -> list[str]:
        family, revision = task_family(base)
        return [d["jobDefinitionArn"] for d in active_job_definitions(self.batch, family) if d["revision"] > revision]

    def latest(self, base: str) -> str | None:
        return next((d["jobDefinitionArn"] for d in active_job_definitions(self.batch, task_family(base)[0])), None)

    def register(self, request: dict[str, Any]) -> str:
        return str(self.batch.register_job_definition(**request)["jobDefinitionArn"])

    def deregister(self, arn: str) -> None:
        self.batch.deregister_job_definition(jobDefinition=arn)

    def is_active(self, arn: str) -> bool:
        return self._describe(arn).get("status") == "ACTIVE"


def register_request(revisions: Revisions, base: str, moved: list[dict[str, Any]], as_moved: AsMoved) -> dict[str, Any]:
    """``base`` with each moved variable taken out of ``environment`` and added to ``secrets``, all else as it is."""
    request = revisions.described(base)
    for m in moved:
        name = m.get("container")
        container = revisions.container(request, name)
        move_to_secrets(container, m, f"{base}: {name + '/' if name else ''}{m['variable']}", as_moved)
    return request


def registered(revisions: Revisions, base: str, request: dict[str, Any]) -> list[str]:
    """Active revisions newer than ``base`` that are exactly ``request``, newest first: registered by this run,
    by a run that then stopped, or twice by one call that was retried."""
    return [arn for arn in revisions.newer(base) if revisions.described(arn) == request]
