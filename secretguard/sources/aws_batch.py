"""AWS Batch: the container environment and command of every job definition revision, ACTIVE and INACTIVE.

A deregistered revision stays readable, so a password removed in revision 2 is still in revision 1.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from typing import Any

from secretguard.provenance import CloudResource
from secretguard.sources.aws_items import Document, Environment, variables_of


def _containers(definition: dict[str, Any]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """(container name, properties) of each container of a job definition: single-container, multi-node or ECS."""
    if definition.get("containerProperties"):
        yield None, definition["containerProperties"]
    for node_range in definition.get("nodeProperties", {}).get("nodeRangeProperties", []):
        yield f"nodes {node_range.get('targetNodes')}", node_range.get("container") or {}
    for task in definition.get("ecsProperties", {}).get("taskProperties", []):
        for container in task.get("containers", []):
            yield container.get("name"), container


def job_definitions(batch: Any, region: str) -> Iterator[Environment | Document]:
    for page in batch.get_paginator("describe_job_definitions").paginate():
        for definition in page.get("jobDefinitions", []):
            arn = definition.get("jobDefinitionArn") or f"{definition['jobDefinitionName']}:{definition['revision']}"
            for name, container in _containers(definition):
                origin = CloudResource("batch", arn, region, container=name)
                plain = [(e["name"], e.get("value", "")) for e in container.get("environment") or []]
                if plain:
                    yield Environment(origin, variables_of(plain))
                if container.get("command"):
                    yield Document(CloudResource("batch", arn, region, container=name, path="command"),
                                   shlex.join(container["command"]))


def read(client: Callable[[str], Any], region: str) -> Iterator[Environment | Document]:
    yield from job_definitions(client("batch"), region)
