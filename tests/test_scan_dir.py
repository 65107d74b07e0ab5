"""``scan dir`` end to end: walking, dedup by secret, suppression, every output format."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import jsonschema
import pytest

from tests.helpers import MINI_RULES, report_hash, run_cli

TOKEN = "tok_a8Fk2LmQ9zXw4RtY7uPb3NcV"
OTHER = "tok_Zq81mWc4Lp0sXv7Ne2Rt5Yb9"
KEY_ID = "TKIDQ3RZ7W2LMNPX4KTY"
SECRET = "b7Hq2+Kd9/Lm3Pz8Wx1Vt6Yc4Rn0Js5Ga9Ef2Ui7"
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


@pytest.fixture
def planted(tree):
    root = tree({
        "a.py": f"x = 1\ntoken = '{TOKEN}'\n",
        "sub/b.env": f"T={TOKEN}\nO={OTHER}\n",
        "sub/deep/c.txt": f"\n\n   {TOKEN}\n",
        "keys.ini": f"[default]\nid = {KEY_ID}\nsecret = {SECRET}\n",
        "allowed.py": f"t = '{OTHER}'  # secretguard:allow\n",
        ".git/secret-in-git-dir": f"{TOKEN}\n",
        "image.png": b"\x89PNG\x00\x00" + TOKEN.encode(),
    })
    (root / ".secretguard.yaml").write_text(f"rules:\n  extra: [{MINI_RULES}]\n")
    return root


def sha(text: str) -> str:
    return report_hash(text)


def scan_json(root: Path, *extra: str) -> tuple[int, dict]:
    run = run_cli("scan", "dir", root, "--format", "json", *extra)
    assert run.code in (0, 1), run.err
    return run.code, json.loads(run.out)


def by_rule(document: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for finding in document["findings"]:
        out.setdefault(finding["rule"], []).append(finding)
    return out


def test_one_finding_per_secret_with_every_location(planted):
    code, document = scan_json(planted)
    assert code == 1
    tokens = {f["secret_hash"]: f for f in by_rule(document)["test-token"]}
    assert len(tokens) == 2
    token = tokens[sha(TOKEN)]
    assert [(o["path"], o["line"], o["column"]) for o in token["locations"]] == [
        ("a.py", 2, 10), ("image.png", 1, 7), ("sub/b.env", 1, 3), ("sub/deep/c.txt", 3, 4)]
    assert all(o["source"] == "file" for o in token["locations"])
    other = tokens[sha(OTHER)]
    assert [o["path"] for o in other["locations"]] == ["sub/b.env"]  # allowed.py is inline-allowed


def test_pair_is_one_finding(planted):
    _, document = scan_json(planted)
    [pair] = by_rule(document)["test-key-id"]
    assert pair["pair"]["rule"] == "test-key-secret"
    assert "test-key-secret" not in by_rule(document)


def test_redaction_and_reveal(planted):
    _, hidden = scan_json(planted)
    _, shown = scan_json(planted, "--reveal")
    hidden_text = json.dumps(hidden)
    assert TOKEN not in hidden_text and SECRET not in hidden_text and KEY_ID not in hidden_text
    assert "tok_********************3NcV" in hidden_text
    assert TOKEN in json.dumps(shown) and SECRET in json.dumps(shown)
    assert {f["secret_hash"] for f in hidden["findings"]} == {f["secret_hash"] for f in shown["findings"]}
    assert sha(TOKEN) in {f["secret_hash"] for f in hidden["findings"]}


def test_text_output_never_shows_secret(planted):
    run = run_cli("scan", "dir", planted)
    assert run.code == 1
    assert TOKEN not in run.out and SECRET not in run.out
    assert "test-token" in run.out and "a.py:2:10" in run.out


def test_jsonl_one_finding_per_line(planted):
    run = run_cli("scan", "dir", planted, "--format", "jsonl")
    lines = [json.loads(line) for line in run.out.splitlines()]
    _, document = scan_json(planted)
    assert lines == document["findings"]


def test_sarif_is_valid_2_1_0(planted, tmp_path):
    out = tmp_path / "report.sarif"
    run = run_cli("scan", "dir", planted, "--format", "sarif", "--output", out)
    assert run.code == 1 and run.out == ""
    sarif = json.loads(out.read_text())
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text()))
    results = sarif["runs"][0]["results"]
    assert len(results) == 4 + 1 + 1  # token x4 locations (one in image.png), other x1, pair x1
    assert all(TOKEN not in r["message"]["text"] for r in results)


def test_clean_tree_exits_zero(tree):
    root = tree({"a.py": "print('hello')\n"})
    run = run_cli("scan", "dir", root)
    assert run.code == 0 and "No secrets found" in run.out


def test_config_allowlists(planted):
    digest = hashlib.sha256(OTHER.encode()).hexdigest()  # the older plain form, still honoured
    (planted / ".secretguard.yaml").write_text(
        f"rules:\n  extra: [{MINI_RULES}]\n  disable: [test-key-id]\n"
        f"allow:\n  paths: ['sub/deep/*']\n  secrets_sha256: [{digest}]\n")
    _, document = scan_json(planted)
    rules = by_rule(document)
    assert "test-key-id" not in rules
    [token] = rules["test-token"]
    assert [o["path"] for o in token["locations"]] == ["a.py", "image.png", "sub/b.env"]
    (planted / ".secretguard.yaml").write_text(
        f"rules:\n  extra: [{MINI_RULES}]\nallow:\n  regexes: ['^tok_']\n")
    _, document = scan_json(planted)
    assert "test-token" not in by_rule(document)


def test_baseline_suppresses_known_findings(planted, tmp_path):
    baseline = tmp_path / "baseline.json"
    assert run_cli("baseline", "create", planted, "--output", baseline).code == 0
    first = baseline.read_text()
    assert TOKEN not in first and SECRET not in first
    assert run_cli("scan", "dir", planted, "--baseline", baseline).code == 0
    (planted / "a.py").write_text(f"# a new first line\nx = 1\ntoken = '{TOKEN}'\n")
    assert run_cli("baseline", "create", planted, "--output", baseline).code == 0
    assert baseline.read_text() == first  # no line numbers, no timestamps
    (planted / "new.py").write_text("n = 'tok_Pq7Zr2Kx9Lw4Mn6Bv1Cs8DtE'\n")
    code, document = scan_json(planted, "--baseline", str(baseline))
    assert code == 1 and [f["rule"] for f in document["findings"]] == ["test-token"]


def test_size_limit_and_git_dir_are_skipped(planted):
    (planted / "big.txt").write_bytes(b"y" * 2048 + f"\n{TOKEN}\n".encode())
    code, document = scan_json(planted, "--max-file-size", "1024")
    assert {"path": "big.txt", "reason": "larger than 1024 bytes"} in document["summary"]["skipped"]
    paths = {o["path"] for f in document["findings"] for o in f["locations"]}
    assert "big.txt" not in paths and ".git/secret-in-git-dir" not in paths


def test_symlink_loop_ends(planted):
    os.symlink("..", planted / "sub" / "loop")
    code, document = scan_json(planted)
    token = next(f for f in document["findings"] if f["secret_hash"] == sha(TOKEN))
    assert {o["path"] for o in token["locations"]} == {"a.py", "image.png", "sub/b.env", "sub/deep/c.txt"}


def test_respect_gitignore(planted):
    import subprocess
    subprocess.run(["git", "init", "-q", str(planted)], check=True)
    (planted / ".gitignore").write_text("sub/\n")
    _, document = scan_json(planted, "--respect-gitignore")
    paths = {o["path"] for f in document["findings"] for o in f["locations"]}
    assert paths and not any(p.startswith("sub/") for p in paths)
    _, document = scan_json(planted)
    assert any(o["path"].startswith("sub/") for f in document["findings"] for o in f["locations"])


def test_parallel_and_inline_give_the_same_findings(planted):
    for i in range(30):
        (planted / f"bulk{i}.txt").write_text(("filler line\n" * 8000) + f"{TOKEN}\n")
    _, one = scan_json(planted, "--jobs", "1")
    _, two = scan_json(planted, "--jobs", "2")
    assert one["findings"] == two["findings"]


def test_secretguards_own_installed_rules_are_not_reported(planted, monkeypatch):
    import secretguard.sources.files as files

    own = planted / "venv" / "site-packages" / "secretguard" / "patterns"
    own.mkdir(parents=True)
    (own / "tokens.yaml").write_text(f"rules:\n  - id: t\n    examples: ['key = {TOKEN}']\n")
    monkeypatch.setattr(files, "builtin_rules_dir", lambda: own)  # as if secretguard were installed there

    _, document = scan_json(planted)
    paths = {o["path"] for f in document["findings"] for o in f["locations"]}
    assert paths and not any(p.startswith("venv/") for p in paths)
    assert {"path": "venv/site-packages/secretguard/patterns",
            "reason": "secretguard's own rules, whose examples are fake secrets"} in document["summary"]["skipped"]

    _, document = scan_json(own, "--config", str(planted / ".secretguard.yaml"))  # named on its own, it is scanned
    assert {o["path"] for f in document["findings"] for o in f["locations"]} == {"tokens.yaml"}
