"""Named predicates that drop candidates which are not real secrets.

Content filters look only at the secret, its rule and its line, so the engine can apply them anywhere.
Each returns True when the candidate must be dropped. :data:`CONTENT_FILTERS` is the registry.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from secretguard.baseline import Baseline
from secretguard.findings import Hit, sha256_hex
from secretguard.hashing import SaltedHasher

if TYPE_CHECKING:
    import regex

INLINE_ALLOW_MARKERS = (b"secretguard:allow", b"pragma: allowlist secret", b"gitleaks:allow")
PLACEHOLDER_WORDS = frozenset({
    "changeme", "change_me", "change-me", "password", "secret", "example", "placeholder", "redacted",
    "dummy", "test", "null", "none", "undefined", "todo", "fixme", "sample", "xxx", "token", "apikey",
})
PLACEHOLDER_SHAPES = re.compile(
    r"""(?xi)
      \$\{ | \{\{ | \}\} | %\( | <[^>]*> | ^\$(?![A-Za-z0-9]{1,8}\$)[A-Za-z_{]   (?# template, shell and format references; not $apr1$ hashes )
    | os\.environ | process\.env | getenv | ENV\[              (?# environment lookups in code )
    | ^your | [_-]your[_-] | [_-]here$                         (?# YOUR_API_KEY_HERE )
    """  # noqa: E501
)
MASK_RUNS = re.compile(r"(?i)x{4,}|\*{4,}|\.{4,}")
MASK_MIN_RUN = 4
MASK_RUN_FRACTION = 16
"""A run of x, * or . masks a secret when it is at least 4 long and 1/16 of the secret: long random
secrets (private keys, session tokens) hold short runs by chance."""
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
HEX_DIGEST = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9A-F]{32}|[0-9A-F]{40}|[0-9A-F]{64})$")


def is_vendor_example(secret: str, rule_id: str) -> bool:
    """Vendor documentation values: anything ending in EXAMPLE, and values that spell EXAMPLE in capitals anywhere
    (AWS documentation writes keys as ``AKIAIOSFODNN7EXAMPLE`` and IDs as ``a1b2c3d4-5678-90ab-cdef-EXAMPLE11111``)."""
    return secret.upper().endswith("EXAMPLE") or "EXAMPLE" in secret


def is_placeholder(secret: str, rule_id: str) -> bool:
    """Template references, masked values and stock words standing in for a real secret."""
    if secret.lower() in PLACEHOLDER_WORDS or len(set(secret)) <= 1:
        return True
    longest_run = max((len(run) for run in MASK_RUNS.findall(secret)), default=0)
    if longest_run >= max(MASK_MIN_RUN, len(secret) // MASK_RUN_FRACTION):
        return True
    return PLACEHOLDER_SHAPES.search(secret) is not None


def is_hash_or_uuid(secret: str, rule_id: str) -> bool:
    """UUIDs and hex digests look random but are rarely secrets; only generic rules yield to this."""
    return rule_id.startswith("generic-") and bool(UUID.match(secret) or HEX_DIGEST.match(secret))


CONTENT_FILTERS: dict[str, Callable[[str, str], bool]] = {
    "vendor-example": is_vendor_example,
    "placeholder": is_placeholder,
    "hash-or-uuid": is_hash_or_uuid,
}


def is_dropped(secret: str, rule_id: str) -> bool:
    """True when any content filter drops the secret."""
    return any(f(secret, rule_id) for f in CONTENT_FILTERS.values())


def is_inline_allowed(line: bytes) -> bool:
    """A line carrying ``secretguard:allow`` (or the markers other tools use) is never reported."""
    return any(marker in line for marker in INLINE_ALLOW_MARKERS)


@dataclass(frozen=True)
class Allowlist:
    """User allowlist from ``.secretguard.yaml``: path globs, secret regexes and secret hashes.

    ``secrets`` groups the keyed ``allow.secrets`` entries by salt: one scrypt per secret and salt decides.
    ``secrets_sha256`` is the older plain form, still honoured.
    """

    paths: tuple[str, ...] = ()
    regexes: tuple[regex.Pattern[str], ...] = ()
    secrets: tuple[tuple[SaltedHasher, frozenset[str]], ...] = ()
    secrets_sha256: frozenset[str] = field(default_factory=frozenset)

    def allows_path(self, path: str | None) -> bool:
        return path is not None and any(
            fnmatch.fnmatch(path, glob) or fnmatch.fnmatch(path.rsplit("/", 1)[-1], glob) for glob in self.paths
        )

    def allows_secret(self, secret: str) -> bool:
        if any(r.search(secret) for r in self.regexes):
            return True
        if self.secrets_sha256 and sha256_hex(secret) in self.secrets_sha256:
            return True
        return any(hasher.secret_hash(secret) in hashes for hasher, hashes in self.secrets)


def user_filter(allowlist: Allowlist, baseline: Baseline | None = None) -> Callable[[Hit], bool]:
    """A ``keep`` predicate for :func:`secretguard.findings.collect` from the allowlist and a baseline."""

    def keep(hit: Hit) -> bool:
        if allowlist.allows_path(hit.origin.path):
            return False
        if allowlist.allows_secret(hit.secret):
            return False
        return baseline is None or not baseline.accepts(hit.rule, hit.secret)

    return keep
