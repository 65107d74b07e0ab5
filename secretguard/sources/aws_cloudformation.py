"""CloudFormation: every stack's template (as written and as processed), its parameters and its outputs.

Deleted and failed stacks are read too (``ListStacks`` names them for 90 days, by stack ID): a template that
held a password keeps it after the stack is gone. Parameters marked ``NoEcho`` are not read: AWS masks them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from secretguard.provenance import CloudResource
from secretguard.sources.aws_items import Document, Environment, variables_of

MASKED = "****"


def _template_text(body: Any) -> str:
    """A template as text: boto3 hands a JSON template back already parsed, a YAML one as a string."""
    return body if isinstance(body, str) else json.dumps(body, indent=2)


def _no_echo(cloudformation: Any, stack_id: str) -> set[str]:
    """The stack's parameters marked ``NoEcho`` (AWS also masks their values as ``****``)."""
    try:
        summary = cloudformation.get_template_summary(StackName=stack_id)
    except cloudformation.exceptions.ClientError:
        return set()
    return {p["ParameterKey"] for p in summary.get("Parameters", []) if p.get("NoEcho")}


def _templates(cloudformation: Any, stack_id: str, region: str) -> Iterator[Document]:
    """The template as written and, when it has a transform (a macro, SAM), as processed."""
    original = _template_text(cloudformation.get_template(StackName=stack_id, TemplateStage="Original")
                              .get("TemplateBody") or "")
    yield Document(CloudResource("cloudformation", stack_id, region, path="template (Original)"), original)
    if "Transform" not in original:
        return
    try:
        body = cloudformation.get_template(StackName=stack_id, TemplateStage="Processed").get("TemplateBody")
    except cloudformation.exceptions.ClientError:
        return  # not processed (yet)
    processed = _template_text(body or "")
    if processed and processed != original:
        yield Document(CloudResource("cloudformation", stack_id, region, path="template (Processed)"), processed)


def stacks(cloudformation: Any, region: str) -> Iterator[Environment | Document]:
    """Each stack's templates, and its parameters and outputs as ``NAME=value`` lines."""
    live = {stack["StackId"]: stack for page in cloudformation.get_paginator("describe_stacks").paginate()
            for stack in page.get("Stacks", [])}
    for page in cloudformation.get_paginator("list_stacks").paginate():
        for summary in page.get("StackSummaries", []):
            stack_id = summary["StackId"]
            origin = CloudResource("cloudformation", stack_id, region)
            yield from _templates(cloudformation, stack_id, region)
            stack = live.get(stack_id) or cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
            hidden = _no_echo(cloudformation, stack_id) if stack.get("Parameters") else set()
            values = [(f"Parameters.{p['ParameterKey']}", p.get("ParameterValue", ""))
                      for p in stack.get("Parameters", [])
                      if p["ParameterKey"] not in hidden and p.get("ParameterValue") != MASKED]
            values += [(f"Outputs.{o['OutputKey']}", o.get("OutputValue", "")) for o in stack.get("Outputs", [])]
            if values:
                yield Environment(origin, variables_of(values))


def read(client: Callable[[str], Any], region: str) -> Iterator[Environment | Document]:
    yield from stacks(client("cloudformation"), region)
