"""API Gateway: the stage variables of every stage of every REST API (often a backend's credentials)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from secretguard.provenance import CloudResource
from secretguard.sources.aws_items import Environment, variables_of


def stagevariables_of(apigateway: Any, region: str) -> Iterator[Environment]:
    for page in apigateway.get_paginator("get_rest_apis").paginate():
        for api in page.get("items", []):
            for stage in apigateway.get_stages(restApiId=api["id"]).get("item", []):
                variables = stage.get("variables") or {}
                if variables:
                    arn = f"arn:aws:apigateway:{region}::/restapis/{api['id']}/stages/{stage['stageName']}"
                    yield Environment(CloudResource("apigateway", arn, region), variables_of(variables.items()))


def read(client: Callable[[str], Any], region: str) -> Iterator[Environment]:
    yield from stagevariables_of(client("apigateway"), region)
