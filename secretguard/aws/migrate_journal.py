"""The migration journal: append-only JSON lines next to the plan, each flushed and fsynced before the next step.

A record is ``{"ts", "event", "item", "step", "sub", ...ids}`` where ``event`` is ``begin`` (about to act),
``done``, ``failed``, ``undo-begin`` or ``undone``; run records (``start``, ``finish``) have no step. Records
name resources, secrets, roles and revisions, and values only by their ``value_hash``: scrypt under the plan's
salt, which each ``apply`` and ``finalize`` ``start`` record carries (``"version": 2, "hash": {...}``), so
rollback, which reads the journal alone, can check a value. A version 1 journal (no ``hash`` in its records)
kept plain ``value_sha256`` digests; :meth:`Journal.value_hash` stretches one into the hash it stands for. One
process at a time holds the journal (an exclusive lock), and a record torn by a crash mid-write is dropped when
the journal is next opened.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from secretguard.errors import SecretguardError
from secretguard.hashing import SaltedHasher

SUFFIX = ".journal.jsonl"
JOURNAL_VERSION = 2
PENDING = frozenset({"begin", "done", "failed", "undo-begin"})
"""Last events after which a step may have changed something that rollback has not undone yet."""


class StepKey(NamedTuple):
    """One step of one item: ``sub`` is the variable (``container/VAR``), the service ARN, or empty."""

    item: str
    step: str
    sub: str = ""


def journal_path(plan_path: Path) -> Path:
    """``plan.json`` -> ``plan.journal.jsonl`` beside it."""
    return plan_path.with_name(plan_path.stem + SUFFIX)


class Journal:
    """What a migration did, in order; open it with :meth:`open`."""

    def __init__(self, path: Path, handle: Any, records: list[dict[str, Any]]) -> None:
        self.path = path
        self._handle = handle
        self.records = records

    @classmethod
    @contextlib.contextmanager
    def open(cls, path: Path, create: bool) -> Iterator[Journal]:
        """Lock and read the journal at ``path`` (creating it when ``create``); one process at a time."""
        if not create and not path.is_file():
            raise SecretguardError(f"{path}: no such journal")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise SecretguardError(f"{path}: cannot open journal: {exc.strerror or exc}") from None
        with os.fdopen(fd, "r+b", buffering=0) as handle:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SecretguardError(f"{path}: journal is in use by another secretguard process") from None
            records = _read(path, handle)
            if create:
                fsync_directory(path.parent)
            yield cls(path, handle, records)

    def append(self, event: str, key: StepKey | None = None, **fields: Any) -> dict[str, Any]:
        """Write one record and make it durable before returning."""
        record: dict[str, Any] = {"ts": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
                                  "event": event}
        if key is not None:
            record |= key._asdict()
        record |= {k: v for k, v in fields.items() if v is not None}
        self._handle.write((json.dumps(record, separators=(",", ":"), sort_keys=False) + "\n").encode("utf-8"))
        os.fsync(self._handle.fileno())
        self.records.append(record)
        return record

    def _of(self, key: StepKey) -> Iterator[dict[str, Any]]:
        return (r for r in self.records if r.get("step") == key.step and r.get("item") == key.item
                and r.get("sub", "") == key.sub)

    def last(self, key: StepKey) -> dict[str, Any] | None:
        """The latest record of a step, or None if it never started."""
        found = None
        for record in self._of(key):
            found = record
        return found

    def first(self, key: StepKey, event: str) -> dict[str, Any] | None:
        """The earliest ``event`` record of a step (the first ``begin`` holds what was there before)."""
        return next((r for r in self._of(key) if r["event"] == event), None)

    def merged(self, key: StepKey) -> dict[str, Any]:
        """Everything the records of a step say, later ones winning: ``begin`` holds the intent, ``done`` the result."""
        info: dict[str, Any] = {}
        for record in self._of(key):
            info |= record
        return info

    def is_done(self, key: StepKey) -> bool:
        last = self.last(key)
        return last is not None and last["event"] == "done"

    def pending(self) -> list[StepKey]:
        """Steps that may have changed something not yet undone, most recent first (the order to undo them)."""
        order: dict[StepKey, None] = {}
        for record in self.records:
            if "step" in record:
                order.setdefault(StepKey(record["item"], record["step"], record.get("sub", "")), None)
        return [k for k in reversed(order) if (self.last(k) or {}).get("event") in PENDING]

    def run_start(self) -> dict[str, Any] | None:
        """The first ``start`` record: which plan this journal belongs to."""
        return next((r for r in self.records if r["event"] == "start"), None)

    def hasher(self) -> SaltedHasher | None:
        """The hasher of the journal's value hashes: the one the first run that recorded one used (the plan's),
        or None for a journal that holds none (version 1)."""
        recorded = next((r["hash"] for r in self.records if r["event"] == "start" and "hash" in r), None)
        return None if recorded is None else SaltedHasher.from_params(recorded, str(self.path))

    @staticmethod
    def value_hash(record: dict[str, Any], hasher: SaltedHasher) -> str:
        """The value hash a record holds, a version 1 record's plain ``value_sha256`` stretched under ``hasher``."""
        if "value_hash" in record:
            return str(record["value_hash"])
        return hasher.hash_digest(bytes.fromhex(record["value_sha256"]))


def _read(path: Path, handle: Any) -> list[dict[str, Any]]:
    data = handle.read()
    complete, _, torn = data.rpartition(b"\n")
    if torn:
        # A crash mid-write leaves a partial last line: it never counted, so it goes.
        handle.truncate(len(complete) + 1 if complete else 0)
        os.fsync(handle.fileno())
    records = []
    for number, line in enumerate(complete.split(b"\n") if complete else [], start=1):
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or "event" not in record:
                raise ValueError("not a record")
        except ValueError:
            raise SecretguardError(f"{path}:{number}: not a journal record") from None
        records.append(record)
    return records


def fsync_directory(directory: Path) -> None:
    """Make a file creation or rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
