"""Tell whether found AWS key pairs are live: ``sts:GetCallerIdentity`` signed with the pair itself.

Off unless asked. Keys of known canary-token accounts are never sent anywhere. Each distinct pair is checked
once per run, a few at a time, with short timeouts; a failure is one line that never holds the secret.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from secretguard.aws.keys import account_from_key_id
from secretguard.aws.session import PROBE_CONFIG, error_code, error_line, make_client, make_session
from secretguard.errors import SecretguardError
from secretguard.findings import Finding, Origin, redact

KEY_RULE = "aws-access-key-id"
SESSION_TOKEN_RULE = "aws-session-token"
SESSION_TOKEN_VARIABLE = re.compile(r"(?i)(?:SESSION|SECURITY)_?TOKEN")
TOKEN_WITHIN_LINES = 5
CHECKABLE_PREFIXES = ("AKIA", "ASIA")
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
STATUS_BY_CODE = {
    "InvalidClientTokenId": "invalid",
    "SignatureDoesNotMatch": "mismatch",
    "ExpiredToken": "expired",
    "ExpiredTokenException": "expired",
}

if TYPE_CHECKING:
    from secretguard.pipeline import Validation as ValidationRequest

Validation = dict[str, Any]
RESPOND_HINT = ("next: `secretguard aws respond KEY_ID` with credentials of account {account} (read-only: "
                "iam:GetAccessKeyLastUsed, iam:ListAccessKeys, the user's policies, cloudtrail:LookupEvents)")
"""What a live key's validation says to do next, in every output format."""


def canary_accounts() -> frozenset[str]:
    """The shipped list of canary-token AWS accounts (``canary_accounts.txt``)."""
    text = resources.files("secretguard.aws").joinpath("canary_accounts.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def parse_accounts(values: Iterable[str]) -> frozenset[str]:
    """User-given account IDs (``--skip-account``), checked to be 12 digits."""
    accounts = frozenset(v.strip() for v in values)
    for account in sorted(accounts):
        if not ACCOUNT_ID.match(account):
            raise SecretguardError(f"--skip-account '{account}': an AWS account ID is 12 digits")
    return accounts


@dataclass(frozen=True, slots=True)
class KeyPair:
    """The credentials to sign with. The secret halves never appear in a repr."""

    key_id: str
    secret: str = field(repr=False)
    token: str | None = field(default=None, repr=False)

    def scrub(self, text: str) -> str:
        """``text`` with any secret half of this pair redacted, for messages built from server replies."""
        for secret in (self.secret, self.token):
            if secret:
                text = text.replace(secret, redact(secret))
        return text


def check_pair(session: boto3.Session, pair: KeyPair, endpoint_url: str | None = None) -> Validation:
    """Call ``sts:GetCallerIdentity`` signed by ``pair`` and map the answer to a validation status.

    Any failure of the call (network, timeout, an answer that is not STS's, such as a proxy's HTML error page)
    is status ``error`` with one line naming the call and the endpoint; it never raises.
    """
    endpoint = endpoint_url or "the default STS endpoint"
    try:
        client = make_client(session, "sts", endpoint_url=endpoint_url, config=PROBE_CONFIG,
                             aws_access_key_id=pair.key_id, aws_secret_access_key=pair.secret,
                             aws_session_token=pair.token)
        endpoint = client.meta.endpoint_url
        identity = client.get_caller_identity()
    except ClientError as exc:
        status = STATUS_BY_CODE.get(error_code(exc))
        if status:
            return {"status": status}
        http = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        detail = error_line(exc) if exc.response.get("Error", {}).get("Code") else f"HTTP {http}, not an STS answer"
        return _failed(pair, endpoint, detail)
    except BotoCoreError as exc:
        return _failed(pair, endpoint, error_line(exc))
    except Exception as exc:  # botocore's parsers raise plain KeyError and friends on answers STS would not give
        return _failed(pair, endpoint, f"unreadable answer ({type(exc).__name__}: {exc})")
    if not isinstance(identity.get("Arn"), str):
        return _failed(pair, endpoint, "unreadable answer (no ARN)")
    return {"status": "live", "arn": identity.get("Arn"), "account": identity.get("Account")}


def _failed(pair: KeyPair, endpoint: str, detail: str) -> Validation:
    """Status ``error``: the call, the endpoint and what went wrong, in one line without the secret."""
    line = " ".join(f"sts:GetCallerIdentity at {endpoint}: {detail}".split())
    return {"status": "error", "error": pair.scrub(line)}


def _place(origin: Origin) -> tuple[str | None, ...]:
    return (origin.source, origin.repo, origin.path, origin.resource, origin.container, origin.commit)


def _near(a: Origin, b: Origin) -> bool:
    if _place(a) != _place(b):
        return False
    return a.line is None or b.line is None or abs(a.line - b.line) <= TOKEN_WITHIN_LINES


def _is_session_token(finding: Finding) -> bool:
    return finding.rule == SESSION_TOKEN_RULE or any(
        o.variable and SESSION_TOKEN_VARIABLE.search(o.variable) for o in finding.locations)


def session_token_for(key: Finding, findings: list[Finding]) -> str | None:
    """The session token seen next to a temporary (ASIA) key: same file, resource or commit, within a few lines."""
    for candidate in findings:
        if candidate is not key and _is_session_token(candidate) and any(
                _near(k, t) for k in key.locations for t in candidate.locations):
            return candidate.secret
    return None


def warn_stderr(line: str) -> None:
    """Print one ``warning:`` line to stderr."""
    print(f"warning: {line}", file=sys.stderr)


def validate_findings(
    findings: list[Finding],
    jobs: int = 4,
    skip_accounts: Iterable[str] = (),
    endpoint_url: str | None = None,
    *,
    warn: Callable[[str], None] = warn_stderr,
    on_checked: Callable[[KeyPair, Validation], None] = lambda pair, result: None,
    candidates: list[Finding] | None = None,
) -> None:
    """Fill ``finding.validation`` for every AWS key ID finding in ``findings``.

    Statuses: live (with ARN and account), invalid, mismatch (key ID exists, secret wrong), expired,
    canary (known canary or ``skip_accounts`` account: never called), error (network, timeout, anything
    else; one ``warn`` line each) and unchecked (nothing to sign with). ``on_checked`` runs in the worker
    thread right after each call, so with ``jobs=1`` it runs before the next call starts. ``candidates`` are
    the findings to validate (default: those of the key ID rule); the others give context (session tokens).
    """
    skip = canary_accounts() | frozenset(skip_accounts)
    pending: dict[KeyPair, list[Finding]] = {}
    for finding in candidates if candidates is not None else [f for f in findings if f.rule == KEY_RULE]:
        key_id = finding.secret
        account = account_from_key_id(key_id)
        if account in skip:
            finding.validation = {"status": "canary", "account": account}
        elif not key_id.startswith(CHECKABLE_PREFIXES):
            finding.validation = {"status": "unchecked", "error": f"{key_id[:4]} keys cannot sign requests"}
        elif finding.pair is None:
            finding.validation = {"status": "unchecked", "error": "no secret access key found near the key ID"}
        else:
            token = session_token_for(finding, findings) if key_id.startswith("ASIA") else None
            if key_id.startswith("ASIA") and token is None:
                finding.validation = {"status": "unchecked",
                                      "error": "temporary key without a session token nearby"}
            else:
                pending.setdefault(KeyPair(key_id, finding.pair.secret, token), []).append(finding)
    if not pending:
        return
    session = make_session()

    def check(pair: KeyPair) -> Validation:
        result = check_pair(session, pair, endpoint_url)
        on_checked(pair, result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(check, pair): pair for pair in pending}
        for future in as_completed(futures):
            pair, result = futures[future], future.result()
            for finding in pending[pair]:
                finding.validation = dict(result)
                if result["status"] == "live":
                    finding.validation["respond"] = RESPOND_HINT.format(account=result.get("account"))
            if result["status"] == "error":
                warn(f"cannot validate {redact(pair.key_id)}: {result['error']}")


def validate_sts(candidates: list[Finding], findings: list[Finding], validation: ValidationRequest) -> None:
    """The ``aws-sts`` validator, as rules name it: :func:`validate_findings` with the scan's options."""
    validate_findings(findings, validation.jobs, validation.skip_accounts, validation.endpoint_url,
                      warn=validation.warn or warn_stderr, candidates=candidates)


def _revealed(data: dict[str, Any]) -> bool:
    """Whether a report's finding shows its secrets: a redacted one is what redacting it again gives."""
    pair = data.get("pair")
    return redact(str(data["secret"])) != data["secret"] and (not pair or redact(str(pair["secret"])) != pair["secret"])


def load_findings(path: Path, require_revealed: bool = True) -> list[Finding]:
    """Findings from a ``--format json`` or ``jsonl`` report, written with ``--reveal`` unless not
    ``require_revealed``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SecretguardError(f"{path}: cannot read findings: {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = None  # more than one line: JSON Lines
    try:
        if isinstance(document, dict):
            items = document.get("findings", [document])
        else:
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise SecretguardError(f"{path}: not a json or jsonl report: {exc.msg} at line {exc.lineno}") from None
    try:
        if require_revealed and not all(_revealed(item) for item in items):
            raise SecretguardError(f"{path}: secrets are redacted; write the report with --reveal to validate it")
        return [Finding.from_dict(item) for item in items]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise SecretguardError(f"{path}: not a secretguard findings report") from None
