"""``migrate`` for CodeBuild projects, Batch job definitions and SSM parameters, against a local AWS API.

moto serves IAM, Secrets Manager, KMS, Batch and SSM. Its CodeBuild has no ``UpdateProject``, so CodeBuild comes
from the loopback stand-in (``AWS_ENDPOINT_URL_CODEBUILD``), which keeps projects as the API returns them.
"""

from __future__ import annotations

import copy
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from secretguard.aws.migrate import apply_plan, rollback, session_clients
from secretguard.aws.migrate_journal import journal_path
from secretguard.aws.migrate_plan import PlanRequest, build_plan, load_plan, write_plan
from secretguard.aws.migrate_scan import Scanner
from secretguard.config import Config
from tests.aws_standin import Answer, JsonStandIn
from tests.helpers import run_cli
from tests.test_migrate import KEY_ID, REGION, _policy, _trust, shared_session
from tests.test_migrate_faults import run_killed

ACCOUNT = "123456789012"
PASSWORD = "pG7-kL9vQ2mXw4Rt"
SECRET_KEY = "f8Kq2+Lm9/Zx4Rt7Vb1Nc6Yp3Hs5Jd0Wg8Ea2TuQ"
TOKEN = "tk8fJ2nQ5rV1xZ7bM3cK9d"
VALUES = (PASSWORD, SECRET_KEY, TOKEN)


def codebuild_api(projects: dict[str, dict[str, Any]]) -> dict[str, Answer]:
    """``ListProjects``, ``BatchGetProjects`` and ``UpdateProject`` over ``projects`` (name -> project)."""

    def by_key() -> dict[str, dict[str, Any]]:
        return {k: p for p in projects.values() for k in (p["name"], p["arn"])}

    def batch_get(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        found = by_key()
        return 200, {"projects": [found[n] for n in body["names"] if n in found],
                     "projectsNotFound": [n for n in body["names"] if n not in found]}

    def update(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        project = by_key()[body["name"]]
        project.update({k: v for k, v in body.items() if k != "name"})
        return 200, {"project": project}

    return {"ListProjects": lambda body: (200, {"projects": sorted(projects)}), "BatchGetProjects": batch_get,
            "UpdateProject": update}


@pytest.fixture
def codebuild(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, dict[str, Any]]]:
    """The stand-in's projects (none yet), with boto3's CodeBuild (the test's and the command's) pointed at it."""
    projects: dict[str, dict[str, Any]] = {}
    server = JsonStandIn(aws.url, codebuild_api(projects))
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEBUILD", server.url)
    yield projects
    server.close()


class Account:
    """A CodeBuild project, a Batch job definition and an SSM parameter, each holding plaintext secrets."""

    def __init__(self, projects: dict[str, dict[str, Any]]) -> None:
        self.iam = boto3.client("iam", region_name=REGION)
        self.batch = boto3.client("batch", region_name=REGION)
        self.ssm = boto3.client("ssm", region_name=REGION)
        self.sm = boto3.client("secretsmanager", region_name=REGION)
        self.key_arn = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
        self.build_role = self.role("build-role", "codebuild.amazonaws.com")
        self.job_role = self.role("job-execution", "ecs-tasks.amazonaws.com")
        self.projects = projects
        projects["build"] = {
            "name": "build", "arn": f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/build",
            "source": {"type": "NO_SOURCE", "buildspec": "version: 0.2\nphases:\n  build:\n    commands: [make]\n"},
            "artifacts": {"type": "NO_ARTIFACTS"}, "serviceRole": self.build_role,
            "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                            "computeType": "BUILD_GENERAL1_SMALL", "environmentVariables": [
                                {"name": "AWS_ACCESS_KEY_ID", "value": KEY_ID, "type": "PLAINTEXT"},
                                {"name": "AWS_SECRET_ACCESS_KEY", "value": SECRET_KEY, "type": "PLAINTEXT"},
                                {"name": "DB_PASSWORD", "value": PASSWORD, "type": "PLAINTEXT"},
                                {"name": "STAGE", "value": "prod", "type": "PLAINTEXT"},
                                {"name": "NPM_TOKEN", "value": "/ci/npm", "type": "PARAMETER_STORE"}]},
        }
        self.job = self.batch.register_job_definition(
            jobDefinitionName="nightly", type="container", tags={"team": "data"}, containerProperties={
                "image": "busybox", "vcpus": 1, "memory": 128, "executionRoleArn": self.job_role,
                "environment": [{"name": "API_TOKEN", "value": TOKEN}, {"name": "MODE", "value": "full"}]},
        )["jobDefinitionArn"]
        self.ssm.put_parameter(Name="/app/db_password", Value=PASSWORD, Type="String")
        self.clients = session_clients(shared_session())

    def role(self, name: str, service: str) -> str:
        arn = str(self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(service))["Role"]["Arn"])
        self.iam.put_role_policy(RoleName=name, PolicyName="existing", PolicyDocument=_policy("logs:PutLogEvents"))
        return arn

    def role_policies(self, role: str) -> dict[str, Any]:
        names = self.iam.list_role_policies(RoleName=role)["PolicyNames"]
        return {n: self.iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"] for n in names}

    def secret_arn(self, name: str) -> str:
        return str(self.sm.describe_secret(SecretId=name)["ARN"])

    def variables(self) -> dict[str, tuple[str, str]]:
        """The project's variables: name -> (type, value)."""
        variables = self.projects["build"]["environment"]["environmentVariables"]
        return {v["name"]: (v["type"], v["value"]) for v in variables}

    def job_definitions(self) -> dict[str, dict[str, Any]]:
        """Every revision of the job definition, ACTIVE or not, by ARN."""
        found = self.batch.describe_job_definitions(jobDefinitionName="nightly")["jobDefinitions"]
        return {d["jobDefinitionArn"]: d for d in found}

    def parameter(self) -> dict[str, Any]:
        return dict(self.ssm.get_parameter(Name="/app/db_password", WithDecryption=True)["Parameter"])

    def state(self) -> tuple[Any, ...]:
        """Everything the migrations here may change, for comparing before and after a rollback."""
        return (copy.deepcopy(self.projects), self.role_policies("build-role"), self.role_policies("job-execution"),
                sorted(arn for arn, d in self.job_definitions().items() if d["status"] == "ACTIVE"),
                self.parameter()["Type"],
                self.parameter()["Value"])

    def plan(self, path: Path, **request: Any) -> Path:
        write_plan(build_plan(self.clients, PlanRequest(regions=(REGION,), **request), Scanner(Config()).findings),
                   path)
        return path


@pytest.fixture
def account(codebuild: dict[str, dict[str, Any]]) -> Account:
    return Account(codebuild)


def cli(*args: str | Path, code: int = 0) -> str:
    run = run_cli(*args)
    assert run.code == code, run.out + run.err
    for value in VALUES:
        assert value not in run.out + run.err
    return run.out


def granted(account: Account, role: str) -> dict[str, str]:
    """Each policy migrate added to ``role``: name -> the one secret it lets the role read."""
    added = {n: d for n, d in account.role_policies(role).items() if n != "existing"}
    for document in added.values():
        (statement,) = document["Statement"]
        assert statement["Action"] == "secretsmanager:GetSecretValue" and statement["Effect"] == "Allow"
    return {n: d["Statement"][0]["Resource"] for n, d in added.items()}


def test_codebuild_plan_apply_verify_finalize_rollback(account: Account, tmp_path: Path) -> None:
    before = account.state()
    plan_file = tmp_path / "plan.json"
    out = cli("migrate", "plan", "--codebuild-project", "build", "--output", plan_file)
    assert "update project build" in out and "SECRETS_MANAGER" in out and "build-role" in out
    assert account.state() == before

    out = cli("migrate", "apply", plan_file)
    assert "verified: 3 moved, 0 kept until finalize, 0 restored, 0 still plaintext" in out
    pair = account.secret_arn("secretguard/codebuild/build/AWS_ACCESS_KEY_ID")
    password = account.secret_arn("secretguard/codebuild/build/DB_PASSWORD")
    assert json.loads(account.sm.get_secret_value(SecretId=pair)["SecretString"]) == {
        "AccessKeyId": KEY_ID, "SecretAccessKey": SECRET_KEY}
    assert account.variables() == {
        "AWS_ACCESS_KEY_ID": ("SECRETS_MANAGER", f"{pair}:AccessKeyId"),
        "AWS_SECRET_ACCESS_KEY": ("SECRETS_MANAGER", f"{pair}:SecretAccessKey"),
        "DB_PASSWORD": ("SECRETS_MANAGER", password),
        "STAGE": ("PLAINTEXT", "prod"), "NPM_TOKEN": ("PARAMETER_STORE", "/ci/npm")}
    assert sorted(granted(account, "build-role").values()) == sorted([pair, password])
    assert account.projects["build"]["source"] == before[0]["build"]["source"]  # all else unchanged

    assert "finalized 0 function(s)" in cli("migrate", "finalize", plan_file)
    assert "verified: 3 moved" in cli("migrate", "status", journal_path(plan_file))
    cli("migrate", "rollback", journal_path(plan_file))
    assert account.state() == before


def test_batch_plan_apply_verify_finalize_rollback(account: Account, tmp_path: Path) -> None:
    before = account.state()
    original = account.job_definitions()[account.job]
    plan_file = tmp_path / "plan.json"
    out = cli("migrate", "plan", "--batch-job-definition", "nightly", "--output", plan_file)
    assert "register nightly:1+1" in out and "API_TOKEN" in out and "job-execution" in out

    out = cli("migrate", "apply", plan_file)
    assert "verified: 1 moved" in out and "older revisions keep their values" in out
    secret = account.secret_arn("secretguard/batch/nightly/API_TOKEN")
    (new,) = [d for arn, d in account.job_definitions().items() if arn != account.job]
    assert new["revision"] == 2 and new["status"] == "ACTIVE"
    expected = copy.deepcopy(original["containerProperties"])
    expected["environment"] = [{"name": "MODE", "value": "full"}]
    expected["secrets"] = [{"name": "API_TOKEN", "valueFrom": secret}]
    assert new["containerProperties"] == expected and new["tags"] == original["tags"]
    assert list(granted(account, "job-execution").values()) == [secret]

    cli("migrate", "finalize", plan_file)
    cli("migrate", "rollback", journal_path(plan_file))
    assert account.job_definitions()[new["jobDefinitionArn"]]["status"] == "INACTIVE"
    assert account.job_definitions()[account.job] == original
    assert account.state() == before


def test_ssm_string_becomes_a_secure_string_and_back(account: Account, tmp_path: Path) -> None:
    before = account.state()
    plan_file = tmp_path / "plan.json"
    out = cli("migrate", "plan", "--ssm-parameter", "/app/db_password", "--kms-key-id", account.key_arn,
              "--output", plan_file)
    assert "SecureString" in out and "readers of the parameter" in out
    (item,) = load_plan(plan_file)[0].items
    assert (item.kind, item.name, item.kms_key_arn) == ("ssm", "/app/db_password", account.key_arn)
    cli("migrate", "apply", plan_file)
    parameter = account.parameter()
    assert (parameter["Type"], parameter["Value"], parameter["Version"]) == ("SecureString", PASSWORD, 2)
    (described,) = account.ssm.describe_parameters()["Parameters"]
    assert described["KeyId"] == account.key_arn
    assert account.sm.list_secrets()["SecretList"] == []  # the value stays in the parameter

    out = cli("migrate", "status", journal_path(plan_file))
    assert "verified: 1 moved" in out and "older versions keep the plaintext" in out
    cli("migrate", "finalize", plan_file)
    cli("migrate", "rollback", journal_path(plan_file))
    parameter = account.parameter()
    assert (parameter["Type"], parameter["Value"]) == ("String", PASSWORD)
    assert account.state() == before


def test_verify_fails_while_plaintext_is_back(account: Account, tmp_path: Path) -> None:
    plan_file = account.plan(tmp_path / "plan.json", ssm_parameters=("/app/db_password",))
    apply_plan(plan_file, account.clients, lambda message: None)
    account.ssm.put_parameter(Name="/app/db_password", Value=PASSWORD, Type="String", Overwrite=True)
    assert "still plaintext" in cli("migrate", "status", journal_path(plan_file), code=1)


def test_plan_from_a_scan_report(account: Account, tmp_path: Path) -> None:
    account.ssm.put_parameter(Name="/app/db_password", Value="rotated-Q2w9-x7Kp", Type="String", Overwrite=True)
    report = tmp_path / "findings.json"
    cli("scan", "aws", "--region", REGION, "--services", "codebuild,batch,ssm", "--format", "json",
        "--output", report, code=1)
    cli("migrate", "plan", "--from", report, "--output", tmp_path / "plan.json")
    plan, _ = load_plan(tmp_path / "plan.json")
    assert {(i.kind, m.label) for i in plan.items for m in i.moves} == {
        ("codebuild", "AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY"), ("codebuild", "DB_PASSWORD"),
        ("batch", "API_TOKEN"), ("ssm", "/app/db_password")}
    (ssm,) = [i for i in plan.items if i.kind == "ssm"]
    assert ssm.moves[0].value_hash == plan.hasher.secret_hash("rotated-Q2w9-x7Kp")  # the current version's


@pytest.mark.parametrize("call", ["iam.PutRolePolicy", "batch.RegisterJobDefinition"])
def test_batch_killed_between_steps_resumes_and_rolls_back(account: Account, tmp_path: Path, call: str) -> None:
    before = account.state()
    plan_file = account.plan(tmp_path / "plan.json", batch_job_definitions=("nightly",))
    killed = run_killed(tmp_path, call, "migrate", "apply", str(plan_file))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    last = json.loads(journal_path(plan_file).read_text().splitlines()[-1])
    assert last["event"] == "begin"  # it died between acting and writing ``done``

    apply_plan(plan_file, account.clients, lambda message: None)
    active = [d for d in account.job_definitions().values() if d["status"] == "ACTIVE"]
    assert sorted(d["revision"] for d in active) == [1, 2]  # registered once, however it was interrupted
    assert len(granted(account, "job-execution")) == 1
    rollback(journal_path(plan_file), account.clients, lambda message: None)
    assert account.state() == before


def test_a_job_definition_without_an_execution_role_is_skipped(account: Account, tmp_path: Path) -> None:
    account.batch.register_job_definition(jobDefinitionName="adhoc", type="container", containerProperties={
        "image": "busybox", "vcpus": 1, "memory": 128, "environment": [{"name": "API_TOKEN", "value": TOKEN}]})
    plan, _ = load_plan(account.plan(tmp_path / "plan.json", batch_job_definitions=("adhoc",)))
    assert plan.items == ()
    (skip,) = plan.skipped
    assert skip.variable == "API_TOKEN" and "the job definition has no execution role" in skip.reason
