"""`scan staged`, the hooks run by a real `git commit` / `git push`, and `hook install`."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from secretguard.config import Config, RuleSelection
from secretguard.findings import redact
from secretguard.pipeline import ScanResult, scan
from secretguard.sources.staged import StagedSource, open_staged
from tests.helpers import MINI_RULES, run_cli
from tests.test_git_history import commit, git, init_repo, token, write

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Config(rules=RuleSelection(extra_files=(MINI_RULES,)))


def scan_staged(top: Path, config: Config, paths: list[str] | None = None) -> ScanResult:
    return scan(StagedSource(top, config.max_file_size, paths), config, quick_start=True)


def staged(repo: Path) -> list[tuple[str, str, int]]:
    """(secret, path, line) of each test-token location in the staged change."""
    result = scan_staged(open_staged(repo), CONFIG)
    return sorted((f.secret, o.path or "", o.line or 0) for f in result.findings for o in f.locations
                  if f.rule == "test-token")


def project(tmp_path: Path) -> Path:
    """A repository with one commit whose config loads the test rules (as a team's config would)."""
    repo = init_repo(tmp_path / "project")
    commit(repo, {".secretguard.yaml": f"rules: {{extra: ['{MINI_RULES}']}}\n", "README.md": "hello\n"})
    return repo


def try_commit(repo: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "commit", "-q", "-m", "work", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False)


# --- the staged change ------------------------------------------------------------------------------

def test_only_lines_the_index_adds_are_reported(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    committed, added, new_file, unstaged = token(101), token(102), token(103), token(104)
    commit(repo, {"a.txt": f"one\nkey: {committed}\nthree\n"})
    write(repo, {"a.txt": f"one\nkey: {committed}\nkey: {added}\nthree\n", "b/new.txt": f"x\nkey: {new_file}\n"})
    git(repo, "add", "-A")
    write(repo, {"a.txt": f"one\nkey: {committed}\nkey: {added}\nthree\nkey: {unstaged}\n"})  # not staged

    assert staged(repo) == sorted([(added, "a.txt", 3), (new_file, "b/new.txt", 2)])


def test_staged_rename_adds_nothing_but_edits_in_it_count(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    old, new = token(105), token(106)
    commit(repo, {"conf/old.cfg": f"a\nb\nkey: {old}\nc\nd\ne\n"})
    git(repo, "mv", "conf/old.cfg", "renamed.cfg")
    assert staged(repo) == []

    write(repo, {"renamed.cfg": f"a\nb\nkey: {old}\nc\nkey: {new}\nd\ne\n"})
    git(repo, "add", "-A")
    assert staged(repo) == [(new, "renamed.cfg", 5)]


def test_repository_without_commits(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    secret = token(107)
    write(repo, {"first.txt": f"hello\nkey: {secret}\n"})
    git(repo, "add", "-A")

    assert staged(repo) == [(secret, "first.txt", 2)]


def test_deleted_files_are_not_reported_and_binary_ones_are(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    secret = token(108)
    commit(repo, {"gone.txt": f"key: {secret}\n"})
    git(repo, "rm", "-q", "gone.txt")
    write(repo, {"blob.bin": b"\x00\x01" + f"key: {secret}\n".encode()})
    git(repo, "add", "-A")

    assert staged(repo) == [(secret, "blob.bin", 1)]


def test_a_secret_added_next_to_its_committed_key_id_is_reported_as_a_pair(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"creds": "id = TKIDQ3RZ7W2LMNPX4KTY\n"})
    write(repo, {"creds": "id = TKIDQ3RZ7W2LMNPX4KTY\nsecret = b7Hq2+Kd9/Lm3Pz8Wx1Vt6Yc4Rn0Js5Ga9Ef2Ui7\n"})
    git(repo, "add", "-A")

    [finding] = scan_staged(open_staged(repo), CONFIG).findings
    assert finding.rule == "test-key-id"
    assert finding.pair is not None and finding.pair.secret == "b7Hq2+Kd9/Lm3Pz8Wx1Vt6Yc4Rn0Js5Ga9Ef2Ui7"


def test_scan_staged_command(tmp_path: Path) -> None:
    repo = project(tmp_path)
    secret = token(109)
    write(repo, {"app.env": f"key: {secret}\n"})
    git(repo, "add", "-A")

    run = run_cli("scan", "staged", repo, "--format", "json")

    assert run.code == 1, run.err
    assert secret not in run.out
    [finding] = json.loads(run.out)["findings"]
    assert finding["locations"] == [{"source": "staged", "repo": str(repo), "path": "app.env", "line": 1,
                                     "column": 6}]
    git(repo, "reset", "-q")
    assert run_cli("scan", "staged", repo).code == 0


def test_scan_staged_outside_a_repository_is_an_error(tmp_path: Path) -> None:
    run = run_cli("scan", "staged", tmp_path)

    assert run.code == 2
    assert run.err.strip() == f"error: {tmp_path}: not a git repository"


# --- the pre-commit hook, run by git ----------------------------------------------------------------

@pytest.fixture
def hooked(tmp_path: Path) -> Path:
    repo = project(tmp_path)
    installed = run_cli("hook", "install", repo)
    assert installed.code == 0, installed.err
    return repo


def test_commit_with_a_secret_is_blocked_with_advice(hooked: Path) -> None:
    secret = token(110)
    head = git(hooked, "rev-parse", "HEAD")
    write(hooked, {"deploy/app.env": f"name=demo\nkey: {secret}\n"})
    git(hooked, "add", "-A")

    done = try_commit(hooked)

    assert done.returncode != 0
    assert git(hooked, "rev-parse", "HEAD") == head
    assert secret not in done.stderr and redact(secret) in done.stderr
    assert "commit blocked" in done.stderr
    assert "deploy/app.env:2:6" in done.stderr
    for advice in ("Remove the secret", "secretguard:allow", "secretguard baseline update --staged"):
        assert advice in done.stderr


def test_a_blocked_key_pair_shows_both_halves_redacted(hooked: Path) -> None:
    key_id, secret = "TKIDQ3RZ7W2LMNPX4KTY", "b7Hq2+Kd9/Lm3Pz8Wx1Vt6Yc4Rn0Js5Ga9Ef2Ui7"
    write(hooked, {"deploy/keys.txt": f"id = {key_id}\n{secret}\n"})
    git(hooked, "add", "-A")

    done = try_commit(hooked)

    assert done.returncode != 0
    assert f"{redact(key_id)} + {redact(secret)}" in done.stderr
    assert key_id not in done.stderr and secret not in done.stderr


def test_commit_without_a_secret_goes_through(hooked: Path) -> None:
    write(hooked, {"notes.txt": "nothing to see\n"})
    git(hooked, "add", "-A")

    done = try_commit(hooked)

    assert done.returncode == 0, done.stderr
    assert git(hooked, "log", "-1", "--format=%s") == "work"


def test_inline_allow_lets_the_commit_through(hooked: Path) -> None:
    write(hooked, {"tests/fixture.txt": f"key: {token(111)}  # secretguard:allow test fixture\n"})
    git(hooked, "add", "-A")

    assert try_commit(hooked).returncode == 0
    assert "tests/fixture.txt" in git(hooked, "ls-tree", "-r", "--name-only", "HEAD")  # the commit exists


def test_baselined_secret_lets_the_commit_through(hooked: Path) -> None:
    secret = token(112)
    write(hooked, {"legacy.cfg": f"key: {secret}\n"})
    git(hooked, "add", "-A")
    assert try_commit(hooked).returncode != 0

    recorded = run_cli("baseline", "update", "--staged", hooked)
    assert recorded.code == 0, recorded.err
    git(hooked, "add", "-A")

    done = try_commit(hooked)
    assert done.returncode == 0, done.stderr
    assert secret not in (hooked / ".secretguard-baseline.json").read_text()


def test_commit_all_checks_the_index_git_is_about_to_write(hooked: Path) -> None:
    commit(hooked, {"tracked.txt": "clean\n"})
    write(hooked, {"tracked.txt": f"clean\nkey: {token(113)}\n"})  # modified, not staged

    done = try_commit(hooked, "-a")  # git stages it into a temporary index (GIT_INDEX_FILE)

    assert done.returncode != 0
    assert "tracked.txt:2:6" in done.stderr


def test_the_plain_hook_script_finds_secretguard_on_path(tmp_path: Path) -> None:
    repo = project(tmp_path)
    hook = Path(git(repo, "rev-parse", "--git-path", "hooks/pre-commit"))
    hook = hook if hook.is_absolute() else repo / hook
    shutil.copy(ROOT / "hooks" / "pre-commit", hook)
    write(repo, {"a.txt": f"key: {token(114)}\n"})
    git(repo, "add", "-A")
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"

    done = try_commit(repo, env={"PATH": path})

    assert done.returncode == 1, done.stderr
    assert "commit blocked" in done.stderr


def test_hook_run_command_is_the_scripts_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = project(tmp_path)
    write(repo, {"a.txt": f"key: {token(119)}\n"})
    git(repo, "add", "-A")
    monkeypatch.chdir(repo)  # git runs hooks at the top of the work tree

    run = run_cli("hook", "run", "pre-commit")

    assert run.code == 1
    assert "commit blocked" in run.err and "a.txt:1:6" in run.err
    assert run_cli("hook", "run", "post-merge").code == 2


# --- hook install -----------------------------------------------------------------------------------

def test_install_refuses_to_clobber_a_foreign_hook_and_chains_on_request(tmp_path: Path) -> None:
    repo = project(tmp_path)
    hooks = repo / ".git" / "hooks"
    theirs = "#!/bin/sh\necho ran >> \"$(git rev-parse --git-dir)/theirs\"\n"
    (hooks / "pre-commit").write_text(theirs)
    (hooks / "pre-commit").chmod(0o755)

    refused = run_cli("hook", "install", repo)
    assert refused.code == 2
    assert "already installed" in refused.err and "--chain" in refused.err
    assert (hooks / "pre-commit").read_text() == theirs  # untouched

    assert run_cli("hook", "install", repo, "--chain").code == 0
    assert run_cli("hook", "install", repo, "--chain").code == 0  # again: it updates its own hook
    assert (hooks / "pre-commit.local").read_text().startswith("#!/bin/sh\necho ran")
    write(repo, {"a.txt": f"key: {token(115)}\n"})
    git(repo, "add", "-A")
    assert try_commit(repo).returncode == 1
    assert (repo / ".git" / "theirs").read_text() == "ran\n"


def test_install_into_something_that_is_not_a_repository(tmp_path: Path) -> None:
    run = run_cli("hook", "install", tmp_path)

    assert run.code == 2
    assert run.err.strip() == f"error: {tmp_path}: not a git repository"


# --- the pre-push hook, run by git push -------------------------------------------------------------

def test_pre_push_scans_only_the_commits_being_pushed(tmp_path: Path) -> None:
    repo = project(tmp_path)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    old_secret, new_secret = token(116), token(117)
    commit(repo, {"old.txt": f"key: {old_secret}\n"})
    git(repo, "push", "-q", "origin", "main")  # no hook yet: this secret is already on the remote
    assert run_cli("hook", "install", "--pre-push", repo).code == 0

    clean = commit(repo, {"notes.txt": "fine\n"})
    pushed = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo, capture_output=True, text=True)
    assert pushed.returncode == 0, pushed.stderr
    assert git(remote, "rev-parse", "main") == clean

    commit(repo, {"new.txt": f"key: {new_secret}\n"})
    commit(repo, {"more.txt": "after\n"})
    blocked = subprocess.run(["git", "push", "origin", "main"], cwd=repo, capture_output=True, text=True)
    assert blocked.returncode != 0
    assert "push blocked" in blocked.stderr and "new.txt:1:6" in blocked.stderr
    assert redact(old_secret) not in blocked.stderr and new_secret not in blocked.stderr
    assert git(remote, "rev-parse", "main") == clean

    git(repo, "checkout", "-q", "-b", "topic")
    branch = subprocess.run(["git", "push", "origin", "topic"], cwd=repo, capture_output=True, text=True)
    assert branch.returncode != 0 and "new.txt:1:6" in branch.stderr  # a new branch: all its unpushed commits


# --- the pre-commit framework -----------------------------------------------------------------------

def test_pre_commit_framework_manifest(tmp_path: Path) -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"secretguard", "secretguard-staged", "secretguard-pre-push"}
    assert all(h["language"] == "python" for h in hooks.values())
    assert {i: h["pass_filenames"] for i, h in hooks.items()} == {
        "secretguard": True, "secretguard-staged": False, "secretguard-pre-push": False}
    repo = project(tmp_path)
    base = git(repo, "rev-parse", "HEAD")
    write(repo, {"a.txt": f"key: {token(118)}\n"})
    git(repo, "add", "-A")

    def entry(hook_id: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        command = shlex.split(hooks[hook_id]["entry"])
        assert command[0] == "python"  # the framework's virtualenv python
        return subprocess.run([sys.executable, *command[1:]], cwd=repo, capture_output=True, text=True,
                              env={**os.environ, "PRE_COMMIT": "1", **env}, stdin=subprocess.DEVNULL)

    assert entry("secretguard", {}).returncode == 1
    head = commit(repo)
    framework_push = {"PRE_COMMIT_FROM_REF": base, "PRE_COMMIT_TO_REF": head, "PRE_COMMIT_REMOTE_NAME": "origin"}
    assert entry("secretguard-pre-push", framework_push).returncode == 1
    assert entry("secretguard-pre-push", {**framework_push, "PRE_COMMIT_FROM_REF": head}).returncode == 0


def framework(repo: Path, *hook_ids: str) -> None:
    """Configure the pre-commit framework in ``repo`` with these hooks of the manifest, run by this Python.

    ``repo: local`` with ``language: system`` keeps each hook's entry, file passing and stages as the
    manifest has them, without the framework building a virtualenv (which needs the network).
    """
    manifest = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    hooks = [{**{k: v for k, v in manifest[i].items() if k != "minimum_pre_commit_version"}, "language": "system",
              "entry": manifest[i]["entry"].replace("python", shlex.quote(sys.executable), 1)} for i in hook_ids]
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]}))
    git(repo, "add", ".pre-commit-config.yaml")
    git(repo, "commit", "-q", "--no-verify", "-m", "pre-commit config")


def run_framework(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=repo, capture_output=True, text=True,
                          check=False)


def test_framework_all_files_finds_a_key_committed_before(tmp_path: Path) -> None:
    repo = project(tmp_path)
    secret = token(120)
    commit(repo, {"deploy/old.env": f"name=demo\nkey: {secret}\n", "clean.txt": "nothing\n"})  # no hook ran
    framework(repo, "secretguard", "secretguard-staged")

    whole = run_framework(repo, "run", "secretguard", "--all-files")
    staged_only = run_framework(repo, "run", "secretguard-staged", "--all-files")

    assert whole.returncode == 1, whole.stdout
    assert "deploy/old.env:2:6" in whole.stdout and secret not in whole.stdout
    assert staged_only.returncode == 0, staged_only.stdout  # as documented: the staged change only


def test_framework_blocks_a_real_commit_of_a_file_with_a_key(tmp_path: Path) -> None:
    repo = project(tmp_path)
    framework(repo, "secretguard")
    installed = run_framework(repo, "install")
    assert installed.returncode == 0, installed.stderr
    head = git(repo, "rev-parse", "HEAD")
    write(repo, {"app.env": f"key: {token(121)}\n"})
    git(repo, "add", "app.env")

    blocked = try_commit(repo)
    write(repo, {"app.env": "key: from-the-vault\n"})
    git(repo, "add", "app.env")
    clean = try_commit(repo)

    assert blocked.returncode != 0
    assert "app.env:1:6" in blocked.stdout + blocked.stderr
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert git(repo, "rev-parse", "HEAD~1") == head


def test_named_files_are_scanned_whole_and_unreadable_ones_are_an_error(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from secretguard.errors import SourceError

    repo = project(tmp_path)
    old = token(122)
    commit(repo, {"a.txt": f"key: {old}\n", "big.txt": "x" * 100})
    (repo / "gone").symlink_to(repo / "nowhere")

    result = scan_staged(repo, Config(rules=RuleSelection(extra_files=(MINI_RULES,)), max_file_size=50),
                         paths=["a.txt", "big.txt", "gone"])

    assert [(f.secret, o.source, o.path, o.line) for f in result.findings for o in f.locations] == \
        [(old, "file", "a.txt", 1)]
    assert result.summary.skipped == (("big.txt", "larger than 50 bytes"),)

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(SourceError, match="^a.txt: cannot read: Permission denied$"):
        scan_staged(repo, CONFIG, paths=["a.txt"])


HEAVY_MODULES = ("yaml", "regex", "boto3", "botocore", "rich", "typer", "pygit2", "multiprocessing", "cryptography")


def test_a_clean_commit_imports_no_parser_client_or_terminal_library(tmp_path: Path) -> None:
    """Start-up is what every commit pays for: with nothing to report, the hook loads none of these."""
    repo = init_repo(tmp_path / "plain")
    commit(repo, {"README.md": "hello\n"})
    write(repo, {"app.py": "def handler(event):\n    return sorted(event)\n"})
    git(repo, "add", "-A")
    probe = ("import io, sys\nfrom secretguard.hook import pre_commit\nassert pre_commit(io.StringIO()) == 0\n"
             "assert pre_commit(io.StringIO(), ['app.py', 'README.md']) == 0\n"
             f"print(*[m for m in {HEAVY_MODULES!r} if m in sys.modules])")
    for _ in range(2):  # the first run also fills the parsed-rules cache
        done = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []
