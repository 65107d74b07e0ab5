"""Step Functions: the definition of every state machine as it is now and of every version it published.

A published version keeps the definition it had (a password in a task's ``Parameters`` stays in version 1 after
version 2 drops it), so each version is read with ``DescribeStateMachine`` on its version ARN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from secretguard.provenance import CloudResource
from secretguard.sources.aws_items import Document, guarded


def _definition(sfn: Any, arn: str, region: str) -> Document:
    """The definition of a state machine or of one of its versions (``arn`` ends in ``:N``)."""
    definition = sfn.describe_state_machine(stateMachineArn=arn).get("definition", "")
    return Document(CloudResource("stepfunctions", arn, region, path="definition"), definition)


def version_arns(sfn: Any, arn: str) -> Iterator[str]:
    """The ARN of each version the state machine published (``ListStateMachineVersions``, which botocore does
    not paginate)."""
    token: dict[str, str] = {}
    while True:
        page = sfn.list_state_machine_versions(stateMachineArn=arn, **token)
        yield from (version["stateMachineVersionArn"] for version in page.get("stateMachineVersions", []))
        if not page.get("nextToken"):
            return
        token = {"nextToken": page["nextToken"]}


def _definitions(sfn: Any, arn: str, region: str) -> Iterator[Document]:
    yield _definition(sfn, arn, region)
    for version in version_arns(sfn, arn):
        yield _definition(sfn, version, region)


def state_machines(sfn: Any, region: str) -> Iterator[Document]:
    """The current definition and every version's definition of every state machine in the region; a state
    machine AWS will not describe is one document not read, and the others go on."""
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page.get("stateMachines", []):
            arn = machine["stateMachineArn"]
            yield from guarded(CloudResource("stepfunctions", arn, region), _definitions(sfn, arn, region))


def read(client: Callable[[str], Any], region: str) -> Iterator[Document]:
    yield from guarded(CloudResource("stepfunctions", f"stepfunctions:{region} state machines", region),
                       state_machines(client("stepfunctions"), region))
