"""``sweep``, ``report`` and ``findings triage`` end to end, on real git repositories and a local process pool.

Incremental (only new blobs), shared blobs across forks, resumption after a real SIGKILL, failures recorded,
mirrors fetched rather than recloned, triage kept across sweeps, and no plaintext in the store.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from secretguard.sweep.mirror import mirror_path, repository_key
from secretguard.sweep.store import SCHEMA_VERSION, Store
from tests.helpers import report_key, run_cli, store_fingerprint

SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


# --- building repositories ---------------------------------------------------------------------------

def key_pair(rng: random.Random) -> tuple[str, str]:
    """A made-up AWS key ID and secret access key, shaped like real ones."""
    return "AKIA" + base64.b32encode(rng.randbytes(10)).decode(), base64.b64encode(rng.randbytes(30)).decode()


def credentials_file(key_id: str, secret: str) -> str:
    return f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def commit(repo: Path, files: dict[str, str | None], message: str = "change") -> None:
    """Write (or, for None, delete) files and commit them all."""
    for rel, content in files.items():
        path = repo / rel
        if content is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", message)


def new_repo(path: Path, files: dict[str, str | None]) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q")
    commit(path, files, "initial")
    return path


def bulk_repo(path: Path, seed: int, commits: int = 60, files: int = 20) -> tuple[Path, list[str]]:
    """A repository with some history (built by git fast-import) and one planted key pair; returns its key IDs."""
    rng = random.Random(seed)
    words = [f"w{rng.randrange(10**6)}" for _ in range(400)]
    state = {f"src/mod_{i}.py": "\n".join(" ".join(rng.choices(words, k=12)) for _ in range(60)) for i in range(files)}
    stream = []

    def blob(text: str) -> None:
        data = text.encode()
        stream.append(b"data %d\n%s\n" % (len(data), data))

    key_id, secret = key_pair(rng)
    for n in range(commits):
        stream.append(b"commit refs/heads/main\ncommitter Dev <dev@example.test> %d +0000\n" % (1_600_000_000 + n))
        blob(f"change {n}")
        changed = state if n == 0 else {p: state[p] + f"\n# rev {seed}.{n}" for p in rng.sample(sorted(state), 2)}
        state.update(changed)
        if n == commits // 2:
            changed = {**changed, "config/credentials": credentials_file(key_id, secret)}
        for rel, text in changed.items():
            stream.append(b"M 100644 inline %s\n" % rel.encode())
            blob(text)
    stream.append(b"done\n")
    path.mkdir(parents=True)
    git(path, "init", "-q")
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet", "--done"], input=b"".join(stream), check=True)
    git(path, "reset", "-q", "--hard", "main")
    return path, [key_id]


def blob_count(repo: Path) -> int:
    return int(git(repo, "rev-list", "--all", "--objects", "--filter=object:type=blob", "--no-object-names",
                   "--filter-provided-objects").count("\n"))


def report_json(db: Path, *extra: str) -> dict:
    run = run_cli("report", "--db", db, "--format", "json", *extra)
    assert run.code in (0, 1), run.err
    return json.loads(run.out)


def located(document: dict) -> dict[tuple[str, str], list[tuple[str, str, str, int]]]:
    """(rule, redacted secret) -> sorted (repo, commit, path, line) of every location, from a json report
    (fingerprints differ from store to store: each has its own salt)."""
    return {(f["rule"], f["secret"]): sorted((o["repo"], o.get("commit", ""), o.get("path", ""), o.get("line", 0))
                                     for o in f["locations"]) for f in document["findings"]}


def last_run_blobs(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as con:
        return dict(con.execute(
            "SELECT r.key, rr.blobs_scanned FROM run_repository rr JOIN repository r ON r.id = rr.repository_id "
            "WHERE rr.run_id = (SELECT max(id) FROM run)"))


@pytest.fixture
def rng() -> random.Random:
    return random.Random(7)


# --- incremental, forks, report ------------------------------------------------------------------------

def test_second_sweep_scans_only_the_new_blobs_and_still_reports_everything(tmp_path, rng):
    key_id, secret = key_pair(rng)
    repo = new_repo(tmp_path / "app", {"README.md": "app\n", "src/main.py": "print('hi')\n",
                                       "deploy/aws.ini": credentials_file(key_id, secret)})
    commit(repo, {"deploy/aws.ini": None}, "remove the key")
    db = tmp_path / "sweep.db"

    first = run_cli("sweep", repo, "--db", db, "--jobs", "1")
    assert first.code == 1, first.err  # findings, no failure
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert con.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert last_run_blobs(db) == {str(repo.resolve()): blob_count(repo)}

    commit(repo, {"src/util.py": "def f():\n    return 2\n", "docs/guide.md": "# guide\n"}, "two new files")
    second = run_cli("sweep", repo, "--db", db, "--jobs", "1")
    assert second.code == 1, second.err
    assert last_run_blobs(db) == {str(repo.resolve()): 2}
    assert "2 blobs scanned" in second.err

    document = report_json(db)
    [finding] = document["findings"]
    assert finding["fingerprint"] == store_fingerprint(db, "aws-access-key-id", key_id)
    assert finding["secret"] == f"{key_id[:4]}{'*' * 12}{key_id[-4:]}"
    with Store(db, create=False) as store:
        assert finding["pair"]["secret_hash"] == store.hasher.secret_hash(secret)
    [where] = finding["locations"]
    assert (where["repo"], where["path"], where["line"]) == (str(repo.resolve()), "deploy/aws.ini", 2)
    assert where["commit"] == git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    assert any(note.startswith(f"repository {repo.resolve()}: 1 finding") for note in document["summary"]["notes"])


def test_rewritten_history_keeps_the_old_location_marked_and_places_the_secret_again(tmp_path, rng, monkeypatch):
    key_id, secret = key_pair(rng)
    repo = new_repo(tmp_path / "app", {"README.md": "app\n"})
    commit(repo, {"deploy/aws.ini": credentials_file(key_id, secret)}, "add deploy keys")
    commit(repo, {"src/main.py": "print('hi')\n"}, "code")
    before = git(repo, "rev-parse", "HEAD~1").strip()
    db = tmp_path / "sweep.db"
    assert run_cli("sweep", repo, "--db", db, "--jobs", "1").code == 1

    # the keys commit is rewritten (same file, new commit), as a rebase or an amended message does
    git(repo, "reset", "-q", "--hard", "HEAD~2")
    commit(repo, {"deploy/aws.ini": credentials_file(key_id, secret)}, "add deploy keys, reworded")
    after = git(repo, "rev-parse", "HEAD").strip()
    second = run_cli("sweep", repo, "--db", db, "--jobs", "1")
    assert second.code == 1, second.err

    [finding] = report_json(db)["findings"]
    where = {loc["commit"]: loc.get("unreachable", False) for loc in finding["locations"]}
    assert where == {before: True, after: False}
    monkeypatch.setenv("COLUMNS", "200")  # the table wide enough to show a location on one line
    lines = run_cli("report", "--db", db).out.splitlines()
    assert [("(no longer reachable)" in line) for line in lines if f"@{before[:10]}" in line] == [True]
    assert [("(no longer reachable)" in line) for line in lines if f"@{after[:10]}" in line] == [False]

    git(repo, "reset", "-q", "--hard", before)  # the old commit is reachable again
    assert run_cli("sweep", repo, "--db", db, "--jobs", "1").code == 1
    [finding] = report_json(db)["findings"]
    assert {loc["commit"]: loc.get("unreachable", False) for loc in finding["locations"]} == \
        {before: False, after: True}


def plain_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


KEYED_HASHES_VERSION = 4


def without_kinds(db: Path) -> None:
    """Take a store back to version 4, before findings kept their kind."""
    with sqlite3.connect(db) as con:
        con.execute("ALTER TABLE finding DROP COLUMN kind")
        con.execute("PRAGMA user_version = 4")


def without_keyed_hashes(db: Path, pairs: list[tuple[str, str]]) -> None:
    """Take a store holding the AWS key ``pairs`` back to before keyed hashes: plain sha256 fingerprints and
    hashes, no salt."""
    with Store(db, create=False) as store:
        hasher = store.hasher
    without_kinds(db)
    with sqlite3.connect(db) as con:
        for key_id, secret in pairs:
            con.execute("UPDATE finding SET fingerprint = ?, secret_hash = ?, pair_hash = ? WHERE fingerprint = ?",
                        (plain_sha256(f"aws-access-key-id:{key_id}"), plain_sha256(key_id), plain_sha256(secret),
                         hasher.fingerprint("aws-access-key-id", key_id)))
        con.execute("DROP TABLE hash_key")
        con.execute("ALTER TABLE finding RENAME COLUMN secret_hash TO secret_sha256")
        con.execute("ALTER TABLE finding RENAME COLUMN pair_hash TO pair_sha256")
        con.execute(f"PRAGMA user_version = {KEYED_HASHES_VERSION - 1}")


ADDED_BY_STEP = {
    2: ["ALTER TABLE location DROP COLUMN gone_run_id"],
    3: ["ALTER TABLE repository DROP COLUMN history_complete",
        "ALTER TABLE run_repository DROP COLUMN history_complete"],
}
"""For each schema version before keyed hashes, the statements that undo what its upgrade step added."""


def store_of_version(tmp_path: Path, rng: random.Random, version: int) -> tuple[Path, Path]:
    """A repository swept into a store with one finding, the store taken back to what ``version`` wrote."""
    key_id, secret = key_pair(rng)
    repo = new_repo(tmp_path / "app", {"keys.ini": credentials_file(key_id, secret)})
    db = tmp_path / "sweep.db"
    assert run_cli("sweep", repo, "--db", db, "--jobs", "1").code == 1
    without_keyed_hashes(db, [(key_id, secret)])
    with sqlite3.connect(db) as con:
        for step in range(KEYED_HASHES_VERSION - 1, version, -1):
            for statement in ADDED_BY_STEP[step]:
                con.execute(statement)
        con.execute(f"PRAGMA user_version = {version}")
    return repo, db


def swept_key_pairs(tmp_path: Path, rng: random.Random) -> tuple[list[tuple[str, str]], Path, Path]:
    """Two AWS key pairs in one repository, swept once: the pairs, the repository and the store."""
    pairs = [key_pair(rng), key_pair(rng)]
    repo = new_repo(tmp_path / "r", {f"k{i}.ini": credentials_file(*pair) for i, pair in enumerate(pairs)})
    db = tmp_path / "sweep.db"
    assert run_cli("sweep", repo, "--db", db, "--jobs", "1").code == 1
    return pairs, repo, db


def test_a_version_3_store_gets_keyed_hashes_and_keeps_its_findings_and_triage(tmp_path, rng):
    pairs, repo, db = swept_key_pairs(tmp_path, rng)
    revoked = store_fingerprint(db, "aws-access-key-id", pairs[0][0])
    assert run_cli("findings", "triage", revoked, "--status", "revoked", "--db", db).code == 0
    without_keyed_hashes(db, pairs)

    commit(repo, {"copy.ini": credentials_file(*pairs[0]) + "# copied\n"})  # the first key, in a new blob
    assert run_cli("sweep", repo, "--db", db, "--jobs", "1").code == 1

    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    everything = report_json(db, "--all")["findings"]
    assert len(everything) == 2  # the key found again in the new blob is the same finding
    first = store_fingerprint(db, "aws-access-key-id", pairs[0][0])
    assert {f["fingerprint"]: f.get("triage", {}).get("status") for f in everything} == {
        first: "revoked", store_fingerprint(db, "aws-access-key-id", pairs[1][0]): None}
    assert len(next(f for f in everything if f["fingerprint"] == first)["locations"]) == 2, everything
    plain = [plain_sha256(text) for key_id, secret in pairs
             for text in (key_id, secret, f"aws-access-key-id:{key_id}")]
    for path in tmp_path.glob("sweep.db*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(digest.encode() in data for digest in plain), path


SHADOW_HASH = "$6$Wk2Lp9Qz$Hq7mW2vXk9LpRt8Wz1Ns6Jd3Hy5Bc0FgQ4Fm7eXpRk2bV9Lz8wJhN3aY6cD0uG5tS1Pn4wq9ZKj3vT8qMx4tq7"


def kinds(document: dict) -> dict[str, str | None]:
    return {f["rule"]: f.get("kind") for f in document["findings"]}


def test_a_password_hash_is_reported_from_the_store_as_a_hash(tmp_path, rng):
    key_id, secret = key_pair(rng)
    repo = new_repo(tmp_path / "host", {"etc/shadow": f"root:{SHADOW_HASH}:19876:0:99999:7:::\n"
                                                      "daemon:*:19876:0:99999:7:::\n",
                                        "keys.ini": credentials_file(key_id, secret)})
    db = tmp_path / "sweep.db"
    assert run_cli("sweep", repo, "--db", db, "--jobs", "1").code == 1

    assert kinds(report_json(db)) == {"unix-password-hash": "hash", "aws-access-key-id": None}


def test_a_version_4_store_learns_the_kind_of_the_findings_it_holds(tmp_path, rng):
    repo = new_repo(tmp_path / "host", {"etc/shadow": f"root:{SHADOW_HASH}:19876:0:99999:7:::\n"})
    db = tmp_path / "sweep.db"
    assert run_cli("sweep", repo, "--db", db, "--jobs", "1").code == 1
    without_kinds(db)

    commit(repo, {"more.txt": "more\n"})
    assert run_cli("sweep", repo, "--db", db, "--jobs", "1").code == 1  # the shadow blob is not scanned again

    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert con.execute("SELECT rule, kind FROM finding").fetchall() == [("unix-password-hash", "hash")]
    assert kinds(report_json(db)) == {"unix-password-hash": "hash"}


def test_a_version_1_store_is_upgraded_in_place(tmp_path, rng):
    repo, db = store_of_version(tmp_path, rng, 1)

    assert run_cli("sweep", repo, "--db", db, "--jobs", "1").code == 1

    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert con.execute("SELECT count(*) FROM location WHERE gone_run_id IS NULL").fetchone() == (1,)
    [finding] = report_json(db)["findings"]
    assert "unreachable" not in finding["locations"][0]


def test_a_version_2_store_learns_whether_each_history_was_complete(tmp_path, rng):
    repo, db = store_of_version(tmp_path, rng, 2)

    with Store(db) as store:
        assert store.incomplete_repositories() == []
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert con.execute("SELECT history_complete FROM repository").fetchall() == [(None,)]
    commit(repo, {"more.txt": "more\n"})
    assert run_cli("sweep", repo, "--db", db, "--jobs", "1").code == 1
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT history_complete FROM repository").fetchall() == [(1,)]


def test_a_shallow_clone_is_swept_with_a_warning_and_stored_as_incomplete(tmp_path, rng):
    key_id, secret = key_pair(rng)
    origin = new_repo(tmp_path / "origin", {"keys.ini": credentials_file(key_id, secret)})
    commit(origin, {"keys.ini": None, "app.py": "x = 1\n"}, "remove the key")
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", origin.as_uri(), str(shallow)], check=True)
    db = tmp_path / "sweep.db"

    run = run_cli("sweep", shallow, origin, "--db", db, "--jobs", "1", "--no-progress")

    assert run.code == 1, run.err
    assert f"warning: {shallow.resolve()}: history incomplete: shallow clone" in run.err
    with sqlite3.connect(db) as con:
        assert dict(con.execute("SELECT key, history_complete FROM repository")) == {
            str(shallow.resolve()): 0, str(origin.resolve()): 1}
    summary = report_json(db)["summary"]
    assert summary["history_complete"] is False
    assert f"repository {shallow.resolve()}: history incomplete (a shallow or partial clone): only what it holds " \
           f"was scanned" in summary["notes"]


def test_a_fork_costs_only_its_own_blobs_and_gets_its_own_locations(tmp_path, rng):
    key_id, secret = key_pair(rng)
    origin = new_repo(tmp_path / "origin", {"a.txt": "a\n", "b.txt": "b\n",
                                            "keys.ini": credentials_file(key_id, secret)})
    db = tmp_path / "sweep.db"
    assert run_cli("sweep", origin, "--db", db, "--jobs", "1").code == 1

    fork = tmp_path / "fork"
    subprocess.run(["git", "clone", "-q", str(origin), str(fork)], check=True)
    commit(fork, {"fork-only.txt": "mine\n"}, "fork work")
    run = run_cli("sweep", origin, fork, "--db", db, "--jobs", "1")
    assert run.code == 1, run.err
    # the origin: nothing new; the fork: its one new blob, plus the matched blob it must place for itself
    assert last_run_blobs(db) == {str(origin.resolve()): 0, str(fork.resolve()): 2}
    [locations] = located(report_json(db)).values()
    assert [loc[0] for loc in locations] == sorted([str(origin.resolve()), str(fork.resolve())])

    again = run_cli("sweep", origin, fork, "--db", db, "--jobs", "1")
    assert again.code == 1 and set(last_run_blobs(db).values()) == {0}


def test_a_fork_later_in_the_same_sweep_skips_what_was_recorded_before_it(tmp_path, rng, monkeypatch):
    import secretguard.sweep

    monkeypatch.setattr(secretguard.sweep, "SNAPSHOT_DELTA_LIMIT", 0)  # share a new snapshot after every record
    key_id, secret = key_pair(rng)
    origin = new_repo(tmp_path / "origin", {"a.txt": "a\n", "b.txt": "b\n",
                                            "keys.ini": credentials_file(key_id, secret)})
    other = new_repo(tmp_path / "other", {"c.txt": "c\n"})
    fork = tmp_path / "fork"
    subprocess.run(["git", "clone", "-q", str(origin), str(fork)], check=True)
    commit(fork, {"fork-only.txt": "mine\n"}, "fork work")
    db = tmp_path / "sweep.db"
    # one worker, two tasks queued: the fork's task is made after the origin's results are in the store
    run = run_cli("sweep", origin, other, fork, "--db", db, "--jobs", "1")
    assert run.code == 1, run.err
    assert last_run_blobs(db) == {str(origin.resolve()): 3, str(other.resolve()): 1, str(fork.resolve()): 2}
    [locations] = located(report_json(db)).values()
    assert [loc[0] for loc in locations] == sorted([str(origin.resolve()), str(fork.resolve())])


def test_report_formats_and_totals(tmp_path, rng):
    key_id, secret = key_pair(rng)
    repo = new_repo(tmp_path / "svc", {"settings.ini": credentials_file(key_id, secret)})
    db = tmp_path / "sweep.db"
    assert run_cli("sweep", repo, "--db", db, "--jobs", "1").code == 1

    text = run_cli("report", "--db", db)
    assert text.code == 1 and "rule aws-access-key-id: 1" in text.out and "1 finding in 1 repositories" in text.out
    sarif = tmp_path / "out.sarif"
    assert run_cli("report", "--db", db, "--format", "sarif", "--output", sarif).code == 1
    jsonschema.validate(json.loads(sarif.read_text()), json.loads(SARIF_SCHEMA.read_text()))
    for fmt in ("text", "json", "sarif"):
        assert secret not in run_cli("report", "--db", db, "--format", fmt).out

    missing = run_cli("report", "--db", tmp_path / "nope.db")
    assert missing.code == 2 and missing.err == f"error: {tmp_path / 'nope.db'}: no such sweep store\n"


def test_the_store_holds_no_plaintext_and_reveal_cannot_bring_it_back(tmp_path, rng):
    import io

    from secretguard.report import ScanSummary, reporter_for

    key_id, secret = key_pair(rng)
    repo = new_repo(tmp_path / "svc", {"settings.ini": credentials_file(key_id, secret)})
    db = tmp_path / "sweep.db"
    assert run_cli("sweep", repo, "--db", db, "--jobs", "1").code == 1
    for path in tmp_path.glob("sweep.db*"):
        if path.is_file():
            data = path.read_bytes()
            assert key_id.encode() not in data and secret.encode() not in data
    with Store(db, create=False) as store:
        [finding] = store.findings()
    out = io.StringIO()
    reporter_for("json")([finding], out, ScanSummary(), True, report_key())
    shown = json.loads(out.getvalue())["findings"][0]
    assert key_id not in out.getvalue() and secret not in out.getvalue()
    assert shown["fingerprint"] == store_fingerprint(db, "aws-access-key-id", key_id)


# --- failures, mirrors, locking ----------------------------------------------------------------------------

def test_failed_repositories_are_recorded_and_the_sweep_goes_on(tmp_path, rng):
    key_id, secret = key_pair(rng)
    good = new_repo(tmp_path / "good", {"k.ini": credentials_file(key_id, secret)})
    corrupt = new_repo(tmp_path / "corrupt", {"data.txt": "some content\n"})
    oid = git(corrupt, "rev-parse", "HEAD:data.txt").strip()
    (corrupt / ".git" / "objects" / oid[:2] / oid[2:]).unlink()
    truncated = new_repo(tmp_path / "truncated", {"data.txt": "".join(f"line {n}\n" for n in range(5000))})
    head, branch = git(truncated, "rev-parse", "HEAD").strip(), git(truncated, "symbolic-ref", "HEAD").strip()
    git(truncated, "gc", "-q")
    [pack] = (truncated / ".git" / "objects" / "pack").glob("*.pack")
    pack.chmod(0o644)
    with open(pack, "r+b") as handle:
        handle.truncate(pack.stat().st_size // 2)
    missing = tmp_path / "missing"
    bad_url = (tmp_path / "no-such-remote").as_uri()
    db = tmp_path / "sweep.db"

    run = run_cli("sweep", good, corrupt, truncated, missing, bad_url, "--db", db, "--jobs", "2")
    assert run.code == 2, run.err
    with Store(db, create=False) as store:
        failed = dict(store.failed_repositories())
    assert set(failed) == {str(corrupt.resolve()), str(truncated.resolve()), str(missing), bad_url}
    assert failed[str(corrupt.resolve())] == f"{corrupt.resolve()}: object {oid} is missing (corrupt repository; " \
                                             f"git fsck tells more)"
    assert failed[str(truncated.resolve())] == f"{truncated.resolve()}: ref {branch} points at missing " \
                                               f"object {head} (corrupt repository; git fsck tells more)"
    assert failed[str(missing)] == f"{missing}: no such file or directory"
    assert failed[bad_url].startswith(f"{bad_url}: clone failed: fatal:")
    for error in failed.values():
        assert f"failed  {error}" in run.err and "\n" not in error
    assert last_run_blobs(db)[str(good.resolve())] == blob_count(good)

    document = report_json(db)
    assert len(document["findings"]) == 1
    assert {s["path"] for s in document["summary"]["skipped"]} == set(failed)


def test_urls_are_mirrored_once_then_fetched(tmp_path, rng):
    key_id, secret = key_pair(rng)
    upstream = new_repo(tmp_path / "upstream", {"app.py": "x = 1\n"})
    url = upstream.as_uri()
    db, cache = tmp_path / "sweep.db", tmp_path / "mirrors"
    assert run_cli("sweep", url, "--db", db, "--cache-dir", cache, "--jobs", "1").code == 0
    mirror = mirror_path(cache, repository_key(url))
    assert (mirror / "HEAD").is_file() and not (mirror / ".git").exists()
    marker = mirror / "secretguard-test-marker"
    marker.write_text("a re-clone would remove this")

    commit(upstream, {"late.ini": credentials_file(key_id, secret)}, "oops")
    run = run_cli("sweep", url, "--db", db, "--cache-dir", cache, "--jobs", "1")
    assert run.code == 1, run.err
    assert marker.exists() and last_run_blobs(db) == {url: 1}
    [finding] = report_json(db)["findings"]
    assert finding["locations"][0]["repo"] == url
    assert finding["locations"][0]["commit"] == git(upstream, "rev-parse", "HEAD").strip()


def test_credentials_in_a_url_never_reach_the_store(tmp_path):
    assert repository_key("https://user:tok3n@git.example.test/org/repo.git") == "https://git.example.test/org/repo.git"
    assert repository_key("git@git.example.test:org/repo.git") == "git@git.example.test:org/repo.git"
    db = tmp_path / "sweep.db"
    # Nothing listens on port 9: the clone fails, and the failure is recorded under the URL's key.
    run = run_cli("sweep", "https://user:tok3n@127.0.0.1:9/org/repo.git", "--db", db)
    shown = run_cli("report", "--db", db, "--format", "json")
    assert "127.0.0.1:9/org/repo.git" in run.out + run.err + shown.out
    with sqlite3.connect(db) as con:
        dump = "\n".join(con.iterdump())
    assert "127.0.0.1:9/org/repo.git" in dump
    for text in (run.out, run.err, shown.out, dump, *map(str, tmp_path.rglob("*"))):
        assert "tok3n" not in text


def test_one_sweep_at_a_time(tmp_path):
    repo = new_repo(tmp_path / "r", {"a": "a\n"})
    db = tmp_path / "sweep.db"
    with Store(db) as store, store.exclusive():
        run = run_cli("sweep", repo, "--db", db)
    assert run.code == 2 and run.err == f"error: {db}: another sweep is writing this store\n"


def test_a_store_from_elsewhere_is_refused(tmp_path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE t (x)")
    run = run_cli("report", "--db", other)
    assert run.code == 2 and run.err == f"error: {other}: not a secretguard sweep store\n"
    newer = tmp_path / "newer.db"
    Store(newer).close()
    with sqlite3.connect(newer) as con:
        con.execute("PRAGMA user_version = 99")
    assert "newer than this secretguard" in run_cli("report", "--db", newer).err


# --- triage ---------------------------------------------------------------------------------------------------

def test_triage_decisions_survive_later_sweeps(tmp_path, rng):
    pairs, repo, db = swept_key_pairs(tmp_path, rng)
    fp = store_fingerprint(db, "aws-access-key-id", pairs[0][0])

    bad = run_cli("findings", "triage", fp, "--status", "fixed", "--db", db)
    assert bad.code == 2 and "choose from false-positive, revoked, accepted" in bad.err
    assert run_cli("findings", "triage", "0000000000", "--status", "revoked", "--db", db).code == 2
    done = run_cli("findings", "triage", fp[:10], "--status", "revoked", "--note", "rotated in IAM", "--db", db)
    assert done.code == 0 and done.err == f"{fp}: revoked\n"

    commit(repo, {"more.txt": "more\n"})
    assert run_cli("sweep", repo, "--db", db, "--jobs", "1").code == 1
    assert [f["fingerprint"] for f in report_json(db)["findings"]] == [
        store_fingerprint(db, "aws-access-key-id", pairs[1][0])]
    everything = {f["fingerprint"]: f for f in report_json(db, "--all")["findings"]}
    assert everything[fp]["triage"]["status"] == "revoked" and everything[fp]["triage"]["note"] == "rotated in IAM"


# --- validation: live keys first ---------------------------------------------------------------------------------

def test_validate_marks_the_live_key_and_the_report_lists_it_first(aws, tmp_path, rng):
    import boto3

    from secretguard.aws.keys import KEY_ID

    iam = boto3.client("iam")
    iam.create_user(UserName="deployer")
    while True:  # moto's key IDs may use digits real ones never do; keep one the rules recognise
        live = iam.create_access_key(UserName="deployer")["AccessKey"]
        if KEY_ID.match(live["AccessKeyId"]):
            break
        iam.delete_access_key(UserName="deployer", AccessKeyId=live["AccessKeyId"])
    aws.enable_auth()
    dead = key_pair(rng)
    repo = new_repo(tmp_path / "r", {"a-dead.ini": credentials_file(*dead),
                                     "z-live.ini": credentials_file(live["AccessKeyId"], live["SecretAccessKey"])})
    db = tmp_path / "sweep.db"
    assert run_cli("sweep", repo, "--db", db, "--jobs", "1", "--validate").code == 1
    findings = report_json(db)["findings"]
    assert [f["validation"]["status"] for f in findings] == ["live", "invalid"]
    assert findings[0]["fingerprint"] == store_fingerprint(db, "aws-access-key-id", live["AccessKeyId"])
    assert "open findings by validation status: live 1, invalid 1" in report_json(db)["summary"]["notes"]


def wait_for_a_recorded_repository(sweep: subprocess.Popen, db: Path) -> dict[str, tuple[int, str]]:
    """Once the running ``sweep`` has recorded a repository: (blobs scanned, finished at) of each recorded one."""
    deadline = time.monotonic() + 120
    done: dict[str, tuple[int, str]] = {}
    while not done and sweep.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
        try:
            with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as con:
                done = {k: (b, t) for k, b, t in con.execute(
                    "SELECT r.key, rr.blobs_scanned, rr.finished_at FROM run_repository rr "
                    "JOIN repository r ON r.id = rr.repository_id")}
        except sqlite3.OperationalError:  # not created yet
            continue
    return done


@pytest.mark.parametrize("when", ["workers starting", "repositories recorded"])
def test_ctrl_c_ends_a_sweep_with_130_and_no_traceback(tmp_path, when):
    repos = [bulk_repo(tmp_path / f"repo{i}", seed=20 + i)[0] for i in range(8)]
    db = tmp_path / "sweep.db"
    temp = tmp_path / "temp"
    temp.mkdir()
    sweep = subprocess.Popen([sys.executable, "-m", "secretguard", "sweep", *map(str, repos), "--db", str(db),
                              "--jobs", "2"], start_new_session=True, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(temp)})
    try:
        if when == "workers starting":  # a worker process exists, still importing secretguard
            children = Path(f"/proc/{sweep.pid}/task/{sweep.pid}/children")
            while not children.read_text().split() and sweep.poll() is None:
                time.sleep(0.002)
        else:
            assert wait_for_a_recorded_repository(sweep, db)
        os.killpg(sweep.pid, signal.SIGINT)  # as Ctrl-C does: the driver and every worker get it
        _, err = sweep.communicate(timeout=60)
    finally:
        sweep.kill()
    assert sweep.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.endswith("interrupted: run the same sweep again to resume it\n")
    assert list(temp.iterdir()) == []
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT status FROM run").fetchall() == [("running",)]  # the next sweep resumes it


# --- resumption after SIGKILL --------------------------------------------------------------------------------------

def test_a_sweep_killed_mid_way_resumes_without_rescanning_or_losing_anything(tmp_path):
    repos = [bulk_repo(tmp_path / f"repo{i}", seed=i)[0] for i in range(8)]
    listing = tmp_path / "repos.txt"
    listing.write_text("# nightly\n" + "".join(f"{r}\n" for r in repos))
    db = tmp_path / "sweep.db"
    command = [sys.executable, "-m", "secretguard", "sweep", "--from-file", str(listing), "--db", str(db),
               "--jobs", "1"]
    temp = tmp_path / "temp"  # the system's temporary folder, as both sweeps see it
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}

    victim = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=env)
    try:
        done = wait_for_a_recorded_repository(victim, db)
        os.killpg(victim.pid, signal.SIGKILL)
    finally:
        victim.wait()
    assert victim.returncode == -signal.SIGKILL
    assert 1 <= len(done) < len(repos)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT status FROM run").fetchall() == [("running",)]
    assert [p.name.startswith(f"secretguard-sweep-{victim.pid}-") for p in temp.iterdir()] == [True]

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert resumed.returncode == 1, resumed.stderr
    assert list(temp.iterdir()) == []  # the killed sweep's folder is gone, and this one cleaned up its own
    assert f"resumed run #1: {len(done)} repositories were already done" in resumed.stderr
    for key in done:
        assert f"ok      {key}:" not in resumed.stderr
    with sqlite3.connect(db) as con:
        rows = {k: (b, t) for k, b, t in con.execute(
            "SELECT r.key, rr.blobs_scanned, rr.finished_at FROM run_repository rr "
            "JOIN repository r ON r.id = rr.repository_id WHERE rr.run_id = 1")}
        assert con.execute("SELECT status FROM run").fetchall() == [("finished",)]
    assert {k: rows[k] for k in done} == done and len(rows) == len(repos)

    reference = tmp_path / "reference.db"
    assert run_cli("sweep", "--from-file", listing, "--db", reference, "--jobs", "1").code == 1
    assert located(report_json(db)) == located(report_json(reference))
    assert len(located(report_json(db))) == len(repos)
    with sqlite3.connect(db) as a, sqlite3.connect(reference) as b:
        for table in ("blob", "finding", "location"):
            assert a.execute(f"SELECT count(*) FROM {table}").fetchone() == \
                   b.execute(f"SELECT count(*) FROM {table}").fetchone(), table


POISON = """\
import os

import secretguard.sources.git as git_source

_items = git_source.GitSource.items


def items(self, inventory):
    if "poisoned" in str(self.repo_path):
        os._exit(137)  # as the kernel's out-of-memory killer ends a process
    return _items(self, inventory)


git_source.GitSource.items = items
"""


def test_a_worker_that_dies_fails_only_its_own_repository(tmp_path, rng, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(POISON)  # read by the spawned workers only: the driver is running
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
    names = ["alpha", "beta", "poisoned", "gamma", "delta", "epsilon"]
    keys = {}
    for name in names:
        key_id, secret = key_pair(rng)
        keys[name] = key_id
        new_repo(tmp_path / name, {"keys.ini": credentials_file(key_id, secret)})
    db = tmp_path / "sweep.db"

    run = run_cli("sweep", *(tmp_path / name for name in names), "--db", db, "--jobs", "2")

    assert run.code == 2, run.err
    with Store(db) as store:
        assert store.failed_repositories() == [
            (str((tmp_path / "poisoned").resolve()),
             f"{(tmp_path / 'poisoned').resolve()}: the worker process died (killed, or out of memory)")]
    found = {f["secret"][:4] + f["secret"][-4:] for f in report_json(db)["findings"]}
    assert found == {keys[n][:4] + keys[n][-4:] for n in names if n != "poisoned"}
