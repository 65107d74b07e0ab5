"""Plans and journals record values by a salted scrypt hash, never a plain sha256; version 1 files still work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from secretguard.aws.migrate import apply_plan, finalize_plan, rollback
from secretguard.aws.migrate_journal import JOURNAL_VERSION, journal_path
from secretguard.aws.migrate_plan import PLAN_VERSION, legacy_hasher, load_plan
from secretguard.errors import SecretguardError
from secretguard.findings import sha256_hex
from tests.test_migrate import ECS_SECRET, LAMBDA_PLAIN, LAMBDA_SECRETS, World, quiet, world  # noqa: F401

VALUES = {**LAMBDA_SECRETS, "app/DB_PASSWORD": ECS_SECRET}
"""Every planted value by the key of the move that carries it."""


def plain_digests() -> list[str]:
    return [sha256_hex(v) for v in VALUES.values()]


def _replace_hashes(node: Any, digests: dict[str, str]) -> Any:
    """``node`` with every ``value_hash`` replaced by the plain ``value_sha256`` of its value, as version 1 wrote."""
    if isinstance(node, list):
        return [_replace_hashes(n, digests) for n in node]
    if not isinstance(node, dict):
        return node
    return {("value_sha256" if k == "value_hash" else k): (digests[v] if k == "value_hash" else
                                                           _replace_hashes(v, digests)) for k, v in node.items()}


def downgrade(plan_file: Path) -> None:
    """Rewrite a plan, and its journal if there is one, as version 1 of secretguard wrote them."""
    plan, _ = load_plan(plan_file)
    digests = {plan.hasher.secret_hash(v): sha256_hex(v) for v in VALUES.values()}
    data = json.loads(plan_file.read_text())
    del data["hash"]
    data["version"] = 1
    text = json.dumps(_replace_hashes(data, digests), indent=2) + "\n"
    plan_file.write_text(text)
    journal = journal_path(plan_file)
    if journal.exists():
        records = [_replace_hashes(json.loads(line), digests) for line in journal.read_text().splitlines()]
        for record in records:
            record.pop("hash", None)
            record.pop("version", None)
            if "plan_sha256" in record:
                record["plan_sha256"] = sha256_hex(text)
        journal.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_plan_and_journal_hold_no_plain_hash_of_a_value(world: World, tmp_path: Path) -> None:
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",), task_definitions=("web",))
    apply_plan(plan_file, world.clients, quiet)
    finalize_plan(plan_file, world.clients, quiet)
    rollback(journal_path(plan_file), world.clients, quiet)
    written = plan_file.read_text() + journal_path(plan_file).read_text()
    for digest in plain_digests():
        assert digest not in written
    data = json.loads(plan_file.read_text())
    assert data["version"] == PLAN_VERSION == 2 and data["hash"]["kdf"] == "scrypt"
    plan, _ = load_plan(plan_file)
    assert {m.key: m.value_hash for i in plan.items for m in i.moves} == \
           {k: plan.hasher.secret_hash(v) for k, v in VALUES.items()}
    starts = [json.loads(line) for line in journal_path(plan_file).read_text().splitlines()
              if '"event":"start"' in line and '"command":"rollback"' not in line]
    assert [(r["version"], r["hash"]) for r in starts] == [(JOURNAL_VERSION, data["hash"])] * 2


def test_two_plans_hash_the_same_value_differently(world: World, tmp_path: Path) -> None:
    first, _ = load_plan(world.plan(tmp_path / "one.json", functions=("billing",)))
    second, _ = load_plan(world.plan(tmp_path / "two.json", functions=("billing",)))
    assert {m.value_hash for i in first.items for m in i.moves}.isdisjoint(
        {m.value_hash for i in second.items for m in i.moves})


def test_a_version_1_plan_still_checks_drift(world: World, tmp_path: Path) -> None:
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",))
    downgrade(plan_file)
    assert LAMBDA_SECRETS["DB_PASSWORD"] not in plan_file.read_text()
    assert sha256_hex(LAMBDA_SECRETS["DB_PASSWORD"]) in plan_file.read_text()  # what version 1 kept
    drifted = {**LAMBDA_SECRETS, **LAMBDA_PLAIN, "DB_PASSWORD": "rotated-Q2w9"}
    world.lam.update_function_configuration(FunctionName="billing", Environment={"Variables": drifted})
    with pytest.raises(SecretguardError, match="DB_PASSWORD changed since the plan was made"):
        apply_plan(plan_file, world.clients, quiet)
    assert world.secrets() == {}


def test_a_version_1_plan_applies_and_its_new_journal_is_version_2(world: World, tmp_path: Path) -> None:
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",))
    downgrade(plan_file)
    plan, _ = load_plan(plan_file)
    assert plan.hasher.salt == legacy_hasher(plan.id).salt
    apply_plan(plan_file, world.clients, quiet)
    assert {n: world.variables()[n] for n in LAMBDA_SECRETS} == LAMBDA_SECRETS
    journal = journal_path(plan_file).read_text()
    for digest in plain_digests():
        assert digest not in journal
    start = json.loads(journal.splitlines()[0])
    assert start["version"] == JOURNAL_VERSION and start["hash"] == plan.hasher.params()


def test_a_version_1_journal_resumes_finalizes_and_rolls_back(world: World, tmp_path: Path) -> None:
    """Applied by version 1 (plan and journal hold sha256 digests): the new version resumes, finalizes from the
    journal's moves, and rolls back both kinds, checking each value against the old digests."""
    before_function, before_tasks = world.function_state(), world.task_state()
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",), task_definitions=("web",))
    apply_plan(plan_file, world.clients, quiet)
    downgrade(plan_file)
    log: list[str] = []
    apply_plan(plan_file, world.clients, log.append)
    assert log == [f"{world.function_arn}: already applied", f"{world.revision}: already applied"]
    finalize_plan(plan_file, world.clients, quiet)
    assert not set(LAMBDA_SECRETS) & set(world.variables())
    rollback(journal_path(plan_file), world.clients, quiet)
    assert world.function_state() == before_function  # the values came back from the secrets, checked by sha256
    assert world.task_state() == before_tasks


def test_a_version_1_journal_stopped_mid_change_resumes(world: World, tmp_path: Path) -> None:
    """Version 1 registered the new ECS revision and stopped before journaling it; the new version finds it."""
    plan_file = world.plan(tmp_path / "plan.json", task_definitions=("web",))
    apply_plan(plan_file, world.clients, quiet)
    lines = journal_path(plan_file).read_text().splitlines()
    (begin,) = [i for i, line in enumerate(lines) if '"step":"change"' in line and '"event":"begin"' in line]
    journal_path(plan_file).write_text("\n".join(lines[:begin + 1]) + "\n")
    downgrade(plan_file)
    outcome = apply_plan(plan_file, world.clients, quiet)
    assert outcome.revisions[world.revision].endswith("task-definition/web:2")
    assert len(world.ecs.list_task_definitions(familyPrefix="web", status="ACTIVE")["taskDefinitionArns"]) == 2
