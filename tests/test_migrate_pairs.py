"""Key pairs move together, and what used to go wrong: each test here failed before its fix (local AWS API)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from secretguard.aws.migrate import apply_plan, rollback
from secretguard.aws.migrate_journal import journal_path
from secretguard.aws.migrate_plan import PlanRequest, build_plan, load_plan
from secretguard.errors import SecretguardError
from secretguard.findings import redact
from tests.helpers import run_cli
from tests.test_migrate import KEY_ID, LAMBDA_SECRETS, REGION, World, quiet, world  # noqa: F401  (a fixture)

SECRET_KEY = "f8Kq2+Lm9/Zx4Rt7Vb1Nc6Yp3Hs5Jd0Wg8Ea2TuQ"
TEMPORARY_KEY = "ASIA" + KEY_ID[4:]
SESSION_TOKEN = "IQoJb3JpZ2luX2Vj" + base64.b64encode(b"".join(
    hashlib.sha512(bytes([i])).digest() for i in range(4))).decode().rstrip("=").replace("=", "")
PASSWORD = "pG7-kL9vQ2mXw4Rt"
PAIR_VALUES = [KEY_ID, SECRET_KEY, TEMPORARY_KEY, SESSION_TOKEN, PASSWORD]


def cli(*args: str | Path, code: int = 0) -> str:
    run = run_cli(*args)
    assert run.code == code, run.err
    for value in PAIR_VALUES:
        assert value not in run.out + run.err
    return run.out


def lambda_latest_findings(report: Path) -> list[dict[str, Any]]:
    findings = json.loads(report.read_text())["findings"]
    return [f for f in findings if any(loc["resource"].endswith(":$LATEST") for loc in f["locations"])]


def test_readme_flow_leaves_nothing_behind_for_a_key_pair(world: World, tmp_path: Path) -> None:
    """scan aws -> plan --from -> apply -> finalize: the secret key goes too, and a fresh scan finds nothing."""
    world.function("deployer", {"DEPLOY_ACCESS_KEY_ID": KEY_ID, "DEPLOY_SECRET_ACCESS_KEY": SECRET_KEY,
                                "DB_PASSWORD": PASSWORD, "STAGE": "prod"})
    report, plan_file = tmp_path / "f.json", tmp_path / "plan.json"
    cli("scan", "aws", "--region", REGION, "--services", "lambda,ecs", "-f", "json", "-o", report, code=1)
    cli("migrate", "plan", "--from", report, "-o", plan_file)
    cli("migrate", "apply", plan_file)
    cli("migrate", "finalize", plan_file)

    variables = world.variables("deployer")
    (pair,) = [s for n, s in world.secrets().items() if n.endswith("deployer/DEPLOY_ACCESS_KEY_ID")]
    assert json.loads(world.sm.get_secret_value(SecretId=pair["ARN"])["SecretString"]) == {
        "AccessKeyId": KEY_ID, "SecretAccessKey": SECRET_KEY}
    assert variables == {"STAGE": "prod", "DB_PASSWORD_SECRET_ARN": variables["DB_PASSWORD_SECRET_ARN"],
                         "DEPLOY_ACCESS_KEY_ID_SECRET_ARN": f"{pair['ARN']}:AccessKeyId::",
                         "DEPLOY_SECRET_ACCESS_KEY_SECRET_ARN": f"{pair['ARN']}:SecretAccessKey::"}
    after = tmp_path / "after.json"
    # ECS's old revision still holds one
    cli("scan", "aws", "--region", REGION, "--services", "lambda,ecs", "-f", "json", "-o", after, code=1)
    assert lambda_latest_findings(after) == []


def test_separate_secrets_for_a_pair_when_asked(world: World, tmp_path: Path) -> None:
    world.function("deployer", {"DEPLOY_ACCESS_KEY_ID": KEY_ID, "DEPLOY_SECRET_ACCESS_KEY": SECRET_KEY})
    report, plan_file = tmp_path / "f.json", tmp_path / "plan.json"
    cli("scan", "aws", "--region", REGION, "--services", "lambda", "-f", "json", "-o", report, code=1)
    cli("migrate", "plan", "--from", report, "--pairs", "separate", "-o", plan_file)
    plan, _ = load_plan(plan_file)
    (item,) = [i for i in plan.items if i.name == "deployer"]
    assert [(m.key, m.fields) for m in item.moves] == [("DEPLOY_ACCESS_KEY_ID", ()), ("DEPLOY_SECRET_ACCESS_KEY", ())]
    assert [m.aws_key_id for m in item.moves] == [redact(KEY_ID)] * 2  # both remind to rotate the key


def test_a_temporary_key_moves_with_its_secret_and_session_token(world: World, tmp_path: Path) -> None:
    variables = {"AWS_ACCESS_KEY_ID": TEMPORARY_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                 "AWS_SESSION_TOKEN": SESSION_TOKEN, "BUCKET": "media"}
    world.function("uploader", variables)
    before = world.function_state("uploader")
    plan_file = world.plan(tmp_path / "plan.json", functions=("uploader",), remove_plaintext=True)
    (item,) = load_plan(plan_file)[0].items
    (move,) = item.moves
    assert [(f.json_key, f.variable) for f in move.fields] == [
        ("AccessKeyId", "AWS_ACCESS_KEY_ID"), ("SecretAccessKey", "AWS_SECRET_ACCESS_KEY"),
        ("SessionToken", "AWS_SESSION_TOKEN")]
    apply_plan(plan_file, world.clients, quiet)
    arn = world.secrets()["secretguard/lambda/uploader/AWS_ACCESS_KEY_ID"]["ARN"]
    assert json.loads(world.sm.get_secret_value(SecretId=arn)["SecretString"]) == {
        "AccessKeyId": TEMPORARY_KEY, "SecretAccessKey": SECRET_KEY, "SessionToken": SESSION_TOKEN}
    assert world.variables("uploader") == {"BUCKET": "media", **{
        f"{n}_SECRET_ARN": f"{arn}:{k}::" for n, k in (("AWS_ACCESS_KEY_ID", "AccessKeyId"),
                                                       ("AWS_SECRET_ACCESS_KEY", "SecretAccessKey"),
                                                       ("AWS_SESSION_TOKEN", "SessionToken"))}}
    rollback(journal_path(plan_file), world.clients, quiet)
    assert world.function_state("uploader") == before


def test_an_ecs_pair_is_read_from_json_keys(world: World, tmp_path: Path) -> None:
    world.ecs.register_task_definition(family="sync", executionRoleArn=world.exec_role, containerDefinitions=[
        {"name": "job", "image": "busybox", "memory": 64,
         "environment": [{"name": "AWS_ACCESS_KEY_ID", "value": KEY_ID},
                         {"name": "AWS_SECRET_ACCESS_KEY", "value": SECRET_KEY}]}])
    plan_file = world.plan(tmp_path / "plan.json", task_definitions=("sync",))
    outcome = apply_plan(plan_file, world.clients, quiet)
    (new,) = outcome.revisions.values()
    (container,) = world.ecs.describe_task_definition(taskDefinition=new)["taskDefinition"]["containerDefinitions"]
    arn = world.secrets()["secretguard/ecs/sync/AWS_ACCESS_KEY_ID"]["ARN"]
    assert container.get("environment", []) == []
    assert container["secrets"] == [{"name": "AWS_ACCESS_KEY_ID", "valueFrom": f"{arn}:AccessKeyId::"},
                                    {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": f"{arn}:SecretAccessKey::"}]


def test_the_highest_revision_wins_when_the_server_ignores_the_sort_order(world: World, tmp_path: Path) -> None:
    """The local server lists revisions oldest first whatever ``sort`` says, as some servers do."""
    definition = world.ecs.describe_task_definition(taskDefinition=world.revision)["taskDefinition"]
    for password in ("second-Qw8Lm2Zx", "third-Rt5Yu7Io9"):
        app = {**definition["containerDefinitions"][0],
               "environment": [{"name": "DB_PASSWORD", "value": password}]}
        world.ecs.register_task_definition(family="web", executionRoleArn=world.exec_role,
                                           containerDefinitions=[app, definition["containerDefinitions"][1]])
    listed = world.ecs.list_task_definitions(familyPrefix="web", status="ACTIVE", sort="DESC")["taskDefinitionArns"]
    assert listed[0].endswith("web:1")  # the server really ignores it
    plan_file = world.plan(tmp_path / "plan.json", task_definitions=("web",))
    (item,) = load_plan(plan_file)[0].items
    assert item.resource.endswith("web:3")
    log: list[str] = []
    outcome = apply_plan(plan_file, world.clients, log.append)
    assert outcome.revisions[item.resource].endswith("web:4")
    rollback(journal_path(plan_file), world.clients, log.append)
    assert any("web:3 is the latest revision again" in line for line in log)


def test_a_kept_secret_is_encrypted_with_the_key_asked_for(world: World, tmp_path: Path) -> None:
    first = world.plan(tmp_path / "first.json", functions=("billing",))
    apply_plan(first, world.clients, quiet)
    rollback(journal_path(first), world.clients, quiet)  # the secrets are kept, under the AWS managed key
    name = "secretguard/lambda/billing/DB_PASSWORD"
    old_version = world.sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    second = world.plan(tmp_path / "second.json", functions=("billing",), kms_key_id=world.key_arn)
    apply_plan(second, world.clients, quiet)
    secret = world.secrets()[name]
    assert secret["KmsKeyId"] in (world.key_arn, world.key_arn.rsplit("/", 1)[-1])
    grant = world.role_policies("billing-role")
    assert any(s["Action"] == "kms:Decrypt" and s["Resource"] == world.key_arn
               for d in grant.values() for s in d["Statement"])
    rollback(journal_path(second), world.clients, quiet)
    (previous,) = old_version
    assert world.sm.describe_secret(SecretId=name)["VersionIdsToStages"][previous] == ["AWSCURRENT"]
    assert "KmsKeyId" not in world.sm.describe_secret(SecretId=name)


def test_update_existing_after_a_rotation_and_rollback_to_the_previous_version(world: World, tmp_path: Path) -> None:
    name = "secretguard/lambda/billing/DB_PASSWORD"
    previous = world.sm.create_secret(Name=name, SecretString="before-rotation-7Yx")["VersionId"]
    refused = world.plan(tmp_path / "refused.json", functions=("billing",))
    with pytest.raises(SecretguardError, match="holds a different value .*--update-existing"):
        apply_plan(refused, world.clients, quiet)

    before = world.function_state()
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",), update_existing=True,
                           remove_plaintext=True)
    apply_plan(plan_file, world.clients, quiet)
    stages = world.sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    (current,) = [v for v, s in stages.items() if "AWSCURRENT" in s]
    assert current != previous and stages[previous] == ["AWSPREVIOUS"]
    assert world.sm.get_secret_value(SecretId=name)["SecretString"] == LAMBDA_SECRETS["DB_PASSWORD"]
    (done,) = [json.loads(line) for line in journal_path(plan_file).read_text().splitlines()
               if '"step":"secret"' in line and '"event":"done"' in line and "DB_PASSWORD" in line]
    assert (done["version_id"], done["previous_version_id"], done["created"]) == (current, previous, False)

    rollback(journal_path(plan_file), world.clients, quiet, delete_secrets=True)
    assert world.function_state() == before
    described = world.sm.describe_secret(SecretId=name)
    assert described["VersionIdsToStages"][previous] == ["AWSCURRENT"] and "DeletedDate" not in described


def test_a_value_changed_since_the_plan_stops_the_run_before_any_change(world: World, tmp_path: Path) -> None:
    """A reused secret used to be granted before a later variable's drift was seen, and the error named it."""
    world.sm.create_secret(Name="secretguard/lambda/billing/API_TOKEN", SecretString=LAMBDA_SECRETS["API_TOKEN"])
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",), task_definitions=("web",))
    drifted = {**world.variables(), "DB_PASSWORD": "rotated-Q2w9-xx"}
    world.lam.update_function_configuration(FunctionName="billing", Environment={"Variables": drifted})
    state = (world.secrets(), world.role_policies("billing-role"), world.role_policies("web-execution"),
             world.function_state(), world.task_state())
    with pytest.raises(SecretguardError) as error:
        apply_plan(plan_file, world.clients, quiet)
    assert str(error.value).startswith(f"{world.function_arn}: DB_PASSWORD changed since the plan was made")
    assert "API_TOKEN" not in str(error.value)
    assert state == (world.secrets(), world.role_policies("billing-role"), world.role_policies("web-execution"),
                     world.function_state(), world.task_state())
    events = [json.loads(line)["event"] for line in journal_path(plan_file).read_text().splitlines()]
    assert events == ["start", "failed"]


def test_plan_from_a_report_never_scans_again(world: World, tmp_path: Path) -> None:
    report = tmp_path / "f.json"
    cli("scan", "aws", "--region", REGION, "--services", "lambda,ecs", "-f", "json", "-o", report, code=1)

    def no_scan(*args: Any) -> Any:
        raise AssertionError("scanned again")

    plan = build_plan(world.clients, PlanRequest(regions=(), findings=report), no_scan)
    assert {m.key for i in plan.items for m in i.moves} == {*LAMBDA_SECRETS, "app/DB_PASSWORD"}


def test_the_planner_imports_no_source_and_no_detector() -> None:
    code = ("import sys, secretguard.aws.migrate_plan, secretguard.aws.migrate\n"
            "print(sorted(m for m in sys.modules if m.startswith(('secretguard.sources', 'secretguard.engine', "
            "'secretguard.scanning', 'secretguard.aws.migrate_scan'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_python_snippet_reads_a_pair_member(world: World, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from secretguard.cli.migrate import PYTHON_SNIPPET

    world.function("deployer", {"DEPLOY_ACCESS_KEY_ID": KEY_ID, "DEPLOY_SECRET_ACCESS_KEY": SECRET_KEY,
                                "DB_PASSWORD": PASSWORD})
    apply_plan(world.plan(tmp_path / "plan.json", functions=("deployer",), remove_plaintext=True), world.clients,
               quiet)
    for name, value in world.variables("deployer").items():
        monkeypatch.setenv(name, value)
    namespace: dict[str, Any] = {}
    exec(PYTHON_SNIPPET, namespace)  # noqa: S102 - runs the snippet `migrate` tells users to paste
    assert [namespace["secret_env"](n) for n in ("DEPLOY_ACCESS_KEY_ID", "DEPLOY_SECRET_ACCESS_KEY", "DB_PASSWORD")] \
        == [KEY_ID, SECRET_KEY, PASSWORD]
