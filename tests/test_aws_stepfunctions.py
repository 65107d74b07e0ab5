"""``scan aws --services stepfunctions``: every published version's definition, not only the current one.

moto has no ``ListStateMachineVersions``; a loopback stand-in answers it with the versions moto published, and
moto serves each version's definition (``DescribeStateMachine`` on the version ARN).
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.aws_standin import JsonStandIn, refused, stand_in  # noqa: F401  (stand_in is a fixture)
from tests.test_aws_kinds import REGION, role_arn
from tests.test_aws_scan import PASSWORD, SENDGRID, at, run_scan


def definition(authorization: str) -> str:
    return json.dumps({"StartAt": "Notify", "States": {"Notify": {
        "Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": True,
        "Parameters": {"ApiEndpoint": "https://api.sendgrid.com/v3/mail/send", "Method": "POST",
                       "Headers": {"Authorization": authorization}}}}}, indent=2)


def versions_in_two_pages(versions: list[str]) -> Any:
    """``ListStateMachineVersions`` as AWS pages it: newest first, one version a page."""
    def answer(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        mine = [v for v in reversed(versions) if v.rpartition(":")[0] == body["stateMachineArn"]]
        start = int(body.get("nextToken") or 0)
        page: dict[str, Any] = {"stateMachineVersions": [{"stateMachineVersionArn": v, "creationDate": 0}
                                                         for v in mine[start:start + 1]]}
        if start + 1 < len(mine):
            page["nextToken"] = str(start + 1)
        return 200, page
    return answer


def test_a_secret_only_an_old_version_keeps_is_found_at_that_version(stand_in: JsonStandIn) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    created = sfn.create_state_machine(name="notify", definition=definition(f"Bearer {SENDGRID}"),
                                       roleArn=role_arn(), publish=True)
    arn = created["stateMachineArn"]
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=definition("{% $token %}"), publish=True)
    stand_in.answers["ListStateMachineVersions"] = versions_in_two_pages(
        [created["stateMachineVersionArn"], updated["stateMachineVersionArn"]])

    result = run_scan(services=("stepfunctions",))

    [found] = at(result.findings, SENDGRID)
    assert (found.source, found.resource, found.path) == ("stepfunctions", f"{arn}:1", "definition")
    assert found.line == 12  # the Authorization header, in the definition as stored
    assert stand_in.calls.count("ListStateMachineVersions") == 2  # both pages
    assert stand_in.calls.count("DescribeStateMachine") == 3  # the current definition and each version
    assert result.summary.unreadable == ()


def test_a_state_machine_aws_will_not_describe_is_named_and_the_others_are_read(stand_in: JsonStandIn) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(name="notify", definition=definition(f"Bearer {SENDGRID}"),
                                   roleArn=role_arn())["stateMachineArn"]
    stand_in.answers["ListStateMachineVersions"] = refused("states:ListStateMachineVersions")
    batch = boto3.client("batch", region_name=REGION)
    batch.register_job_definition(jobDefinitionName="nightly", type="container", containerProperties={
        "image": "busybox", "vcpus": 1, "memory": 128, "environment": [{"name": "DB_PASSWORD", "value": PASSWORD}]})

    result = run_scan(services=("stepfunctions", "batch"))

    assert [o.resource for o in at(result.findings, SENDGRID)] == [arn]  # the current definition, read first
    assert [o.source for o in at(result.findings, PASSWORD)] == ["batch"]
    [(what, reason)] = result.summary.unreadable
    assert what == arn
    assert reason == ("document not readable: ListStateMachineVersions: AccessDeniedException: "
                      "User is not authorized to perform: states:ListStateMachineVersions")
