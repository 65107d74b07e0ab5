"""`scan git` and the git source on real repositories built with the git CLI.

Secrets are the stable test rules' tokens (tests/data/mini_rules.yaml), loaded beside the built-in rules.
"""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pygit2
import pytest

from secretguard.config import RuleSelection
from secretguard.findings import Hit, Origin
from secretguard.pipeline import scan_hits
from secretguard.sources import git as git_source
from secretguard.sources.git import GitSource, History, _starts, delta_order, object_layout
from tests.helpers import MINI_RULES, run_cli

MINI = RuleSelection(extra_files=(MINI_RULES,))
ALNUM = string.ascii_letters + string.digits


# --- building repositories ----------------------------------------------------------------------------

def git(cwd: Path, *args: str, env: dict[str, str] | None = None, check: bool = True,
        input: str | None = None) -> str:
    """Run git in ``cwd`` (never signing) and return its stripped standard output."""
    done = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args], cwd=cwd,
                          capture_output=True, text=True, input=input, check=False,
                          env={**os.environ, **(env or {})})
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    return path


def write(repo: Path, files: dict[str, str | bytes | None]) -> None:
    """Write text or bytes to each path (None deletes it)."""
    for rel, content in files.items():
        path = repo / rel
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def commit(repo: Path, files: dict[str, str | bytes | None] | None = None, message: str = "change",
           day: int = 1) -> str:
    """Write ``files``, stage everything and commit (authored on 2024-01-DAY, hooks skipped); return its hex id."""
    write(repo, files or {})
    git(repo, "add", "-A")
    date = f"2024-01-{day:02d}T12:00:00+02:00"
    git(repo, "commit", "-q", "--no-verify", "--allow-empty", "-m", message,
        env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
    return git(repo, "rev-parse", "HEAD")


def token(seed: int) -> str:
    """A test-token secret, the same for the same seed."""
    rng = random.Random(seed)
    return "tok_" + "".join(rng.choice(ALNUM) for _ in range(24))


@dataclass
class GitScanResult:
    """The placed hits of a history scan, with what the source scanned and skipped."""

    hits: list[Hit]
    scanned_blobs: list[str]
    scanned_bytes: int
    skipped: list[tuple[str, str]]
    unreachable_commits: frozenset[str]
    history_gap: str | None


def scan(repo: Path, jobs: int = 2, **options: object) -> GitScanResult:
    source = GitSource(str(repo), **options)  # type: ignore[arg-type]
    raw = scan_hits(source, MINI, jobs)
    return GitScanResult(raw.hits, source.scanned_blobs, raw.summary.scanned_bytes, list(raw.summary.skipped),
                         source.unreachable_commits, source.history_gap)


def where(result: GitScanResult, secret: str) -> list[Origin]:
    """Every location of ``secret`` (test-token rule), sorted."""
    return sorted((h.origin for h in result.hits if h.secret == secret and h.rule == "test-token"),
                  key=Origin.sort_key)


# --- where a secret is reported ---------------------------------------------------------------------

def test_secret_added_then_deleted_is_reported_where_it_was_introduced(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    secret = token(1)
    commit(repo, {"README.md": "hello\n"}, day=1)
    commit(repo, {"app/settings.ini": "[main]\nname = demo\n"}, day=2)
    introduced = commit(repo, {"app/settings.ini": f"[main]\nname = demo\nkey: {secret}\n"}, day=3)
    commit(repo, {"app/settings.ini": "[main]\nname = demo\n"}, day=4)

    [origin] = where(scan(repo), secret)

    assert origin == Origin(source="git", repo=str(repo), path="app/settings.ini", line=3, column=6,
                            commit=introduced, author="Test Author <author@example.test>",
                            date="2024-01-03T12:00:00+02:00")


def test_cli_reports_git_locations_redacted_with_exit_1(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    secret = token(2)
    sha = commit(repo, {"a.txt": f"key: {secret}\n"})
    commit(repo, {"a.txt": None})
    config = tmp_path / "cfg.yaml"
    config.write_text(f"rules: {{extra: ['{MINI_RULES}']}}\n")

    run = run_cli("scan", "git", repo, "--config", config, "--format", "json", "--no-progress")

    assert run.code == 1, run.err
    assert secret not in run.out
    [finding] = [f for f in json.loads(run.out)["findings"] if f["rule"] == "test-token"]
    assert finding["locations"] == [{"source": "git", "repo": str(repo), "path": "a.txt", "line": 1, "column": 6,
                                     "commit": sha, "author": "Test Author <author@example.test>",
                                     "date": "2024-01-01T12:00:00+02:00"}]


def test_secret_on_an_unmerged_branch_and_branch_filter(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    secret = token(3)
    commit(repo, {"a.txt": "base\n"})
    git(repo, "checkout", "-q", "-b", "feature")
    sha = commit(repo, {"b.txt": f"key: {secret}\n"})
    git(repo, "checkout", "-q", "main")
    commit(repo, {"a.txt": "base, moved on\n"})

    assert [o.commit for o in where(scan(repo), secret)] == [sha]
    assert where(scan(repo, refs=["main"]), secret) == []
    assert [o.commit for o in where(scan(repo, refs=["feature"]), secret)] == [sha]


def test_secret_reachable_only_from_tags(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    in_lightweight, in_annotated, in_blob_tag = token(4), token(5), token(6)
    base = commit(repo, {"a.txt": "base\n"})
    light = commit(repo, {"b.txt": f"key: {in_lightweight}\n"})
    git(repo, "tag", "v1")
    git(repo, "reset", "-q", "--hard", base)
    annotated = commit(repo, {"c.txt": f"key: {in_annotated}\n"})
    git(repo, "tag", "-a", "v2", "-m", "release")
    git(repo, "reset", "-q", "--hard", base)
    blob = git(repo, "hash-object", "-w", "--stdin", input=f"key: {in_blob_tag}\n")
    git(repo, "tag", "keyfile", blob)

    result = scan(repo)

    assert [(o.path, o.commit) for o in where(result, in_lightweight)] == [("b.txt", light)]
    assert [(o.path, o.commit) for o in where(result, in_annotated)] == [("c.txt", annotated)]
    assert [(o.path, o.commit) for o in where(result, in_blob_tag)] == [(blob, None)]  # no commit holds it


def test_renamed_file_keeps_the_introducing_path(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    old, new = token(7), token(8)
    first = commit(repo, {"old/name.cfg": f"key: {old}\n"})
    git(repo, "mv", "old/name.cfg", "new.cfg")
    commit(repo)  # a pure rename adds no content, so no location
    added = commit(repo, {"new.cfg": f"key: {old}\nother: {new}\n"})

    result = scan(repo)

    # The edited file is a new blob that still holds the old secret, which its parent already had there.
    assert [(o.path, o.commit, o.line) for o in where(result, old)] == [("old/name.cfg", first, 1)]
    assert [(o.path, o.commit, o.line) for o in where(result, new)] == [("new.cfg", added, 2)]


def test_merge_commits(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    from_branch, in_merge = token(9), token(10)
    commit(repo, {"a.txt": "one\n"})
    git(repo, "checkout", "-q", "-b", "topic")
    on_topic = commit(repo, {"t.txt": f"key: {from_branch}\n"})
    git(repo, "checkout", "-q", "main")
    commit(repo, {"a.txt": "one\ntwo\n"})
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "topic")
    write(repo, {"merged.txt": f"key: {in_merge}\n"})  # an "evil" merge: content no parent has
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "merge topic")
    merge = git(repo, "rev-parse", "HEAD")

    result = scan(repo)

    assert [o.commit for o in where(result, from_branch)] == [on_topic]
    assert [o.commit for o in where(result, in_merge)] == [merge]


def test_secrets_in_stashes_even_older_entries(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    older, newer = token(11), token(12)
    commit(repo, {"a.txt": "clean\n"})
    write(repo, {"a.txt": f"key: {older}\n"})
    git(repo, "stash", "-q")
    write(repo, {"a.txt": f"key: {newer}\n"})
    git(repo, "stash", "-q")

    result = scan(repo)

    assert [o.path for o in where(result, older)] == ["a.txt"]
    assert [o.path for o in where(result, newer)] == ["a.txt"]


def test_dangling_commits_and_dropped_stashes_need_all_objects(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    in_dangling, in_dropped = token(13), token(14)
    commit(repo, {"a.txt": "clean\n"})
    blob = git(repo, "hash-object", "-w", "--stdin", input=f"key: {in_dangling}\n")
    tree = git(repo, "mktree", input=f"100644 blob {blob}\tlost.txt\n")
    dangling = git(repo, "commit-tree", tree, "-m", "never on a branch")
    write(repo, {"a.txt": f"key: {in_dropped}\n"})
    git(repo, "stash", "-q")
    git(repo, "stash", "drop", "-q")

    assert where(scan(repo), in_dangling) == []
    assert where(scan(repo), in_dropped) == []
    result = scan(repo, all_objects=True)
    assert [(o.path, o.commit) for o in where(result, in_dangling)] == [("lost.txt", dangling)]
    assert [o.path for o in where(result, in_dropped)] == ["a.txt"]


def test_dangling_blob_is_reported_by_its_id_with_all_objects(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    secret = token(15)
    commit(repo, {"a.txt": "clean\n"})
    blob = git(repo, "hash-object", "-w", "--stdin", input=f"key: {secret}\n")

    assert [(o.path, o.commit) for o in where(scan(repo, all_objects=True), secret)] == [(blob, None)]


def test_notes_are_scanned(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    secret = token(16)
    commit(repo, {"a.txt": "clean\n"})
    git(repo, "notes", "add", "-m", f"deploy key: {secret}")

    assert len(where(scan(repo), secret)) == 1


def test_same_secret_in_five_files_is_one_finding_with_five_locations(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    secret, copied = token(17), token(18)
    commit(repo, {f"svc{i}/env": f"service {i}\nkey: {secret}\n" for i in range(5)})
    commit(repo, {f"copy{i}.txt": f"key: {copied}\n" for i in range(5)})  # five paths, one blob
    config = tmp_path / "cfg.yaml"
    config.write_text(f"rules: {{extra: ['{MINI_RULES}']}}\n")

    run = run_cli("scan", "git", repo, "--config", config, "--format", "json", "--no-progress")

    findings = {f["secret_hash"]: f for f in json.loads(run.out)["findings"] if f["rule"] == "test-token"}
    assert len(findings) == 2
    paths = sorted(loc["path"] for f in findings.values() for loc in f["locations"])
    assert paths == sorted([f"svc{i}/env" for i in range(5)] + [f"copy{i}.txt" for i in range(5)])
    assert all(len(f["locations"]) == 5 for f in findings.values())


# --- what is read, and how much ---------------------------------------------------------------------

def test_each_reachable_blob_is_scanned_exactly_once(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    for n in range(12):
        commit(repo, {f"d{n % 3}/f{n % 4}.txt": f"version {n}\n", "same.txt": "unchanged\n"}, day=n + 1)
        if n == 5:
            git(repo, "checkout", "-q", "-b", "side")
        if n == 8:
            git(repo, "checkout", "-q", "main")
    listed = git(repo, "rev-list", "--objects", "--all", "--filter=object:type=blob", "--filter-provided-objects")
    expected = {line.split()[0] for line in listed.splitlines()}

    result = scan(repo)

    assert len(result.scanned_blobs) == len(set(result.scanned_blobs))
    assert set(result.scanned_blobs) == expected
    assert result.scanned_bytes == sum(int(git(repo, "cat-file", "-s", oid)) for oid in expected)


def _introductions(repo: Path) -> tuple[dict[object, object], dict[object, list[str]]]:
    """Each blob's introducing commit and path, and the introducing commit's further paths, as the walk finds them."""
    repository = pygit2.Repository(str(repo))
    commits, trees, blobs = _starts(repository, (), False)
    history = History(repository, commits, trees=trees, blobs=blobs)
    list(history.blobs())
    return history.introduced, dict(history.more_paths)


def test_git_log_and_the_tree_walk_introduce_every_blob_at_the_same_commit_and_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"a.txt": "one\n", "dir/b.txt": "two\n", "caf\u00e9 \"x\".txt": "three\n"}, day=1)
    commit(repo, {"copy/a.txt": "one\n", "twice/1.txt": "new\n", "twice/2.txt": "new\n"}, day=2)
    git(repo, "mv", "dir/b.txt", "moved.txt")
    commit(repo, {}, day=3)
    (repo / "link").symlink_to("a.txt")
    commit(repo, {"gone.txt": "soon deleted\n"}, day=4)
    commit(repo, {"gone.txt": None}, day=5)
    git(repo, "checkout", "-q", "-b", "side", "HEAD~2")
    commit(repo, {"side.txt": "side\n", "a.txt": "changed on side\n"}, day=6)
    git(repo, "checkout", "-q", "main")
    commit(repo, {"main.txt": "main\n"}, day=7)
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "side")
    commit(repo, {"main.txt": "resolved in the merge only\n"}, message="merge", day=8)
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{git(repo, 'rev-parse', 'HEAD')},sub")
    git(repo, "commit", "-q", "--no-verify", "-m", "a submodule entry: a commit, not a blob")
    tagged_blob = git(repo, "hash-object", "-w", "--stdin", input="only a tag holds this\n")
    git(repo, "tag", "lonely", tagged_blob)

    logged = _introductions(repo)
    monkeypatch.setattr(git_source, "logged_changes", lambda git_dir, commits: None)
    walked = _introductions(repo)

    assert logged == walked
    introduced = {str(oid): path for oid, (_, path) in logged[0].items()}
    resolved = git(repo, "rev-parse", "HEAD~1:main.txt")
    assert introduced[resolved] == "main.txt" and introduced[tagged_blob] == tagged_blob
    assert "caf\u00e9 \"x\".txt" in introduced.values() and "link" in introduced.values()
    assert "sub" not in introduced.values() and git(repo, "ls-tree", "HEAD", "sub")
    assert sorted(p for paths in logged[1].values() for p in paths) == ["twice/2.txt"]


def _delta_packed_items(tmp_path: Path) -> tuple[Path, list[tuple[str, str, int]], dict[str, str]]:
    """A history of one growing file, packed with deep deltas; its blobs as scan items, and each blob's delta base."""
    repo = init_repo(tmp_path / "repo")
    lines: list[str] = []
    for n in range(30):
        lines.append(f"line {n}: {'x' * 40}\n")
        commit(repo, {"grows.txt": "".join(lines)}, day=n + 1)
    git(repo, "repack", "-q", "-a", "-d", "-f", "--depth=50", "--window=50")
    listed = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype) %(deltabase)")
    bases = {oid: base for oid, kind, base in (line.split() for line in listed.splitlines()) if kind == "blob"}
    items = [(oid, "grows.txt", 1) for oid in sorted(bases)]
    return repo, items, bases


def test_blobs_are_read_after_the_blob_they_are_a_delta_of(tmp_path: Path) -> None:
    repo, items, bases = _delta_packed_items(tmp_path)
    assert sum(base in bases for base in bases.values()) >= 20  # deltas against other blobs of the list

    layout = object_layout(str(repo / ".git"), [oid for oid, _, _ in items])
    assert layout is not None and {oid: base for oid, (_, base) in layout.items()} == bases

    ordered = delta_order(items, {oid: base for oid, (_, base) in layout.items()})

    assert sorted(ordered) == items
    position = {oid: i for i, (oid, _, _) in enumerate(ordered)}
    assert all(position[base] < position[oid] for oid, base in bases.items() if base in position)
    assert ordered != items  # the OID order put some deltas first


def test_without_git_blobs_keep_the_order_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, items, _ = _delta_packed_items(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))

    assert object_layout(str(repo / ".git"), [oid for oid, _, _ in items]) is None
    assert delta_order(items, {}) == items


def test_skip_blobs_and_max_blob_size(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    secret = token(19)
    commit(repo, {"small.txt": f"key: {secret}\n", "big.txt": "x" * 5000 + "\n"})
    every = scan(repo).scanned_blobs

    assert where(scan(repo, skip_blobs=lambda oid: True), secret) == []
    assert scan(repo, skip_blobs=lambda oid: True).scanned_blobs == []
    limited = scan(repo, max_blob_size=1000)
    big = git(repo, "rev-parse", "HEAD:big.txt")
    assert limited.skipped == [(big, "larger than 1000 bytes, at big.txt")]
    assert sorted(limited.scanned_blobs + [big]) == sorted(every)


def test_binary_blobs_are_scanned_through_their_printable_text(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    secret = token(20)
    commit(repo, {"image.bin": b"\x89PNG\x00\x01\x02" + f"key: {secret}\n".encode()})

    result = scan(repo)
    assert [(o.path, o.line, o.column) for o in where(result, secret)] == [("image.bin", 1, 13)]
    assert len(result.scanned_blobs) == 1


def test_five_megabyte_single_line_blob(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    secret = token(21)
    filler = "a1b2c3d4e5 " * (5 * 1024 * 1024 // 11)
    commit(repo, {"minified.js": f"{filler}key: {secret}"})

    [origin] = where(scan(repo), secret)
    assert (origin.line, origin.column) == (1, len(filler) + 6)


def test_non_utf8_content_and_file_names(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    secret = token(22)
    name = b"caf\xe9.txt"
    (repo / os.fsdecode(name)).write_bytes(b"r\xe9sum\xe9\nkey: " + secret.encode() + b" \xff\xfe\n")
    commit(repo)

    [origin] = where(scan(repo), secret)
    assert (origin.path, origin.line, origin.column) == ("caf\\xe9.txt", 2, 6)


def test_a_secret_kept_through_later_edits_has_one_location(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    secret = token(26)
    first = commit(repo, {"a.txt": f"key: {secret}\n"}, day=1)
    for day in range(2, 6):
        commit(repo, {"a.txt": f"key: {secret}\n" + "edit\n" * day}, day=day)

    assert [o.commit for o in where(scan(repo), secret)] == [first]


def test_since_leaves_out_what_came_before(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    before, after = token(23), token(24)
    commit(repo, {"a.txt": f"key: {before}\n"})
    mark = commit(repo, {"b.txt": "b\n"})
    later = commit(repo, {"a.txt": f"key: {before}\nkey: {after}\n"})

    result = scan(repo, exclude=[mark])

    assert where(result, before) == []  # still in the file, but added before REV
    assert [(o.commit, o.line) for o in where(result, after)] == [(later, 2)]


def test_pairs_are_found_in_history(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"creds": "id = TKIDQ3RZ7W2LMNPX4KTY\nsecret = b7Hq2+Kd9/Lm3Pz8Wx1Vt6Yc4Rn0Js5Ga9Ef2Ui7\n"})

    [hit] = [h for h in scan(repo, jobs=1).hits if h.rule == "test-key-id"]
    assert hit.pair is not None and hit.pair.secret == "b7Hq2+Kd9/Lm3Pz8Wx1Vt6Yc4Rn0Js5Ga9Ef2Ui7"


# --- kinds of repositories, and errors --------------------------------------------------------------

@pytest.mark.parametrize("kind", ["--bare", "--mirror"])
def test_bare_and_mirror_clones(tmp_path: Path, kind: str) -> None:
    repo = init_repo(tmp_path / "repo")
    secret = token(25)
    sha = commit(repo, {"a.txt": f"key: {secret}\n"})
    commit(repo, {"a.txt": None})
    clone = tmp_path / "clone.git"
    git(tmp_path, "clone", "-q", kind, str(repo), str(clone))

    assert [(o.path, o.commit) for o in where(scan(clone), secret)] == [("a.txt", sha)]


def test_empty_repository_is_clean(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")

    run = run_cli("scan", "git", repo, "--no-progress")

    assert run.code == 0, run.err
    assert scan(repo).scanned_blobs == []


def test_missing_path_not_a_repository_and_corrupt_repository_exit_2(tmp_path: Path) -> None:
    missing = run_cli("scan", "git", tmp_path / "nope")
    (tmp_path / "plain").mkdir()
    plain = run_cli("scan", "git", tmp_path / "plain")
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"a.txt": "hello\n"})
    unknown = run_cli("scan", "git", repo, "--since", "v9.9")
    blob = git(repo, "rev-parse", "HEAD:a.txt")
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    corrupt = run_cli("scan", "git", repo, "--no-progress")

    for run, message in ((missing, "no such file or directory"), (plain, "not a git repository"),
                         (unknown, f"{repo}: unknown revision 'v9.9'"), (corrupt, f"object {blob} is missing")):
        assert run.code == 2
        assert run.err.startswith("error: ") and message in run.err, run.err
        assert len(run.err.strip().splitlines()) == 1


# --- corrupt and partial repositories ------------------------------------------------------------------

def truncate_pack(repo: Path) -> None:
    """Pack everything (refs too) and cut the pack in half, as a disk or a copy cut short would."""
    git(repo, "gc", "-q")
    [pack] = (repo / ".git" / "objects" / "pack").glob("*.pack")
    pack.chmod(0o644)
    with open(pack, "r+b") as handle:
        handle.truncate(pack.stat().st_size // 2)


def test_a_truncated_pack_is_an_error_naming_the_repository_and_the_ref(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    for day in range(1, 4):
        commit(repo, {f"f{day}.txt": "".join(f"line {day} {n}\n" for n in range(2000))}, day=day)
    head = git(repo, "rev-parse", "HEAD")
    truncate_pack(repo)
    assert subprocess.run(["git", "fsck"], cwd=repo, capture_output=True).returncode != 0

    run = run_cli("scan", "git", repo, "--no-progress")

    assert run.code == 2, run.out
    assert run.err == f"error: {repo}: ref refs/heads/main points at missing object {head} " \
                      f"(corrupt repository; git fsck tells more)\n"


def test_a_ref_that_does_not_parse_is_an_error(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"a.txt": "hello\n"})
    (repo / ".git" / "refs" / "heads" / "broken").write_text("not an object id\n")

    run = run_cli("scan", "git", repo, "--no-progress")

    assert run.code == 2
    assert run.err == f"error: {repo}: ref refs/heads/broken is corrupt (git fsck tells more)\n"


def test_a_shallow_clone_is_scanned_with_a_warning_and_marked_incomplete(tmp_path: Path) -> None:
    origin = init_repo(tmp_path / "origin")
    old, new = token(41), token(42)
    commit(origin, {"old.txt": f"key: {old}\n"}, day=1)
    commit(origin, {"old.txt": None, "new.txt": f"key: {new}\n"}, day=2)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", origin.as_uri(), str(clone))
    config = tmp_path / "cfg.yaml"
    config.write_text(f"rules: {{extra: ['{MINI_RULES}']}}\n")

    run = run_cli("scan", "git", clone, "--config", config, "--format", "json", "--no-progress")
    whole = run_cli("scan", "git", origin, "--config", config, "--format", "json", "--no-progress")

    assert run.code == 1, run.err
    assert run.err == f"warning: {clone}: history incomplete: shallow clone: the commits before its shallow " \
                      f"boundary are not in it\n"
    document = json.loads(run.out)
    assert document["summary"]["history_complete"] is False
    assert [f["locations"][0]["path"] for f in document["findings"] if f["rule"] == "test-token"] == ["new.txt"]
    assert json.loads(whole.out)["summary"]["history_complete"] is True
    assert whole.err == ""


def test_a_partial_clone_names_the_blobs_it_lacks(tmp_path: Path) -> None:
    origin = init_repo(tmp_path / "origin")
    git(origin, "config", "uploadpack.allowFilter", "true")
    old, new = token(43), token(44)
    first = commit(origin, {"old.txt": f"key: {old}\n"}, day=1)
    commit(origin, {"old.txt": None, "new.txt": f"key: {new}\n"}, day=2)
    missing = git(origin, "rev-parse", f"{first}:old.txt")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--filter=blob:none", origin.as_uri(), str(clone))

    result = scan(clone, jobs=1)
    run = run_cli("scan", "git", clone, "--format", "json", "--no-progress", "--quiet", "--output",
                  tmp_path / "out.json")

    assert result.history_gap is not None and result.history_gap.startswith("partial clone")
    assert result.skipped == [(missing, "not in this partial clone, at old.txt")]
    assert [o.path for o in where(result, new)] == ["new.txt"]
    assert run.err == ""  # --quiet
    summary = json.loads((tmp_path / "out.json").read_text())["summary"]
    assert summary["history_complete"] is False
    assert summary["skipped"] == [{"path": missing, "reason": "not in this partial clone, at old.txt"}]
