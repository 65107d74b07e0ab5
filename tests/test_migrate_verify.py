"""Every run ends by reading back what it touched: ``migrate status``, the result table, and the ECS wait."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.awsrequest import AWSResponse

from secretguard.aws.migrate import apply_plan, finalize_plan
from secretguard.aws.migrate_journal import journal_path
from secretguard.aws.migrate_plan import load_plan
from secretguard.aws.migrate_scan import Scanner
from secretguard.aws.migrate_verify import KEPT, LEFT, MOVED, RESTORED, verify, wait_for_services
from secretguard.config import Config
from secretguard.findings import redact
from tests.helpers import run_cli
from tests.test_migrate import ALL_VALUES, LAMBDA_SECRETS, World, quiet, world  # noqa: F401  (a fixture)
from tests.test_migrate_faults import injected


def statuses(world: World, plan_file: Path) -> dict[tuple[str, str], str]:
    result = verify(journal_path(plan_file), world.clients, Scanner(Config()).plaintext)
    return {(r.resource, r.variable): r.status for r in result.rows}


def test_status_follows_apply_finalize_and_rollback(world: World, tmp_path: Path) -> None:
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",), task_definitions=("web",))
    journal = journal_path(plan_file)
    expected = {(world.function_arn, v) for v in LAMBDA_SECRETS} | {(world.revision, "app/DB_PASSWORD")}
    apply_plan(plan_file, world.clients, quiet)
    assert statuses(world, plan_file) == {k: KEPT if k[0] == world.function_arn else MOVED for k in expected}

    run = run_cli("migrate", "finalize", plan_file)
    assert run.code == 0, run.err
    assert "verified: 4 moved, 0 kept until finalize, 0 restored, 0 still plaintext, 0 skipped" in run.out
    for value in ALL_VALUES:
        assert value not in run.out + run.err

    run = run_cli("migrate", "rollback", journal)
    assert run.code == 0, run.err
    assert "4 restored, 0 still plaintext" in run.out
    assert statuses(world, plan_file) == {k: RESTORED for k in expected}


def skip_the_call(**kwargs: Any) -> tuple[AWSResponse, dict[str, Any]]:
    """Answer as if the update happened, without sending it: a run that believes it removed the plaintext."""
    return AWSResponse("http://127.0.0.1", 200, {}, None), {}


def test_plaintext_left_behind_fails_and_is_named_redacted(world: World, tmp_path: Path) -> None:
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",))
    apply_plan(plan_file, world.clients, quiet)
    finalize_plan(plan_file, injected("before-call.lambda.UpdateFunctionConfiguration", skip_the_call), quiet)

    result = verify(journal_path(plan_file), world.clients, Scanner(Config()).plaintext)
    assert {r.variable for r in result.failures} == set(LAMBDA_SECRETS)
    assert all(r.status == LEFT for r in result.failures)

    run = run_cli("migrate", "status", journal_path(plan_file))
    assert run.code == 1
    line = f"error: {world.function_arn} DB_PASSWORD: still plaintext: "
    assert line in run.err and redact(LAMBDA_SECRETS["DB_PASSWORD"]) in run.err
    for value in ALL_VALUES:
        assert value not in run.out + run.err


def test_status_of_a_journal_without_its_plan_is_one_line(world: World, tmp_path: Path) -> None:
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",))
    apply_plan(plan_file, world.clients, quiet)
    plan_file.unlink()
    run = run_cli("migrate", "status", journal_path(plan_file))
    assert run.code == 2 and run.err.startswith("error: ") and run.err.count("\n") == 1, run.err
    assert "is not there any more" in run.err


def deployments(*states: str) -> Any:
    """An ``after-call`` handler that plays the given rollout states of the PRIMARY deployment, one per call."""
    calls: list[int] = []

    def handler(parsed: dict[str, Any], **kwargs: Any) -> None:
        state = states[min(len(calls), len(states) - 1)]
        calls.append(1)
        for service in parsed.get("services", []):
            service["deployments"] = [{"status": "PRIMARY", "taskDefinition": service["taskDefinition"],
                                       "rolloutState": state, "desiredCount": 1,
                                       "runningCount": int(state == "COMPLETED"),
                                       "rolloutStateReason": "tasks failed to start" if state == "FAILED" else ""}]
    return handler


def test_wait_until_the_services_run_the_new_revision(world: World, tmp_path: Path) -> None:
    plan_file = world.plan(tmp_path / "plan.json", task_definitions=("web",), update_services=True)
    outcome = apply_plan(plan_file, world.clients, quiet)
    plan = load_plan(plan_file)[0]
    log: list[str] = []
    clients = injected("after-call.ecs.DescribeServices", deployments("IN_PROGRESS", "IN_PROGRESS", "COMPLETED"))
    states = wait_for_services(plan, outcome.revisions, clients, 5, log.append, poll=0.01)
    assert states == {world.service: "running web:2"}
    assert log == [f"service {world.service}: running web:2"]

    log.clear()
    clients = injected("after-call.ecs.DescribeServices", deployments("IN_PROGRESS"))
    wait_for_services(plan, outcome.revisions, clients, 0.05, log.append, poll=0.01)
    assert log == [f"service {world.service}: still deploying web:2 after 0 s; `migrate status` shows it later"]


def test_a_failed_deployment_fails_the_verification(world: World, tmp_path: Path) -> None:
    plan_file = world.plan(tmp_path / "plan.json", task_definitions=("web",), update_services=True)
    apply_plan(plan_file, world.clients, quiet)
    clients = injected("after-call.ecs.DescribeServices", deployments("FAILED"))
    result = verify(journal_path(plan_file), clients, Scanner(Config()).plaintext)
    assert [(r.variable, r.status) for r in result.failures] == [(world.service, "deployment failed")]


def test_advice_names_only_flags_not_given(world: World, tmp_path: Path) -> None:
    world.ecs.register_task_definition(family="batch", executionRoleArn=world.exec_role, containerDefinitions=[
        {"name": "job", "image": "busybox", "memory": 64,
         "environment": [{"name": "API_TOKEN", "value": LAMBDA_SECRETS["API_TOKEN"]}]}])
    outputs = {}
    for flags in ((), ("--update-services",)):
        plan_file = tmp_path / f"plan{len(flags)}.json"
        assert run_cli("migrate", "plan", "--task-definition", "batch", *flags, "-o", plan_file).code == 0
        run = run_cli("migrate", "apply", plan_file)
        assert run.code == 0, run.err
        outputs[flags] = run.out
        assert run_cli("migrate", "rollback", journal_path(plan_file)).code == 0
    assert "`migrate plan --update-services`" in outputs[()]
    assert "--update-services" not in outputs[("--update-services",)]
    assert "task-definition/batch:3 to your services (none was pointed at it)\n" in outputs[("--update-services",)]
