#!/usr/bin/env python3
"""secretguard's Lambda exec wrapper: put each migrated secret back into the environment before the runtime starts.

Lambda runs the program named by ``AWS_LAMBDA_EXEC_WRAPPER`` with the runtime's command line as its arguments.
For every ``<VAR>_SECRET_ARN`` variable (a secret ARN, or ``ARN:json-key::`` for one key of a JSON secret), this
reads the secret and exports ``<VAR>``, then replaces itself with the runtime, so the function code reads
``os.environ["VAR"]`` as before. The values live only in the runtime process's memory.

Secrets are read through the AWS Parameters and Secrets Lambda Extension when it is there (its HTTP port on
127.0.0.1, authenticated by the function's session token), else with boto3, which every Python runtime has. If a
secret cannot be read, the wrapper names the variable and stops the cold start: the function never runs without it.

Standalone (standard library, Python 3.9+): it runs inside the function's runtime, not with secretguard.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import urllib.parse

SUFFIX = "_SECRET_ARN"
EXTENSION_PORT = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
EXTENSION_FILE = "/opt/extensions/AWSParametersAndSecretsLambdaExtension"
EXTENSION_WAIT_SECONDS = 2.0
"""The extension starts with the function; its port may take a moment to open."""
MAX_ANSWER_BYTES = 1 << 20
"""A secret holds at most 64 KiB; the extension's JSON answer around it is well under this."""


class Unreadable(Exception):
    """A secret that cannot be read; the message names no value."""


def references(environ: dict[str, str]) -> dict[str, tuple[str, str]]:
    """``VAR`` -> (secret ARN, JSON key or "") for every ``VAR_SECRET_ARN`` holding a Secrets Manager ARN."""
    found = {}
    for name, reference in environ.items():
        if name.endswith(SUFFIX) and len(name) > len(SUFFIX) and reference.startswith("arn:"):
            parts = reference.split(":")
            if len(parts) >= 7 and parts[2] == "secretsmanager":
                found[name[:-len(SUFFIX)]] = (":".join(parts[:7]), parts[7] if len(parts) > 7 else "")
    return found


def from_extension(arn: str, environ: dict[str, str]) -> str:
    """The secret's value from the Parameters and Secrets extension's local HTTP interface.

    A plain HTTP/1.0 request on a socket: ``http.client`` alone costs ~60 ms of imports on every cold start.
    """
    port = int(environ.get(EXTENSION_PORT, "2773"))
    token = "".join(environ.get("AWS_SESSION_TOKEN", "").split())
    request = (f"GET /secretsmanager/get?secretId={urllib.parse.quote(arn, safe='')} HTTP/1.0\r\n"
               f"Host: localhost\r\nX-Aws-Parameters-Secrets-Token: {token}\r\n\r\n").encode()
    deadline = time.monotonic() + EXTENSION_WAIT_SECONDS
    while True:
        try:
            answer = _exchange(port, request)
            break
        except OSError as exc:
            if time.monotonic() > deadline:
                raise Unreadable(f"the extension on port {port} did not answer ({exc})") from None
            time.sleep(0.05)
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1:2]
    if status != [b"200"]:
        raise Unreadable(f"the extension answered HTTP {status[0].decode('ascii', 'replace') if status else '?'}")
    try:
        return str(json.loads(body)["SecretString"])
    except (ValueError, KeyError, TypeError):
        raise Unreadable("the extension's answer holds no SecretString") from None


def _exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` to 127.0.0.1:``port`` and read the answer until the server closes the connection."""
    chunks, size = [], 0
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request)
        while size <= MAX_ANSWER_BYTES:
            chunk = connection.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    return b"".join(chunks)


def from_sdk(arn: str) -> str:
    """The secret's value with boto3 and the function's own role."""
    try:
        import boto3

        return str(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
    except ImportError:
        raise Unreadable("no Parameters and Secrets extension and no boto3 in this runtime") from None
    except Exception as exc:  # botocore's errors, without importing botocore before it is known to be there
        raise Unreadable(f"{type(exc).__name__}: {str(exc)[:300]}") from None


def resolve(environ: dict[str, str]) -> dict[str, str]:
    """The environment with each referenced variable set to its secret's value (each secret read once)."""
    use_extension = EXTENSION_PORT in environ or os.path.exists(EXTENSION_FILE)
    secrets: dict[str, str] = {}
    resolved = dict(environ)
    for variable, (arn, key) in sorted(references(environ).items()):
        try:
            if arn not in secrets:
                secrets[arn] = from_extension(arn, environ) if use_extension else from_sdk(arn)
            value = secrets[arn]
            if key:
                try:
                    value = json.loads(value)[key]
                except (ValueError, KeyError, TypeError):
                    raise Unreadable(f"the secret is not a JSON object with the key {key}") from None
            resolved[variable] = str(value)
        except Unreadable as exc:
            raise Unreadable(f"{variable}: cannot read {arn}: {exc}") from None
    return resolved


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("secretguard-exec-wrapper: no runtime command to run", file=sys.stderr)
        return 2
    try:
        environ = resolve(dict(os.environ))
    except Unreadable as exc:
        print(f"secretguard-exec-wrapper: {exc}", file=sys.stderr)
        return 1
    os.execvpe(argv[1], argv[1:], environ)  # noqa: S606 - runs the function's own runtime command, no shell
    return 0  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main(sys.argv))
