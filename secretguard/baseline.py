"""Baselines: fingerprints of accepted findings, so only new ones fail a scan or a hook.

The file is deterministic and merge-friendly: entries sorted by fingerprint, no timestamps and no
line numbers, so editing unrelated lines never changes it. It holds keyed hashes, never secrets: each
fingerprint is scrypt-slow under the salt the file records (:class:`~secretguard.hashing.SaltedHasher`), so it
matches on every machine while a reader of the file pays one scrypt per guess. Older versions are upgraded in
numbered steps (:data:`UPGRADES`) when read, and rewritten by ``baseline update``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from secretguard.errors import SecretguardError
from secretguard.findings import Finding
from secretguard.hashing import SaltedHasher

BASELINE_VERSION = 2
DEFAULT_BASELINE = ".secretguard-baseline.json"
Entry = dict[str, Any]


class Baseline:
    """The accepted findings of one baseline file (none for ``Baseline()``)."""

    def __init__(self, hasher: SaltedHasher | None = None, entries: Sequence[Entry] = (),
                 upgraded_from: int | None = None) -> None:
        self.hasher = hasher
        self.entries = tuple(entries)
        self.upgraded_from = upgraded_from
        """The version the file has on disk, when it is older than this secretguard writes."""
        self._fingerprints = frozenset(str(e["fingerprint"]) for e in self.entries)
        self._rules = frozenset(str(e["rule"]) for e in self.entries)

    def accepts(self, rule_id: str, secret: str) -> bool:
        """Whether the finding of ``rule_id`` for ``secret`` is in the baseline (one scrypt per secret of a rule
        the baseline names, none for other rules)."""
        if self.hasher is None or rule_id not in self._rules:
            return False
        return self.hasher.fingerprint(rule_id, secret) in self._fingerprints


def _upgrade_1_to_2(document: dict[str, Any], path: Path) -> dict[str, Any]:
    """Version 1 kept ``sha256(rule:secret)`` and ``sha256(secret)``: rekey from the latter under a new salt."""
    hasher = SaltedHasher.fresh()
    entries = []
    for e in document["findings"]:
        try:
            secret_hash = hasher.hash_digest(bytes.fromhex(str(e["secret_sha256"])))
        except (KeyError, ValueError):
            raise SecretguardError(f"{path}: version 1 baseline entry without a valid 'secret_sha256'") from None
        entries.append({"fingerprint": hasher.fingerprint_of(str(e["rule"]), secret_hash), "rule": str(e["rule"]),
                        "paths": e.get("paths", [])})
    return {"version": 2, "hash": hasher.params(), "findings": entries}


UPGRADES: dict[int, Callable[[dict[str, Any], Path], dict[str, Any]]] = {1: _upgrade_1_to_2}
"""``UPGRADES[v]`` takes a baseline document from version ``v`` to ``v + 1``."""


def _document(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SecretguardError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise SecretguardError(f"{path}: baseline is not valid JSON: {exc.msg} at line {exc.lineno}") from None


def read_baseline(path: Path) -> Baseline:
    """A baseline file, checked and upgraded to the current version in memory."""
    document = _document(path)
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, int) or not 1 <= version <= BASELINE_VERSION:
        raise SecretguardError(f"{path}: not a secretguard baseline (version 1 to {BASELINE_VERSION})")
    entries = document.get("findings", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "fingerprint" in e and "rule" in e
                                                for e in entries):
        raise SecretguardError(f"{path}: baseline 'findings' must be a list of entries with a fingerprint and rule")
    for step in range(version, BASELINE_VERSION):
        document = UPGRADES[step](document, path)
    hasher = SaltedHasher.from_params(document.get("hash"), f"{path}: baseline")
    return Baseline(hasher, document["findings"], version if version < BASELINE_VERSION else None)


def load_baseline(path: Path, warn: Callable[[str], None]) -> Baseline:
    """The baseline in ``path`` for a scan; ``warn`` is told when the file on disk needs rewriting."""
    baseline = read_baseline(path)
    if baseline.upgraded_from is not None:
        warn(f"{path}: baseline version {baseline.upgraded_from} holds fast hashes of secrets; "
             "`secretguard baseline update` rewrites it with keyed ones")
    return baseline


def salt_of(path: Path) -> SaltedHasher | None:
    """The hasher of a current baseline already at ``path``, so ``baseline create`` keeps its fingerprints."""
    try:
        document = _document(path)
        if isinstance(document, dict) and document.get("version") == BASELINE_VERSION:
            return SaltedHasher.from_params(document.get("hash"), str(path))
    except SecretguardError:
        pass
    return None


def write_baseline(findings: list[Finding], path: Path, previous: Baseline | None = None,
                   hasher: SaltedHasher | None = None) -> int:
    """Write ``findings`` (merged over ``previous``, for ``update``) as a baseline; return the count.

    The salt is ``previous``'s, else ``hasher``'s, else a new one.
    """
    hasher = (previous.hasher if previous is not None else None) or hasher or SaltedHasher.fresh()
    merged = {str(e["fingerprint"]): e for e in (previous.entries if previous is not None else ())}
    for f in findings:
        fingerprint = f.fingerprint(hasher)
        merged[fingerprint] = {
            "fingerprint": fingerprint,
            "rule": f.rule,
            "paths": sorted({o.path or o.resource or "" for o in f.locations} - {""}),
        }
    document = {"version": BASELINE_VERSION, "hash": hasher.params(), "findings": [merged[k] for k in sorted(merged)]}
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return len(merged)
