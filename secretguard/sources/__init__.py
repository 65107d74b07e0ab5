"""Sources turn places (a directory, a git history, a staged change, a cloud account) into chunks of bytes.

A source never matches: it hands :class:`Chunk` objects to the scanner and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from secretguard.findings import Origin


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes to scan and where they came from."""

    data: bytes
    origin: Origin


def looks_binary(data: bytes) -> bool:
    """Binary content (a NUL byte near the start) is not scanned."""
    return b"\0" in data[:8192]
