"""``scan aws``: Lambda versions and ECS task definition revisions read from a real local AWS API (moto)."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from secretguard.aws.session import make_client, make_session
from secretguard.aws.validate import RESPOND_HINT
from secretguard.cli import main
from secretguard.config import Config, RuleSelection
from secretguard.detectors import CLOUD_RULE, environment_hits, is_literal_value, is_secret_name
from secretguard.engine import Detector
from secretguard.findings import Finding, Origin, redact
from secretguard.pipeline import ScanResult, scan
from secretguard.rules import load_rules
from secretguard.sources.aws_env import (
    SERVICES,
    AwsSource,
    Environment,
    EnvironmentFiles,
    ecs_environments,
    lambda_environments,
)
from tests.aws_standin import JsonStandIn, Reply

SENDGRID = "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"
PASSWORD = "kT9#mQ2v!Lx7Wp4z"


# --- helpers that build resources in the local AWS ----------------------------------------------------

def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handle(event, context):\n    return None\n")
    return buf.getvalue()


def make_function(name: str, env: dict[str, str], region: str = "us-east-1", publish: bool = False) -> str:
    """Create a function (and its role); returns its unqualified ARN."""
    iam = boto3.client("iam", region_name=region)
    try:
        role = iam.get_role(RoleName="sg-test")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="sg-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    fn = boto3.client("lambda", region_name=region).create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handle",
        Code={"ZipFile": _zip()}, Environment={"Variables": env}, Publish=publish)
    return ":".join(fn["FunctionArn"].split(":")[:7])  # without any version qualifier


def register_task(family: str, containers: dict[str, list[dict[str, str]]], region: str = "us-east-1",
                  secrets: list[dict[str, str]] | None = None) -> str:
    ecs = boto3.client("ecs", region_name=region)
    definition = ecs.register_task_definition(family=family, containerDefinitions=[
        {"name": name, "image": "busybox", "memory": 128, "environment": env, "secrets": secrets or []}
        for name, env in containers.items()])
    return definition["taskDefinition"]["taskDefinitionArn"]


def run_scan(regions: tuple[str, ...] = ("us-east-1",), services: tuple[str, ...] = ("lambda", "ecs"),
             config: Config = Config()) -> ScanResult:
    return scan(AwsSource(make_session(), list(regions), list(services)), config)


def at(findings: list[Finding], secret: str) -> list[Origin]:
    """Every location of ``secret``, whichever rule found it."""
    return [o for f in findings if f.secret == secret for o in f.locations]


# --- the cloud rule ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, should_flag", [
    ("DB_PASSWORD", True), ("STRIPE_SECRET", True), ("SLACK_TOKEN", True), ("MAPS_API_KEY", True),
    ("JWT_PRIVATE_KEY", True), ("GOOGLE_CREDENTIALS", True), ("db_pass", True), ("SMTP_PASSWD", True),
    ("DB_SECRET_ARN", False), ("SECRET_NAME", False), ("TOKEN_URL", False), ("PASSWORD_MIN_LENGTH", False),
    ("AWS_ACCESS_KEY_ID", False), ("TOKEN_TTL", False), ("LOG_LEVEL", False), ("BYPASS_CACHE", False),
])
def test_secret_names(name: str, should_flag: bool) -> None:
    assert is_secret_name(name) is should_flag


@pytest.mark.parametrize("value, should_flag", [
    (PASSWORD, True), ("correct horse battery staple", True), ("hunter2!", True),
    ("", False), ("   ", False), ("arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", False),
    ("arn:aws:ssm:us-east-1:123456789012:parameter/db/password", False),
    ("{{resolve:secretsmanager:db:SecretString:password}}", False), ("${DB_PASSWORD}", False),
    ("changeme", False), ("xxxxxxxx", False), ("true", False), ("3600", False),
])
def test_literal_values(value: str, should_flag: bool) -> None:
    assert is_literal_value(value) is should_flag


def test_cloud_rule_fires_only_where_no_pattern_matched() -> None:
    env = Environment(Origin(source="lambda", resource="arn:aws:lambda:us-east-1:1:function:f:$LATEST"),
                      (("API_TOKEN", "plainvalue-7"), ("DB_SECRET_ARN", "arn:aws:secretsmanager:x"),
                       ("LOG_LEVEL", "debug"), ("SENDGRID_API_KEY", SENDGRID)))
    no_rules = {(h.rule, h.origin.variable) for h in environment_hits(Detector([]), env)}
    assert no_rules == {(CLOUD_RULE, "API_TOKEN"), (CLOUD_RULE, "SENDGRID_API_KEY")}
    sendgrid_only = Detector([r for r in load_rules() if r.id == "sendgrid-api-key"])
    hits = {(h.rule, h.origin.variable) for h in environment_hits(sendgrid_only, env)}
    assert hits == {(CLOUD_RULE, "API_TOKEN"), ("sendgrid-api-key", "SENDGRID_API_KEY")}


def test_multiline_values_keep_their_variable() -> None:
    env = Environment(Origin(source="ecs"), (("A_NOTE", "line one\nline two\nline three"), ("Z_KEY", SENDGRID)))
    hits = environment_hits(Detector(load_rules()), env)
    assert [(h.secret, h.origin.variable, h.origin.line) for h in hits if h.secret == SENDGRID] == \
        [(SENDGRID, "Z_KEY", None)]


def test_encoded_values_are_decoded_and_placed_at_their_variable() -> None:
    key_id, secret = "AKIAY34FZKBOKMUTVV7Q", "Xq7bT2nR9vLm4Kp8Wz3Yc6Hd1Jf5Gs0Ae2Ub7Ni9"
    config = base64.b64encode(json.dumps({"aws_access_key_id": key_id, "aws_secret_access_key": secret}).encode())
    env = Environment(Origin(source="lambda", resource="arn:aws:lambda:us-east-1:1:function:f:$LATEST"),
                      (("APP_CONFIG", config.decode()), ("LOG_LEVEL", "info")))

    hits = environment_hits(Detector(load_rules()), env)

    [key] = [h for h in hits if h.rule == "aws-access-key-id"]
    assert (key.secret, key.origin.variable, key.decoded) == (key_id, "APP_CONFIG", ("base64",))
    assert key.pair is not None and key.pair.secret == secret
    assert [h for h in hits if h.rule == CLOUD_RULE] == []


# --- Lambda ------------------------------------------------------------------------------------------

def test_secret_in_latest_only(aws) -> None:
    arn = make_function("api", {"SENDGRID_API_KEY": SENDGRID, "LOG_LEVEL": "info"})
    result = run_scan()
    [finding] = [f for f in result.findings if f.secret == SENDGRID]
    assert finding.rule == "sendgrid-api-key"
    assert [(o.source, o.resource, o.variable, o.region) for o in finding.locations] == \
        [("lambda", f"{arn}:$LATEST", "SENDGRID_API_KEY", "us-east-1")]


def test_secret_in_an_old_published_version_only(aws) -> None:
    arn = make_function("billing", {"DB_PASSWORD": PASSWORD}, publish=True)
    boto3.client("lambda").update_function_configuration(
        FunctionName="billing", Environment={"Variables": {"DB_PASSWORD": "{{resolve:secretsmanager:db}}"}})
    result = run_scan()
    assert [(o.resource, o.variable) for o in at(result.findings, PASSWORD)] == [(f"{arn}:1", "DB_PASSWORD")]
    assert result.summary.scanned == 2  # $LATEST and version 1


def test_two_regions(aws) -> None:
    make_function("east", {"DB_PASSWORD": PASSWORD}, region="us-east-1")
    make_function("west", {"SENDGRID_API_KEY": SENDGRID}, region="eu-west-1")
    both = run_scan(("us-east-1", "eu-west-1"), ("lambda",))
    assert [o.region for o in at(both.findings, PASSWORD)] == ["us-east-1"]
    assert [o.region for o in at(both.findings, SENDGRID)] == ["eu-west-1"]
    assert at(run_scan(("us-east-1",), ("lambda",)).findings, SENDGRID) == []


def test_cloud_rule_finding_has_name_and_severity(aws) -> None:
    make_function("svc", {"DB_PASSWORD": PASSWORD, "DB_PASSWORD_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:x"})
    no_generic = Config(rules=RuleSelection(disabled=frozenset(r.id for r in load_rules() if r.is_generic)))
    [finding] = run_scan(config=no_generic).findings
    assert (finding.rule, finding.severity, finding.secret) == (CLOUD_RULE, "high", PASSWORD)
    assert finding.name.startswith("Secret-named environment variable")


def test_references_are_not_findings(aws) -> None:
    make_function("refs", {
        "DB_PASSWORD": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
        "API_TOKEN": "{{resolve:ssm-secure:/prod/api-token}}",
        "SMTP_PASSWORD": "", "JWT_SECRET": "changeme", "SECRET_NAME": "prod/db",
    })
    register_task("refs", {"app": [{"name": "DB_PASSWORD_ARN", "value": "arn:aws:ssm:us-east-1:1:parameter/db"}]},
                  secrets=[{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:db"}])
    result = run_scan()
    assert result.findings == []
    assert result.summary.scanned == 2


# --- ECS ---------------------------------------------------------------------------------------------

def test_ecs_secret_in_inactive_revision_only(aws) -> None:
    old = register_task("worker", {"app": [{"name": "DB_PASSWORD", "value": PASSWORD}],
                                   "sidecar": [{"name": "LOG_LEVEL", "value": "info"}]})
    boto3.client("ecs").deregister_task_definition(taskDefinition=old)
    new = register_task("worker",
                        {"app": [{"name": "DB_PASSWORD_ARN", "value": "arn:aws:ssm:us-east-1:1:parameter/x"}]})
    assert old.endswith("worker:1") and new.endswith("worker:2")
    result = run_scan(services=("ecs",))
    assert [(o.source, o.resource, o.container, o.variable) for o in at(result.findings, PASSWORD)] == \
        [("ecs", old, "app", "DB_PASSWORD")]


def test_ecs_environment_files_in_s3_are_scanned_and_placed_at_the_file(aws) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="app-config")
    s3.put_object(Bucket="app-config", Key="prod/web.env",
                  Body=f"# production\nLOG_LEVEL=info\nSENDGRID_API_KEY={SENDGRID}\nDB_PASSWORD={PASSWORD}\n".encode())
    ecs = boto3.client("ecs", region_name="us-east-1")
    files = [{"value": "arn:aws:s3:::app-config/prod/web.env", "type": "s3"}]
    arns = [ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 128, "environmentFiles": files}]
    )["taskDefinition"]["taskDefinitionArn"] for _ in range(2)]
    missing = ecs.register_task_definition(family="batch", containerDefinitions=[
        {"name": "job", "image": "busybox", "memory": 128,
         "environmentFiles": [{"value": "arn:aws:s3:::app-config/gone.env", "type": "s3"}]}])["taskDefinition"]

    result = run_scan(services=("ecs",))

    [sendgrid] = [f for f in result.findings if f.secret == SENDGRID]
    assert sorted((o.resource, o.container, o.path, o.variable) for o in sendgrid.locations) == \
        [(arn, "app", "s3://app-config/prod/web.env", "SENDGRID_API_KEY") for arn in sorted(arns)]
    assert {(o.path, o.variable) for f in result.findings if f.secret == PASSWORD for o in f.locations} == \
        {("s3://app-config/prod/web.env", "DB_PASSWORD")}
    [(where, reason)] = [u for u in result.summary.unreadable if "gone.env" in u[1]]
    assert where == missing["taskDefinitionArn"]
    assert reason.startswith("environment not readable: s3://app-config/gone.env: ")
    assert "NoSuchKey" in reason


def test_an_environment_file_is_fetched_once_and_read_as_name_value_lines() -> None:
    s3 = make_client(make_session(region="us-east-1"), "s3", "us-east-1")
    body = b"# comment\n\nTOKEN=a=b==\nQUOTED=\"kept\"\nnot a variable\n"
    with Stubber(s3) as stub:
        stub.add_response("get_object", {"Body": StreamingBody(io.BytesIO(body), len(body))},
                          {"Bucket": "cfg", "Key": "dir/app.env"})
        files = EnvironmentFiles(s3)
        first = files.variables("arn:aws:s3:::cfg/dir/app.env")
        assert files.variables("arn:aws:s3:::cfg/dir/app.env") == first  # no second call: the stub has none
    assert first == ((("QUOTED", '"kept"'), ("TOKEN", "a=b==")), None)


# --- failures, pagination, the command line ----------------------------------------------------------

class DenyRegionProxy(JsonStandIn):
    """Forwards to the local AWS API, except requests signed for one region, which get error ``code``."""

    def __init__(self, upstream: str, denied_region: str, code: str = "AccessDeniedException") -> None:
        self.denied_region, self.code = denied_region, code
        super().__init__(upstream)

    def answer(self, operation: str, headers: Message, body: bytes) -> Reply | None:
        scope = headers.get("Authorization", "").split("Credential=")[-1].split("/")
        if len(scope) <= 3 or scope[2] != self.denied_region:
            return None
        message = f"User is not authorized to perform this action in {scope[2]}"
        if scope[3] == "lambda":
            return 403, {"x-amzn-ErrorType": self.code}, {"Message": message}
        return 400, {}, {"__type": self.code, "message": message}


@pytest.fixture
def deny_eu_west_1(aws) -> Iterator[DenyRegionProxy]:
    proxy = DenyRegionProxy(aws.url, "eu-west-1")
    yield proxy
    proxy.close()


def test_region_access_denied_is_reported_and_the_scan_goes_on(deny_eu_west_1, monkeypatch, capsys) -> None:
    make_function("east", {"DB_PASSWORD": PASSWORD}, region="us-east-1")
    make_function("west", {"SENDGRID_API_KEY": SENDGRID}, region="eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", deny_eu_west_1.url)
    result = run_scan(("us-east-1", "eu-west-1"))
    assert [o.region for o in at(result.findings, PASSWORD)] == ["us-east-1"]
    denied = "AccessDeniedException: User is not authorized to perform this action in eu-west-1"
    assert sorted(result.summary.unreadable) == [("ecs in eu-west-1", f"ListTaskDefinitions: {denied}"),
                                                 ("lambda in eu-west-1", f"ListFunctions: {denied}")]

    assert _run_cli(["scan", "aws", "--region", "us-east-1", "--region", "eu-west-1", "--services", "lambda,ecs",
                     "--format", "json"]) == 2
    out, err = capsys.readouterr()
    assert [f["secret"] for f in json.loads(out)["findings"]] == [redact(PASSWORD)]
    assert err.startswith(
        "error: 2 inputs could not be scanned: lambda in eu-west-1 (ListFunctions: AccessDeniedException")


def test_regions_not_enabled_are_folded_into_one_note(aws, monkeypatch) -> None:
    make_function("east", {"DB_PASSWORD": PASSWORD}, region="us-east-1")
    proxy = DenyRegionProxy(aws.url, "ap-east-1", code="UnrecognizedClientException")
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    try:
        result = run_scan(("us-east-1", "ap-east-1"))
    finally:
        proxy.close()
    assert [o.region for o in at(result.findings, PASSWORD)] == ["us-east-1"]
    assert result.summary.notes == ("regions not enabled for these credentials (skipped): ap-east-1",)


def test_no_credentials_is_one_line(aws, monkeypatch, capsys) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert _run_cli(["scan", "aws", "--region", "us-east-1", "--services", "lambda,ecs"]) == 2
    assert capsys.readouterr().err == \
        "error: no AWS credentials found: pass --profile or configure the default credential chain\n"


def test_every_region_failing_is_an_error(aws, monkeypatch, capsys) -> None:
    proxy = DenyRegionProxy(aws.url, "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    try:
        assert _run_cli(["scan", "aws", "--region", "us-east-1", "--services", "lambda,ecs"]) == 2
    finally:
        proxy.close()
    err = capsys.readouterr().err
    assert err.startswith("error: could not read any region: ") and err.count("\n") == 1


def test_pagination_reads_every_page() -> None:
    session = make_session(region="us-east-1")
    lam = make_client(session, "lambda", "us-east-1")
    with Stubber(lam) as stub:
        for marker, name, next_marker in ((None, "one", "m1"), ("m1", "two", None)):
            params = {"FunctionVersion": "ALL", **({"Marker": marker} if marker else {})}
            page = {"Functions": [{"FunctionName": name, "Version": "$LATEST",
                                   "FunctionArn": f"arn:aws:lambda:us-east-1:1:function:{name}",
                                   "Environment": {"Variables": {"N": name}}}],
                    **({"NextMarker": next_marker} if next_marker else {})}
            stub.add_response("list_functions", page, params)
        assert [e.variables for e in lambda_environments(lam, "us-east-1")] == [(("N", "one"),), (("N", "two"),)]
    with Stubber(lam) as stub:  # a KMS key the caller cannot use: no variables, an error instead
        stub.add_response("list_functions", {"Functions": [{
            "FunctionName": "k", "Version": "3", "FunctionArn": "arn:aws:lambda:us-east-1:1:function:k:3",
            "Environment": {"Error": {"ErrorCode": "KMSAccessDeniedException", "Message": "denied"}}}]},
            {"FunctionVersion": "ALL"})
        [env] = lambda_environments(lam, "us-east-1")
        assert (env.origin.resource, env.variables, env.error) == \
            ("arn:aws:lambda:us-east-1:1:function:k:3", (), "KMSAccessDeniedException: denied")
    ecs = make_client(session, "ecs", "us-east-1")
    arns = [f"arn:aws:ecs:us-east-1:1:task-definition/f:{i}" for i in (1, 2, 3)]
    with Stubber(ecs) as stub:
        pages = [({"status": "ACTIVE"}, {"nextToken": "t"}, arns[0]),
                 ({"status": "ACTIVE", "nextToken": "t"}, {}, arns[1]),
                 ({"status": "INACTIVE"}, {}, arns[2])]
        for params, more, arn in pages:  # pages are read lazily: each page's revisions are described before the next
            stub.add_response("list_task_definitions", {"taskDefinitionArns": [arn], **more}, params)
            stub.add_response("describe_task_definition", {"taskDefinition": {
                "taskDefinitionArn": arn,
                "containerDefinitions": [{"name": "c", "environment": [{"name": "A", "value": arn}]}]}},
                {"taskDefinition": arn})
        assert [e.origin.resource for e in ecs_environments(ecs, "us-east-1")] == arns


def _run_cli(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return int(exit_info.value.code or 0)


def test_cli_json_report_redacted(aws, capsys) -> None:
    arn = make_function("api", {"SENDGRID_API_KEY": SENDGRID})
    assert _run_cli(["scan", "aws", "--region", "us-east-1", "--services", "lambda,ecs", "--format", "json"]) == 1
    out = capsys.readouterr().out
    assert SENDGRID not in out
    [finding] = json.loads(out)["findings"]
    assert finding["locations"] == [{"source": "lambda", "resource": f"{arn}:$LATEST", "variable": "SENDGRID_API_KEY",
                                     "region": "us-east-1"}]


def test_cli_all_regions_and_explicit_endpoint(aws, monkeypatch, capsys) -> None:
    make_function("far", {"SENDGRID_API_KEY": SENDGRID}, region="ap-southeast-2")
    register_task("near", {"app": [{"name": "DB_PASSWORD", "value": PASSWORD}]}, region="us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # --endpoint-url must win over this
    code = _run_cli(["scan", "aws", "--services", "lambda,ecs", "--all-regions", "--endpoint-url", aws.url,
                     "--format", "jsonl", "--reveal"])
    findings = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert {(f["secret"], f["locations"][0]["region"]) for f in findings} == \
        {(SENDGRID, "ap-southeast-2"), (PASSWORD, "us-east-1")}


def test_cli_unknown_service_and_missing_profile(aws, capsys) -> None:
    assert _run_cli(["scan", "aws", "--region", "us-east-1", "--services", "lambda,s3"]) == 2
    assert capsys.readouterr().err == f"error: unknown service 's3' (choose from {', '.join(SERVICES)})\n"
    assert SERVICES[:3] == ("lambda", "lambda-code", "ecs") and "ecr" in SERVICES
    assert _run_cli(["scan", "aws", "--profile", "nope"]) == 2
    assert capsys.readouterr().err == "error: AWS profile 'nope' not found in the AWS config files\n"


def test_config_allowlist_applies(aws, tmp_path: Path, capsys) -> None:
    make_function("api", {"DB_PASSWORD": PASSWORD})
    assert _run_cli(["scan", "aws", "--region", "us-east-1", "--services", "lambda,ecs", "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["findings"]  # found without the allowlist
    config = tmp_path / "sg.yaml"
    config.write_text("allow:\n  regexes: ['^kT9#']\n")
    assert _run_cli(["scan", "aws", "--region", "us-east-1", "--services", "lambda,ecs", "--config", str(config),
                     "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []


def test_scan_aws_validate_names_the_owner_of_a_live_key(aws, capsys) -> None:
    iam = boto3.client("iam")
    iam.create_user(UserName="ci-bot")
    key = iam.create_access_key(UserName="ci-bot")["AccessKey"]
    arn = make_function("deploy", {"AWS_ACCESS_KEY_ID": key["AccessKeyId"],
                                   "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]})
    assert _run_cli(["scan", "aws", "--region", "us-east-1", "--services", "lambda,ecs", "--validate",
                     "--format", "json"]) == 1
    out = capsys.readouterr().out
    assert key["SecretAccessKey"] not in out
    [finding] = json.loads(out)["findings"]  # the secret key is the key ID's pair, not a finding of its own
    assert finding["rule"] == "aws-access-key-id"
    assert finding["validation"] == {"status": "live", "arn": "arn:aws:iam::123456789012:user/ci-bot",
                                     "account": "123456789012", "respond": RESPOND_HINT.format(account="123456789012")}
    assert finding["locations"][0]["resource"] == f"{arn}:$LATEST"
