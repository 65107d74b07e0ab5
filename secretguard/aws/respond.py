"""After a leak: whose key it is, what it can do, whether it was used, and what to do next.

Every call is made with the caller's own credentials (the account that owns the key: an audit or admin
role), never with the leaked key: a call signed by it would show up in the owner's CloudTrail like an
attacker's, and fails once AWS has quarantined the key. All calls are reads; the README lists them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from secretguard.aws.keys import KEY_ID, account_from_key_id
from secretguard.aws.respond_policy import Capabilities, NamedPolicy, analyse
from secretguard.aws.respond_trail import Activity, Network, lookup_activity
from secretguard.aws.session import DEFAULT_REGION, error_code, error_line, make_client
from secretguard.errors import SecretguardError
from secretguard.findings import Origin, redact

KEY_RULE = "aws-access-key-id"
GLOBAL_EVENTS_REGION = DEFAULT_REGION
"""IAM, STS without a regional endpoint and console sign-ins are recorded here."""


@dataclass(slots=True)
class LeakedKey:
    """A key ID to respond to, with the places it was found (none when given on the command line)."""

    key_id: str
    locations: list[Origin] = field(default_factory=list)


@dataclass(slots=True)
class KeyResponse:
    """Everything ``respond`` learned about one key, and the next step."""

    key_id: str
    key_account: str | None
    caller_account: str | None
    user: str | None = None
    status: str | None = None
    created: str | None = None
    last_used: dict[str, Any] | None = None
    user_keys: list[dict[str, Any]] = field(default_factory=list)
    capabilities: Capabilities | None = None
    activity: Activity | None = None
    locations: list[Origin] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    """What could not be looked at, each with its reason."""
    recommendation: str = ""

    @property
    def in_account(self) -> bool:
        return self.key_account is not None and self.key_account == self.caller_account

    @property
    def settled(self) -> bool:
        """Looked at completely, and the key cannot be used any more."""
        complete = not self.unread and (self.activity is None or self.activity.complete)
        return complete and self.in_account and self.status in ("Inactive", "deleted")

    def to_dict(self, reveal: bool = False) -> dict[str, Any]:
        shown = (lambda s: s) if reveal else redact
        return {
            "key_id": shown(self.key_id), "key_account": self.key_account, "caller_account": self.caller_account,
            "in_caller_account": self.in_account, "user": self.user, "status": self.status, "created": self.created,
            "last_used": self.last_used,
            "user_keys": [{**k, "key_id": shown(k["key_id"])} for k in self.user_keys],
            "can_do": self.capabilities.to_dict() if self.capabilities else None,
            "did": self.activity.to_dict() if self.activity else None,
            "found_at": [o.to_dict() for o in self.locations], "unread": self.unread,
            "recommendation": self.recommendation.format(key=shown(self.key_id)),
        }


def leaked_keys(inputs: Iterable[str]) -> list[LeakedKey]:
    """Key IDs given directly, and the AWS key findings of json/jsonl reports (written with ``--reveal``)."""
    from secretguard.aws.validate import load_findings

    keys: dict[str, LeakedKey] = {}
    for value in inputs:
        if KEY_ID.match(value.strip()):
            keys.setdefault(value.strip(), LeakedKey(value.strip()))
            continue
        path = Path(value)
        if not path.is_file():
            raise SecretguardError(f"'{redact(value)}' is neither an AWS access key ID nor a findings file")
        for finding in load_findings(path):
            if finding.rule == KEY_RULE:
                keys.setdefault(finding.secret, LeakedKey(finding.secret)).locations.extend(finding.locations)
    if not keys:
        raise SecretguardError("no AWS access key IDs to respond to")
    return list(keys.values())


def parse_networks(values: Iterable[str]) -> list[Network]:
    """``--known-ip`` values: addresses or CIDR ranges."""
    try:
        return [ipaddress.ip_network(v.strip(), strict=False) for v in values]
    except ValueError as exc:
        raise SecretguardError(f"--known-ip: {exc}") from None


def caller_account(session: boto3.Session, endpoint_url: str | None = None) -> str:
    """The account of the caller's own credentials (``sts:GetCallerIdentity``)."""
    try:
        return str(make_client(session, "sts", endpoint_url=endpoint_url).get_caller_identity()["Account"])
    except NoCredentialsError:
        raise SecretguardError(
            "no AWS credentials found: run with the owning account's credentials (--profile)") from None
    except (ClientError, BotoCoreError) as exc:
        raise SecretguardError(f"sts:GetCallerIdentity: {error_line(exc)}") from None


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else (str(value) if value else None)


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page[key]]


def _managed(iam: Any, arn: str, origin: str) -> NamedPolicy:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    return NamedPolicy(origin, document)


def user_policies(iam: Any, user: str) -> tuple[list[NamedPolicy], NamedPolicy | None]:
    """Every policy that applies to ``user`` (inline, attached, and its groups'), and its permissions boundary."""
    policies = [NamedPolicy(f"inline {name}", iam.get_user_policy(UserName=user, PolicyName=name)["PolicyDocument"])
                for name in _pages(iam, "list_user_policies", "PolicyNames", UserName=user)]
    policies += [_managed(iam, p["PolicyArn"], f"attached {p['PolicyArn']}")
                 for p in _pages(iam, "list_attached_user_policies", "AttachedPolicies", UserName=user)]
    for group in _pages(iam, "list_groups_for_user", "Groups", UserName=user):
        name = group["GroupName"]
        policies += [NamedPolicy(f"group {name}: inline {p}",
                                 iam.get_group_policy(GroupName=name, PolicyName=p)["PolicyDocument"])
                     for p in _pages(iam, "list_group_policies", "PolicyNames", GroupName=name)]
        policies += [_managed(iam, p["PolicyArn"], f"group {name}: attached {p['PolicyArn']}")
                     for p in _pages(iam, "list_attached_group_policies", "AttachedPolicies", GroupName=name)]
    boundary_arn = iam.get_user(UserName=user)["User"].get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
    return policies, (_managed(iam, boundary_arn, boundary_arn) if boundary_arn else None)


def describe_key(iam: Any, response: KeyResponse) -> None:
    """Fill the user, status, creation date, last use and the user's other keys (IAM reads only)."""
    try:
        found = iam.get_access_key_last_used(AccessKeyId=response.key_id)
    except ClientError as exc:
        if error_code(exc) in ("NoSuchEntity", "NoSuchEntityException"):
            response.status = "deleted"
            return
        raise
    response.user = found.get("UserName")
    used = found.get("AccessKeyLastUsed", {})
    if used.get("LastUsedDate"):
        response.last_used = {"date": _iso(used["LastUsedDate"]), "region": used.get("Region"),
                              "service": used.get("ServiceName")}
    if not response.user or response.user == "root":
        response.unread.append("the key belongs to the root user: no user policies to read")
        return
    for key in _pages(iam, "list_access_keys", "AccessKeyMetadata", UserName=response.user):
        entry = {"key_id": key["AccessKeyId"], "status": key["Status"], "created": _iso(key.get("CreateDate"))}
        response.user_keys.append(entry)
        if key["AccessKeyId"] == response.key_id:
            response.status, response.created = entry["status"], entry["created"]


def recommend(response: KeyResponse) -> str:
    """One line: what to do next; ``{key}`` stands for the key ID, shown redacted or not when written."""
    key = "{key}"
    if response.key_account is None:
        return ("old-format key ID: its account cannot be decoded; ask the account owners, "
                "or run with each account's credentials")
    if not response.in_account:
        return (f"the key belongs to account {response.key_account}, not to {response.caller_account}: "
                f"run respond with that account's credentials (--profile), or report the leak to its owner")
    if response.status == "deleted":
        return "the key no longer exists; read its CloudTrail events above for what it did before"
    if response.user is None or response.status is None:
        return "the key could not be described: see what was not read, and fix the permissions"
    if response.status == "Inactive":
        return (f"the key is inactive: delete it (`secretguard aws rotate {key} --finalize`, or in IAM) once "
                "nothing breaks, and read its events above")
    urgent = response.capabilities is not None and response.capabilities.verdict in (
        "administrator", "privilege-escalation")
    step = f"`secretguard aws rotate {key}" + (" --quarantine`" if urgent else "`")
    return f"rotate it now: {step} (new key into Secrets Manager, old key deactivated), then read the events above"


def respond(
    keys: Sequence[LeakedKey],
    session: boto3.Session,
    regions: Sequence[str],
    *,
    endpoint_url: str | None = None,
    known_networks: Sequence[Network] = (),
    max_events: int = 10_000,
    on_events: Callable[[str, int], None] = lambda region, n: None,
) -> list[KeyResponse]:
    """What each key is, can do and did, read from the owner's side. ``regions`` are CloudTrail's to read
    (the key's last-used region is added)."""
    account = caller_account(session, endpoint_url)
    iam = make_client(session, "iam", endpoint_url=endpoint_url)
    responses = []
    for key in keys:
        response = KeyResponse(key.key_id, account_from_key_id(key.key_id), account, locations=key.locations)
        responses.append(response)
        if response.key_account is not None and not response.in_account:
            response.unread.append(f"the key belongs to account {response.key_account}: not readable from {account}")
            response.recommendation = recommend(response)
            continue
        try:
            describe_key(iam, response)
            if response.user and response.user != "root":
                response.capabilities = analyse(*user_policies(iam, response.user))
        except (ClientError, BotoCoreError) as exc:
            response.unread.append(f"IAM: {error_line(exc)}")
        if response.key_account is None and response.user is not None:
            response.key_account = account  # an old-format ID that IAM knows in this account
        last_region = (response.last_used or {}).get("region")
        wanted = list(regions) + ([last_region] if last_region and last_region != "N/A" else [])
        response.activity = lookup_activity(
            lambda region: make_client(session, "cloudtrail", region=region, endpoint_url=endpoint_url),
            key.key_id, wanted, known_networks=known_networks, max_events=max_events, on_events=on_events)
        response.recommendation = recommend(response)
    return responses


def default_regions(session: boto3.Session, requested: Sequence[str], all_regions: bool) -> list[str]:
    """CloudTrail regions to read: every region, the requested ones, or the session's plus us-east-1."""
    if all_regions:
        return sorted(session.get_available_regions("cloudtrail"))
    if requested:
        return list(dict.fromkeys(requested))
    return list(dict.fromkeys(filter(None, [session.region_name, GLOBAL_EVENTS_REGION])))
