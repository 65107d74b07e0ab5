"""``aws respond`` against moto in server mode, with CloudTrail ``LookupEvents`` from a loopback stand-in.

moto has no LookupEvents, so :class:`Trail` answers it on 127.0.0.1 the way CloudTrail does: JSON 1.1,
50 events a page at most, an opaque ``NextToken``, and ``ThrottlingException`` for a request that comes
sooner than half a second after the previous one (2 requests per second), or when told to throttle.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from secretguard.aws.respond import LeakedKey, respond
from secretguard.aws.respond_policy import NamedPolicy, analyse
from secretguard.aws.respond_trail import RateLimit, lookup_activity
from secretguard.findings import Finding, Origin, Pair
from tests.helpers import report_key, run_cli

ACCOUNT = "123456789012"
MIN_GAP = 0.5


class Trail:
    """A loopback CloudTrail that serves ``LookupEvents`` from ``events`` (newest first, as CloudTrail does), each
    region its own."""

    def __init__(self) -> None:
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.times: list[float] = []
        self.regions: list[str] = []
        self.throttle_requests: set[int] = set()
        self.throttled = 0
        trail = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                assert self.headers["X-Amz-Target"].endswith(".LookupEvents"), self.headers["X-Amz-Target"]
                now = time.monotonic()
                number = len(trail.times)
                fast = bool(trail.times) and now - trail.times[-1] < MIN_GAP - 0.02
                trail.times.append(now)
                trail.regions.append(self.headers["Authorization"].split("/")[2])
                if fast or number in trail.throttle_requests:
                    trail.throttled += 1
                    self._answer(400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
                    return
                key = request["LookupAttributes"][0]["AttributeValue"]
                events = [e for e in trail.events.get(key, []) if e["region"] == trail.regions[-1]]
                start = int(request.get("NextToken") or 0)
                size = min(int(request.get("MaxResults") or 50), 50)
                page = {"Events": events[start:start + size]}
                if start + size < len(events):
                    page["NextToken"] = str(start + size)
                self._answer(200, page)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, key_id: str, name: str, source: str, ip: str, when: datetime.datetime, region: str = "us-east-1",
            error: str | None = None, agent: str = "aws-cli/2.15") -> None:
        detail = {"eventName": name, "eventSource": source, "sourceIPAddress": ip, "userAgent": agent,
                  "awsRegion": region, **({"errorCode": error} if error else {})}
        self.events.setdefault(key_id, []).append({
            "EventId": f"e{len(self.events[key_id])}", "EventName": name, "EventSource": source,
            "EventTime": when.timestamp(), "AccessKeyId": key_id, "CloudTrailEvent": json.dumps(detail),
            "region": region})
        self.events[key_id].sort(key=lambda e: -e["EventTime"])


@pytest.fixture
def trail(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Trail]:
    stand_in = Trail()
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", stand_in.url)
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(actions: list[str] | str, resources: list[str] | str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


class Account:
    """Users with inline, attached, group and boundary policies, and their keys, in the local IAM."""

    def __init__(self) -> None:
        self.iam = boto3.client("iam")
        iam = self.iam
        for user in ("admin", "deployer", "auditor", "bounded"):
            iam.create_user(UserName=user)
        # AWS's AdministratorAccess, as a customer policy (loading moto's copies of AWS policies costs seconds)
        admin = iam.create_policy(PolicyName="AdministratorAccess",
                                  PolicyDocument=_policy(_allow("*")))["Policy"]["Arn"]
        iam.attach_user_policy(UserName="admin", PolicyArn=admin)

        iam.put_user_policy(UserName="deployer", PolicyName="deploy",
                            PolicyDocument=_policy(_allow(["iam:PassRole", "lambda:CreateFunction",
                                                           "lambda:InvokeFunction"])))
        iam.create_group(GroupName="data-readers")
        iam.put_group_policy(GroupName="data-readers", PolicyName="reports",
                             PolicyDocument=_policy(_allow(["s3:GetObject"], "arn:aws:s3:::reports/*")))
        iam.add_user_to_group(GroupName="data-readers", UserName="deployer")

        describe = iam.create_policy(PolicyName="describe-ec2",
                                     PolicyDocument=_policy(_allow("ec2:Describe*")))["Policy"]["Arn"]
        iam.create_group(GroupName="auditors")
        iam.attach_group_policy(GroupName="auditors", PolicyArn=describe)
        iam.add_user_to_group(GroupName="auditors", UserName="auditor")

        self.boundary = iam.create_policy(
            PolicyName="list-only", PolicyDocument=_policy(_allow(["s3:ListAllMyBuckets", "ec2:Describe*"])),
        )["Policy"]["Arn"]
        iam.attach_user_policy(UserName="bounded", PolicyArn=admin)

        self.keys = {user: iam.create_access_key(UserName=user)["AccessKey"]
                     for user in ("admin", "deployer", "auditor", "bounded")}
        self.old_deployer = iam.create_access_key(UserName="deployer")["AccessKey"]
        iam.update_access_key(UserName="deployer", AccessKeyId=self.old_deployer["AccessKeyId"], Status="Inactive")

    def session(self) -> boto3.Session:
        """A session for respond whose ``GetUser`` answers name the boundary of ``bounded``.

        moto stores no permissions boundary on users (it lacks PutUserPermissionsBoundary), so this one field
        is added to its answer; the boundary policy itself is read from moto like any other.
        """
        session = boto3.Session()

        def add_boundary(parsed: dict[str, Any], **_: Any) -> None:
            if parsed["User"]["UserName"] == "bounded":
                parsed["User"]["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy",
                                                         "PermissionsBoundaryArn": self.boundary}

        session.events.register("after-call.iam.GetUser", add_boundary)
        return session

    def key_id(self, user: str) -> str:
        return str(self.keys[user]["AccessKeyId"])

    def use(self, user: str, region: str) -> None:
        """A call signed by the user's key, as an attacker holding it would make (sets its last use)."""
        key = self.keys[user]
        boto3.client("sqs", region_name=region, aws_access_key_id=key["AccessKeyId"],
                     aws_secret_access_key=key["SecretAccessKey"]).list_queues()

    def last_used(self, key_id: str) -> Any:
        return self.iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"].get("LastUsedDate")


@pytest.fixture
def account(trail: Trail) -> Account:
    return Account()


def _respond(account: Account, *users: str, **kwargs: Any) -> dict[str, Any]:
    keys = [LeakedKey(account.key_id(u)) for u in users]
    return {u: r for u, r in zip(users, respond(keys, account.session(), ["us-east-1"], **kwargs), strict=True)}


def test_owner_status_and_last_use_without_calling_aws_with_the_key(account: Account, trail: Trail) -> None:
    account.use("deployer", "eu-west-1")
    used = account.last_used(account.key_id("deployer"))
    responses = _respond(account, "deployer", "admin")

    deployer = responses["deployer"]
    assert deployer.key_account == deployer.caller_account == ACCOUNT and deployer.in_account
    assert (deployer.user, deployer.status) == ("deployer", "Active")
    assert deployer.created is not None
    assert deployer.last_used is not None
    assert (deployer.last_used["region"], deployer.last_used["service"]) == ("eu-west-1", "sqs")
    assert {k["status"] for k in deployer.user_keys} == {"Active", "Inactive"}
    assert responses["admin"].last_used is None
    # the leaked keys were never used by respond: their last use is what the attacker left
    assert account.last_used(account.key_id("deployer")) == used
    assert account.last_used(account.key_id("admin")) is None
    # the last-used region is read in CloudTrail too
    assert sorted(set(trail.regions)) == ["eu-west-1", "us-east-1"]


def test_verdicts_from_inline_attached_group_and_boundary_policies(account: Account) -> None:
    responses = _respond(account, "admin", "deployer", "auditor", "bounded")
    verdicts = {user: r.capabilities.verdict for user, r in responses.items()}
    assert verdicts == {"admin": "administrator", "deployer": "privilege-escalation", "auditor": "read-only",
                        "bounded": "read-only"}
    deployer = responses["deployer"].capabilities
    assert "PassExistingRoleToNewLambdaThenInvoke" in deployer.escalations
    reports = [g for g in deployer.data if g.service == "s3"]
    assert reports and reports[0].resources == ("arn:aws:s3:::reports/*",) and "s3:GetObject" in reports[0].read
    assert any(p.startswith("group data-readers: inline reports") for p in deployer.policies)
    bounded = responses["bounded"].capabilities
    assert bounded.escalations == [] and bounded.modifying_actions == 0
    assert any("boundary" in note for note in bounded.notes)
    assert responses["auditor"].capabilities.policies == [
        f"group auditors: attached arn:aws:iam::{ACCOUNT}:policy/describe-ec2"]


@pytest.mark.parametrize(("statements", "verdict"), [
    ([_allow(["secretsmanager:GetSecretValue"], "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-*")],
     "data-access"),
    ([_allow(["ec2:RunInstances"], "arn:aws:ec2:*:*:instance/*")], "write"),
    ([_allow("*"), {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}], "privilege-escalation"),
    ([_allow(["iam:CreateAccessKey", "ec2:StartInstances"]),
      {"Effect": "Deny", "Action": "iam:CreateAccessKey", "Resource": "*"}], "write"),
    ([_allow(["iam:CreateAccessKey"]), {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}], "none"),
    ([_allow(["s3:ListAllMyBuckets", "ec2:Describe*"])], "read-only"),
    ([], "none"),
])
def test_verdict_of_a_policy(statements: list[dict[str, Any]], verdict: str) -> None:
    assert analyse([NamedPolicy("inline p", {"Version": "2012-10-17", "Statement": statements})]).verdict == verdict


def test_what_the_key_did_is_summarised_with_the_events_to_read_first(account: Account, trail: Trail) -> None:
    key = account.key_id("deployer")
    now = datetime.datetime.now(datetime.UTC)
    for minutes in range(120):
        trail.add(key, "DescribeInstances", "ec2.amazonaws.com", "198.51.100.7",
                  now - datetime.timedelta(minutes=minutes))
    trail.add(key, "CreateAccessKey", "iam.amazonaws.com", "203.0.113.9", now - datetime.timedelta(days=3))
    trail.add(key, "GetSecretValue", "secretsmanager.amazonaws.com", "203.0.113.9", now - datetime.timedelta(days=2))
    trail.add(key, "CreateFunction20150331", "lambda.amazonaws.com", "203.0.113.9", now - datetime.timedelta(days=2))
    trail.add(key, "ListUsers", "iam.amazonaws.com", "203.0.113.9", now - datetime.timedelta(days=2),
              error="AccessDenied")
    trail.throttle_requests = {1}
    session = account.session()
    sent: list[float] = []  # when each request leaves, after secretguard's own pacing (registered last)
    session.events.register_last("before-send.cloudtrail.LookupEvents", lambda **_: sent.append(time.monotonic()))

    known = [ipaddress.ip_network("198.51.100.0/24")]
    [response] = respond([LeakedKey(key)], session, ["us-east-1"], known_networks=known)
    activity = response.activity

    assert activity.complete and activity.events == 124
    assert activity.names["DescribeInstances"] == 120 and activity.denied == 1
    assert activity.ips == {"198.51.100.7": 120, "203.0.113.9": 4}
    first = {e.name: e.reasons for e in activity.notable}
    assert "changes permissions" in first["CreateAccessKey"] and "from an unknown IP" in first["CreateAccessKey"]
    assert "reads data or secrets" in first["GetSecretValue"]
    assert "privilege escalation step" in first["CreateFunction20150331"]
    assert "DescribeInstances" not in first
    # three pages, the throttled request retried, and never sent faster than 2 requests a second
    assert trail.throttled >= 1 and len(sent) == len(trail.times) >= 4
    # unpaced, pages follow each other within milliseconds; the margin absorbs a busy machine's scheduling
    assert all(b - a >= MIN_GAP * 0.6 for a, b in zip(sent, sent[1:], strict=False))


def test_a_region_that_cannot_be_read_is_named(account: Account, trail: Trail) -> None:
    trail.throttle_requests = set(range(100))  # throttled for good: botocore gives up
    patient_once = Config(retries={"mode": "standard", "max_attempts": 2})
    activity = lookup_activity(lambda region: boto3.client("cloudtrail", region_name=region, config=patient_once),
                               account.key_id("admin"), ["us-east-1"])
    assert not activity.complete
    assert activity.unread[0].startswith("us-east-1: cloudtrail:LookupEvents: ThrottlingException")


def test_rate_limit_spaces_calls() -> None:
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    limit = RateLimit(2.0, clock=lambda: clock[0], sleep=sleep)
    for _ in range(3):
        limit.wait()
    clock[0] += 2.0
    limit.wait()
    assert slept == [0.5, 0.5]


def _findings_file(tmp_path: Path, key_id: str) -> Path:
    finding = Finding("aws-access-key-id", "AWS access key ID", "critical", key_id, 3.7,
                      pair=Pair("aws-secret-access-key", "x" * 40),
                      locations=[Origin(source="file", path="deploy/.env", line=3, column=19)])
    path = tmp_path / "findings.json"
    path.write_text(json.dumps({"findings": [finding.to_dict(True, report_key())]}))
    return path


def test_cli_text_json_and_html(account: Account, tmp_path: Path) -> None:
    key = account.key_id("admin")
    findings = _findings_file(tmp_path, key)
    text = run_cli("aws", "respond", findings, "--no-progress")
    assert text.code == 1, text.err
    assert "verdict: administrator" in text.out and "deploy/.env:3:19" in text.out
    assert f"`secretguard aws rotate {key[:4]}" in text.out and "--quarantine" in text.out
    assert key not in text.out and "cloudsplaining" in text.out

    data = json.loads(run_cli("aws", "respond", key, "--format", "json").out)
    entry = data["keys"][0]
    assert entry["user"] == "admin" and entry["can_do"]["verdict"] == "administrator"
    assert entry["did"]["complete"] and entry["key_id"] != key

    page = run_cli("aws", "respond", key, "--format", "html", "--reveal").out
    assert page.startswith("<!DOCTYPE html>") and "verdict: administrator" in page
    assert f"secretguard aws rotate {key} --quarantine" in page  # --reveal shows the key ID in full

    quiet = run_cli("aws", "respond", key, "--quiet", "--format", "json", "--output", tmp_path / "r.json")
    assert quiet.out == "" and json.loads((tmp_path / "r.json").read_text())["keys"][0]["user"] == "admin"


def test_an_inactive_key_everything_read_exits_0(account: Account) -> None:
    result = run_cli("aws", "respond", account.old_deployer["AccessKeyId"], "--no-progress")
    assert result.code == 0, result.out + result.err
    assert "the key is inactive" in result.out


def test_a_key_of_another_account_is_not_looked_up(account: Account) -> None:
    from moto.iam.utils import generate_access_key_id_from_account_id

    foreign = generate_access_key_id_from_account_id("210987654321", "AKIA")
    result = run_cli("aws", "respond", foreign, "--format", "json")
    entry = json.loads(result.out)["keys"][0]
    assert result.code == 1
    assert entry["key_account"] == "210987654321" and not entry["in_caller_account"]
    assert entry["unread"] and entry["did"] is None and "account 210987654321" in entry["recommendation"]


@pytest.mark.parametrize(("args", "message"), [
    (["not-a-key"], "is neither an AWS access key ID nor a findings file"),
    (["AKIAZ3MSJV4WWNKWW5FG", "--format", "sarif"], "unknown format 'sarif'"),
    (["AKIAZ3MSJV4WWNKWW5FG", "--known-ip", "300.1.1.1"], "--known-ip"),
])
def test_bad_input_is_one_line(args: list[str], message: str) -> None:
    result = run_cli("aws", "respond", *args)
    assert result.code == 2 and message in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl", "sarif", "html"])
def test_a_live_key_found_by_validate_points_to_respond_in_every_format(aws: Any, tmp_path: Path, fmt: str) -> None:
    boto3.client("iam").create_user(UserName="u")
    key = boto3.client("iam").create_access_key(UserName="u")["AccessKey"]
    (tmp_path / ".env").write_text(f"AWS_ACCESS_KEY_ID={key['AccessKeyId']}\n"
                                   f"AWS_SECRET_ACCESS_KEY={key['SecretAccessKey']}\n")
    aws.enable_auth()
    result = run_cli("scan", "dir", tmp_path, "--validate", "--format", fmt)
    assert result.code == 1, result.err
    assert "secretguard aws respond KEY_ID" in result.out and f"account {ACCOUNT}" in result.out
    assert "cloudtrail:LookupEvents" in result.out


def test_respond_without_the_policy_libraries_says_how_to_get_them(monkeypatch) -> None:
    import importlib.util

    from tests.helpers import run_cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "cloudsplaining" else real(name, *a))
    run = run_cli("aws", "respond", "AKIAY34FZKBOKMUTVV7A")
    assert run.code == 2
    assert run.err == "error: aws respond needs cloudsplaining: pip install 'secretguard[respond]'\n"
