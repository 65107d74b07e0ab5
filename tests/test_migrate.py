"""``secretguard migrate``: plan -> apply -> finalize -> rollback against a real local AWS API (moto server)."""

from __future__ import annotations

import base64
import datetime
import functools
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from secretguard.aws.migrate import apply_plan, finalize_plan, rollback, session_clients
from secretguard.aws.migrate_journal import journal_path
from secretguard.aws.migrate_plan import PlanRequest, build_plan, load_plan, write_plan
from secretguard.aws.migrate_scan import Scanner
from secretguard.aws.session import make_session
from secretguard.config import Config
from secretguard.errors import SecretguardError
from secretguard.findings import redact
from tests.helpers import run_cli

REGION = "us-east-1"


def aws_key_id(account: str) -> str:
    """A well-formed (not real) access key ID that decodes offline to ``account``."""
    packed = ((1 << 47) | (int(account) << 7)).to_bytes(6, "big") + b"\x5a\x3c\x91\x07"
    return "AKIA" + base64.b32encode(packed).decode()


KEY_ACCOUNT = "210987654321"
KEY_ID = aws_key_id(KEY_ACCOUNT)
KEY_ID_SHOWN = redact(KEY_ID)
LAMBDA_SECRETS = {"DB_PASSWORD": "pG7-kL9vQ2mXw4Rt", "API_TOKEN": "tk8fJ2nQ5rV1xZ7bM3cK9d", "DEPLOY_ACCESS_KEY": KEY_ID}
LAMBDA_PLAIN = {"LOG_LEVEL": "info", "TABLE_NAME": "orders"}
ECS_SECRET = "Zq8-wE3rT5yU7iO9"
ALL_VALUES = [*LAMBDA_SECRETS.values(), ECS_SECRET]
VOLATILE = {"LastModified", "RevisionId", "ResponseMetadata"}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def _trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def _policy(action: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})


@functools.cache
def shared_session() -> boto3.Session:
    """One session for every test: botocore loads each service model once, not once per test."""
    return make_session()


class World:
    """A small account: a Lambda with 3 secrets and 2 normal variables, an ECS family whose secret is in one
    container of two and which a service runs, a customer-managed key, and roles that already have policies."""

    def __init__(self) -> None:
        self.iam = boto3.client("iam", region_name=REGION)
        self.lam = boto3.client("lambda", region_name=REGION)
        self.ecs = boto3.client("ecs", region_name=REGION)
        self.sm = boto3.client("secretsmanager", region_name=REGION)
        self.key_arn = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
        self.lambda_role = self.iam.create_role(RoleName="billing-role",
                                                AssumeRolePolicyDocument=_trust("lambda.amazonaws.com"))["Role"]["Arn"]
        self.iam.put_role_policy(RoleName="billing-role", PolicyName="read-orders",
                                 PolicyDocument=_policy("dynamodb:GetItem"))
        self.exec_role = self.iam.create_role(RoleName="web-execution",
                                              AssumeRolePolicyDocument=_trust("ecs-tasks.amazonaws.com"))["Role"]["Arn"]
        self.iam.put_role_policy(RoleName="web-execution", PolicyName="pull-images",
                                 PolicyDocument=_policy("ecr:BatchGetImage"))
        self.function_arn = self.function("billing", {**LAMBDA_SECRETS, **LAMBDA_PLAIN})
        self.revision = self.ecs.register_task_definition(
            family="web", executionRoleArn=self.exec_role, tags=[{"key": "team", "value": "payments"}],
            containerDefinitions=[
                {"name": "app", "image": "nginx", "memory": 256,
                 "environment": [{"name": "PORT", "value": "8080"}, {"name": "DB_PASSWORD", "value": ECS_SECRET},
                                 {"name": "MODE", "value": "live"}]},
                {"name": "sidecar", "image": "busybox", "memory": 64,
                 "environment": [{"name": "LOG_LEVEL", "value": "debug"}]},
            ])["taskDefinition"]["taskDefinitionArn"]
        self.ecs.create_cluster(clusterName="prod")
        self.service = self.ecs.create_service(cluster="prod", serviceName="web", taskDefinition=self.revision,
                                               desiredCount=0)["service"]["serviceArn"]
        self.clients = session_clients(shared_session())

    def function(self, name: str, variables: dict[str, str], role: str | None = None) -> str:
        return str(self.lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=role or self.lambda_role, Handler="index.handler",
            Code={"ZipFile": _zip()}, Environment={"Variables": variables})["FunctionArn"])

    def function_state(self, name: str = "billing") -> dict[str, Any]:
        config = self.lam.get_function_configuration(FunctionName=name)
        return {k: v for k, v in config.items() if k not in VOLATILE}

    def variables(self, name: str = "billing") -> dict[str, str]:
        return dict(self.lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"])

    def role_policies(self, role: str) -> dict[str, Any]:
        names = self.iam.list_role_policies(RoleName=role)["PolicyNames"]
        return {n: self.iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"] for n in names}

    def task_state(self) -> dict[str, Any]:
        """The original revision in full, the family's ACTIVE revisions, and what the service runs."""
        original = self.ecs.describe_task_definition(taskDefinition=self.revision, include=["TAGS"])
        return {
            "original": {k: v for k, v in original.items() if k != "ResponseMetadata"},
            "active": self.ecs.list_task_definitions(familyPrefix="web", status="ACTIVE")["taskDefinitionArns"],
            "service": self.ecs.describe_services(cluster="prod",
                                                  services=[self.service])["services"][0]["taskDefinition"],
        }

    def secrets(self) -> dict[str, dict[str, Any]]:
        """Every secret by name, including those scheduled for deletion."""
        found = self.sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]
        described = (self.sm.describe_secret(SecretId=s["ARN"]) for s in found)
        return {d["Name"]: {k: v for k, v in d.items() if k != "ResponseMetadata"} for d in described}

    def plan(self, path: Path, **request: Any) -> Path:
        write_plan(build_plan(self.clients, PlanRequest(regions=(REGION,), **request), Scanner(Config()).findings),
                   path)
        return path


@pytest.fixture
def world(aws: Any) -> World:
    return World()


def quiet(message: str) -> None:
    """Progress lines go nowhere."""


def assert_no_plaintext(*texts: str) -> None:
    for text in texts:
        for value in ALL_VALUES:
            assert value not in text


def test_plan_names_every_change_and_changes_nothing(world: World, tmp_path: Path) -> None:
    before = (world.function_state(), world.role_policies("billing-role"), world.role_policies("web-execution"),
              world.task_state())
    plan_file = tmp_path / "plan.json"
    run = run_cli("migrate", "plan", "--function", "billing", "--task-definition", "web", "--kms-key-id",
                  world.key_arn, "--update-services", "--output", plan_file)
    assert run.code == 0, run.err
    out = run.out
    for text in ("secretguard/lambda/billing/DB_PASSWORD", "secretguard/lambda/billing/API_TOKEN",
                 "secretguard/lambda/billing/DEPLOY_ACCESS_KEY", "secretguard/ecs/web/DB_PASSWORD",
                 "secretsmanager:GetSecretValue", "kms:Decrypt", "billing-role", "web-execution",
                 "DB_PASSWORD_SECRET_ARN", "secretguard:source=lambda", "web:1+1", KEY_ID_SHOWN, KEY_ACCOUNT):
        assert text in out, text
    plan, _ = load_plan(plan_file)
    moves = {(i.kind, m.key) for i in plan.items for m in i.moves}
    assert moves == {("lambda", "API_TOKEN"), ("lambda", "DB_PASSWORD"), ("lambda", "DEPLOY_ACCESS_KEY"),
                     ("ecs", "app/DB_PASSWORD")}
    assert {s.arn for i in plan.items for s in i.services} == {world.service}
    assert_no_plaintext(out, plan_file.read_text())
    assert not journal_path(plan_file).exists()
    assert world.secrets() == {}
    assert before == (world.function_state(), world.role_policies("billing-role"),
                      world.role_policies("web-execution"), world.task_state())


def test_lambda_apply_finalize_rollback(world: World, tmp_path: Path) -> None:
    before, policies_before = world.function_state(), world.role_policies("billing-role")
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",), kms_key_id=world.key_arn)
    log: list[str] = []
    apply_plan(plan_file, world.clients, log.append)

    secrets = world.secrets()
    assert set(secrets) == {f"secretguard/lambda/billing/{v}" for v in LAMBDA_SECRETS}
    variables = world.variables()
    for name, value in LAMBDA_SECRETS.items():
        secret = secrets[f"secretguard/lambda/billing/{name}"]
        assert world.sm.get_secret_value(SecretId=secret["ARN"])["SecretString"] == value
        assert secret["KmsKeyId"] in (world.key_arn, world.key_arn.rsplit("/", 1)[-1])
        assert {t["Key"]: t["Value"] for t in secret["Tags"]} == {
            "secretguard:source": "lambda", "secretguard:resource": world.function_arn, "secretguard:variable": name}
        assert variables[name] == value  # phase one keeps the plaintext until the code reads the secret
        assert variables[f"{name}_SECRET_ARN"] == secret["ARN"]
    assert {k: variables[k] for k in LAMBDA_PLAIN} == LAMBDA_PLAIN

    policies = world.role_policies("billing-role")
    assert policies["read-orders"] == policies_before["read-orders"]
    granted = {n: d for n, d in policies.items() if n != "read-orders"}
    assert len(granted) == 3
    arns = {s["ARN"] for s in secrets.values()}
    for document in granted.values():
        read, decrypt = document["Statement"]
        assert read["Action"] == "secretsmanager:GetSecretValue" and read["Effect"] == "Allow"
        assert read["Resource"] in arns  # exactly one secret ARN, no wildcard, no list
        assert decrypt["Action"] == "kms:Decrypt" and decrypt["Resource"] == world.key_arn
        assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}}
    assert {d["Statement"][0]["Resource"] for d in granted.values()} == arns
    assert_no_plaintext(journal_path(plan_file).read_text(), plan_file.read_text(), "\n".join(log))

    finalize_plan(plan_file, world.clients, log.append)
    assert world.variables() == {**LAMBDA_PLAIN, **{f"{n}_SECRET_ARN": variables[f"{n}_SECRET_ARN"]
                                                    for n in LAMBDA_SECRETS}}

    outcome = rollback(journal_path(plan_file), world.clients, log.append)
    assert world.function_state() == before
    assert world.role_policies("billing-role") == policies_before
    assert sorted(outcome.kept_secrets) == sorted(arns)
    assert all("DeletedDate" not in s for s in world.secrets().values())

    rollback(journal_path(plan_file), world.clients, log.append, delete_secrets=True)
    now = datetime.datetime.now(datetime.UTC)
    for secret in world.secrets().values():
        assert datetime.timedelta(days=6) < secret["DeletedDate"] - now <= datetime.timedelta(days=7, minutes=1)
    assert_no_plaintext(journal_path(plan_file).read_text(), "\n".join(log))


def test_ecs_new_revision_services_and_rollback(world: World, tmp_path: Path) -> None:
    before, policies_before = world.task_state(), world.role_policies("web-execution")
    plan_file = world.plan(tmp_path / "plan.json", task_definitions=("web",), update_services=True)
    outcome = apply_plan(plan_file, world.clients, quiet)

    new = outcome.revisions[world.revision]
    assert new.endswith("task-definition/web:2")
    secret_arn = world.secrets()["secretguard/ecs/web/DB_PASSWORD"]["ARN"]
    expected = json.loads(json.dumps(before["original"], default=str))
    app, sidecar = expected["taskDefinition"]["containerDefinitions"]
    app["environment"] = [{"name": "PORT", "value": "8080"}, {"name": "MODE", "value": "live"}]
    app["secrets"] = [{"name": "DB_PASSWORD", "valueFrom": secret_arn}]
    described = world.ecs.describe_task_definition(taskDefinition=new, include=["TAGS"])
    got = json.loads(json.dumps({k: v for k, v in described.items() if k != "ResponseMetadata"}, default=str))
    for read_only in ("taskDefinitionArn", "revision", "registeredAt"):
        expected["taskDefinition"].pop(read_only, None)
        got["taskDefinition"].pop(read_only, None)
    assert got == expected  # the variable moved to secrets; everything else, the other container and tags, as it was
    assert world.task_state()["service"] == new

    policies = world.role_policies("web-execution")
    assert policies["pull-images"] == policies_before["pull-images"]
    (granted,) = [d for n, d in policies.items() if n != "pull-images"]
    assert granted["Statement"] == [{"Sid": "SecretguardReadSecret", "Effect": "Allow",
                                     "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn}]

    rollback(journal_path(plan_file), world.clients, quiet)
    assert world.task_state() == before
    assert world.ecs.describe_task_definition(taskDefinition=new)["taskDefinition"]["status"] == "INACTIVE"
    assert world.role_policies("web-execution") == policies_before


def test_resources_without_a_role_are_skipped(world: World, tmp_path: Path) -> None:
    world.ecs.register_task_definition(family="batch", containerDefinitions=[
        {"name": "job", "image": "busybox", "memory": 64, "environment": [{"name": "API_TOKEN", "value": ECS_SECRET}]}])
    role = world.iam.create_role(RoleName="gone", AssumeRolePolicyDocument=_trust("lambda.amazonaws.com"))["Role"]
    world.function("orphan", {"DB_PASSWORD": LAMBDA_SECRETS["DB_PASSWORD"]}, role=role["Arn"])
    world.iam.delete_role(RoleName="gone")
    plan_file = tmp_path / "plan.json"
    run = run_cli("migrate", "plan", "--task-definition", "batch", "--function", "orphan", "-o", plan_file)
    assert run.code == 0, run.err
    assert "0 secret(s) to move, 2 skipped" in run.out
    plan, _ = load_plan(plan_file)
    assert plan.items == ()
    assert {(s.resource, s.variable, s.reason) for s in plan.skipped} == {
        (f"arn:aws:lambda:{REGION}:123456789012:function:orphan", "DB_PASSWORD", f"role {role['Arn']} does not exist"),
        (f"arn:aws:ecs:{REGION}:123456789012:task-definition/batch:1", "API_TOKEN",
         "the task definition has no execution role: ECS needs one to read secrets, "
         "and adding one would widen permissions"),
    }
    apply_plan(plan_file, world.clients, quiet)
    assert world.secrets() == {}


def test_apply_again_changes_nothing(world: World, tmp_path: Path) -> None:
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",), task_definitions=("web",),
                           update_services=True)
    apply_plan(plan_file, world.clients, quiet)
    state = (world.secrets(), world.function_state(), world.task_state(), world.role_policies("billing-role"),
             world.ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"])
    records = len(journal_path(plan_file).read_text().splitlines())
    log: list[str] = []
    apply_plan(plan_file, world.clients, log.append)
    assert (world.secrets(), world.function_state(), world.task_state(), world.role_policies("billing-role"),
            world.ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"]) == state
    added = [json.loads(line) for line in journal_path(plan_file).read_text().splitlines()[records:]]
    assert [r["event"] for r in added] == ["start", "finish"]
    assert log == [f"{world.function_arn}: already applied", f"{world.revision}: already applied"]


def test_remove_plaintext_then_rollback_restores_from_the_secrets(world: World, tmp_path: Path) -> None:
    before = world.function_state()
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",), remove_plaintext=True)
    apply_plan(plan_file, world.clients, quiet)
    variables = world.variables()
    assert set(variables) == {*LAMBDA_PLAIN, *(f"{n}_SECRET_ARN" for n in LAMBDA_SECRETS)}
    rollback(journal_path(plan_file), world.clients, quiet)
    assert world.function_state() == before


def test_rollback_falls_back_to_a_published_version(world: World, tmp_path: Path) -> None:
    world.lam.publish_version(FunctionName="billing")
    before = world.function_state()
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",), remove_plaintext=True)
    apply_plan(plan_file, world.clients, quiet)
    lost = world.secrets()["secretguard/lambda/billing/DB_PASSWORD"]["ARN"]
    world.sm.delete_secret(SecretId=lost, ForceDeleteWithoutRecovery=True)  # someone else's doing
    rollback(journal_path(plan_file), world.clients, quiet)
    assert world.function_state() == before


def test_dotenv_migration_and_rollback(world: World, tmp_path: Path) -> None:
    original = (
        "# payments service\n"
        f'export DB_PASSWORD="{LAMBDA_SECRETS["DB_PASSWORD"]}"  # prod database\n'
        "LOG_LEVEL=debug\n"
        "\n"
        f"API_TOKEN={LAMBDA_SECRETS['API_TOKEN']}\n"
        "MULTI=\"first\n"
        "second\"\n"
    )
    env_file = tmp_path / "app" / ".env"
    env_file.parent.mkdir()
    env_file.write_text(original)
    env_file.chmod(0o640)
    plan_file = world.plan(tmp_path / "plan.json", env_files=(env_file,))
    apply_plan(plan_file, world.clients, quiet)

    secrets = world.secrets()
    token_arn = secrets["secretguard/dotenv/app/.env/API_TOKEN"]["ARN"]
    password_arn = secrets["secretguard/dotenv/app/.env/DB_PASSWORD"]["ARN"]
    assert world.sm.get_secret_value(SecretId=password_arn)["SecretString"] == LAMBDA_SECRETS["DB_PASSWORD"]
    assert env_file.read_text() == (
        "# payments service\n"
        f"export DB_PASSWORD= # moved to secretsmanager:{password_arn}\n"
        "LOG_LEVEL=debug\n"
        "\n"
        f"API_TOKEN= # moved to secretsmanager:{token_arn}\n"
        "MULTI=\"first\n"
        "second\"\n"
    )
    assert env_file.stat().st_mode & 0o777 == 0o640
    assert not env_file.with_name(".env.secretguard-backup").exists()  # the run succeeded
    assert_no_plaintext(journal_path(plan_file).read_text(), plan_file.read_text())

    rollback(journal_path(plan_file), world.clients, quiet)
    assert env_file.read_text() == original


def test_drift_after_the_plan_stops_before_anything(world: World, tmp_path: Path) -> None:
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",))
    drifted = {**LAMBDA_SECRETS, **LAMBDA_PLAIN, "DB_PASSWORD": "rotated-Q2w9"}
    world.lam.update_function_configuration(FunctionName="billing", Environment={"Variables": drifted})
    before = world.function_state()
    with pytest.raises(SecretguardError, match="DB_PASSWORD changed since the plan was made"):
        apply_plan(plan_file, world.clients, quiet)
    assert world.secrets() == {}
    assert world.function_state() == before
    assert json.loads(journal_path(plan_file).read_text().splitlines()[-1])["event"] == "failed"


def test_an_existing_secret_with_the_same_value_is_reused_and_kept(world: World, tmp_path: Path) -> None:
    existing = world.sm.create_secret(Name="secretguard/lambda/billing/DB_PASSWORD",
                                      SecretString=LAMBDA_SECRETS["DB_PASSWORD"])["ARN"]
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",))
    apply_plan(plan_file, world.clients, quiet)
    assert world.variables()["DB_PASSWORD_SECRET_ARN"] == existing
    assert len(world.secrets()) == 3
    rollback(journal_path(plan_file), world.clients, quiet, delete_secrets=True)
    secrets = world.secrets()
    assert "DeletedDate" not in secrets["secretguard/lambda/billing/DB_PASSWORD"]  # not ours to delete
    assert all("DeletedDate" in s for n, s in secrets.items() if not n.endswith("DB_PASSWORD"))


def test_an_existing_secret_with_another_value_stops_the_item(world: World, tmp_path: Path) -> None:
    world.sm.create_secret(Name="secretguard/lambda/billing/DB_PASSWORD", SecretString="someone-elses-9Xk")
    before = world.function_state()
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",))
    with pytest.raises(SecretguardError, match="already exists and holds a different value"):
        apply_plan(plan_file, world.clients, quiet)
    assert world.function_state() == before


def test_names_that_collide_with_different_values_are_refused(world: World, tmp_path: Path) -> None:
    with pytest.raises(SecretguardError, match="would both go to secret prod/DB_PASSWORD"):
        world.plan(tmp_path / "plan.json", functions=("billing",), task_definitions=("web",),
                   name_template="prod/{variable}")


def test_plan_from_a_scan_report(world: World, tmp_path: Path) -> None:
    older = {**LAMBDA_SECRETS, **LAMBDA_PLAIN, "OLD_SECRET": "k3Jd-9sLq-22xV"}
    world.lam.update_function_configuration(FunctionName="billing", Environment={"Variables": older})
    world.lam.publish_version(FunctionName="billing")
    world.lam.update_function_configuration(FunctionName="billing",
                                            Environment={"Variables": {**LAMBDA_SECRETS, **LAMBDA_PLAIN}})
    plans = []
    for reveal in (["--reveal"], []):
        report, plan_file = tmp_path / f"findings{len(reveal)}.json", tmp_path / f"plan{len(reveal)}.json"
        assert run_cli("scan", "aws", "--region", REGION, "--services", "lambda,ecs", "--format", "json",
                       "--output", report, *reveal).code == 1
        run = run_cli("migrate", "plan", "--from", report, "--output", plan_file)
        assert run.code == 0, run.err
        plans.append(load_plan(plan_file)[0])
    values = {**LAMBDA_SECRETS, "app/DB_PASSWORD": ECS_SECRET}
    for plan in plans:  # with or without --reveal: the plan reads the values from the resources
        assert {(i.resource, m.key) for i in plan.items for m in i.moves} == \
               {(i.resource, m.key) for i in plans[0].items for m in i.moves}
        assert all(m.value_hash == plan.hasher.secret_hash(values[m.key]) for i in plan.items for m in i.moves)
        assert {m.key for i in plan.items for m in i.moves} >= {*LAMBDA_SECRETS, "app/DB_PASSWORD"}
        (old,) = [s for s in plan.skipped if s.variable == "OLD_SECRET"]
        assert "only in older versions" in old.reason


def test_cli_end_to_end_prints_snippet_and_rotation(world: World, tmp_path: Path) -> None:
    before = world.function_state()
    plan_file = str(tmp_path / "plan.json")

    def run(*args: str) -> tuple[str, str]:
        result = run_cli("migrate", *args)
        assert result.code == 0, result.err
        return result.out, result.err

    run("plan", "--function", "billing", "-o", plan_file)
    out, err = run("apply", plan_file)
    assert "secret_env(" in out and "secretEnv(" in out and f"secretguard migrate finalize {plan_file}" in out
    assert f"AWS access key {KEY_ID_SHOWN} (account {KEY_ACCOUNT})" in out
    assert "Rotate each one" in out and "  secret   DB_PASSWORD" in err
    assert_no_plaintext(out, err)
    out, _ = run("finalize", plan_file)
    assert "finalized 1 function(s)" in out
    out, err = run("rollback", str(journal_path(Path(plan_file))), "--delete-secrets")
    assert "scheduled for deletion in 7 days" in err and "rolled back" in out
    assert world.function_state() == before


@pytest.mark.parametrize(("args", "message"), [
    (("plan",), "error: nothing to plan: pass --from FINDINGS.json"),
    (("apply", "missing.json"), "error: missing.json: cannot read plan"),
    (("finalize", "missing.json"), "error: missing.json: cannot read plan"),
    (("rollback", "missing.journal.jsonl"), "error: missing.journal.jsonl: no such journal"),
    (("rollback", "missing.journal.jsonl", "--delete-secrets", "--recovery-window-days", "3"),
     "error: --recovery-window-days must be between 7 and 30"),
    (("status", "missing.journal.jsonl"), "error: missing.journal.jsonl: no such journal"),
    (("plan", "--function", "billing", "--pairs", "both"), "error: --pairs 'both': choose from json, separate"),
    (("plan", "--function", "billing", "--lambda-mode", "layer"),
     "error: --lambda-mode 'layer': choose from reference, wrapper"),
])
def test_usage_errors_are_one_line(args: tuple[str, ...], message: str, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = run_cli("migrate", *args)
    assert run.code == 2
    assert run.err.startswith(message) and run.err.count("\n") == 1, run.err


def test_a_plan_edited_after_apply_began_is_refused(world: World, tmp_path: Path) -> None:
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",))
    apply_plan(plan_file, world.clients, quiet)
    plan_file.write_text(plan_file.read_text().replace("secretguard/lambda", "other/lambda"))
    with pytest.raises(SecretguardError, match="changed since it was first applied"):
        apply_plan(plan_file, world.clients, quiet)


def test_a_key_pair_moves_both_variables(world: World, tmp_path: Path) -> None:
    """The secret key is reported as the key ID's pair, not on its own; both variables still move, as one secret."""
    secret = "f8Kq2+Lm9/Zx4Rt7Vb1Nc6Yp3Hs5Jd0Wg8Ea2TuQ"
    world.function("uploader", {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": secret, "BUCKET": "media"})
    plan, _ = load_plan(world.plan(tmp_path / "plan.json", functions=("uploader",)))
    (move,) = [m for i in plan.items for m in i.moves]
    assert [p.variable for p in move.parts] == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
