"""Reports, baselines and the sweep store give a reader no fast way to test guesses at a secret, while
fingerprints still match across runs; old baselines are upgraded; allow-lists by hash still work."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from secretguard.baseline import read_baseline
from secretguard.hashing import KDF_N, KEY_ENV, ReportKey, SaltedHasher, key_file
from secretguard.sweep.store import Store
from tests.helpers import MINI_RULES, report_hash, report_key, run_cli
from tests.test_git_history import commit, init_repo, token, write

PASSWORD = "Summer04217!"
DICTIONARY = [f"Summer{n:05d}!" for n in range(100_000)]
"""10^5 candidates, the planted password among them: what an attacker with a wordlist tries."""
RULE = "generic-password"
HEX_RUN = re.compile(rb"[0-9a-fA-F]{16,}")
DIGEST_HEX_LENGTHS = (32, 40, 64, 128)  # md5, sha1, sha256, sha512


def hex_values(data: bytes) -> tuple[set[str], list[bytes]]:
    """Every window of a digest's length inside a hex run (a store packs values side by side), and every
    whole run of 16 bytes or more as a candidate HMAC key (a salt or key written beside the hashes)."""
    runs = [m.group().decode().lower() for m in HEX_RUN.finditer(data)]
    windows = {run[i:i + n] for run in runs for n in DIGEST_HEX_LENGTHS for i in range(len(run) - n + 1)}
    keys = sorted({bytes.fromhex(run) for run in runs if len(run) % 2 == 0 and 32 <= len(run) <= 128})
    return windows, keys


def fast_guesses(candidate: str, keys: list[bytes]) -> Iterator[str]:
    """What a reader can compute at speed for one guess: plain digests, and HMACs under any key in the file."""
    raw = candidate.encode()
    digest = hashlib.sha256(raw).digest()
    yield digest.hex()
    yield hashlib.sha256(f"{RULE}:{candidate}".encode()).hexdigest()
    for name in ("sha1", "md5", "sha512"):
        yield hashlib.new(name, raw).hexdigest()
    for key in keys:
        for message in (raw, digest, RULE.encode() + b"\0" + digest):
            yield hmac.digest(key, message, "sha256").hex()


def cracked(data: bytes) -> list[str]:
    """The candidates some fast guess of which appears in ``data``."""
    windows, keys = hex_values(data)
    return [c for c in DICTIONARY if any(g in windows for g in fast_guesses(c, keys))]


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"settings.py": f'DB_PASSWORD = "{PASSWORD}"\n'})
    return repo


def test_no_report_baseline_or_store_lets_a_dictionary_find_the_password(planted: Path, tmp_path: Path) -> None:
    artifacts: dict[str, Path] = {}
    for fmt in ("json", "jsonl", "sarif", "html"):
        artifacts[fmt] = tmp_path / f"report.{fmt}"
        run = run_cli("scan", "dir", planted, "--format", fmt, "--output", artifacts[fmt], "--no-progress")
        assert run.code == 1, run.err
    artifacts["baseline"] = tmp_path / "baseline.json"
    assert run_cli("baseline", "create", planted, "--output", artifacts["baseline"]).code == 0
    db = tmp_path / "sweep.db"
    assert run_cli("sweep", planted, "--db", db, "--jobs", "1").code == 1
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("sweep.db*") if p.is_file())

    [finding] = json.loads(artifacts["json"].read_text())["findings"]
    assert finding["rule"] == RULE and finding["secret"] == "Su********7!"
    everything = b"".join(p.read_bytes() for p in artifacts.values()) + stored
    assert PASSWORD.encode() not in everything
    assert cracked(everything) == []

    # The search does find a plain hash (the old format), so its empty answer means something.
    assert cracked(hashlib.sha256(PASSWORD.encode()).hexdigest().encode()) == [PASSWORD]
    # What does identify the secret is kept out of the files: the report key, or one scrypt per guess.
    assert finding["secret_hash"] == report_hash(PASSWORD)
    assert finding["fingerprint"] == report_key().fingerprint(RULE, PASSWORD)
    baseline = read_baseline(artifacts["baseline"])
    assert baseline.hasher is not None and baseline.hasher.n >= KDF_N and baseline.accepts(RULE, PASSWORD)
    with Store(db, create=False) as store:
        assert store.hasher.n >= KDF_N
        [kept] = store.findings()
        assert kept.recorded is not None and kept.recorded.secret_hash == store.hasher.secret_hash(PASSWORD)


def test_report_fingerprints_hold_across_runs_under_a_key_made_0600(planted: Path) -> None:
    first = run_cli("scan", "dir", planted, "--format", "json", "--no-progress")
    mode = stat.S_IMODE(key_file().stat().st_mode)
    second = run_cli("scan", "dir", planted, "--format", "jsonl", "--no-progress")

    assert mode == 0o600 and stat.S_IMODE(key_file().parent.stat().st_mode) == 0o700
    [a] = json.loads(first.out)["findings"]
    b = json.loads(second.out)
    assert (a["fingerprint"], a["secret_hash"]) == (b["fingerprint"], b["secret_hash"])


def test_a_text_report_makes_no_key_file(planted: Path) -> None:
    assert run_cli("scan", "dir", planted, "--no-progress").code == 1
    assert not key_file().exists()


def test_the_key_variable_gives_the_same_fingerprints_in_every_home(planted: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "k" * 40)
    seen = []
    for home in ("one", "two"):
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / home))
        run = run_cli("scan", "dir", planted, "--format", "jsonl", "--no-progress")
        seen.append(json.loads(run.out)["fingerprint"])
        assert not key_file().exists()
    assert seen[0] == seen[1] == ReportKey(b"k" * 40).fingerprint(RULE, PASSWORD)

    monkeypatch.setenv(KEY_ENV, "short")
    run = run_cli("scan", "dir", planted, "--format", "json", "--no-progress")
    assert run.code == 2 and run.err == f"error: {KEY_ENV} must hold at least 32 characters (a random key)\n"


def test_without_a_place_for_the_key_each_run_gets_its_own_and_says_so(planted: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    runs = [run_cli("scan", "dir", planted, "--format", "jsonl", "--no-progress") for _ in range(2)]

    assert all(run.code == 1 and run.err.startswith("warning: cannot keep a fingerprint key in ") for run in runs)
    assert json.loads(runs[0].out)["fingerprint"] != json.loads(runs[1].out)["fingerprint"]


# --- baselines: the old format still works and is upgraded ------------------------------------------------

def plain(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_version_1_baseline_still_works_and_update_rekeys_every_entry(tree, tmp_path: Path) -> None:
    here, gone, new = token(301), token(302), token(303)
    root = tree({".secretguard.yaml": f"rules: {{extra: ['{MINI_RULES}']}}\n", "a.txt": f"key: {here}\n"})
    old = tmp_path / "baseline.json"
    old.write_text(json.dumps({"version": 1, "findings": sorted((
        {"fingerprint": plain(f"test-token:{secret}"), "rule": "test-token", "secret_sha256": plain(secret),
         "paths": ["a.txt"]} for secret in (here, gone)), key=lambda e: e["fingerprint"])}))

    run = run_cli("scan", "dir", root, "--baseline", old, "--no-progress")
    assert run.code == 0 and run.err == (f"warning: {old}: baseline version 1 holds fast hashes of secrets; "
                                         "`secretguard baseline update` rewrites it with keyed ones\n")

    write(root, {"b.txt": f"key: {new}\n"})
    assert run_cli("baseline", "update", root, "--output", old).code == 0
    text = old.read_text()
    assert json.loads(text)["version"] == 2 and not any(
        plain(s) in text or plain(f"test-token:{s}") in text for s in (here, gone, new))
    upgraded = read_baseline(old)
    assert upgraded.upgraded_from is None
    assert all(upgraded.accepts("test-token", s) for s in (here, gone, new))  # gone: rekeyed without the secret
    run = run_cli("scan", "dir", root, "--baseline", old, "--no-progress")
    assert run.code == 0 and run.err == ""


def test_a_baseline_matches_on_another_machine(tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = token(304)
    root = tree({".secretguard.yaml": f"rules: {{extra: ['{MINI_RULES}']}}\n", "a.txt": f"key: {secret}\n"})
    baseline = tmp_path / "baseline.json"
    assert run_cli("baseline", "create", root, "--output", baseline).code == 0
    monkeypatch.setenv("HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "elsewhere" / ".config"))
    assert run_cli("scan", "dir", root, "--baseline", baseline, "--no-progress").code == 0


def test_weaker_hash_parameters_in_a_baseline_are_refused(tmp_path: Path, tree) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"version": 2, "hash": {**SaltedHasher.fresh().params(), "n": 1024},
                                    "findings": []}))
    run = run_cli("scan", "dir", tree({"a.txt": "x\n"}), "--baseline", baseline)
    assert run.code == 2 and run.err == (f"error: {baseline}: baseline: scrypt N must be a power of two from "
                                         f"{KDF_N} to {4 * KDF_N}\n")


# --- allow.secrets ------------------------------------------------------------------------------------------

def hash_secret(monkeypatch: pytest.MonkeyPatch, text: str, *args: str) -> list[str]:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    run = run_cli("hash-secret", *args)
    assert run.code == 0, run.err
    return run.out.splitlines()


def test_allow_secrets_by_keyed_hash_and_by_the_old_sha256(planted: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .secretguard.yaml here: a new salt
    config = tmp_path / "config.yaml"
    [entry] = hash_secret(monkeypatch, PASSWORD + "\n")
    assert entry.startswith("scrypt:") and plain(PASSWORD) not in entry
    config.write_text(f"allow:\n  secrets: ['{entry}']\n")
    assert run_cli("scan", "dir", planted, "--config", config, "--no-progress").code == 0

    [converted] = hash_secret(monkeypatch, plain(PASSWORD) + "\n", "--from-sha256", "--config", config)
    assert converted == entry  # same salt as the entry already there, same secret: the same entry
    config.write_text(f"allow:\n  secrets_sha256: ['{plain(PASSWORD)}']\n")  # the older form, still honoured
    assert run_cli("scan", "dir", planted, "--config", config, "--no-progress").code == 0
    config.write_text("allow:\n  secrets: ['sha256:abc']\n")
    run = run_cli("scan", "dir", planted, "--config", config, "--no-progress")
    assert run.code == 2 and run.err.startswith(f"error: {config}: allow.secrets: 'sha256:abc' is not ")
    assert len(run.err.splitlines()) == 1


def test_hash_secret_needs_input(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import io

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    run = run_cli("hash-secret")
    assert run.code == 2 and run.err == "error: no secrets on stdin: pipe them in, one per line\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("nothex\n"))
    assert run_cli("hash-secret", "--from-sha256").err.startswith("error: --from-sha256: each line must be")
    assert os.listdir(tmp_path) == []
