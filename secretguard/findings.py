"""Where a secret was seen (:class:`Origin`) and one unique secret with all its places (:class:`Finding`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from secretguard.hashing import SecretHasher

REDACT_KEEP = 4
REDACT_MAX_STARS = 24


@dataclass(frozen=True, slots=True)
class Origin:
    """A place a secret was seen. Sources fill what they know; the engine adds line and column."""

    source: str
    path: str | None = None
    repo: str | None = None
    line: int | None = None
    column: int | None = None
    commit: str | None = None
    author: str | None = None
    date: str | None = None
    resource: str | None = None
    container: str | None = None
    variable: str | None = None
    region: str | None = None
    unreachable: bool | None = None
    """A git location that no ref reaches any more (the history was rewritten after a sweep recorded it)."""
    binary: bool | None = None
    """Seen in a binary (its bytes, its UTF-16 strings or its database values), not in text."""
    encoding: str | None = None
    """The encoding the text was decoded from (``utf-16-le``…), when it was not UTF-8."""
    entry: str | None = None
    """The entry of a credential store the secret belongs to (a DBeaver connection and its user, a Firefox login's
    site), where a store keeps several in one place."""

    def at(self, line: int, column: int) -> Origin:
        """This origin, pointed at a line and column."""
        return replace(self, line=line, column=column)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Origin:
        return Origin(**{k: data[k] for k in Origin.__slots__ if k in data})

    @property
    def kind(self) -> str:
        return self.source

    def origin(self) -> Origin:
        """An origin is its own location (so sources that already hold one can hand it out as provenance)."""
        return self

    def describe(self) -> str:
        """One short line: path:line:col, plus commit or cloud resource."""
        where = self.path or self.resource or self.repo or "?"
        if self.variable:
            where += f" ${self.variable}"
        if self.entry:
            where += f" [{self.entry}]"
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        if self.commit:
            where += f" @{self.commit[:10]}"
            if self.author:
                where += f" ({self.author}, {(self.date or '')[:10]})"
        if self.unreachable:
            where += " (no longer reachable)"
        return where

    def sort_key(self) -> tuple[str, str, str, int, int]:
        return (self.source, self.repo or "", self.path or self.resource or "", self.line or 0, self.column or 0)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def redact(secret: str) -> str:
    """Keep a few characters at each end so a person can recognise the secret, hide the rest."""
    secret = secret.replace("\r", "").replace("\n", "")
    keep = REDACT_KEEP if len(secret) >= 16 else 2 if len(secret) >= 8 else 0
    hidden = min(len(secret) - 2 * keep, REDACT_MAX_STARS)
    return secret[:keep] + "*" * hidden + (secret[-keep:] if keep else "")


@dataclass(frozen=True, slots=True)
class Pair:
    """The second half of a credential, such as the secret access key that goes with a key ID."""

    rule: str
    secret: str

    def secret_hash(self, hasher: SecretHasher) -> str:
        return hasher.secret_hash(self.secret)


@dataclass(frozen=True, slots=True)
class Recorded:
    """A finding as a sweep store recorded it. The store keeps secrets only redacted, so the identity computed
    from the plaintext (keyed by the store's salt) is kept as it was, never derived again from the redacted form;
    the triage decision in force comes with it."""

    fingerprint: str
    secret_hash: str
    pair_hash: str | None = None
    triage: dict[str, str] | None = None


@dataclass(slots=True)
class Finding:
    """One unique secret found by one rule, with every place it was seen."""

    rule: str
    name: str
    severity: str
    secret: str
    entropy: float
    pair: Pair | None = None
    locations: list[Origin] = field(default_factory=list)
    decoded: tuple[str, ...] = ()
    validation: dict[str, Any] | None = None
    kind: str | None = None
    """``hash`` when the secret is a password hash rather than the credential itself."""
    enrichment: dict[str, str] = field(default_factory=dict)
    """What enrichers named by the rule added (an AWS key ID's account), shown as top-level fields."""
    recorded: Recorded | None = None
    """Set on a finding read back from (or bound for) a sweep store: its identity, whatever ``hasher`` is given."""

    def fingerprint(self, hasher: SecretHasher) -> str:
        """The finding's identity under ``hasher`` (rule and secret, never the line)."""
        if self.recorded is not None:
            return self.recorded.fingerprint
        return hasher.fingerprint(self.rule, self.secret)

    def secret_hash(self, hasher: SecretHasher) -> str:
        if self.recorded is not None:
            return self.recorded.secret_hash
        return hasher.secret_hash(self.secret)

    def pair_hash(self, hasher: SecretHasher) -> str | None:
        """The keyed hash of the pair's secret; None without a pair."""
        if self.pair is None:
            return None
        if self.recorded is not None:
            return self.recorded.pair_hash
        return self.pair.secret_hash(hasher)

    def to_dict(self, reveal: bool, hasher: SecretHasher) -> dict[str, Any]:
        """The finding as CONVENTIONS.md describes it: secrets redacted unless ``reveal``, hashes keyed by
        ``hasher``."""
        shown = (lambda s: s) if reveal else redact
        out: dict[str, Any] = {
            "fingerprint": self.fingerprint(hasher),
            "rule": self.rule,
            "name": self.name,
            "severity": self.severity,
            **({"kind": self.kind} if self.kind else {}),
            "secret": shown(self.secret),
            "secret_hash": self.secret_hash(hasher),
        }
        if self.pair is not None:
            out["pair"] = {
                "rule": self.pair.rule,
                "secret": shown(self.pair.secret),
                "secret_hash": self.pair_hash(hasher),
            }
        out["entropy"] = round(self.entropy, 3)
        out.update(self.enrichment)
        if self.decoded:
            out["decoded"] = list(self.decoded)
        if self.validation is not None:
            out["validation"] = self.validation
        out["locations"] = [o.to_dict() for o in sorted(self.locations, key=Origin.sort_key)]
        if self.recorded is not None and self.recorded.triage is not None:
            out["triage"] = self.recorded.triage
        return out

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Finding:
        """A finding read back from :meth:`to_dict` output (its secrets as written, redacted or not)."""
        pair = data.get("pair")
        return Finding(
            rule=str(data["rule"]), name=str(data.get("name", data["rule"])),
            severity=str(data.get("severity", "high")), secret=str(data["secret"]),
            entropy=float(data.get("entropy", 0.0)),
            pair=Pair(str(pair["rule"]), str(pair["secret"])) if pair else None,
            locations=[Origin.from_dict(o) for o in data.get("locations", [])],
            decoded=tuple(data.get("decoded", ())), kind=data.get("kind"),
            enrichment={k: str(v) for k, v in data.items() if k not in FINDING_KEYS},
        )


FINDING_KEYS = frozenset({"fingerprint", "rule", "name", "severity", "kind", "secret", "secret_hash", "pair",
                          "entropy", "decoded", "validation", "locations", "triage", "secret_sha256"})
"""The keys :meth:`Finding.to_dict` writes itself (and ``secret_sha256``, which older reports wrote and no output may
carry on); any other top-level key is an enrichment."""
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then by rule and first location, so output is stable."""
    def key(f: Finding) -> tuple[int, str, tuple[str, str, str, int, int], str]:
        first = min((o.sort_key() for o in f.locations), default=("", "", "", 0, 0))
        return (SEVERITY_ORDER.get(f.severity, 9), f.rule, first, f.secret)

    return sorted(findings, key=key)


@dataclass(frozen=True, slots=True)
class Hit:
    """One sighting of a secret: what the scanner sends back from a worker, small and picklable."""

    rule: str
    secret: str
    entropy: float
    origin: Origin
    pair: Pair | None = None
    decoded: tuple[str, ...] = ()

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secret, and its pair's when it has one."""
        return (self.secret, self.pair.secret) if self.pair else (self.secret,)


class RuleInfo(NamedTuple):
    """What a finding takes from its rule."""

    name: str
    severity: str
    kind: str | None = None


def collect(
    hits: Iterable[Hit],
    rule_info: Mapping[str, RuleInfo | tuple[str, str]],
    keep: Callable[[Hit], bool] = lambda hit: True,
) -> list[Finding]:
    """Group sightings into one finding per (rule, secret); ``rule_info`` maps rule id to (name, severity[, kind]).

    ``keep`` is the user's filters (allowlists, baseline); a dropped sighting is dropped everywhere.
    """
    by_key: dict[tuple[str, str], Finding] = {}
    for hit in hits:
        if not keep(hit):
            continue
        key = (hit.rule, hit.secret)
        finding = by_key.get(key)
        if finding is None:
            info = RuleInfo(*rule_info.get(hit.rule, (hit.rule, "high")))
            finding = by_key[key] = Finding(hit.rule, info.name, info.severity, hit.secret, hit.entropy,
                                            pair=hit.pair, decoded=hit.decoded, kind=info.kind)
        elif finding.pair is None and hit.pair is not None:
            finding.pair = hit.pair
        if hit.origin not in finding.locations:
            finding.locations.append(hit.origin)
    return sort_findings(list(by_key.values()))
