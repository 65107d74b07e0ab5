"""The sweep store: one SQLite file (WAL mode) that a sweep writes and ``report`` and ``findings triage`` read.

The driver of a sweep is the store's only writer while it runs (:meth:`Store.exclusive`); a triage decision
is one short transaction that may land beside it. Each repository's results are written in one transaction,
so a sweep killed at any moment leaves every repository either wholly recorded or not at all.

No plaintext secret is ever written, nor a fast hash of one: fingerprints and secret hashes are scrypt under the
store's own salt (:class:`~secretguard.hashing.SaltedHasher`), computed by the workers. Findings read back carry
the redacted form where the secret was, with the fingerprint and hashes kept as recorded
(:class:`~secretguard.findings.Recorded`), so every reporter prints the redacted form even when asked to reveal.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from importlib import resources
from pathlib import Path

from secretguard.errors import SecretguardError
from secretguard.findings import Finding, Origin, Pair, Recorded, redact, sort_findings
from secretguard.hashing import SaltedHasher

SCHEMA_VERSION = 5
APPLICATION_ID = 0x53475357  # 'SGSW'
BUSY_TIMEOUT_SECONDS = 30.0
TRIAGE_STATUSES = ("false-positive", "revoked", "accepted")


HASH_KEY_TABLE = """CREATE TABLE hash_key (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    kdf     TEXT NOT NULL,
    salt    TEXT NOT NULL,
    n       INTEGER NOT NULL,
    r       INTEGER NOT NULL,
    p       INTEGER NOT NULL
) STRICT"""


def _hash_key(db: sqlite3.Connection) -> SaltedHasher:
    """The store's hasher; the first caller (inside a write transaction) makes its salt."""
    row = db.execute("SELECT kdf, salt, n, r, p FROM hash_key").fetchone()
    if row is None:
        fresh = SaltedHasher.fresh().params()
        db.execute("INSERT INTO hash_key (id, kdf, salt, n, r, p) VALUES (1, :kdf, :salt, :n, :r, :p)", fresh)
        return SaltedHasher.from_params(fresh, "sweep store")
    return SaltedHasher.from_params(dict(zip(("kdf", "salt", "n", "r", "p"), row, strict=True)), "sweep store")


def _keyed_hashes(db: sqlite3.Connection) -> None:
    """Replace the plain sha256 of each secret, and the sha256 fingerprints, by scrypt under a new salt.

    The sha256 is all the store kept, and it is what the new hashes stretch, so identities survive: the next
    sweep matches the same findings and triage decisions. One scrypt per stored secret, once.
    """
    db.execute("PRAGMA secure_delete = ON")  # the old hashes are overwritten, not left in free pages
    db.execute(HASH_KEY_TABLE)
    hasher = _hash_key(db)
    db.execute("ALTER TABLE finding RENAME COLUMN secret_sha256 TO secret_hash")
    db.execute("ALTER TABLE finding RENAME COLUMN pair_sha256 TO pair_hash")
    for finding_id, rule, old, old_pair in db.execute(
            "SELECT id, rule, secret_hash, pair_hash FROM finding").fetchall():
        secret_hash = hasher.hash_digest(bytes.fromhex(old))
        db.execute("UPDATE finding SET fingerprint = ?, secret_hash = ?, pair_hash = ? WHERE id = ?",
                   (hasher.fingerprint_of(rule, secret_hash), secret_hash,
                    old_pair and hasher.hash_digest(bytes.fromhex(old_pair)), finding_id))


def _finding_kinds(db: sqlite3.Connection) -> None:
    """Keep each finding's kind (``hash`` for a password hash). Findings stored before take it from the built-in
    rules, since their blobs are not scanned again; a finding of a user's own rule gets it when found anew."""
    from secretguard.rules import load_rules

    db.execute("ALTER TABLE finding ADD COLUMN kind TEXT")
    db.executemany("UPDATE finding SET kind = ? WHERE rule = ?",
                   [(rule.spec.kind, rule.id) for rule in load_rules() if rule.spec.kind])


Upgrade = str | Callable[[sqlite3.Connection], None]
UPGRADES: tuple[Upgrade, ...] = (
    "",  # version 0 is an empty file: it gets the whole schema
    # 1 -> 2: locations that history rewriting left unreachable
    "ALTER TABLE location ADD COLUMN gone_run_id INTEGER REFERENCES run (id)",
    # 2 -> 3: whether a repository held its whole history (not a shallow or partial clone) when last walked
    "ALTER TABLE repository ADD COLUMN history_complete INTEGER CHECK (history_complete IN (0, 1));\n"
    "ALTER TABLE run_repository ADD COLUMN history_complete INTEGER CHECK (history_complete IN (0, 1))",
    # 3 -> 4: keyed hashes in place of plain sha256
    _keyed_hashes,
    # 4 -> 5: the finding's kind
    _finding_kinds,
)
"""``UPGRADES[v]`` takes a store from version ``v`` to ``v + 1``: SQL statements separated by ``;``, or a function
given the connection. Each runs in its own transaction, which also sets the version."""


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def redacted(finding: Finding, hasher: SaltedHasher) -> Finding:
    """What the store keeps of ``finding``: every plaintext replaced by its redacted form, its identity recorded
    under the store's ``hasher``; safe to send, store and print."""
    pair = finding.pair
    return Finding(
        rule=finding.rule, name=finding.name, severity=finding.severity, kind=finding.kind,
        secret=redact(finding.secret), entropy=finding.entropy,
        pair=Pair(pair.rule, redact(pair.secret)) if pair is not None else None,
        locations=list(finding.locations), validation=finding.validation, enrichment=dict(finding.enrichment),
        recorded=Recorded(finding.fingerprint(hasher), finding.secret_hash(hasher), finding.pair_hash(hasher)),
    )


@dataclass(frozen=True, slots=True)
class RepoRecord:
    """Everything one repository's scan yields for the store; redacted, so it may cross process boundaries."""

    key: str
    error: str | None = None
    findings: tuple[Finding, ...] = ()
    """As :func:`redacted` made them."""
    scanned_blobs: tuple[str, ...] = ()
    matched_blobs: frozenset[str] = frozenset()
    """Scanned blobs with raw hits (before the user's allowlist); they are placed in each repository."""
    scanned_bytes: int = 0
    skipped_blobs: int = 0
    size_bytes: int | None = None
    refs_sha256: str | None = None
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()
    unreachable_commits: frozenset[str] | None = None
    """Commits of this repository's stored locations that no ref reaches now; None when the history was not
    walked this time (refs unchanged, or the scan failed)."""
    history_complete: bool | None = None
    """False for a shallow or partial clone; None when the history was not walked this time."""


@dataclass(frozen=True)
class RunInfo:
    """A run as :meth:`Store.start_run` opened it: resumed or new, and the repositories already done in it."""

    id: int
    profile_id: int
    resumed: bool
    done: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class RunTotals:
    """What one run did, over every repository it recorded (a resumed run counts its earlier part too)."""

    id: int
    status: str
    started_at: str
    finished_at: str | None
    repositories: int
    failed: tuple[tuple[str, str], ...]
    blobs_scanned: int
    bytes_scanned: int
    new_findings: int


class Store:
    """An open sweep store; created (with its schema) on first use."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        if not create and not path.is_file():
            raise SecretguardError(f"{path}: no such sweep store")
        try:
            self.db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        except sqlite3.Error as exc:
            raise SecretguardError(f"{path}: cannot open sweep store: {exc}") from None
        try:
            self._prepare()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise SecretguardError(f"{path}: not a usable sweep store: {exc}") from None

    def _prepare(self) -> None:
        db = self.db
        db.execute("PRAGMA foreign_keys = ON")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        has_tables = db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] > 0
        if has_tables and app_id != APPLICATION_ID:
            raise SecretguardError(f"{self.path}: not a secretguard sweep store")
        if version > SCHEMA_VERSION:
            raise SecretguardError(f"{self.path}: sweep store version {version} is newer than this secretguard "
                                   f"understands ({SCHEMA_VERSION}); upgrade secretguard")
        if db.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise SecretguardError(f"{self.path}: cannot switch the sweep store to WAL mode")
        db.execute("PRAGMA synchronous = NORMAL")
        if version == 0:
            schema = resources.files("secretguard.sweep").joinpath("schema.sql").read_text(encoding="utf-8")
            db.executescript(f"BEGIN IMMEDIATE;\n{schema}\nCOMMIT;")
        for step in range(max(version, 1), SCHEMA_VERSION):
            self._upgrade(step)

    def _upgrade(self, step: int) -> None:
        """Apply ``UPGRADES[step]`` in one transaction, unless another process got there first."""
        with self.transaction() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] != step:
                return
            upgrade = UPGRADES[step]
            if callable(upgrade):
                upgrade(db)
            else:
                for statement in upgrade.split(";"):  # one statement at a time: a script would commit
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {step + 1}")

    @cached_property
    def hasher(self) -> SaltedHasher:
        """The hasher that keys this store's fingerprints and secret hashes."""
        with self.transaction() as db:
            return _hash_key(db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the sweep lock (a lock file beside the store) so that one sweep at a time writes it.

        The kernel drops the lock when the process dies, however it dies, so a killed sweep never blocks
        the next one.
        """
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SecretguardError(f"{self.path}: another sweep is writing this store") from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # --- runs -------------------------------------------------------------------------------------

    def start_run(self, keys: Iterable[str], profile_digest: str, backend: str) -> RunInfo:
        """Open a run for ``keys``; resume the last run instead if it was cut short over the same list.

        Call with :meth:`exclusive` held: a run still marked running then belongs to a dead sweep.
        """
        inputs = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO profile (digest) VALUES (?)", (profile_digest,))
            profile_id = db.execute("SELECT id FROM profile WHERE digest = ?", (profile_digest,)).fetchone()[0]
            last = db.execute("SELECT id, inputs_sha256, profile_id FROM run WHERE status = 'running' "
                              "ORDER BY id DESC LIMIT 1").fetchone()
            if last is not None and last[1] == inputs and last[2] == profile_id:
                db.execute("UPDATE run SET status = 'interrupted' WHERE status = 'running' AND id != ?", (last[0],))
                db.execute("UPDATE run SET backend = ? WHERE id = ?", (backend, last[0]))
                done = frozenset(k for (k,) in db.execute(
                    "SELECT r.key FROM run_repository rr JOIN repository r ON r.id = rr.repository_id "
                    "WHERE rr.run_id = ? AND rr.status = 'ok'", (last[0],)))
                return RunInfo(last[0], profile_id, resumed=True, done=done)
            db.execute("UPDATE run SET status = 'interrupted' WHERE status = 'running'")
            run_id = db.execute("INSERT INTO run (started_at, status, inputs_sha256, profile_id, backend) "
                                "VALUES (?, 'running', ?, ?, ?)", (utc_now(), inputs, profile_id, backend)).lastrowid
            assert run_id is not None
            return RunInfo(run_id, profile_id, resumed=False)

    def finish_run(self, run_id: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE run SET status = 'finished', finished_at = ? WHERE id = ?", (utc_now(), run_id))

    def run_totals(self, run_id: int | None = None) -> RunTotals | None:
        """Totals of run ``run_id`` (default: the latest run); None when there is none."""
        row = self.db.execute(
            "SELECT id, status, started_at, finished_at FROM run WHERE id = coalesce(?, (SELECT max(id) FROM run))",
            (run_id,)).fetchone()
        if row is None:
            return None
        counts = self.db.execute(
            "SELECT count(*), coalesce(sum(blobs_scanned), 0), coalesce(sum(bytes_scanned), 0), "
            "coalesce(sum(new_findings), 0) FROM run_repository WHERE run_id = ?", (row[0],)).fetchone()
        failed = tuple(self.db.execute(
            "SELECT r.key, rr.error FROM run_repository rr JOIN repository r ON r.id = rr.repository_id "
            "WHERE rr.run_id = ? AND rr.status = 'failed' ORDER BY r.key", (row[0],)))
        return RunTotals(row[0], row[1], row[2], row[3], counts[0], failed, counts[1], counts[2], counts[3])

    # --- what a scan may skip ---------------------------------------------------------------------

    def clean_blobs(self, profile_id: int) -> bytes:
        """The raw OIDs of blobs scanned under ``profile_id`` without a hit, sorted and concatenated."""
        rows = self.db.execute("SELECT oid FROM blob WHERE profile_id = ? AND matched = 0 ORDER BY oid", (profile_id,))
        return b"".join(oid for (oid,) in rows if len(oid) == 20)

    def placed_blobs(self, key: str, profile_id: int) -> frozenset[str]:
        """Hex OIDs of matched blobs that repository ``key`` has already placed under ``profile_id``."""
        rows = self.db.execute(
            "SELECT rb.oid FROM repository_blob rb JOIN repository r ON r.id = rb.repository_id "
            "JOIN blob b ON b.oid = rb.oid WHERE r.key = ? AND b.profile_id = ?", (key, profile_id))
        return frozenset(oid.hex() for (oid,) in rows)

    def located_commits(self, key: str) -> frozenset[str]:
        """The commits of every location stored for repository ``key``."""
        rows = self.db.execute(
            'SELECT DISTINCT l."commit" FROM location l JOIN repository r ON r.id = l.repository_id '
            "WHERE r.key = ? AND l.\"commit\" != ''", (key,))
        return frozenset(commit for (commit,) in rows)

    def repository_state(self, key: str) -> tuple[int | None, str | None]:
        """A repository's object database size and refs digest as of its last successful scan (None: unknown)."""
        row = self.db.execute("SELECT size_bytes, refs_sha256 FROM repository WHERE key = ?", (key,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    # --- writing one repository's results -------------------------------------------------------------

    def record(self, run: RunInfo, rec: RepoRecord) -> int:
        """Write everything ``rec`` holds, in one transaction; returns the number of findings new to the store."""
        new = 0
        now = utc_now()
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO repository (key) VALUES (?)", (rec.key,))
            repo_id = db.execute("SELECT id FROM repository WHERE key = ?", (rec.key,)).fetchone()[0]
            if rec.error is None:
                db.executemany(
                    "INSERT INTO blob (oid, profile_id, matched, run_id) VALUES (?, ?, ?, ?) ON CONFLICT (oid) DO "
                    "UPDATE SET profile_id = excluded.profile_id, matched = excluded.matched, run_id = excluded.run_id",
                    ((bytes.fromhex(oid), run.profile_id, int(oid in rec.matched_blobs), run.id)
                     for oid in rec.scanned_blobs))
                db.executemany("INSERT OR IGNORE INTO repository_blob (repository_id, oid) VALUES (?, ?)",
                               ((repo_id, bytes.fromhex(oid)) for oid in rec.matched_blobs))
                for finding in rec.findings:
                    new += self._write_finding(db, run.id, repo_id, finding, now)
                if rec.unreachable_commits is not None:
                    self._mark_reachability(db, run.id, repo_id, rec.unreachable_commits)
            complete = None if rec.history_complete is None else int(rec.history_complete)
            db.execute("UPDATE repository SET status = ?, error = ?, last_run_id = ?, "
                       "size_bytes = coalesce(?, size_bytes), refs_sha256 = coalesce(?, refs_sha256), "
                       "history_complete = coalesce(?, history_complete) WHERE id = ?",
                       ("failed" if rec.error else "ok", rec.error, run.id, rec.size_bytes, rec.refs_sha256,
                        complete, repo_id))
            db.execute(
                "INSERT OR REPLACE INTO run_repository (run_id, repository_id, status, error, blobs_scanned, "
                "bytes_scanned, blobs_skipped, new_findings, seconds, finished_at, history_complete) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (run.id, repo_id, "failed" if rec.error else "ok", rec.error, len(rec.scanned_blobs),
                 rec.scanned_bytes, rec.skipped_blobs, new, round(rec.seconds, 3), now, complete))
        return new

    @staticmethod
    def _mark_reachability(db: sqlite3.Connection, run_id: int, repo_id: int, unreachable: frozenset[str]) -> None:
        """Mark the repository's locations at ``unreachable`` commits gone (since this run), and clear the mark
        of any other: the walk reached it again."""
        rows = db.execute('SELECT DISTINCT "commit", gone_run_id IS NOT NULL FROM location WHERE repository_id = ?',
                          (repo_id,)).fetchall()
        for commit, gone in rows:
            if (commit in unreachable) != bool(gone):
                db.execute('UPDATE location SET gone_run_id = ? WHERE repository_id = ? AND "commit" = ?',
                           (run_id if commit in unreachable else None, repo_id, commit))

    @staticmethod
    def _write_finding(db: sqlite3.Connection, run_id: int, repo_id: int, f: Finding, now: str) -> int:
        assert f.recorded is not None, "only a redacted finding is stored"
        fingerprint, pair, pair_hash = f.recorded.fingerprint, f.pair, f.recorded.pair_hash
        row = db.execute("SELECT id FROM finding WHERE fingerprint = ?", (fingerprint,)).fetchone()
        if row is None:
            finding_id = db.execute(
                "INSERT INTO finding (fingerprint, rule, name, severity, kind, secret_hash, secret_redacted, "
                "entropy, aws_account, pair_rule, pair_hash, pair_redacted, first_run_id, last_run_id) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (fingerprint, f.rule, f.name, f.severity, f.kind, f.recorded.secret_hash, f.secret, f.entropy,
                 f.enrichment.get("aws_account"), pair and pair.rule, pair and pair_hash, pair and pair.secret,
                 run_id, run_id)).lastrowid
        else:
            finding_id = row[0]
            db.execute(
                "UPDATE finding SET last_run_id = ?, name = ?, severity = ?, kind = ?, "
                "pair_rule = coalesce(pair_rule, ?), pair_hash = coalesce(pair_hash, ?), "
                "pair_redacted = coalesce(pair_redacted, ?) WHERE id = ?",
                (run_id, f.name, f.severity, f.kind, pair and pair.rule, pair and pair_hash, pair and pair.secret,
                 finding_id))
        db.executemany(
            'INSERT OR IGNORE INTO location (finding_id, repository_id, "commit", path, line, "column", author, date, '
            "first_run_id) VALUES (?,?,?,?,?,?,?,?,?)",
            ((finding_id, repo_id, o.commit or "", o.path or "", o.line or 0, o.column or 0, o.author, o.date, run_id)
             for o in f.locations))
        if f.validation is not None:
            db.execute("INSERT OR REPLACE INTO validation (finding_id, status, detail, run_id, checked_at) "
                       "VALUES (?,?,?,?,?)", (finding_id, str(f.validation.get("status", "error")),
                                              json.dumps(f.validation, sort_keys=True), run_id, now))
        return int(row is None)

    # --- reading findings back ------------------------------------------------------------------------

    def findings(self, include_triaged: bool = False) -> list[Finding]:
        """Every finding (only open ones unless ``include_triaged``), with its locations, validation and triage."""
        located: dict[int, list[Origin]] = defaultdict(list)
        for row in self.db.execute(
                'SELECT l.finding_id, r.key, l."commit", l.path, l.line, l."column", l.author, l.date, '
                "l.gone_run_id IS NOT NULL FROM location l JOIN repository r ON r.id = l.repository_id"):
            located[row[0]].append(Origin(source="git", repo=row[1], commit=row[2] or None, path=row[3] or None,
                                          line=row[4] or None, column=row[5] or None, author=row[6], date=row[7],
                                          unreachable=True if row[8] else None))
        found: list[Finding] = []
        for row in self.db.execute(
                "SELECT f.id, f.fingerprint, f.rule, f.name, f.severity, f.secret_hash, f.secret_redacted, "
                "f.entropy, f.aws_account, f.pair_rule, f.pair_hash, f.pair_redacted, v.detail, "
                "t.status, t.note, t.decided_by, t.decided_at, f.kind FROM finding f "
                "LEFT JOIN validation v ON v.finding_id = f.id "
                "LEFT JOIN triage t ON t.id = (SELECT max(id) FROM triage WHERE finding_id = f.id)"):
            if row[13] is not None and not include_triaged:
                continue
            triage = {"status": row[13], "note": row[14], "by": row[15], "at": row[16]} if row[13] else None
            found.append(Finding(
                rule=row[2], name=row[3], severity=row[4], secret=row[6], entropy=row[7],
                pair=Pair(row[9], row[11]) if row[9] else None,
                locations=located[row[0]], validation=json.loads(row[12]) if row[12] else None,
                enrichment={"aws_account": row[8]} if row[8] else {}, kind=row[17],
                recorded=Recorded(row[1], row[5], row[10] if row[9] else None, triage),
            ))
        return sort_findings(found)

    def failed_repositories(self) -> list[tuple[str, str]]:
        """Repositories whose last attempt failed, with the error."""
        return list(self.db.execute("SELECT key, error FROM repository WHERE status = 'failed' ORDER BY key"))

    def incomplete_repositories(self) -> list[str]:
        """Repositories that lacked part of their history (shallow or partial clones) when last walked."""
        return [key for (key,) in self.db.execute(
            "SELECT key FROM repository WHERE history_complete = 0 ORDER BY key")]

    def repository_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM repository").fetchone()[0])

    def bytes_scanned(self) -> int:
        """Blob bytes scanned over every run."""
        return int(self.db.execute("SELECT coalesce(sum(bytes_scanned), 0) FROM run_repository").fetchone()[0])

    # --- triage -----------------------------------------------------------------------------------------

    def find_fingerprint(self, prefix: str) -> tuple[int, str]:
        """The finding whose fingerprint is ``prefix`` or starts with it; one-line errors otherwise."""
        prefix = prefix.strip().lower()
        if len(prefix) < 8 or any(c not in "0123456789abcdef" for c in prefix):
            raise SecretguardError(f"'{prefix}': give a fingerprint (at least its first 8 hex digits)")
        rows = self.db.execute("SELECT id, fingerprint FROM finding WHERE fingerprint >= ? AND fingerprint < ? "
                               "LIMIT 2", (prefix, prefix + "g")).fetchall()
        if not rows:
            raise SecretguardError(f"{self.path}: no finding with fingerprint {prefix}")
        if len(rows) > 1:
            raise SecretguardError(f"{self.path}: fingerprint {prefix} is ambiguous; give more digits")
        return rows[0][0], rows[0][1]

    def add_triage(self, finding_id: int, status: str, note: str, decided_by: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO triage (finding_id, status, note, decided_by, decided_at) VALUES (?,?,?,?,?)",
                       (finding_id, status, note, decided_by, utc_now()))
