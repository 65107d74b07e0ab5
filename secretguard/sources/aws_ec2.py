"""EC2 user data: of every instance, every launch template version and every Auto Scaling launch configuration.

User data is base64, often of gzip; both are undone before scanning. A launch template keeps every version
it ever had, so the version that held a password is still there after a new default version replaced it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from secretguard.provenance import CloudResource
from secretguard.sources.aws_items import Document, user_data_text


def _user_data(origin: CloudResource, encoded: str | None) -> Iterator[Document]:
    if encoded:
        text, error = user_data_text(encoded)
        yield Document(origin, text, error)


def instances(ec2: Any, region: str) -> Iterator[Document]:
    for page in ec2.get_paginator("describe_instances").paginate():
        for reservation in page.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                instance_id = instance["InstanceId"]
                attribute = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
                yield from _user_data(CloudResource("ec2", f"{instance_id} user data", region),
                                      (attribute.get("UserData") or {}).get("Value"))


def launch_template_versions(ec2: Any, region: str) -> Iterator[Document]:
    for page in ec2.get_paginator("describe_launch_templates").paginate():
        for template in page.get("LaunchTemplates", []):
            template_id = template["LaunchTemplateId"]
            versions = ec2.get_paginator("describe_launch_template_versions").paginate(LaunchTemplateId=template_id)
            for versions_page in versions:
                for version in versions_page.get("LaunchTemplateVersions", []):
                    resource = (f"{template_id} ({template.get('LaunchTemplateName')}) "
                                f"version {version['VersionNumber']}")
                    yield from _user_data(CloudResource("ec2", resource, region),
                                          version.get("LaunchTemplateData", {}).get("UserData"))


def launch_configurations(autoscaling: Any, region: str) -> Iterator[Document]:
    for page in autoscaling.get_paginator("describe_launch_configurations").paginate():
        for configuration in page.get("LaunchConfigurations", []):
            resource = configuration.get("LaunchConfigurationARN") or configuration["LaunchConfigurationName"]
            yield from _user_data(CloudResource("autoscaling", resource, region), configuration.get("UserData"))


def read(client: Callable[[str], Any], region: str) -> Iterator[Document]:
    ec2 = client("ec2")
    yield from instances(ec2, region)
    yield from launch_template_versions(ec2, region)
    yield from launch_configurations(client("autoscaling"), region)
