"""App Runner: the plain runtime environment variables of every service, from an image or a source repository.

``RuntimeEnvironmentSecrets`` are references to Secrets Manager or SSM, not values, and are not read. A code
repository whose configuration source is its ``apprunner.yaml`` keeps its variables in the repository, which
``scan git`` reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from secretguard.provenance import CloudResource
from secretguard.sources.aws_items import Environment, variables_of


def _runtime_variables(source: dict[str, Any]) -> dict[str, str]:
    image = source.get("ImageRepository", {}).get("ImageConfiguration", {})
    code = source.get("CodeRepository", {}).get("CodeConfiguration", {}).get("CodeConfigurationValues", {})
    return {**(image.get("RuntimeEnvironmentVariables") or {}), **(code.get("RuntimeEnvironmentVariables") or {})}


def service_arns(apprunner: Any) -> Iterator[str]:
    """Every service's ARN; botocore has no paginator for ``ListServices``, so its token is followed here."""
    token: dict[str, str] = {}
    while True:
        page = apprunner.list_services(**token)
        yield from (summary["ServiceArn"] for summary in page.get("ServiceSummaryList", []))
        if not page.get("NextToken"):
            return
        token = {"NextToken": page["NextToken"]}


def services(apprunner: Any, region: str) -> Iterator[Environment]:
    for arn in service_arns(apprunner):
        service = apprunner.describe_service(ServiceArn=arn)["Service"]
        variables = _runtime_variables(service.get("SourceConfiguration", {}))
        if variables:
            yield Environment(CloudResource("apprunner", arn, region), variables_of(variables.items()))


def read(client: Callable[[str], Any], region: str) -> Iterator[Environment]:
    yield from services(client("apprunner"), region)
