"""What an IAM user's policies let its keys do, reduced to one verdict with its reasons.

The classification is cloudsplaining's (privilege-escalation combinations, data-exfiltration and
credential-returning actions) over policy_sentry's IAM action database (every action's access level), both
offline. All of a user's policies (inline, attached, and its groups' inline and attached) are analysed as one
document, so a Deny in one removes what another allows; a permissions boundary then keeps only the actions it
also allows. Conditions are not evaluated: a conditional statement does not count towards escalation or
unrestricted data access (cloudsplaining's rule), and the report says how many there were.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from secretguard.errors import SecretguardError

VERDICTS = ("administrator", "privilege-escalation", "data-access", "write", "read-only", "none")
"""Most severe first; a user's verdict is the first that applies."""
DATA_SERVICES = ("s3", "secretsmanager", "kms", "dynamodb", "ssm")
"""Services whose Read and Write actions reach stored data, reported with the resources they apply to."""
MODIFYING_LEVELS = ("Write", "Permissions management", "Tagging")


@dataclass(frozen=True, slots=True)
class NamedPolicy:
    """A policy document and where it comes from (``inline deploy``, ``attached arn:…``, ``group ops: …``)."""

    origin: str
    document: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DataGrant:
    """Actions of one data service allowed by one statement, on the statement's resources."""

    service: str
    resources: tuple[str, ...]
    read: tuple[str, ...]
    write: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "resources": list(self.resources), "read": list(self.read),
                "write": list(self.write)}


@dataclass(slots=True)
class Capabilities:
    """What a user's keys can do: the verdict and what it rests on."""

    verdict: str
    escalations: list[str] = field(default_factory=list)
    data: list[DataGrant] = field(default_factory=list)
    unrestricted_data: list[str] = field(default_factory=list)
    credentials: list[str] = field(default_factory=list)
    modifying_actions: int = 0
    allowed_actions: int = 0
    policies: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "privilege_escalation": self.escalations,
                "data_access": [g.to_dict() for g in self.data], "unrestricted_data_actions": self.unrestricted_data,
                "credential_actions": self.credentials, "modifying_actions": self.modifying_actions,
                "allowed_actions": self.allowed_actions, "policies": self.policies, "notes": self.notes}


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _grants_everything(statement: Any) -> bool:
    """Allow ``*`` on ``*`` without a condition (administrator, unless a Deny or the boundary takes some away)."""
    return bool(statement.effect_allow and "*" in statement.actions and statement.has_resource_wildcard
                and not statement.has_condition)


POLICY_LIBRARIES = ("cloudsplaining", "policy_sentry")


def require_policy_libraries() -> None:
    """Fail with one line when the optional IAM policy libraries are not installed (``secretguard[respond]``)."""
    from importlib.util import find_spec

    missing = [name for name in POLICY_LIBRARIES if find_spec(name) is None]
    if missing:
        raise SecretguardError(f"aws respond needs {' and '.join(missing)}: pip install 'secretguard[respond]'")


def access_level(action: str) -> str | None:
    """policy_sentry's access level of ``service:Action`` (List, Read, Write, Permissions management, Tagging)."""
    from policy_sentry.shared.iam_data import get_service_prefix_data

    service, _, name = action.partition(":")
    data = get_service_prefix_data(service.lower())
    if not data:
        return None
    canonical = data["privileges_lower_name"].get(name.lower())
    return str(data["privileges"][canonical]["access_level"]) if canonical else None


def _reading_data_first(actions: set[str]) -> tuple[str, ...]:
    """Actions sorted with those cloudsplaining names as data exfiltration or credential exposure first."""
    from cloudsplaining.shared.constants import ACTIONS_THAT_RETURN_CREDENTIALS, READ_ONLY_DATA_EXFILTRATION_ACTIONS

    first = {a.lower() for a in READ_ONLY_DATA_EXFILTRATION_ACTIONS + ACTIONS_THAT_RETURN_CREDENTIALS}
    return tuple(sorted(actions, key=lambda a: (a.lower() not in first, a)))


def _data_grants(document: Any, allowed: set[str]) -> list[DataGrant]:
    grants: dict[tuple[str, tuple[str, ...]], tuple[set[str], set[str]]] = {}
    for statement in document.statements:
        if not statement.effect_allow:
            continue
        resources = tuple(statement.resources) or tuple(f"all except {r}" for r in statement.not_resource)
        actions = [a for a in statement.expanded_actions or [] if a.lower() in allowed]
        for service in DATA_SERVICES:
            mine = [a for a in actions if a.split(":", 1)[0].lower() == service]
            if not mine:
                continue
            read, write = grants.setdefault((service, resources), (set(), set()))
            read.update(a for a in mine if access_level(a) == "Read")
            write.update(a for a in mine if access_level(a) == "Write")
    return [DataGrant(service, resources, _reading_data_first(read), _reading_data_first(write))
            for (service, resources), (read, write) in grants.items() if read or write]


def analyse(policies: Iterable[NamedPolicy], boundary: NamedPolicy | None = None) -> Capabilities:
    """The verdict for a user holding ``policies``, limited by the permissions ``boundary`` if there is one."""
    from cloudsplaining.scan.policy_document import PolicyDocument
    from policy_sentry.querying.all import get_all_actions

    policies = list(policies)
    merged = PolicyDocument({"Version": "2012-10-17",
                             "Statement": [s for p in policies for s in _statements(p.document)]})
    allowed = {a.lower(): a for a in merged.all_allowed_actions}
    notes = []
    if boundary is not None:
        limit = PolicyDocument(boundary.document)
        limit_allowed = {a.lower() for a in limit.all_allowed_actions}
        allowed = {k: v for k, v in allowed.items() if k in limit_allowed}
        notes.append(f"permissions boundary {boundary.origin} applied by action (not by resource)")
    conditional = sum(1 for s in merged.statements if s.effect_allow and s.has_condition)
    if conditional:
        notes.append(f"{conditional} conditional statement(s) not evaluated: they count only as allowed actions")
    if any(s.not_action for s in merged.statements if s.effect_allow):
        notes.append("a statement uses NotAction: read it yourself")

    def kept(actions: Iterable[str]) -> list[str]:
        return sorted({a for a in actions if a.lower() in allowed})

    escalations = [e["type"] for e in merged.allows_privilege_escalation if all(a in allowed for a in e["actions"])]
    modifying = [a for a in allowed.values() if access_level(a) in MODIFYING_LEVELS]
    capabilities = Capabilities(
        verdict="none", escalations=escalations, data=_data_grants(merged, set(allowed)),
        unrestricted_data=kept(merged.allows_data_exfiltration_actions), credentials=kept(merged.credentials_exposure),
        modifying_actions=len(modifying), allowed_actions=len(allowed),
        policies=[p.origin for p in policies] + ([f"boundary {boundary.origin}"] if boundary else []), notes=notes)
    everything = any(_grants_everything(s) for s in merged.statements) and len(allowed) >= len(get_all_actions())
    capabilities.verdict = _verdict(capabilities, everything)
    return capabilities


def _verdict(capabilities: Capabilities, everything: bool) -> str:
    if everything:
        return "administrator"
    if capabilities.escalations:
        return "privilege-escalation"
    if capabilities.data or capabilities.unrestricted_data:
        return "data-access"
    if capabilities.modifying_actions:
        return "write"
    return "read-only" if capabilities.allowed_actions else "none"
