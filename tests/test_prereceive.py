"""The server's pre-receive hook, run by real `git push` over the local file transport to a bare repository."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from secretguard.findings import redact
from secretguard.prereceive import RefUpdate, parse_ref_lines, push_options, pusher
from tests.helpers import MINI_RULES, report_key, run_cli
from tests.test_git_history import commit, git, init_repo, token


@pytest.fixture
def server_config(tmp_path: Path) -> Path:
    """The server's own configuration: it loads the test rules."""
    config = tmp_path / "server.yaml"
    config.write_text(f"rules: {{extra: ['{MINI_RULES}']}}\n")
    return config


def bare_server(tmp_path: Path, config: Path, *options: str) -> Path:
    server = tmp_path / "server.git"
    git(tmp_path, "init", "-q", "--bare", str(server))
    installed = run_cli("hook", "install", "--pre-receive", "--server-config", config, *options, server)
    assert installed.code == 0, installed.err
    return server


def client_of(tmp_path: Path, server: Path) -> Path:
    client = init_repo(tmp_path / "client")
    git(client, "remote", "add", "origin", str(server))
    return client


def push(client: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "push", "origin", *args], cwd=client, capture_output=True, text=True, check=False)


def server_ref(server: Path, ref: str) -> str:
    return git(server, "rev-parse", "--verify", "-q", ref, check=False)


@pytest.fixture
def setup(tmp_path: Path, server_config: Path) -> tuple[Path, Path]:
    server = bare_server(tmp_path, server_config)
    client = client_of(tmp_path, server)
    commit(client, {"README.md": "hello\n"})
    first = push(client, "main")
    assert first.returncode == 0, first.stderr
    return server, client


def test_a_push_that_adds_a_secret_is_refused_with_where_and_what_next(setup) -> None:
    server, client = setup
    before = server_ref(server, "main")
    secret = token(201)
    introduced = commit(client, {"deploy/app.env": f"name=demo\nkey: {secret}\n"})
    commit(client, {"notes.txt": "later\n"})

    refused = push(client, "main")

    assert refused.returncode != 0
    assert "remote: secretguard: push blocked: 1 secret found." in refused.stderr
    assert f"deploy/app.env:2:6 @{introduced[:10]}" in refused.stderr
    assert redact(secret) in refused.stderr and secret not in refused.stderr
    assert "git rebase -i" in refused.stderr and "secretguard.bypass" in refused.stderr
    assert server_ref(server, "main") == before


def test_a_clean_push_goes_through(setup) -> None:
    server, client = setup
    head = commit(client, {"src/app.py": "print('hi')\n"})
    done = push(client, "main")
    assert done.returncode == 0, done.stderr
    assert server_ref(server, "main") == head


def test_a_secret_already_on_the_server_never_blocks_a_push(tmp_path: Path, server_config: Path) -> None:
    server = tmp_path / "server.git"
    git(tmp_path, "init", "-q", "--bare", str(server))
    client = client_of(tmp_path, server)
    old = token(202)
    commit(client, {"old.cfg": f"key: {old}\n"})
    assert push(client, "main").returncode == 0  # before the hook was installed
    assert run_cli("hook", "install", "--pre-receive", "--server-config", server_config, server).code == 0

    git(client, "checkout", "-q", "-b", "topic")  # a new branch whose old commits hold the old secret
    commit(client, {"feature.txt": "more\n"})
    accepted = push(client, "topic")
    assert accepted.returncode == 0, accepted.stderr

    git(client, "checkout", "-q", "-b", "deep", "main")
    new = token(203)
    deep = commit(client, {"deep.cfg": f"key: {new}\n"})
    for n in range(3):
        commit(client, {f"later{n}.txt": f"{n}\n"})
    refused = push(client, "deep")
    assert refused.returncode != 0
    assert f"deep.cfg:1:6 @{deep[:10]}" in refused.stderr
    assert redact(old) not in refused.stderr
    assert server_ref(server, "refs/heads/deep") == ""


@pytest.mark.parametrize("annotated", [False, True])
def test_tags_are_scanned(setup, annotated: bool) -> None:
    server, client = setup
    git(client, "checkout", "-q", "-b", "unpushed")
    commit(client, {"release.cfg": f"key: {token(204)}\n"})
    git(client, "tag", *(["-a", "-m", "release"] if annotated else []), "v1")
    refused = push(client, "v1")
    assert refused.returncode != 0 and "release.cfg:1:6" in refused.stderr
    assert server_ref(server, "refs/tags/v1") == ""


def test_force_pushes_and_deletions(setup) -> None:
    server, client = setup
    base = git(client, "rev-parse", "HEAD")
    git(client, "checkout", "-q", "-b", "work")
    commit(client, {"a.txt": "fine\n"})
    assert push(client, "work").returncode == 0

    git(client, "reset", "-q", "--hard", base)
    commit(client, {"b.cfg": f"key: {token(205)}\n"})
    refused = push(client, "--force", "work")
    assert refused.returncode != 0 and "b.cfg:1:6" in refused.stderr

    git(client, "reset", "-q", "--hard", base)
    rewritten = commit(client, {"c.txt": "clean rewrite\n"})
    assert push(client, "--force", "work").returncode == 0
    assert server_ref(server, "refs/heads/work") == rewritten

    deleted = push(client, "--delete", "work")
    assert deleted.returncode == 0, deleted.stderr
    assert server_ref(server, "refs/heads/work") == ""


def test_several_refs_in_one_push_where_one_carries_a_secret(setup) -> None:
    server, client = setup
    git(client, "checkout", "-q", "-b", "clean")
    commit(client, {"clean.txt": "ok\n"})
    git(client, "checkout", "-q", "-b", "dirty", "main")
    commit(client, {"dirty.cfg": f"key: {token(206)}\n"})
    refused = push(client, "clean", "dirty")
    assert refused.returncode != 0 and "dirty.cfg:1:6" in refused.stderr
    assert "clean.txt" not in refused.stderr
    assert server_ref(server, "refs/heads/clean") == "" and server_ref(server, "refs/heads/dirty") == ""


def test_a_pushed_config_cannot_turn_the_check_off(setup) -> None:
    server, client = setup
    commit(client, {".secretguard.yaml":
                    "allow:\n  paths: ['**']\n  regexes: ['.*']\nrules:\n  disable: [test-token]\n",
                    "leak.cfg": f"key: {token(207)}\n", "x.cfg": "tok_a8Fk2LmQ9zXw4RtY7uPb3NcV secretguard:allow\n"})
    refused = push(client, "main")
    assert refused.returncode != 0 and "leak.cfg:1:6" in refused.stderr
    assert "x.cfg" not in refused.stderr  # an inline marker on the line itself still counts


def test_bypass_lets_the_push_through_and_is_recorded(setup) -> None:
    server, client = setup
    secret = token(208)
    head = commit(client, {"fixture.cfg": f"key: {secret}\n"})
    assert push(client, "-o", "secretguard.bypass=", "main").returncode != 0  # a reason is required
    done = subprocess.run(["git", "push", "-o", "secretguard.bypass=test fixture, revoked", "origin", "main"],
                          cwd=client, capture_output=True, text=True, env={**_env(), "USER": "alice"})
    assert done.returncode == 0, done.stderr
    assert "let through" in done.stderr and server_ref(server, "main") == head
    [line] = (server / "secretguard-audit.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["pusher"] == "alice" and record["reason"] == "test fixture, revoked"
    assert record["refs"] == [{"ref": "refs/heads/main", "old": record["refs"][0]["old"], "new": head}]
    assert record["rules"] == ["test-token"]
    assert record["fingerprints"] == [report_key().fingerprint("test-token", secret)]  # the server's key file
    assert secret not in line and hashlib.sha256(secret.encode()).hexdigest() not in line


def test_bypass_can_be_disabled(tmp_path: Path, server_config: Path) -> None:
    server = bare_server(tmp_path, server_config, "--no-bypass")
    client = client_of(tmp_path, server)
    commit(client, {"fixture.cfg": f"key: {token(209)}\n"})
    git(server, "config", "receive.advertisePushOptions", "true")
    refused = push(client, "-o", "secretguard.bypass=please", "main")
    assert refused.returncode != 0 and "does not allow bypassing" in refused.stderr
    assert not (server / "secretguard-audit.jsonl").exists()


@pytest.mark.parametrize("fail_open", [False, True])
def test_time_budget_in_both_policies(tmp_path: Path, server_config: Path, fail_open: bool) -> None:
    server = bare_server(tmp_path, server_config, "--max-seconds", "0.001", *(["--fail-open"] if fail_open else []))
    client = client_of(tmp_path, server)
    commit(client, {f"f{n}.txt": f"line {n}\n" * 2000 for n in range(200)})
    done = push(client, "main")
    assert "0.001 s budget" in done.stderr
    if fail_open:
        assert done.returncode == 0 and "fail-open" in done.stderr
    else:
        assert done.returncode != 0 and "fail-closed" in done.stderr


def test_the_rules_are_compiled_before_the_clock_starts(monkeypatch, tmp_path: Path, server_config: Path) -> None:
    """A cold compile of every rule can take seconds; charged to the push, it would refuse it and never be cached."""
    import io

    import secretguard.pipeline as pipeline
    import secretguard.prereceive as prereceive

    monkeypatch.setattr(pipeline, "_detectors", {})  # restored after: later tests keep their detector
    ready_when_armed: list[bool] = []
    monkeypatch.setattr(prereceive, "_arm_timer", lambda seconds: ready_when_armed.append(bool(pipeline._detectors)))
    git(tmp_path, "init", "-q", "--bare", str(tmp_path / "server.git"))
    code = prereceive.pre_receive(prereceive.ServerPolicy(config=server_config), io.StringIO(""), io.StringIO(),
                                  env={"GIT_DIR": str(tmp_path / "server.git")})
    assert code == 0 and ready_when_armed == [True]


def test_a_scan_that_cannot_run_refuses_the_push_clearly(setup, server_config: Path) -> None:
    server, client = setup
    server_config.write_text("rules: {extra: [/nonexistent/rules.yaml]}\n")
    commit(client, {"a.txt": "fine\n"})
    refused = push(client, "main")
    assert refused.returncode != 0
    assert "cannot scan the push" in refused.stderr and "fail-closed" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_print_gives_the_script_for_custom_hook_folders(server_config: Path) -> None:
    printed = run_cli("hook", "install", "--pre-receive", "--print", "--server-config", server_config,
                      "--max-seconds", "3", "--fail-open")
    assert printed.code == 0
    assert printed.out.startswith("#!/bin/sh\n")
    assert f"pre-receive --config {server_config.resolve()} --max-seconds 3 --fail-open" in printed.out


def test_ref_lines_and_push_options() -> None:
    zero = "0" * 40
    updates = parse_ref_lines([f"{'a' * 40} {zero} refs/heads/gone", "", f"{zero} {'b' * 40} refs/tags/v1"])
    assert updates == [RefUpdate("a" * 40, zero, "refs/heads/gone"), RefUpdate(zero, "b" * 40, "refs/tags/v1")]
    assert [u.is_deletion for u in updates] == [True, False]
    env = {"GIT_PUSH_OPTION_COUNT": "2", "GIT_PUSH_OPTION_0": "ci.skip", "GIT_PUSH_OPTION_1": "secretguard.bypass=a=b"}
    assert push_options(env) == {"ci.skip": "", "secretguard.bypass": "a=b"}
    assert pusher({"GITEA_PUSHER_NAME": "gitea-user", "USER": "git"}) == "gitea-user"
    assert pusher({}) == "unknown"


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
