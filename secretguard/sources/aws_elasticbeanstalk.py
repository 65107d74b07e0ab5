"""Elastic Beanstalk: every option value of every running environment (its deployed configuration and any draft)
and of every saved configuration template, named ``namespace:option``.

Environment properties live in ``aws:elasticbeanstalk:application:environment``, but other options hold secrets
too (``aws:rds:dbinstance:DBPassword``), so every value is scanned. A saved template outlives the environment it
was saved from: a password removed from the environment can still be in the template.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from secretguard.provenance import CloudResource
from secretguard.sources.aws_items import Document, Environment, guarded, variables_of


def _settings(beanstalk: Any, arn: str, region: str, **which: str) -> Iterator[Environment | Document]:
    """The option values of one environment or template (``which`` names it); an environment's undeployed draft,
    if any, as a resource of its own. One AWS refuses to describe is named, and the others are still read."""
    yield from guarded(CloudResource("elasticbeanstalk", arn, region), _options(beanstalk, arn, region, **which))


def _options(beanstalk: Any, arn: str, region: str, **which: str) -> Iterator[Environment]:
    for configuration in beanstalk.describe_configuration_settings(**which).get("ConfigurationSettings", []):
        options = [(f"{o.get('Namespace')}:{o.get('OptionName')}", o["Value"])
                   for o in configuration.get("OptionSettings", []) if o.get("Value")]
        draft = " draft" if configuration.get("DeploymentStatus") == "pending" else ""
        if options:
            yield Environment(CloudResource("elasticbeanstalk", arn + draft, region), variables_of(options))


def template_arn(application_arn: str, template: str) -> str:
    """A saved configuration's ARN, built from its application's (``DescribeApplications`` gives no other)."""
    prefix, _, application = application_arn.partition(":application/")
    return f"{prefix}:configurationtemplate/{application}/{template}"


def configurations(beanstalk: Any, region: str) -> Iterator[Environment | Document]:
    for application in beanstalk.describe_applications().get("Applications", []):
        name = application["ApplicationName"]
        for template in application.get("ConfigurationTemplates", []):
            yield from _settings(beanstalk, template_arn(application["ApplicationArn"], template), region,
                                 ApplicationName=name, TemplateName=template)
    for page in beanstalk.get_paginator("describe_environments").paginate(IncludeDeleted=False):
        for environment in page.get("Environments", []):
            yield from _settings(beanstalk, environment["EnvironmentArn"], region,
                                 ApplicationName=environment["ApplicationName"],
                                 EnvironmentName=environment["EnvironmentName"])


def read(client: Callable[[str], Any], region: str) -> Iterator[Environment | Document]:
    yield from configurations(client("elasticbeanstalk"), region)
