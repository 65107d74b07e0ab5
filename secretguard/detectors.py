"""Detectors written as code rather than patterns, registered so ``rules list`` shows them like any rule.

``cloud-secret-env-var`` looks at named values (a cloud resource's environment variables): a variable whose
*name* says secret and whose value is a literal rather than a reference, where no rule matched the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from secretguard.entropy import shannon_entropy
from secretguard.filters import is_dropped
from secretguard.findings import Hit, Origin, RuleInfo

if TYPE_CHECKING:
    from secretguard.engine import Detector
    from secretguard.sources.aws_env import Environment

CLOUD_RULE = "cloud-secret-env-var"

SECRET_NAME = re.compile(
    r"""(?x) PASSWORD | PASSWD | PASSPHRASE | (?:^|_)PASS(?:_|$) | (?:^|_)PWD$ | SECRET | TOKEN
    | API_?KEY | PRIVATE_?KEY | CREDENTIALS? | ACCESS_?KEY | AUTH_?KEY | SIGNING_?KEY | ENCRYPTION_?KEY
    | MASTER_?KEY | CLIENT_?KEY | CONNECTION_?STRING"""
)
# Names that say secret but hold something about the secret: where it is, how long it lives, what it is.
NOT_A_SECRET_NAME = re.compile(
    r"""(?x) (?:^|_)(?:ARN|NAME|ID|IDS|KEY_ID|PATH|FILE|DIR|URL|URI|ENDPOINT|HOST|PORT|REGION|BUCKET|TABLE
    | QUEUE|TOPIC|PARAM|PARAMETER|TTL|EXPIRY|EXPIRES|EXPIRATION|SECONDS|MINUTES|HOURS|DAYS|LENGTH|SIZE
    | HEADER|TYPE|ENABLED|DISABLED|VERSION|COUNT|FORMAT|ALGORITHM|ROTATION|POLICY)$"""
)
REFERENCE_VALUE = re.compile(r"(?i)^arn:aws[a-z-]*:|\{\{resolve:")
NOT_A_SECRET_VALUE = re.compile(r"(?i)^(?:true|false|yes|no|on|off|enabled|disabled|[0-9]{1,6})$")


def is_secret_name(name: str) -> bool:
    """A variable name that says it holds a secret (``DB_PASSWORD``), not one that points at it (``SECRET_ARN``)."""
    upper = name.upper()
    return SECRET_NAME.search(upper) is not None and NOT_A_SECRET_NAME.search(upper) is None


def is_literal_value(value: str) -> bool:
    """A value that is the secret itself: not empty, not an ARN or ``{{resolve:…}}``, not a placeholder or flag."""
    value = value.strip()
    return bool(value) and not REFERENCE_VALUE.search(value) and not NOT_A_SECRET_VALUE.match(value) \
        and not is_dropped(value, CLOUD_RULE)


NamedValue = tuple[str, str]


@dataclass(frozen=True)
class FieldDetector:
    """A registered detector over named values: its rule id, name and severity, ``check(name, value)``, and
    examples it must flag and negative examples it must not, as a pattern rule has."""

    id: str
    name: str
    severity: str
    check: Callable[[str, str], bool]
    examples: tuple[NamedValue, ...] = ()
    negative_examples: tuple[NamedValue, ...] = ()

    def problems(self) -> list[str]:
        """What ``rules test`` reports: each example missed and each negative example flagged."""
        return ([f"example {name}={value!r} not found" for name, value in self.examples if not self.check(name, value)]
                + [f"negative example {name}={value!r} found" for name, value in self.negative_examples
                   if self.check(name, value)])


DETECTORS: tuple[FieldDetector, ...] = (
    FieldDetector(CLOUD_RULE, "Secret-named environment variable with a literal value", "high",
                  lambda name, value: is_secret_name(name) and is_literal_value(value),
                  examples=(("DB_PASSWORD", "Tr0ub4dor&3-horse"), ("STRIPE_API_KEY", "k7Qp2Lx9Vw3Zr8Ty")),
                  negative_examples=(("DB_PASSWORD_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:db"),
                                     ("API_TOKEN", "{{resolve:secretsmanager:api}}"), ("TOKEN_TTL", "3600"),
                                     ("SECRET_KEY", "changeme"))),
)


def registered_info(disabled: frozenset[str] = frozenset()) -> dict[str, RuleInfo]:
    """Rule id to (name, severity) of every registered detector the user did not disable."""
    return {d.id: RuleInfo(d.name, d.severity) for d in DETECTORS if d.id not in disabled}


CLOUD_RULE_INFO = registered_info()
"""The registered detectors' rule info, for callers that collect environments' hits themselves."""


def field_hits(values: list[tuple[str, str]]) -> list[Hit]:
    """Hits of every registered detector among ``(name, value)`` pairs; each hit's origin names its variable."""
    return [Hit(d.id, value, shannon_entropy(value), Origin(source="", variable=name))
            for name, value in values for d in DETECTORS if d.check(name, value)]


def environment_hits(detector: Detector, env: Environment) -> list[Hit]:
    """Every rule's hits in ``env``, decoded values included, each placed at its variable; plus the registered
    detectors' hits in variables where no rule matched."""
    from secretguard.pipeline import scan_chunk

    return scan_chunk(detector, env.chunk())
