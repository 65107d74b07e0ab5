"""`baseline create|update` (of a directory, a git history or the staged change) and `--baseline` on scans."""

from __future__ import annotations

import json
from pathlib import Path

from secretguard.baseline import read_baseline
from tests.helpers import MINI_RULES, report_hash, run_cli
from tests.test_git_history import commit, git, init_repo, token, write

CONFIG_TEXT = f"rules: {{extra: ['{MINI_RULES}']}}\n"


def reported(run_out: str) -> set[str]:
    """The secret hashes of the test-token findings in a json report."""
    return {f["secret_hash"] for f in json.loads(run_out)["findings"] if f["rule"] == "test-token"}


def sha(secret: str) -> str:
    return report_hash(secret)


def accepted(baseline: Path, secret: str) -> bool:
    """Whether the baseline file accepts the test-token finding of ``secret``."""
    return read_baseline(baseline).accepts("test-token", secret)


def test_baseline_file_is_sorted_without_lines_or_timestamps_and_stable_under_edits(tree, tmp_path: Path) -> None:
    secrets = [token(n) for n in range(201, 205)]
    root = tree({".secretguard.yaml": CONFIG_TEXT,
                 **{f"f{i}.txt": f"key: {s}\n" for i, s in enumerate(secrets)}})
    out = tmp_path / "baseline.json"

    assert run_cli("baseline", "create", root, "--output", out).code == 0
    first = out.read_text()
    document = json.loads(first)
    assert document["version"] == 2 and set(document["hash"]) == {"kdf", "salt", "n", "r", "p"}
    fingerprints = [e["fingerprint"] for e in document["findings"]]
    assert fingerprints == sorted(fingerprints) and len(fingerprints) == 4
    assert all(set(e) == {"fingerprint", "rule", "paths"} for e in document["findings"])
    assert not any(s in first for s in secrets)

    write(root, {"f0.txt": "new first line\nanother\n" + f"key: {secrets[0]}\n"})  # the secret moves down
    assert run_cli("baseline", "update", root, "--output", out).code == 0
    assert run_cli("baseline", "create", root, "--output", out).code == 0
    assert out.read_text() == first


def test_scan_dir_with_baseline_reports_only_new_secrets(tree, tmp_path: Path) -> None:
    old, new = token(205), token(206)
    root = tree({".secretguard.yaml": CONFIG_TEXT, "a.txt": f"key: {old}\n"})
    out = tmp_path / "baseline.json"
    run_cli("baseline", "create", root, "--output", out)

    assert run_cli("scan", "dir", root, "--baseline", out, "--no-progress").code == 0
    write(root, {"b.txt": f"key: {new}\n"})
    run = run_cli("scan", "dir", root, "--baseline", out, "--format", "json", "--no-progress")
    assert run.code == 1
    assert reported(run.out) == {sha(new)}


def test_update_keeps_earlier_entries(tree, tmp_path: Path) -> None:
    first, second = token(207), token(208)
    root = tree({".secretguard.yaml": CONFIG_TEXT, "a.txt": f"key: {first}\n"})
    out = tmp_path / "baseline.json"
    run_cli("baseline", "create", root, "--output", out)
    write(root, {"a.txt": f"key: {second}\n"})  # the first secret is gone from the tree

    assert run_cli("baseline", "update", root, "--output", out).code == 0
    assert accepted(out, first) and accepted(out, second)
    assert run_cli("baseline", "create", root, "--output", out).code == 0  # create starts over
    assert not accepted(out, first) and accepted(out, second)


def test_baseline_of_a_git_history(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    old, new = token(209), token(210)
    commit(repo, {".secretguard.yaml": CONFIG_TEXT, "a.txt": f"key: {old}\n"})
    commit(repo, {"a.txt": None})

    created = run_cli("baseline", "create", "--git", repo)
    assert created.code == 0, created.err
    baseline = repo / ".secretguard-baseline.json"  # at the top of the work tree, where the hooks read it
    assert run_cli("scan", "git", repo, "--baseline", baseline, "--no-progress").code == 0

    commit(repo, {"b.txt": f"key: {new}\n"})
    run = run_cli("scan", "git", repo, "--baseline", baseline, "--format", "json", "--no-progress")
    assert run.code == 1
    assert reported(run.out) == {sha(new)}


def test_baseline_of_the_staged_change_and_scan_staged(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    commit(repo, {".secretguard.yaml": CONFIG_TEXT})
    accepted, other = token(211), token(212)
    write(repo, {"a.txt": f"key: {accepted}\n"})
    git(repo, "add", "-A")
    elsewhere = tmp_path / "elsewhere.json"

    assert run_cli("baseline", "create", "--staged", repo, "--output", elsewhere).code == 0
    assert run_cli("scan", "staged", repo).code == 1  # no baseline at the top of the work tree yet
    assert run_cli("scan", "staged", repo, "--baseline", elsewhere).code == 0

    assert run_cli("baseline", "create", "--staged", repo).code == 0
    assert run_cli("scan", "staged", repo).code == 0  # found by default at the top of the work tree
    write(repo, {"b.txt": f"key: {other}\n"})
    git(repo, "add", "-A")
    run = run_cli("scan", "staged", repo, "--format", "json")
    assert run.code == 1
    assert reported(run.out) == {sha(other)}


def test_bad_baseline_and_bad_options_are_one_line_errors(tree, tmp_path: Path) -> None:
    root = tree({"a.txt": "hello\n"})
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")

    runs = ((run_cli("scan", "dir", root, "--baseline", broken), "baseline is not valid JSON"),
            (run_cli("scan", "git", root, "--baseline", tmp_path / "none.json"), "cannot read baseline"),
            (run_cli("baseline", "create", "--git", "--staged", root), "choose one of --git and --staged"))
    for run, message in runs:
        assert run.code == 2
        assert run.err.startswith("error: ") and message in run.err, run.err
        assert len(run.err.strip().splitlines()) == 1
