"""SSM: every version of every plain parameter, and every version of every document the account owns.

A ``String`` or ``StringList`` parameter is plaintext by definition (a ``SecureString`` is not read), and
``GetParameterHistory`` keeps each value it ever had: a password overwritten last year is still there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from secretguard.provenance import CloudResource
from secretguard.sources.aws_items import Document, Environment, variables_of

PLAIN_TYPES = ("String", "StringList")


def parameter_versions(ssm: Any, region: str) -> Iterator[Environment]:
    """Each version of each plain parameter, as one ``NAME=value`` environment."""
    for page in ssm.get_paginator("describe_parameters").paginate(PaginationConfig={"PageSize": 50}):
        for parameter in page.get("Parameters", []):
            if parameter.get("Type") not in PLAIN_TYPES:
                continue
            name = parameter["Name"]
            arn = parameter.get("ARN") or f"ssm:{region}:parameter{'' if name.startswith('/') else '/'}{name}"
            for history in ssm.get_paginator("get_parameter_history").paginate(
                    Name=name, PaginationConfig={"PageSize": 50}):
                for version in history.get("Parameters", []):
                    if version.get("Type") in PLAIN_TYPES:
                        origin = CloudResource("ssm", f"{arn} version {version.get('Version')}", region)
                        yield Environment(origin, variables_of([(name, version.get("Value", ""))]))


def document_versions(ssm: Any, region: str) -> Iterator[Document]:
    """Each version of each SSM document the account owns (Run Command and Automation scripts).

    Versions are numbered from 1 to ``LatestVersion``; one that was deleted is passed over.
    """
    for page in ssm.get_paginator("list_documents").paginate(Filters=[{"Key": "Owner", "Values": ["Self"]}]):
        for document in page.get("DocumentIdentifiers", []):
            name = document["Name"]
            latest = ssm.describe_document(Name=name)["Document"].get("LatestVersion", "1")
            for number in range(1, int(latest) + 1):
                try:
                    content = ssm.get_document(Name=name, DocumentVersion=str(number)).get("Content", "")
                except ssm.exceptions.InvalidDocumentVersion:
                    continue
                origin = CloudResource("ssm", f"ssm:{region}:document/{name} version {number}", region)
                yield Document(origin, content)


def read(client: Callable[[str], Any], region: str) -> Iterator[Environment | Document]:
    ssm = client("ssm")
    yield from parameter_versions(ssm, region)
    yield from document_versions(ssm, region)
