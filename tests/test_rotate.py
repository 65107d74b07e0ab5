"""``aws rotate`` against moto in server mode: rotation, the two-key refusal, finalize, quarantine, rollback,
and a real ``secretguard`` process killed after each AWS call it makes, then resumed."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import boto3
import pytest

from secretguard.aws.rotate import QUARANTINE_POLICY, SECRET_NAME
from tests.helpers import run_cli
from tests.test_migrate_faults import run_killed

USER = "deploy"


class Account:
    """One IAM user with one leaked key, as the owner sees it."""

    def __init__(self, tmp_path: Path) -> None:
        self.iam = boto3.client("iam")
        self.secrets = boto3.client("secretsmanager")
        self.iam.create_user(UserName=USER)
        self.old = self.iam.create_access_key(UserName=USER)["AccessKey"]
        self.key = self.old["AccessKeyId"]
        self.journal = tmp_path / "rotate.journal.jsonl"

    def keys(self) -> dict[str, str]:
        return {k["AccessKeyId"]: k["Status"] for k in self.iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]}

    def stored(self, secret: str = SECRET_NAME.format(user=USER)) -> dict[str, str]:
        # AWSCURRENT named: moto's default version does not follow UpdateSecretVersionStage, AWS's does
        return json.loads(self.secrets.get_secret_value(SecretId=secret, VersionStage="AWSCURRENT")["SecretString"])

    def policies(self) -> list[str]:
        return [p["PolicyArn"] for p in self.iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]]

    def rotate(self, *args: str) -> Any:
        return run_cli("aws", "rotate", self.key, "--journal", self.journal, *args)

    def journal_text(self) -> str:
        return self.journal.read_text()

    def assert_rotated(self) -> str:
        """One new active key, stored in the secret; the old key inactive. Returns the new key ID."""
        keys = self.keys()
        new = [k for k in keys if k != self.key]
        assert len(new) == 1 and keys == {self.key: "Inactive", new[0]: "Active"}
        value = self.stored()
        assert value["AccessKeyId"] == new[0] and len(value["SecretAccessKey"]) == 40
        assert value["SecretAccessKey"] not in self.journal_text()
        return new[0]

    def assert_original(self) -> None:
        assert self.keys() == {self.key: "Active"}
        assert QUARANTINE_POLICY not in self.policies()


@pytest.fixture
def account(aws: Any, tmp_path: Path) -> Account:
    return Account(tmp_path)


@pytest.fixture
def quarantinable(aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Account:
    """The account, with moto's copies of AWS managed policies (AWSCompromisedKeyQuarantineV3 among them).

    moto loads them when the IAM backend is made, here; the setting is then dropped again, because each later
    reset of the server would load them again for every partition, which takes seconds.
    """
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    account = Account(tmp_path)
    monkeypatch.delenv("MOTO_IAM_LOAD_MANAGED_POLICIES")
    return account


def test_rotate_stores_the_new_key_and_deactivates_the_old(account: Account) -> None:
    result = account.rotate()
    assert result.code == 0, result.err
    new = account.assert_rotated()
    assert account.stored()["SecretAccessKey"] not in result.out + result.err
    assert new not in result.out and account.key not in result.out and new[:4] in result.out
    assert "--finalize" in result.out
    again = account.rotate()  # a finished rotation run again changes nothing
    assert again.code == 0 and account.assert_rotated() == new


def test_reveal_prints_the_new_secret_once(account: Account) -> None:
    result = account.rotate("--reveal")
    assert result.code == 0, result.err
    account.assert_rotated()
    assert account.stored()["SecretAccessKey"] in result.out


def test_a_user_with_two_keys_is_refused_naming_them(account: Account) -> None:
    second = account.iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    result = account.rotate()
    assert result.code == 2
    assert "already has two access keys" in result.err
    assert f"{account.key[:4]}************{account.key[-4:]} (Active" in result.err
    assert f"{second[:4]}************{second[-4:]} (Active" in result.err
    assert account.keys() == {account.key: "Active", second: "Active"}
    assert not account.journal.exists()  # refused before anything was written


def test_a_given_secret_gets_a_new_version_and_rollback_makes_the_old_one_current(account: Account) -> None:
    original = json.dumps({"AccessKeyId": account.key, "SecretAccessKey": account.old["SecretAccessKey"]})
    account.secrets.create_secret(Name="app/aws", SecretString=original)
    assert account.rotate("--secret-id", "app/aws").code == 0
    assert account.stored("app/aws")["AccessKeyId"] != account.key

    result = run_cli("aws", "rotate", "--rollback", account.journal)
    assert result.code == 0, result.err
    account.assert_original()
    assert account.stored("app/aws") == json.loads(original)


def test_rollback_schedules_the_secret_it_created_for_deletion(account: Account) -> None:
    assert account.rotate().code == 0
    assert run_cli("aws", "rotate", "--rollback", account.journal).code == 0
    account.assert_original()
    described = account.secrets.describe_secret(SecretId=SECRET_NAME.format(user=USER))
    assert "DeletedDate" in described
    assert account.rotate().code == 2  # a rolled-back journal is not resumed


def test_finalize_waits_for_the_grace_period_then_deletes(account: Account) -> None:
    assert account.rotate().code == 0
    early = account.rotate("--finalize")
    assert early.code == 2 and "grace period ends" in early.err
    assert account.key in account.keys()  # noqa: SIM118 - the user's access keys, a list


def test_finalize_refuses_a_key_made_active_again(account: Account) -> None:
    assert account.rotate("--grace-days", "0").code == 0
    account.iam.update_access_key(UserName=USER, AccessKeyId=account.key, Status="Active")
    result = account.rotate("--finalize")
    assert result.code == 2 and "made active again" in result.err
    assert account.key in account.keys()  # noqa: SIM118 - the user's access keys, a list


def test_quarantine_then_finalize(quarantinable: Account) -> None:
    account = quarantinable
    assert account.rotate("--quarantine", "--grace-days", "0").code == 0
    new = account.assert_rotated()
    assert QUARANTINE_POLICY in account.policies()
    result = account.rotate("--finalize")
    assert result.code == 0, result.err
    assert account.keys() == {new: "Active"} and QUARANTINE_POLICY not in account.policies()
    assert run_cli("aws", "rotate", "--rollback", account.journal).code == 2  # nothing to go back to


@pytest.mark.parametrize("call", ["iam.CreateAccessKey", "secretsmanager.CreateSecret", "iam.UpdateAccessKey",
                                  "iam.AttachUserPolicy"])
def test_killed_after_each_step_resumes_and_rolls_back(quarantinable: Account, tmp_path: Path, call: str) -> None:
    account = quarantinable
    killed = run_killed(tmp_path, call, "aws", "rotate", account.key, "--journal", str(account.journal),
                        "--quarantine")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert json.loads(account.journal_text().splitlines()[-1])["event"] == "begin"

    resumed = account.rotate("--quarantine")
    assert resumed.code == 0, resumed.err
    account.assert_rotated()  # a key created before the kill, whose secret died with it, is gone
    assert QUARANTINE_POLICY in account.policies()

    assert run_cli("aws", "rotate", "--rollback", account.journal).code == 0
    account.assert_original()


def test_killed_during_rollback(account: Account, tmp_path: Path) -> None:
    assert account.rotate().code == 0
    killed = run_killed(tmp_path, "iam.UpdateAccessKey", "aws", "rotate", "--rollback", str(account.journal))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert run_cli("aws", "rotate", "--rollback", account.journal).code == 0
    account.assert_original()


def test_a_key_of_another_account_is_refused(account: Account) -> None:
    from moto.iam.utils import generate_access_key_id_from_account_id

    foreign = generate_access_key_id_from_account_id("210987654321", "AKIA")
    result = run_cli("aws", "rotate", foreign, "--journal", account.journal)
    assert result.code == 2 and "belongs to account 210987654321" in result.err
    assert account.keys() == {account.key: "Active"}


@pytest.mark.parametrize(("args", "message"), [
    (["nope"], "is not an AWS access key ID"),
    ([], "rotate needs KEY_ID"),
    (["--rollback", "missing.jsonl"], "no such journal"),
])
def test_bad_input_is_one_line(aws: Any, args: list[str], message: str) -> None:
    result = run_cli("aws", "rotate", *args)
    assert result.code == 2 and message in result.err and "Traceback" not in result.err
