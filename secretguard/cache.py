"""The on-disk cache of work derived from rules: compiled Hyperscan databases and parsed rule files.

Entries are named by a hash of what they were made from, so a changed input simply misses; they never
hold a secret. Every failure to read or write an entry only costs the work again, so writing one also clears
entries not used for :data:`MAX_AGE_DAYS` (left by rules and versions no longer in use).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

MAX_AGE_DAYS = 30


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/secretguard``, else ``~/.cache/secretguard``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "secretguard"


def read_entry(name: str) -> bytes | None:
    """The entry ``name``, or None when it is missing or unreadable. Reading marks it as used now."""
    path = cache_dir() / name
    try:
        data = path.read_bytes()
    except OSError:
        return None
    with contextlib.suppress(OSError):
        os.utime(path)
    return data


def write_entry(name: str, data: bytes) -> None:
    """Store ``data`` as ``name`` atomically, so a concurrent reader sees all of it or none."""
    _clear_old_entries()
    path = cache_dir() / name
    tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _clear_old_entries() -> None:
    cutoff = time.time() - MAX_AGE_DAYS * 86400
    with contextlib.suppress(OSError):
        for entry in os.scandir(cache_dir()):
            with contextlib.suppress(OSError):
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
