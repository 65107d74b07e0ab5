"""``scan aws`` beyond Lambda and ECS: each kind of resource finds a secret that only an old version still holds."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator

import boto3
import pytest

from secretguard.sources.aws_amplify import basic_auth_password
from secretguard.sources.aws_items import user_data_text
from tests.aws_services import Amplify, AppRunner, Beanstalk, StandIn
from tests.test_aws_scan import PASSWORD, SENDGRID, at, run_scan

REGION = "us-east-1"


def client(service: str):
    return boto3.client(service, region_name=REGION)


def role_arn() -> str:
    iam = client("iam")
    try:
        return iam.get_role(RoleName="sg-kinds")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName="sg-kinds", AssumeRolePolicyDocument="{}")["Role"]["Arn"]


def test_ssm_parameter_history_and_document_versions(aws) -> None:
    ssm = client("ssm")
    ssm.put_parameter(Name="/app/sendgrid", Value=SENDGRID, Type="String")
    ssm.put_parameter(Name="/app/sendgrid", Value="moved-to-secrets-manager", Type="String", Overwrite=True)
    ssm.put_parameter(Name="/app/db-password", Value=PASSWORD, Type="SecureString")  # encrypted: fine
    ssm.create_document(Name="deploy", DocumentType="Command", Content=json.dumps(
        {"schemaVersion": "2.2", "mainSteps": [{"action": "aws:runShellScript", "name": "run",
                                                "inputs": {"runCommand": [f"export SENDGRID_API_KEY={SENDGRID}"]}}]}))
    ssm.update_document(Name="deploy", DocumentVersion="$LATEST", Content=json.dumps(
        {"schemaVersion": "2.2", "mainSteps": [{"action": "aws:runShellScript", "name": "run",
                                                "inputs": {"runCommand": ["echo clean"]}}]}))

    result = run_scan(services=("ssm",))

    places = sorted((o.resource or "", o.variable or "") for o in at(result.findings, SENDGRID))
    assert places == [(f"ssm:{REGION}:document/deploy version 1", ""),
                      (f"ssm:{REGION}:parameter/app/sendgrid version 1", "/app/sendgrid")]
    assert at(result.findings, PASSWORD) == []


def test_cloudformation_templates_of_deleted_stacks_parameters_and_outputs(aws) -> None:
    cloudformation = client("cloudformation")
    template = {
        "Parameters": {"DbPassword": {"Type": "String"}, "AdminPassword": {"Type": "String", "NoEcho": True}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Metadata": {"sendgrid": SENDGRID}}},
        "Outputs": {"Endpoint": {"Value": "db.internal"}},
    }
    gone = cloudformation.create_stack(StackName="old-app", TemplateBody=json.dumps(template), Parameters=[
        {"ParameterKey": "DbPassword", "ParameterValue": PASSWORD},
        {"ParameterKey": "AdminPassword", "ParameterValue": "Zq8!vN3#pLw6Rt2m"}])["StackId"]
    cloudformation.delete_stack(StackName="old-app")

    result = run_scan(services=("cloudformation",))

    [template_at] = at(result.findings, SENDGRID)
    assert template_at.resource == gone and template_at.source == "cloudformation"
    assert template_at.line and template_at.path == "template (Original)"
    [parameter_at] = at(result.findings, PASSWORD)
    assert parameter_at.variable == "Parameters.DbPassword"
    assert at(result.findings, "Zq8!vN3#pLw6Rt2m") == []  # NoEcho


def test_ec2_user_data_of_every_launch_template_version(aws) -> None:
    ec2 = client("ec2")
    script = f"#!/bin/sh\nexport SENDGRID_API_KEY={SENDGRID}\n/opt/app/start\n"
    ec2.create_launch_template(LaunchTemplateName="web-template", LaunchTemplateData={
        "UserData": base64.b64encode(gzip.compress(script.encode())).decode()})
    ec2.create_launch_template_version(LaunchTemplateName="web-template", LaunchTemplateData={
        "UserData": base64.b64encode(b"#!/bin/sh\n/opt/app/start\n").decode()})
    ec2.modify_launch_template(LaunchTemplateName="web-template", DefaultVersion="2")
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1,
                      UserData=f"#!/bin/sh\necho DB_PASSWORD={PASSWORD} >> /etc/app.env\n")
    client("autoscaling").create_launch_configuration(
        LaunchConfigurationName="legacy", ImageId="ami-12c6146b", InstanceType="t2.micro",
        UserData=f"#cloud-config\nwrite_files:\n- content: SENDGRID_API_KEY={SENDGRID}\n")

    result = run_scan(services=("ec2",))

    resources = [o.resource or "" for o in at(result.findings, SENDGRID)]
    assert len(resources) == 2
    assert any(r.endswith("(web-template) version 1") for r in resources)
    assert any(r.endswith("launchConfigurationName/legacy") for r in resources)
    [instance_at] = at(result.findings, PASSWORD)
    assert instance_at.resource is not None and instance_at.resource.endswith("user data") and instance_at.line == 2


def test_user_data_that_is_not_base64_or_is_broken_gzip() -> None:
    assert user_data_text("#!/bin/sh\necho hi\n") == ("#!/bin/sh\necho hi\n", None)
    text, error = user_data_text(base64.b64encode(b"\x1f\x8bnot gzip").decode())
    assert text == "" and error is not None and "gzip" in error


def test_codebuild_plaintext_variables_and_inline_buildspec(aws) -> None:
    client("codebuild").create_project(
        name="release", serviceRole=role_arn(), artifacts={"type": "NO_ARTIFACTS"},
        source={"type": "S3", "location": "builds/src.zip",
                "buildspec": f"version: 0.2\nphases:\n  build:\n    commands:\n      - curl -u api:{SENDGRID} x\n"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL",
                     "environmentVariables": [
                         {"name": "DB_PASSWORD", "value": PASSWORD, "type": "PLAINTEXT"},
                         {"name": "API_TOKEN", "value": "prod/api-token:token", "type": "SECRETS_MANAGER"}]})

    result = run_scan(services=("codebuild",))

    [variable] = at(result.findings, PASSWORD)
    assert variable.source == "codebuild" and variable.variable == "DB_PASSWORD"
    [spec] = at(result.findings, SENDGRID)
    assert spec.path == "buildspec" and spec.line == 5
    assert at(result.findings, "prod/api-token:token") == []


def test_batch_inactive_job_definition_revision(aws) -> None:
    batch = client("batch")
    batch.register_job_definition(jobDefinitionName="nightly", type="container", containerProperties={
        "image": "busybox", "vcpus": 1, "memory": 128, "command": ["sync", "--token", SENDGRID],
        "environment": [{"name": "DB_PASSWORD", "value": PASSWORD}]})
    batch.register_job_definition(jobDefinitionName="nightly", type="container", containerProperties={
        "image": "busybox", "vcpus": 1, "memory": 128, "command": ["sync"], "environment": []})
    batch.deregister_job_definition(jobDefinition="nightly:1")

    result = run_scan(services=("batch",))

    [variable] = at(result.findings, PASSWORD)
    assert variable.resource is not None and variable.resource.endswith("job-definition/nightly:1")
    assert variable.variable == "DB_PASSWORD"
    [command] = at(result.findings, SENDGRID)
    assert command.resource == variable.resource and command.path == "command"


def test_api_gateway_stage_variables(aws) -> None:
    apigateway = client("apigateway")
    api = apigateway.create_rest_api(name="orders")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    apigateway.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    apigateway.create_deployment(restApiId=api, stageName="prod", variables={"sendgridKey": SENDGRID})

    result = run_scan(services=("apigateway",))

    [stage] = at(result.findings, SENDGRID)
    assert stage.resource == f"arn:aws:apigateway:{REGION}::/restapis/{api}/stages/prod"
    assert stage.variable == "sendgridKey"


@pytest.fixture
def standins(aws, monkeypatch) -> Iterator[dict[str, StandIn]]:
    """App Runner, Amplify and Elastic Beanstalk from loopback stand-ins (moto serves none of them in full), empty."""
    servers: dict[str, StandIn] = {"apprunner": AppRunner(), "amplify": Amplify(), "elasticbeanstalk": Beanstalk()}
    for server in servers.values():
        monkeypatch.setenv(server.env, server.url)
    yield servers
    for server in servers.values():
        server.close()


def test_app_runner_variables_of_image_and_code_services(standins) -> None:
    apprunner = standins["apprunner"]
    secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-AbCdEf"
    image = apprunner.add("web", {"ImageRepository": {
        "ImageIdentifier": "public.ecr.aws/x/web:1", "ImageConfiguration": {
            "RuntimeEnvironmentVariables": {"DB_PASSWORD": PASSWORD, "LOG_LEVEL": "info"},
            "RuntimeEnvironmentSecrets": {"API_TOKEN": secret_arn}}}})
    code = apprunner.add("worker", {"CodeRepository": {
        "RepositoryUrl": "https://github.com/x/worker", "CodeConfiguration": {
        "ConfigurationSource": "API", "CodeConfigurationValues": {
            "Runtime": "PYTHON_3", "RuntimeEnvironmentVariables": {"SENDGRID_API_KEY": SENDGRID}}}}})

    result = run_scan(services=("apprunner",))

    assert [(o.source, o.resource, o.variable) for o in at(result.findings, PASSWORD)] == \
        [("apprunner", image, "DB_PASSWORD")]
    assert [(o.resource, o.variable) for o in at(result.findings, SENDGRID)] == [(code, "SENDGRID_API_KEY")]
    assert len(result.findings) == 2  # the secret reference is not a finding
    assert apprunner.calls == ["ListServices", "DescribeService", "ListServices", "DescribeService"]


def test_amplify_branch_variables_basic_auth_and_auto_branch_build_spec(standins) -> None:
    amplify = standins["amplify"]
    basic_auth = "Zq8!vN3#pLw6Rt2m"
    app = amplify.add_app("shop", environmentVariables={"STAGE": "prod"},
                          basicAuthCredentials=base64.b64encode(f"admin:{basic_auth}".encode()).decode(),
                          autoBranchCreationConfig={"buildSpec": f"version: 1\nfrontend:\n  phases:\n    build:\n"
                                                                 f"      commands: [\"curl -u api:{SENDGRID} x\"]\n"})
    amplify.add_branch(app, "main", environmentVariables={"STAGE": "prod"})
    feature = amplify.add_branch(app, "feature-login", environmentVariables={"DB_PASSWORD": PASSWORD})

    result = run_scan(services=("amplify",))

    assert [(o.source, o.resource, o.variable) for o in at(result.findings, PASSWORD)] == \
        [("amplify", feature, "DB_PASSWORD")]
    assert [(o.resource, o.variable) for o in at(result.findings, basic_auth)] == \
        [(app["appArn"], "basicAuthCredentials")]
    [spec] = at(result.findings, SENDGRID)
    assert (spec.resource, spec.path, spec.line) == (app["appArn"], "autoBranchCreationConfig.buildSpec", 5)
    assert amplify.calls == ["ListApps", "ListBranches", "ListBranches"]


def test_amplify_branches_refused_are_named_and_the_app_is_still_read(standins) -> None:
    amplify = standins["amplify"]
    app = amplify.add_app("shop", environmentVariables={"DB_PASSWORD": PASSWORD})
    amplify.add_branch(app, "main", environmentVariables={"SENDGRID_API_KEY": SENDGRID})
    amplify.denied.add("ListBranches")

    result = run_scan(services=("amplify",))

    assert [o.resource for o in at(result.findings, PASSWORD)] == [app["appArn"]]
    assert result.summary.unreadable == (
        (app["appArn"], "document not readable: ListBranches: AccessDeniedException: not authorized"),)


@pytest.mark.parametrize("encoded, password", [
    (base64.b64encode(b"admin:p:w").decode(), "p:w"), (base64.b64encode(b"nocolon").decode(), "nocolon"),
    ("not base64!", "not base64!"),
])
def test_basic_auth_password(encoded: str, password: str) -> None:
    assert basic_auth_password(encoded) == password


def test_elastic_beanstalk_saved_template_draft_and_every_option(standins) -> None:
    beanstalk = standins["elasticbeanstalk"]
    beanstalk.add_template("shop", "before-rotation", {
        "aws:elasticbeanstalk:application:environment:DB_PASSWORD": PASSWORD,
        "aws:autoscaling:asg:MinSize": "1"})
    prod = beanstalk.add_environment("shop", "shop-prod", {
        "aws:elasticbeanstalk:application:environment:DB_HOST": "db.internal",
        "aws:rds:dbinstance:DBPassword": "Zq8!vN3#pLw6Rt2m"},
        draft={"aws:elasticbeanstalk:application:environment:SENDGRID_API_KEY": SENDGRID})

    result = run_scan(services=("elasticbeanstalk",))

    assert [(o.source, o.resource, o.variable) for o in at(result.findings, PASSWORD)] == [(
        "elasticbeanstalk",
        "arn:aws:elasticbeanstalk:us-east-1:123456789012:configurationtemplate/shop/before-rotation",
        "aws:elasticbeanstalk:application:environment:DB_PASSWORD")]
    assert [(o.resource, o.variable) for o in at(result.findings, "Zq8!vN3#pLw6Rt2m")] == \
        [(prod, "aws:rds:dbinstance:DBPassword")]
    assert [(o.resource, o.variable) for o in at(result.findings, SENDGRID)] == \
        [(f"{prod} draft", "aws:elasticbeanstalk:application:environment:SENDGRID_API_KEY")]
    assert beanstalk.calls == ["DescribeApplications", "DescribeConfigurationSettings", "DescribeEnvironments",
                               "DescribeConfigurationSettings"]


def test_a_refused_call_is_named_and_the_scan_goes_on(standins) -> None:
    standins["amplify"].add_app("shop", environmentVariables={"DB_PASSWORD": PASSWORD})
    standins["amplify"].denied.add("ListApps")
    beanstalk = standins["elasticbeanstalk"]
    hidden = beanstalk.add_environment("shop", "shop-prod", {"aws:rds:dbinstance:DBPassword": PASSWORD})
    staging = beanstalk.add_environment("shop", "shop-staging", {"aws:rds:dbinstance:DBPassword": "Zq8!vN3#pLw6Rt2m"})
    beanstalk.denied.add("DescribeConfigurationSettings shop-prod")
    image = standins["apprunner"].add("web", {"ImageRepository": {"ImageConfiguration": {
        "RuntimeEnvironmentVariables": {"SENDGRID_API_KEY": SENDGRID}}}})

    result = run_scan(services=("amplify", "elasticbeanstalk", "apprunner"))

    assert [o.resource for o in at(result.findings, SENDGRID)] == [image]
    assert [o.resource for o in at(result.findings, "Zq8!vN3#pLw6Rt2m")] == [staging]
    assert sorted(result.summary.unreadable) == [
        ("amplify in us-east-1", "ListApps: AccessDeniedException: not authorized"),
        (hidden, "document not readable: DescribeConfigurationSettings: AccessDeniedException: not authorized")]


def test_a_region_without_the_service_is_a_note_and_not_called(standins) -> None:
    web = standins["apprunner"].add("web", {"ImageRepository": {"ImageConfiguration": {
        "RuntimeEnvironmentVariables": {"DB_PASSWORD": PASSWORD}}}})

    result = run_scan(regions=("us-east-1", "sa-east-1", "af-south-1"), services=("apprunner", "ssm"))

    assert [(o.resource, o.region) for o in at(result.findings, PASSWORD)] == [(web, "us-east-1")]
    assert result.summary.notes == (
        "apprunner is not offered in sa-east-1, af-south-1 (nothing there to read; skipped)",)
    assert result.summary.unreadable == ()
    assert standins["apprunner"].calls == ["ListServices", "DescribeService"]


def test_an_empty_account_is_clean_on_every_kind(standins) -> None:
    result = run_scan(services=("ssm", "cloudformation", "ec2", "codebuild", "batch", "apigateway", *standins))
    assert result.findings == [] and result.summary.notes == () and result.summary.unreadable == ()
