"""``--lambda-mode wrapper``: the exec wrapper itself, run locally against a loopback stand-in for the Parameters and
Secrets extension, and the layer publication and function change against the local AWS API."""

from __future__ import annotations

import http.server
import io
import json
import os
import subprocess
import sys
import threading
import urllib.parse
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from secretguard.aws import lambda_exec_wrapper
from secretguard.aws.migrate import apply_plan, rollback
from secretguard.aws.migrate_journal import journal_path
from secretguard.aws.migrate_plan import load_plan
from secretguard.aws.migrate_wrapper import EXEC_WRAPPER, LAYER_NAME, WRAPPER_PATH, layer_content
from tests.test_migrate import ALL_VALUES, LAMBDA_PLAIN, LAMBDA_SECRETS, REGION, World, quiet, world  # noqa: F401
from tests.test_migrate_pairs import KEY_ID, SECRET_KEY

WRAPPER = Path(lambda_exec_wrapper.__file__)
TOKEN = "session-token-of-the-function"
PRINT_ENV = "import json, os, sys; print(json.dumps({k: os.environ.get(k) for k in sys.argv[1:]}))"


class Extension:
    """The extension's HTTP interface on 127.0.0.1: ``GET /secretsmanager/get?secretId=…`` with the session token
    in ``X-Aws-Parameters-Secrets-Token``, answered from ``read(secret_id)``."""

    def __init__(self, read: Callable[[str], str]) -> None:
        self.requests: list[str] = []
        extension = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                secret_id = urllib.parse.parse_qs(url.query).get("secretId", [""])[0]
                extension.requests.append(secret_id)
                if url.path != "/secretsmanager/get" or self.headers.get("X-Aws-Parameters-Secrets-Token") != TOKEN:
                    self.send_error(401 if url.path == "/secretsmanager/get" else 404)
                    return
                try:
                    body = json.dumps({"ARN": secret_id, "SecretString": read(secret_id)}).encode()
                except Exception:
                    self.send_error(400)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def extension_of() -> Iterator[Callable[[Callable[[str], str]], Extension]]:
    started: list[Extension] = []

    def start(read: Callable[[str], str]) -> Extension:
        started.append(Extension(read))
        return started[-1]

    yield start
    for extension in started:
        extension.close()


def run_wrapper(wrapper: Path, environ: dict[str, str], *names: str) -> subprocess.CompletedProcess[str]:
    """The wrapper as Lambda runs it: its arguments are the runtime's command, here a Python that prints ``names``."""
    env = {"PATH": os.environ["PATH"], **environ}
    return subprocess.run([sys.executable, str(wrapper), sys.executable, "-c", PRINT_ENV, *names], env=env,
                          capture_output=True, text=True, timeout=60)


PASSWORD_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/DB_PASSWORD-AbCdEf"
PAIR_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/DEPLOY_ACCESS_KEY_ID-GhIjKl"
STORED = {PASSWORD_ARN: LAMBDA_SECRETS["DB_PASSWORD"],
          PAIR_ARN: json.dumps({"AccessKeyId": KEY_ID, "SecretAccessKey": SECRET_KEY})}
REFERENCES = {"DB_PASSWORD_SECRET_ARN": PASSWORD_ARN, "DEPLOY_ACCESS_KEY_ID_SECRET_ARN": f"{PAIR_ARN}:AccessKeyId::",
              "DEPLOY_SECRET_ACCESS_KEY_SECRET_ARN": f"{PAIR_ARN}:SecretAccessKey::", "STAGE": "prod"}


def test_the_wrapper_exports_each_secret_through_the_extension(extension_of: Any) -> None:
    extension = extension_of(STORED.__getitem__)
    run = run_wrapper(WRAPPER, {**REFERENCES, "AWS_SESSION_TOKEN": TOKEN,
                                "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port)},
                      "DB_PASSWORD", "DEPLOY_ACCESS_KEY_ID", "DEPLOY_SECRET_ACCESS_KEY", "STAGE")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"DB_PASSWORD": LAMBDA_SECRETS["DB_PASSWORD"], "DEPLOY_ACCESS_KEY_ID": KEY_ID,
                                      "DEPLOY_SECRET_ACCESS_KEY": SECRET_KEY, "STAGE": "prod"}
    assert sorted(extension.requests) == sorted(STORED)  # each secret read once
    assert run.stderr == ""


def test_a_secret_it_cannot_read_stops_the_cold_start_and_names_the_variable(extension_of: Any) -> None:
    extension = extension_of(STORED.__getitem__)
    run = run_wrapper(WRAPPER, {**REFERENCES, "AWS_SESSION_TOKEN": "not-the-token",
                                "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port)}, "DB_PASSWORD")
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr == (f"secretguard-exec-wrapper: DB_PASSWORD: cannot read {PASSWORD_ARN}: "
                          "the extension answered HTTP 401\n")


def test_without_the_extension_it_reads_with_the_sdk(aws: Any) -> None:
    sm = boto3.client("secretsmanager", region_name=REGION)
    arn = sm.create_secret(Name="app/DB_PASSWORD", SecretString=LAMBDA_SECRETS["DB_PASSWORD"])["ARN"]
    environ = {k: os.environ[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                          "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")}
    run = run_wrapper(WRAPPER, {**environ, "DB_PASSWORD_SECRET_ARN": arn}, "DB_PASSWORD")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"DB_PASSWORD": LAMBDA_SECRETS["DB_PASSWORD"]}


def unpacked_layer(tmp_path: Path) -> Path:
    content, _ = layer_content()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        (name,) = archive.namelist()
        assert archive.getinfo(name).external_attr >> 16 == 0o100755
        archive.extractall(tmp_path / "opt")
    return tmp_path / "opt" / name


def test_wrapper_mode_end_to_end(world: World, tmp_path: Path, extension_of: Any) -> None:
    before = world.function_state()
    plan_file = world.plan(tmp_path / "plan.json", functions=("billing",), lambda_mode="wrapper")
    (item,) = load_plan(plan_file)[0].items
    assert item.remove_plaintext and item.lambda_mode == "wrapper"
    apply_plan(plan_file, world.clients, quiet)

    config = world.lam.get_function_configuration(FunctionName="billing")
    variables = config["Environment"]["Variables"]
    assert set(variables) == {*LAMBDA_PLAIN, EXEC_WRAPPER, *(f"{n}_SECRET_ARN" for n in LAMBDA_SECRETS)}
    assert variables[EXEC_WRAPPER] == WRAPPER_PATH
    (layer,) = [x["Arn"] for x in config["Layers"]]
    versions = world.lam.list_layer_versions(LayerName=LAYER_NAME)["LayerVersions"]
    assert [v["LayerVersionArn"] for v in versions] == [layer]
    assert versions[0]["Description"] == layer_content()[1]

    # The function's cold start, as far as it can run here: the layer's wrapper, the function's environment, and
    # the extension answering from the local AWS API with the function's own grants in place.
    extension = extension_of(lambda arn: world.sm.get_secret_value(SecretId=arn)["SecretString"])
    run = run_wrapper(unpacked_layer(tmp_path), {**variables, "AWS_SESSION_TOKEN": TOKEN,
                                                 "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port)},
                      *LAMBDA_SECRETS)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == LAMBDA_SECRETS

    world.function("reports", {"REPORT_TOKEN": "rp8fJ2nQ5rV1xZ7bM3cK"})
    apply_plan(world.plan(tmp_path / "second.json", functions=("reports",), lambda_mode="wrapper"), world.clients,
               quiet)
    reports = world.lam.get_function_configuration(FunctionName="reports")
    assert [x["Arn"] for x in reports["Layers"]] == [layer]  # published once per region
    assert len(world.lam.list_layer_versions(LayerName=LAYER_NAME)["LayerVersions"]) == 1

    rollback(journal_path(plan_file), world.clients, quiet)
    assert world.function_state() == before  # the wrapper, its layer and the plaintext as they were


def test_unsupported_runtimes_are_skipped(world: World, tmp_path: Path) -> None:
    world.lam.create_function(FunctionName="web", Runtime="nodejs20.x", Role=world.lambda_role,
                              Handler="index.handler", Code={"ZipFile": layer_content()[0]},
                              Environment={"Variables": {"DB_PASSWORD": LAMBDA_SECRETS["DB_PASSWORD"]}})
    plan, _ = load_plan(world.plan(tmp_path / "plan.json", functions=("web",), lambda_mode="wrapper"))
    assert plan.items == ()
    (skipped,) = plan.skipped
    assert skipped.variable == "DB_PASSWORD" and "supports python3.9" in skipped.reason
    assert "not nodejs20.x" in skipped.reason
    for value in ALL_VALUES:
        assert value not in skipped.reason
