"""AWS access key formats, offline account-ID decoding and the documentation's example keys."""

from __future__ import annotations

import base64
import binascii
import re

KEY_ID = re.compile(r"^(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}$")
KEY_TYPES = {
    "AKIA": "long-term access key (IAM user or root)",
    "ASIA": "temporary access key (STS session)",
    "ABIA": "AWS STS service bearer token",
    "ACCA": "context-specific credential",
}
# Keys from AWS documentation: never findings, wherever they appear.
VENDOR_EXAMPLE_KEYS = frozenset({
    "AKIAIOSFODNN7EXAMPLE",
    "AKIAI44QH8DHBEXAMPLE",
    "ASIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
})


def key_type(key_id: str) -> str | None:
    """What kind of credential a key ID names, from its prefix."""
    return KEY_TYPES.get(key_id[:4])


def account_from_key_id(key_id: str) -> str | None:
    """The 12-digit account that owns ``key_id``, decoded offline; None for old-format or malformed IDs.

    The 16 characters after the prefix are base32; their first 6 bytes, as a big-endian integer,
    hold the account ID in bits 7..46.
    """
    if not KEY_ID.match(key_id) or key_id[4] in "IJ":
        return None
    try:
        raw = base64.b32decode(key_id[4:])
    except binascii.Error:
        return None
    z = int.from_bytes(raw[:6], "big")
    return f"{(z & 0x7FFFFFFFFF80) >> 7:012d}"


def account_enrichment(key_id: str) -> dict[str, str]:
    """The enricher for key ID rules: ``{"aws_account": …}`` where the account can be decoded."""
    account = account_from_key_id(key_id)
    return {"aws_account": account} if account else {}
