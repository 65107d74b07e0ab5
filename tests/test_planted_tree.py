"""A tree with credentials of every kind planted: each found exactly once, with every location, and
none of the look-alikes."""

from __future__ import annotations

import base64
import json
import random
import string
from pathlib import Path

import pytest

from tests.helpers import checksummed, run_cli

rng = random.Random(20261125)
B32 = string.ascii_uppercase + "234567"
B62 = string.ascii_letters + string.digits


def rand(alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def key_pair(prefix: str = "AKIA") -> tuple[str, str]:
    secret = rand(B62, 36) + "/+" + rand(B62, 2)
    return prefix + "Q" + rand(B32, 15), secret


AWS_SHAPES = {
    ".env": "AWS_ACCESS_KEY_ID={id}\nAWS_SECRET_ACCESS_KEY={secret}\n",
    "home/.aws/credentials": "[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n",
    "app/storage.py": "import boto3\ns3 = boto3.client('s3', aws_access_key_id='{id}',\n"
                      "                  aws_secret_access_key='{secret}')\n",
    "web/config.js": "const s3 = new S3({{\n  accessKeyId: \"{id}\",\n  secretAccessKey: \"{secret}\",\n}});\n",
    "svc/main.go": "creds := credentials.NewStaticCredentials(\"{id}\", \"{secret}\", \"\")\n",
    "src/Client.java": "AWSCredentials c = new BasicAWSCredentials(\"{id}\", \"{secret}\");\n",
    "conf/aws.yaml": "aws:\n  access_key_id: {id}\n  secret_access_key: {secret}\n",
    "infra/main.tf": "provider \"aws\" {{\n  access_key = \"{id}\"\n  secret_key = \"{secret}\"\n}}\n",
    "Dockerfile": "FROM python:3.12\nENV AWS_ACCESS_KEY_ID={id}\nENV AWS_SECRET_ACCESS_KEY {secret}\n",
    "deploy.sh": "#!/bin/sh\nexport AWS_ACCESS_KEY_ID=\"{id}\"\nexport AWS_SECRET_ACCESS_KEY=\"{secret}\"\n",
    ".github/workflows/ci.yml": "jobs:\n  build:\n    env:\n      AWS_ACCESS_KEY_ID: {id}\n"
                               "      AWS_SECRET_ACCESS_KEY: {secret}\n",
    "keys.csv": "user,key,secret\nci,{id},{secret}\n",
}

GITHUB = checksummed("ghp_", rand(B62, 30))
SINGLES = {
    "slack.env": (f"SLACK_BOT_TOKEN=xoxb-{rand(string.digits, 13)}-{rand(string.digits, 13)}-{rand(B62, 24)}",
                  "slack-bot-token"),
    "billing.py": (f"stripe.api_key = 'sk_live_{rand(B62, 24)}'", "stripe-secret-key"),
    "maps.js": (f"const key = 'AIza{rand(B62 + '_-', 35)}';", "google-api-key"),
    "mail.cfg": (f"SENDGRID_API_KEY=SG.{rand(B62, 22)}.{rand(B62, 43)}", "sendgrid-api-key"),
    ".npmrc": (f"//registry.npmjs.org/:_authToken=npm_{rand(B62, 36)}", "npm-npmrc-auth-token"),
    "ai.env": (f"ANTHROPIC_API_KEY=sk-ant-api03-{rand(B62 + '_-', 93)}AA", "anthropic-api-key"),
    "gl.env": (f"GITLAB_TOKEN=glpat-{rand(B62, 20)}", "gitlab-pat"),
    "db.env": (f"DATABASE_URL=postgres://app:{rand(B62, 18)}@db.internal:5432/app", "postgres-url-password"),
    "vault.sh": (f"export VAULT_TOKEN=hvs.{rand(B62, 90)}", "vault-service-token"),
    "settings.py": ("DB_PASSWORD = 'p@5s-W0rd!x9Qz#L2'", "generic-password"),
    "id_rsa": ("-----BEGIN RSA PRIVATE KEY-----\n"
               + "\n".join(base64.b64encode(rng.randbytes(48)).decode() for _ in range(8))
               + "\n-----END RSA PRIVATE KEY-----", "private-key-rsa"),
}

NEGATIVES = """\
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}
aws_secret_access_key = os.environ["AWS_SECRET_ACCESS_KEY"]
password = get_password()
password: ""
api_key: YOUR_API_KEY_HERE
token = "{{ secrets.TOKEN }}"
secret = "<your-secret>"
password = "changeme"
commit 9fceb02d0ae598e95dc970b74767f19372d61af8
request_id = 3f2504e0-4f89-11d3-9a0c-0305e82c3301
ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 user@host
-----BEGIN PUBLIC KEY-----
ghp_short
sk_test_placeholder
"""


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[str, str]]]:
    root = tmp_path_factory.mktemp("planted")
    pairs: dict[str, tuple[str, str]] = {}
    for path, shape in AWS_SHAPES.items():
        pairs[path] = key_pair()
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(shape.format(id=pairs[path][0], secret=pairs[path][1]))
    for path, (text, _rule) in SINGLES.items():
        (root / path).write_text(text + "\n")
    for path in ("a/one.txt", "b/two.md", "c/three.yml"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(f"token: {GITHUB}\n")
    (root / "negatives.txt").write_text(NEGATIVES)
    return root, pairs


@pytest.fixture(scope="module")
def findings(planted) -> list[dict]:
    root, _ = planted
    run = run_cli("scan", "dir", root, "--format", "json", "--reveal")
    assert run.code == 1, run.err
    return json.loads(run.out)["findings"]


def test_every_aws_shape_gives_one_paired_finding(planted, findings):
    _, pairs = planted
    by_secret = {f["secret"]: f for f in findings}
    for path, (key_id, secret) in pairs.items():
        finding = by_secret.get(key_id)
        assert finding is not None, f"key ID in {path} not found"
        assert finding["rule"] == "aws-access-key-id"
        assert finding["pair"]["secret"] == secret, f"secret in {path} not paired"
        assert [o["path"] for o in finding["locations"]] == [path]
        assert len(finding["aws_account"]) == 12
        assert secret not in by_secret, f"secret in {path} reported on its own too"


def test_every_provider_found_once(findings):
    for path, (_text, rule) in SINGLES.items():
        matching = [f for f in findings if any(o["path"] == path for o in f["locations"])]
        assert [f["rule"] for f in matching] == [rule], path


def test_same_secret_in_three_files_is_one_finding_with_three_locations(findings):
    [github] = [f for f in findings if f["secret"] == GITHUB]
    assert sorted(o["path"] for o in github["locations"]) == ["a/one.txt", "b/two.md", "c/three.yml"]


def test_no_negative_is_reported(findings):
    assert not [f for f in findings if any(o["path"] == "negatives.txt" for o in f["locations"])]


def test_nothing_else_is_reported(planted, findings):
    _, pairs = planted
    assert len(findings) == len(pairs) + len(SINGLES) + 1
