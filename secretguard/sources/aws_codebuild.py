"""CodeBuild: each project's ``PLAINTEXT`` environment variables and its inline build spec.

Variables of type ``PARAMETER_STORE`` or ``SECRETS_MANAGER`` are references, not values, and are not read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from secretguard.provenance import CloudResource
from secretguard.sources.aws_items import Document, Environment, variables_of

BATCH = 100
"""BatchGetProjects takes at most this many names."""


def projects(codebuild: Any, region: str) -> Iterator[Environment | Document]:
    names = [name for page in codebuild.get_paginator("list_projects").paginate() for name in page.get("projects", [])]
    for start in range(0, len(names), BATCH):
        for project in codebuild.batch_get_projects(names=names[start:start + BATCH]).get("projects", []):
            arn = project.get("arn") or project["name"]
            plain = [(v["name"], v.get("value", ""))
                     for v in project.get("environment", {}).get("environmentVariables", [])
                     if v.get("type", "PLAINTEXT") == "PLAINTEXT"]
            if plain:
                yield Environment(CloudResource("codebuild", arn, region), variables_of(plain))
            buildspec = project.get("source", {}).get("buildspec") or ""
            if "\n" in buildspec:  # inline; a single line names a file in the source
                yield Document(CloudResource("codebuild", arn, region, path="buildspec"), buildspec)


def read(client: Callable[[str], Any], region: str) -> Iterator[Environment | Document]:
    yield from projects(client("codebuild"), region)
