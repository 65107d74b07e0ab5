"""Validation of found AWS key pairs against STS on a real local AWS API (moto with credential checking on)."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest

from secretguard.aws.keys import account_from_key_id
from secretguard.aws.validate import (
    RESPOND_HINT,
    canary_accounts,
    load_findings,
    session_token_for,
    validate_findings,
)
from secretguard.cli import main
from secretguard.findings import Finding, Origin, Pair
from tests.helpers import report_key

CANARY_KEY_ID = "AKIAAYLPMN5HAAISUO2M"  # decodes to 052310077262, a canarytokens.org account


def random_key_id(prefix: str = "AKIA") -> str:
    return prefix + base64.b32encode(secrets.token_bytes(10)).decode()


def random_secret() -> str:
    return base64.b64encode(secrets.token_bytes(30)).decode()


def key_finding(key_id: str, secret: str | None, path: str = "app/settings.py", line: int = 3) -> Finding:
    pair = Pair("aws-secret-access-key", secret) if secret else None
    return Finding("aws-access-key-id", "AWS access key ID", "critical", key_id, 3.5, pair=pair,
                   locations=[Origin(source="file", path=path, line=line, column=1)])


def iam_key(user: str = "deployer") -> dict[str, str]:
    iam = boto3.client("iam")
    iam.create_user(UserName=user)
    return iam.create_access_key(UserName=user)["AccessKey"]


class Recorder:
    """A local HTTP server that counts requests and answers every one like STS rejecting the key (by default
    as an unknown key), or with ``page`` (HTML, such as a proxy's error page) and HTTP ``status``."""

    def __init__(self, code: str = "InvalidClientTokenId",
                 message: str = "The security token included in the request is invalid.",
                 *, status: int = 403, page: bytes | None = None) -> None:
        recorder = self
        error = page or (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                         "</Error><RequestId>1</RequestId></ErrorResponse>").encode()
        content_type = "text/html" if page else "text/xml"
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.requests += 1
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(error)))
                self.end_headers()
                self.wfile.write(error)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.close()


def test_statuses_against_sts_with_credential_checking(aws) -> None:
    key = iam_key()
    live = key_finding(key["AccessKeyId"], key["SecretAccessKey"])
    mismatch = key_finding(iam_key("other")["AccessKeyId"], random_secret())
    invalid = key_finding(random_key_id(), random_secret())
    aws.enable_auth()
    warnings: list[str] = []
    validate_findings([live, mismatch, invalid], warn=warnings.append)
    assert live.validation == {"status": "live", "arn": "arn:aws:iam::123456789012:user/deployer",
                               "account": "123456789012", "respond": RESPOND_HINT.format(account="123456789012")}
    assert mismatch.validation == {"status": "mismatch"}
    assert invalid.validation == {"status": "invalid"}
    assert warnings == []


def test_temporary_keys_are_signed_with_their_session_token(aws) -> None:
    iam_key()
    boto3.client("iam").create_role(RoleName="ops", AssumeRolePolicyDocument="{}")
    creds = boto3.client("sts").assume_role(RoleArn="arn:aws:iam::123456789012:role/ops",
                                            RoleSessionName="sess")["Credentials"]
    key = key_finding(creds["AccessKeyId"], creds["SecretAccessKey"], line=10)
    token = Finding("aws-session-token", "AWS session token", "high", creds["SessionToken"], 5.0,
                    locations=[Origin(source="file", path="app/settings.py", line=12, column=1)])
    alone = key_finding(random_key_id("ASIA"), random_secret(), path="other.py")
    aws.enable_auth()
    validate_findings([key, token, alone])
    assert key.validation == {"status": "live", "arn": "arn:aws:sts::123456789012:assumed-role/ops/sess",
                              "account": "123456789012", "respond": RESPOND_HINT.format(account="123456789012")}
    assert alone.validation == {"status": "unchecked", "error": "temporary key without a session token nearby"}
    assert token.validation is None


def test_session_token_from_an_environment_variable() -> None:
    where = Origin(source="lambda", resource="arn:aws:lambda:us-east-1:1:function:f:$LATEST")
    key = Finding("aws-access-key-id", "", "critical", random_key_id("ASIA"), 3.5,
                  locations=[Origin(source="lambda", resource=where.resource, variable="AWS_ACCESS_KEY_ID")])
    token = Finding("cloud-secret-env-var", "", "high", "FwoGZXIvYXdzE", 4.0,
                    locations=[Origin(source="lambda", resource=where.resource, variable="AWS_SESSION_TOKEN")])
    elsewhere = Finding("cloud-secret-env-var", "", "high", "IQoJb3JpZ2lu", 4.0,
                        locations=[Origin(source="lambda", resource="arn:other", variable="AWS_SESSION_TOKEN")])
    assert session_token_for(key, [elsewhere, key, token]) == "FwoGZXIvYXdzE"
    assert session_token_for(key, [elsewhere, key]) is None


def test_canary_keys_are_never_sent(recorder: Recorder) -> None:
    assert account_from_key_id(CANARY_KEY_ID) in canary_accounts()
    canary = key_finding(CANARY_KEY_ID, random_secret())
    skipped = key_finding(random_key_id(), random_secret())
    validate_findings([canary, skipped], skip_accounts=[account_from_key_id(skipped.secret)],
                      endpoint_url=recorder.url)
    assert canary.validation == {"status": "canary", "account": "052310077262"}
    assert skipped.validation == {"status": "canary", "account": account_from_key_id(skipped.secret)}
    assert recorder.requests == 0
    # The same endpoint does see an ordinary key, so the zero above is not an artefact.
    ordinary = key_finding(random_key_id(), random_secret())
    validate_findings([ordinary], endpoint_url=recorder.url)
    assert (ordinary.validation, recorder.requests) == ({"status": "invalid"}, 1)


def test_an_expired_session_is_reported_as_expired() -> None:
    sts = Recorder(code="ExpiredToken", message="The security token included in the request is expired")
    try:
        key = key_finding(random_key_id("ASIA"), random_secret(), line=10)
        token = Finding("aws-session-token", "AWS session token", "high", "FwoGZXIvYXdzEDdaDExpiredSession", 5.0,
                        locations=[Origin(source="file", path="app/settings.py", line=11, column=1)])
        validate_findings([key, token], endpoint_url=sts.url)
    finally:
        sts.close()
    assert key.validation == {"status": "expired"}
    assert sts.requests == 1


def test_each_pair_is_checked_once_per_run(recorder: Recorder) -> None:
    key_id, secret = random_key_id(), random_secret()
    copies = [key_finding(key_id, secret, path=f"f{i}.py") for i in range(3)]
    validate_findings(copies, jobs=3, endpoint_url=recorder.url)
    assert recorder.requests == 1
    assert [c.validation for c in copies] == [{"status": "invalid"}] * 3


def test_unpaired_and_unsignable_keys_are_unchecked(recorder: Recorder) -> None:
    unpaired = key_finding(random_key_id(), None)
    bearer = key_finding(random_key_id("ABIA"), random_secret())
    validate_findings([unpaired, bearer], endpoint_url=recorder.url)
    assert unpaired.validation == {"status": "unchecked", "error": "no secret access key found near the key ID"}
    assert bearer.validation == {"status": "unchecked", "error": "ABIA keys cannot sign requests"}
    assert recorder.requests == 0


def test_server_stopped_mid_run(aws) -> None:
    from moto.server import ThreadedMotoServer

    private = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    private.start()
    host, port = private.get_host_and_port()
    url = f"http://{host}:{port}"
    iam = boto3.client("iam", endpoint_url=url)
    iam.create_user(UserName="u")
    key = iam.create_access_key(UserName="u")["AccessKey"]
    first = key_finding(key["AccessKeyId"], key["SecretAccessKey"])
    second = key_finding(random_key_id(), random_secret(), path="second.py")
    third = key_finding(random_key_id(), random_secret(), path="third.py")
    warnings: list[str] = []
    checked: list[str] = []

    def stop_after_first(pair, result) -> None:
        checked.append(result["status"])
        if len(checked) == 1:
            private.stop()

    validate_findings([first, second, third], jobs=1, endpoint_url=url, warn=warnings.append,
                      on_checked=stop_after_first)
    assert first.validation["status"] == "live"
    assert second.validation["status"] == third.validation["status"] == "error"
    assert "EndpointConnectionError" in second.validation["error"]
    assert len(warnings) == 2
    for line in warnings:
        assert "\n" not in line and line.startswith("cannot validate AKIA")
        assert second.pair.secret not in line and third.pair.secret not in line and second.secret not in line


def _run_cli(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return int(exit_info.value.code or 0)


def _report(tmp_path: Path, findings: list[Finding], reveal: bool = True) -> Path:
    path = tmp_path / "findings.json"
    path.write_text(json.dumps({"findings": [f.to_dict(reveal, report_key()) for f in findings]}))
    return path


def test_validate_command(aws, tmp_path: Path, capsys) -> None:
    key = iam_key()
    report = _report(tmp_path, [key_finding(key["AccessKeyId"], key["SecretAccessKey"]),
                                key_finding(random_key_id(), random_secret(), path="b.py")])
    aws.enable_auth()
    assert _run_cli(["validate", str(report), "--format", "json"]) == 1
    out = capsys.readouterr().out
    assert key["SecretAccessKey"] not in out and key["AccessKeyId"] not in out
    statuses = {f["locations"][0]["path"]: f["validation"] for f in json.loads(out)["findings"]}
    assert statuses == {
        "app/settings.py": {"status": "live", "arn": "arn:aws:iam::123456789012:user/deployer",
                            "account": "123456789012",
                            "respond": RESPOND_HINT.format(account="123456789012")},
        "b.py": {"status": "invalid"},
    }


def test_validate_command_reads_jsonl_and_refuses_redacted_reports(aws, tmp_path: Path, capsys) -> None:
    finding = key_finding(CANARY_KEY_ID, random_secret())
    jsonl = tmp_path / "f.jsonl"
    line = json.dumps(finding.to_dict(True, report_key())) + "\n"
    jsonl.write_text(line + line)
    assert [f.validation for f in load_findings(jsonl)] == [None, None]
    assert _run_cli(["validate", str(jsonl), "--format", "jsonl"]) == 1
    assert json.loads(capsys.readouterr().out.splitlines()[0])["validation"]["status"] == "canary"
    redacted = _report(tmp_path, [finding], reveal=False)
    assert _run_cli(["validate", str(redacted)]) == 2
    assert capsys.readouterr().err == \
        f"error: {redacted}: secrets are redacted; write the report with --reveal to validate it\n"


def test_bad_skip_account_fails_before_any_aws_call(capsys) -> None:
    assert _run_cli(["scan", "aws", "--region", "us-east-1", "--validate", "--skip-account", "12345"]) == 2
    assert capsys.readouterr().err == "error: --skip-account '12345': an AWS account ID is 12 digits\n"


def test_key_info(aws, capsys) -> None:
    assert _run_cli(["aws", "key-info", CANARY_KEY_ID]) == 0
    out = capsys.readouterr().out
    assert "account  052310077262 (decoded offline)" in out and "long-term access key" in out
    assert CANARY_KEY_ID not in out
    key = iam_key()
    assert _run_cli(["aws", "key-info", key["AccessKeyId"], "--lookup"]) == 0
    assert "account  123456789012 (sts:GetAccessKeyInfo)" in capsys.readouterr().out
    assert _run_cli(["aws", "key-info", "not-a-key"]) == 2
    assert capsys.readouterr().err.startswith("error: '")


def test_scan_dir_validate_marks_a_live_key_and_never_prints_its_secret(aws, tmp_path: Path) -> None:
    from tests.helpers import run_cli

    key = iam_key("u")
    (tmp_path / ".env").write_text(f"AWS_ACCESS_KEY_ID={key['AccessKeyId']}\n"
                                   f"AWS_SECRET_ACCESS_KEY={key['SecretAccessKey']}\n")
    aws.enable_auth()
    run = run_cli("scan", "dir", tmp_path, "--validate", "--format", "json")
    [finding] = json.loads(run.out)["findings"]
    assert finding["validation"]["status"] == "live"
    assert finding["validation"]["arn"].endswith(":user/u")
    assert key["SecretAccessKey"] not in run.out + run.err
    text = run_cli("scan", "dir", tmp_path, "--validate")
    assert "[live]" in text.out


def test_scan_git_validate_marks_a_live_key(aws, tmp_path: Path) -> None:
    import subprocess

    from tests.helpers import run_cli

    key = iam_key("u")
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "deploy.sh").write_text(f"export AWS_ACCESS_KEY_ID={key['AccessKeyId']}\n"
                                    f"export AWS_SECRET_ACCESS_KEY={key['SecretAccessKey']}\n")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "deploy"], check=True)
    (repo / "deploy.sh").unlink()
    subprocess.run(["git", "-C", str(repo), "commit", "-qam", "remove the key"], check=True)
    aws.enable_auth()
    run = run_cli("scan", "git", repo, "--validate", "--format", "json")
    [finding] = json.loads(run.out)["findings"]
    assert finding["validation"]["status"] == "live"
    assert finding["locations"][0]["path"] == "deploy.sh"
    assert key["SecretAccessKey"] not in run.out + run.err


PROXY_ERROR_PAGE = b"<html><head><title>Proxy error</title></head><body><h1>Upstream unreachable</h1></body></html>"


@pytest.mark.parametrize("status, detail, requests", [
    (200, "unreadable answer (KeyError: 'GetCallerIdentityResult')", 1),
    (403, "HTTP 403, not an STS answer", 1),
    (502, "502: Bad Gateway", 2),  # one retry, as documented
])
def test_a_proxy_error_page_is_the_keys_error_and_the_scan_writes_its_report(
        status: int, detail: str, requests: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    key_id, secret = random_key_id(), random_secret()
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "aws.ini").write_text(f"[default]\naws_access_key_id = {key_id}\n"
                                               f"aws_secret_access_key = {secret}\n")
    proxy = Recorder(status=status, page=PROXY_ERROR_PAGE)  # a proxy in front of STS
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    report = tmp_path / "report.json"
    try:
        code = _run_cli(["scan", "dir", str(tmp_path / "tree"), "--validate", "--format", "json",
                         "--output", str(report), "--no-progress"])
    finally:
        proxy.close()

    err = capsys.readouterr().err
    assert code == 1
    assert err == f"warning: cannot validate {key_id[:4]}{'*' * 12}{key_id[-4:]}: sts:GetCallerIdentity at " \
                  f"{proxy.url}: {detail}\n"
    [finding] = [f for f in json.loads(report.read_text())["findings"] if f["rule"] == "aws-access-key-id"]
    assert finding["validation"] == {"status": "error", "error": f"sts:GetCallerIdentity at {proxy.url}: {detail}"}
    assert proxy.requests == requests
