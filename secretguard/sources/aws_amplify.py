"""Amplify: the environment variables, basic-auth password and build spec of every app, of the settings it gives
branches it creates, and of every branch.

A branch's variables override the app's, so a secret removed from the app can live on in one branch.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from typing import Any

from secretguard.provenance import CloudResource
from secretguard.sources.aws_items import Document, Environment, guarded, variables_of

BASIC_AUTH = "basicAuthCredentials"
AUTO_BRANCH = "autoBranchCreationConfig"


def basic_auth_password(encoded: str) -> str:
    """The password of Amplify's basic-auth credentials (base64 of ``user:password``), or the value as given."""
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return encoded
    return decoded.partition(":")[2] if ":" in decoded else decoded


def settings(values: dict[str, Any], arn: str, region: str,
             part: str | None = None) -> Iterator[Environment | Document]:
    """The variables and basic-auth password (one environment) and the build spec of an app, a branch, or
    ``part`` of an app (the settings it gives the branches it creates)."""
    variables = dict(values.get("environmentVariables") or {})
    if values.get(BASIC_AUTH):
        variables[BASIC_AUTH] = basic_auth_password(values[BASIC_AUTH])
    if variables:
        yield Environment(CloudResource("amplify", arn, region, path=part), variables_of(variables.items()))
    if values.get("buildSpec"):
        spec = f"{part}.buildSpec" if part else "buildSpec"
        yield Document(CloudResource("amplify", arn, region, path=spec), values["buildSpec"])


def branches(amplify: Any, app_id: str, region: str) -> Iterator[Environment | Document]:
    for page in amplify.get_paginator("list_branches").paginate(appId=app_id):
        for branch in page.get("branches", []):
            yield from settings(branch, branch["branchArn"], region)


def apps(amplify: Any, region: str) -> Iterator[Environment | Document]:
    """Each app's settings and its branches'; an app whose branches AWS refuses to list is named, the rest go on."""
    for page in amplify.get_paginator("list_apps").paginate():
        for app in page.get("apps", []):
            yield from settings(app, app["appArn"], region)
            if app.get(AUTO_BRANCH):
                yield from settings(app[AUTO_BRANCH], app["appArn"], region, AUTO_BRANCH)
            yield from guarded(CloudResource("amplify", app["appArn"], region, path="branches"),
                               branches(amplify, app["appId"], region))


def read(client: Callable[[str], Any], region: str) -> Iterator[Environment | Document]:
    yield from apps(client("amplify"), region)
