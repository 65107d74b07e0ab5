"""The on-disk cache of work derived from rules: compiled Hyperscan databases and parsed rule files.

Entries are named by a hash of what they were made from, so a changed input simply misses; they never
hold a secret. Every failure to read or write an entry only costs the work again.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/secretguard``, else ``~/.cache/secretguard``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "secretguard"


def read_entry(name: str) -> bytes | None:
    """The entry ``name``, or None when it is missing or unreadable."""
    try:
        return (cache_dir() / name).read_bytes()
    except OSError:
        return None


def write_entry(name: str, data: bytes) -> None:
    """Store ``data`` as ``name`` atomically, so a concurrent reader sees all of it or none."""
    path = cache_dir() / name
    tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
