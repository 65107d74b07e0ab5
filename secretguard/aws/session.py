"""boto3 sessions and clients built one way for every AWS command: profile, region, endpoint, retries, timeouts.

The endpoint is whatever boto3 resolves (so ``AWS_ENDPOINT_URL`` and a profile's ``endpoint_url`` apply)
unless the caller passes ``endpoint_url``. Throttling is retried with botocore's adaptive mode.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

from secretguard.errors import SecretguardError

DEFAULT_REGION = "us-east-1"
USER_AGENT = "secretguard"
READ_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=20,
    user_agent_extra=USER_AGENT,
)
"""For reading an account: patient with throttling, quick to give up on a dead endpoint."""
PROBE_CONFIG = Config(
    retries={"mode": "adaptive", "total_max_attempts": 2},  # botocore's max_attempts counts retries only
    connect_timeout=3,
    read_timeout=5,
    user_agent_extra=USER_AGENT,
)
"""For one-shot probes such as key validation: short timeouts, one retry."""

_client_lock = threading.Lock()  # a boto3 Session is not thread-safe; the clients it makes are


def make_session(profile: str | None = None, region: str | None = None) -> boto3.Session:
    """A session for ``profile`` (default chain when None); a missing profile is a one-line error."""
    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise SecretguardError(f"AWS profile '{profile}' not found in the AWS config files") from None


def make_client(session: boto3.Session, service: str, region: str | None = None,
                endpoint_url: str | None = None, config: Config = READ_CONFIG, **credentials: Any) -> Any:
    """A client for ``service`` in ``region`` (the session's, else us-east-1); safe to call from threads.

    ``credentials`` (``aws_access_key_id``, ``aws_secret_access_key``, ``aws_session_token``) replace the
    session's own credentials for this client only.
    """
    with _client_lock:
        return session.client(service, region_name=region or session.region_name or DEFAULT_REGION,
                              endpoint_url=endpoint_url, config=config, **credentials)


def select_regions(session: boto3.Session, services: Sequence[str], requested: Sequence[str],
                   all_regions: bool) -> list[str]:
    """The regions to read: every region botocore lists for ``services`` (offline), the requested ones, or the
    session's."""
    if all_regions:
        return sorted({r for service in services for r in session.get_available_regions(service)})
    if requested:
        return list(dict.fromkeys(requested))
    if session.region_name:
        return [session.region_name]
    raise SecretguardError("no AWS region: pass --region R (repeatable) or --all-regions, or set AWS_DEFAULT_REGION")


def error_code(exc: Exception) -> str:
    """The AWS error code of a failed call, or the exception's class name for network and client errors."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "ClientError")
    return type(exc).__name__


def error_line(exc: BotoCoreError | ClientError) -> str:
    """A failed call as one line: ``Code: message``."""
    message = str(exc.response.get("Error", {}).get("Message") or "") if isinstance(exc, ClientError) else str(exc)
    message = " ".join(message.split())
    return f"{error_code(exc)}: {message}" if message else error_code(exc)
