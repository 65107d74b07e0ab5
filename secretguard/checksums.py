"""Offline checksums that some token formats carry, named by rules (``checksum: crc32-base62``).

A token whose checksum does not hold was not issued by the provider: a typo, a truncated copy, or text
that only looks like a token. Rules that name a checksum drop such matches before they become findings.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CRC_DIGITS = 6


def base62(number: int, width: int) -> str:
    """``number`` in base 62 (digits, then capitals, then lowercase), zero-padded to ``width``."""
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(BASE62[rest])
    return "".join(reversed(digits)).rjust(width, "0")


def has_crc32_base62(token: str) -> bool:
    """GitHub's and npm's token checksum: after the 4-character prefix (``ghp_``, ``npm_``), the last six
    characters are the CRC32 of the characters before them, in base 62."""
    body = token[4:]
    payload, checksum = body[:-CRC_DIGITS], body[-CRC_DIGITS:]
    if not payload.isascii():
        return False
    return checksum == base62(binascii.crc32(payload.encode()), CRC_DIGITS)


CHECKSUMS: dict[str, Callable[[str], bool]] = {
    "crc32-base62": has_crc32_base62,
}
