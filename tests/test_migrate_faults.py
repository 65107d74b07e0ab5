"""Faults during ``migrate apply`` and ``rollback``: injected AWS failures, and a process killed between steps.

Faults come from botocore's event system on the clients handed to the engine or, for a killed process, from a
``sitecustomize`` on PYTHONPATH that SIGKILLs the real ``secretguard`` command right after a chosen AWS call
returns: the product carries no test hooks. After each fault: no variable is lost, the resource is unchanged
or fully changed, the journal matches what exists in AWS, ``apply`` resumes without duplicating anything, and
``rollback`` brings back the original configuration exactly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from secretguard.aws.migrate import apply_plan, rollback, session_clients
from secretguard.aws.migrate_journal import Journal, journal_path
from secretguard.aws.migrate_plan import Clients
from secretguard.aws.migrate_scan import Scanner
from secretguard.aws.migrate_verify import verify
from secretguard.config import Config
from secretguard.errors import SecretguardError
from tests.test_migrate import ALL_VALUES, World, quiet, shared_session, world  # noqa: F401  (world is a fixture)

KILLER = textwrap.dedent("""\
    import os
    import signal

    import boto3.session

    _target = os.environ["SECRETGUARD_TEST_KILL_AFTER"]
    _init = boto3.session.Session.__init__


    def _die(**kwargs):
        os.kill(os.getpid(), signal.SIGKILL)


    def __init__(self, *args, **kwargs):
        _init(self, *args, **kwargs)
        self.events.register("after-call." + _target, _die)


    boto3.session.Session.__init__ = __init__
""")


def injected(event: str, handler: Any) -> Clients:
    """Fresh clients (not the test's own) that all run ``handler`` on the botocore ``event``."""
    clients = session_clients(shared_session())

    def make(service: str, region: str) -> Any:
        client = clients(service, region)
        client.meta.events.register(event, handler, unique_id=f"fault:{event}")
        return client

    return make


def unavailable(model: Any, **kwargs: Any) -> None:
    raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected fault"}}, model.name)


def records(plan_file: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in journal_path(plan_file).read_text().splitlines()]


def assert_journal_matches_aws(world: World, plan_file: Path) -> None:
    """What the journal says began is all that exists, what it says is done really is, and reading everything
    back finds no plaintext where the journal says it is gone."""
    journal = records(plan_file)
    assert all(value not in json.dumps(journal) for value in ALL_VALUES)
    began = {(r["item"], r["step"], r["sub"]) for r in journal if r["event"] in ("begin", "done")}
    info: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in journal:
        if "step" in r:
            info.setdefault((r["item"], r["step"], r["sub"]), {}).update(r)
    done = {k: r for k, r in info.items() if r["event"] == "done"}  # the last event wins
    secrets = world.secrets()
    assert {(r["item"], r["sub"]) for r in journal if r.get("step") == "secret" and r["event"] in ("begin", "done")} \
        == {(t["secretguard:resource"], t["secretguard:variable"])
            for t in ({x["Key"]: x["Value"] for x in s["Tags"]} for s in secrets.values())}
    arns = {s["ARN"] for s in secrets.values()}
    assert all(r["secret_arn"] in arns for k, r in done.items() if k[1] == "secret")
    for role, item in (("billing-role", world.function_arn), ("web-execution", world.revision)):
        ours = {n: d for n, d in world.role_policies(role).items() if n.startswith("secretguard-")}
        journaled = {r["policy_name"] for r in journal if r.get("step") == "grant" and r["item"] == item
                     and r["event"] in ("begin", "done")}
        assert set(ours) <= journaled
        assert {r["policy_name"] for k, r in done.items() if k[1] == "grant" and k[0] == item} <= set(ours)
    references = {k for k in world.variables() if k.endswith("_SECRET_ARN")}
    assert references in (set(), {f"{v}_SECRET_ARN" for v in ("API_TOKEN", "DB_PASSWORD", "DEPLOY_ACCESS_KEY")})
    assert not references or (world.function_arn, "change", "") in began
    assert references or (world.function_arn, "change", "") not in done
    changed = len(world.task_state()["active"]) == 2
    assert not changed or (world.revision, "change", "") in began
    assert changed or (world.revision, "change", "") not in done
    assert verify(journal_path(plan_file), world.clients, Scanner(Config()).plaintext).failures == []


@pytest.fixture
def plan_file(world: World, tmp_path: Path) -> Path:
    return world.plan(tmp_path / "plan.json", functions=("billing",), task_definitions=("web",),
                      kms_key_id=world.key_arn, update_services=True)


@pytest.fixture
def before(world: World) -> tuple[Any, ...]:
    return original(world)


def original(world: World) -> tuple[Any, ...]:
    return (world.function_state(), world.task_state(), world.role_policies("billing-role"),
            world.role_policies("web-execution"))


def test_fault_after_the_secret_is_created(world: World, plan_file: Path, before: tuple[Any, ...]) -> None:
    faulty = injected("before-call.iam.PutRolePolicy", unavailable)
    with pytest.raises(SecretguardError, match=r"grant API_TOKEN: ServiceUnavailable: injected fault.*apply again"):
        apply_plan(plan_file, faulty, quiet)
    assert original(world) == before
    first = world.secrets()
    assert list(first) == ["secretguard/lambda/billing/API_TOKEN"]
    assert_journal_matches_aws(world, plan_file)

    apply_plan(plan_file, world.clients, quiet)
    secrets = world.secrets()
    assert len(secrets) == 4  # nothing created twice
    name = "secretguard/lambda/billing/API_TOKEN"
    assert secrets[name]["ARN"] == first[name]["ARN"]
    assert_journal_matches_aws(world, plan_file)
    rollback(journal_path(plan_file), world.clients, quiet)
    assert original(world) == before
    assert_journal_matches_aws(world, plan_file)


def test_fault_after_the_grants_leaves_the_resource_as_it_was(world: World, plan_file: Path,
                                                              before: tuple[Any, ...]) -> None:
    faulty = injected("before-call.lambda.UpdateFunctionConfiguration", unavailable)
    with pytest.raises(SecretguardError, match="change: ServiceUnavailable"):
        apply_plan(plan_file, faulty, quiet)
    assert world.function_state() == before[0]
    assert len(world.role_policies("billing-role")) == 4
    assert_journal_matches_aws(world, plan_file)

    outcome = rollback(journal_path(plan_file), world.clients, quiet)
    assert original(world) == before
    assert len(outcome.kept_secrets) == 3
    assert_journal_matches_aws(world, plan_file)


@pytest.mark.parametrize("call", ["lambda.UpdateFunctionConfiguration", "ecs.RegisterTaskDefinition"])
def test_fault_during_the_change_after_aws_did_it(world: World, plan_file: Path, before: tuple[Any, ...],
                                                  call: str) -> None:
    """The change happened but its answer was lost: the resource is fully changed, and resuming does not redo it."""
    faulty = injected(f"after-call.{call}", unavailable)
    with pytest.raises(SecretguardError, match="change: ServiceUnavailable"):
        apply_plan(plan_file, faulty, quiet)
    assert_journal_matches_aws(world, plan_file)

    apply_plan(plan_file, world.clients, quiet)
    assert len(world.secrets()) == 4
    assert world.task_state()["active"][-1].endswith("web:2") and len(world.task_state()["active"]) == 2
    assert_journal_matches_aws(world, plan_file)
    rollback(journal_path(plan_file), world.clients, quiet)
    assert original(world) == before
    assert_journal_matches_aws(world, plan_file)


def test_a_registration_retried_after_its_answer_was_lost_leaves_one_revision(world: World, plan_file: Path,
                                                                            before: tuple[Any, ...]) -> None:
    """AWS registered the revision, the answer timed out, and botocore sent the call again: one revision stays."""
    lost: list[str] = []

    def answer_lost(request: Any, **kwargs: Any) -> None:
        if not lost:
            lost.append(request.url)
            sent = urllib.request.Request(request.url, data=request.body, method=request.method,
                                          headers={k: v.decode() if isinstance(v, bytes) else v
                                                   for k, v in request.headers.items()})
            urllib.request.urlopen(sent).read()  # AWS does the work...
            raise ReadTimeoutError(endpoint_url=request.url)  # ...and the answer never arrives

    apply_plan(plan_file, injected("before-send.ecs.RegisterTaskDefinition", answer_lost), quiet)

    assert lost
    state = world.task_state()
    assert [arn.rsplit(":", 1)[1] for arn in state["active"]] == ["1", "3"]  # 2 was the lost answer's
    assert state["service"] == state["active"][-1]
    assert_journal_matches_aws(world, plan_file)
    rollback(journal_path(plan_file), world.clients, quiet)
    assert original(world) == before
    assert_journal_matches_aws(world, plan_file)


def test_fault_pointing_the_service_at_the_new_revision(world: World, plan_file: Path,
                                                        before: tuple[Any, ...]) -> None:
    faulty = injected("before-call.ecs.UpdateService", unavailable)
    with pytest.raises(SecretguardError, match="service .*ServiceUnavailable"):
        apply_plan(plan_file, faulty, quiet)
    state = world.task_state()
    assert state["service"] == world.revision and len(state["active"]) == 2
    assert_journal_matches_aws(world, plan_file)
    rollback(journal_path(plan_file), world.clients, quiet)
    assert original(world) == before
    assert_journal_matches_aws(world, plan_file)


def test_a_secret_that_reads_back_different_stops_everything(world: World, plan_file: Path,
                                                             before: tuple[Any, ...]) -> None:
    def tamper(parsed: dict[str, Any], **kwargs: Any) -> None:
        parsed["SecretString"] = "not-what-was-stored"

    faulty = injected("after-call.secretsmanager.GetSecretValue", tamper)
    with pytest.raises(SecretguardError, match="does not hold the value of API_TOKEN") as error:
        apply_plan(plan_file, faulty, quiet)
    assert all(value not in str(error.value) for value in ALL_VALUES)
    assert original(world) == before  # no grant, no change
    assert_journal_matches_aws(world, plan_file)


def run_killed(tmp_path: Path, call: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``secretguard ARGS`` in a real process that SIGKILLs itself as soon as ``call`` returns."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(KILLER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
           "SECRETGUARD_TEST_KILL_AFTER": call}
    return subprocess.run([sys.executable, "-m", "secretguard", *args], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("call", ["secretsmanager.CreateSecret", "iam.PutRolePolicy",
                                  "lambda.UpdateFunctionConfiguration", "ecs.RegisterTaskDefinition"])
def test_killed_between_steps(world: World, plan_file: Path, before: tuple[Any, ...], tmp_path: Path,
                              call: str) -> None:
    killed = run_killed(tmp_path, call, "migrate", "apply", str(plan_file))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    journal = records(plan_file)
    assert journal[-1]["event"] == "begin"  # it died between acting and writing ``done``
    assert_journal_matches_aws(world, plan_file)

    apply_plan(plan_file, world.clients, quiet)
    assert len(world.secrets()) == 4
    assert len(world.task_state()["active"]) == 2
    assert world.task_state()["service"] == world.task_state()["active"][-1]
    assert_journal_matches_aws(world, plan_file)
    rollback(journal_path(plan_file), world.clients, quiet)
    assert original(world) == before
    assert_journal_matches_aws(world, plan_file)


def test_rollback_straight_after_a_kill_finds_the_revision_it_registered(
        world: World, plan_file: Path, before: tuple[Any, ...], tmp_path: Path) -> None:
    killed = run_killed(tmp_path, "ecs.RegisterTaskDefinition", "migrate", "apply", str(plan_file))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert len(world.task_state()["active"]) == 2  # registered, but the journal never heard of it

    rollback(journal_path(plan_file), world.clients, quiet)

    assert original(world) == before


def test_killed_during_rollback(world: World, plan_file: Path, before: tuple[Any, ...], tmp_path: Path) -> None:
    apply_plan(plan_file, world.clients, quiet)
    killed = run_killed(tmp_path, "iam.DeleteRolePolicy", "migrate", "rollback", str(journal_path(plan_file)))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    rollback(journal_path(plan_file), world.clients, quiet)
    assert original(world) == before
    assert_journal_matches_aws(world, plan_file)


def test_a_record_torn_by_a_crash_is_dropped(world: World, plan_file: Path) -> None:
    with pytest.raises(SecretguardError):
        apply_plan(plan_file, injected("before-call.iam.PutRolePolicy", unavailable), quiet)
    with open(journal_path(plan_file), "ab") as journal:
        journal.write(b'{"ts":"2026-01-01T00:00:00","event":"do')
    apply_plan(plan_file, world.clients, quiet)
    assert records(plan_file)[-1]["event"] == "finish"
    assert_journal_matches_aws(world, plan_file)


def test_one_process_at_a_time(world: World, plan_file: Path) -> None:
    with Journal.open(journal_path(plan_file), create=True), \
            pytest.raises(SecretguardError, match="in use by another secretguard process"):
        apply_plan(plan_file, world.clients, quiet)
    assert world.secrets() == {}
