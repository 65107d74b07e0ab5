"""Every scan path reads text in any encoding, binaries and archive members: `scan dir`, `scan git`,
`scan staged` and the pre-commit hook run by a real `git commit`."""

from __future__ import annotations

import base64
import codecs
import io
import json
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import secretguard.pipeline as pipeline
from secretguard.config import Config, RuleSelection
from secretguard.findings import Origin, redact
from secretguard.provenance import FileAt
from secretguard.sources import Chunk, Inventory
from secretguard.sources.staged import StagedSource
from tests.helpers import MINI_RULES, run_cli
from tests.test_git_history import commit, git, init_repo, token, where, write
from tests.test_git_history import scan as scan_git
from tests.test_prereceive import client_of, push
from tests.test_staged_and_hooks import try_commit

CONFIG = f"rules:\n  extra: [{MINI_RULES}]\n"


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def tgz_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def env(seed: int) -> str:
    return f"# settings\nkey: {token(seed)}\n"


# Each input hides its own token on line 2 (of the decoded text, of the member, or of the raw bytes).
INPUTS: dict[str, bytes] = {
    "profile.ps1": codecs.BOM_UTF16_LE + env(1).encode("utf-16-le"),
    "export.reg": env(2).encode("utf-16-be"),
    "wide32.txt": env(3).encode("utf-32"),
    "creds.env": b"\0" + env(4).encode(),
    "bin/app": b"\x7fELF\x02\x01\x01" + bytes(40) + env(5).encode() + bytes(range(256)),
    "dist/a.tgz": tgz_of({"app.zip": zip_of({"config/.env": env(6).encode()})}),
}
EXPECTED = {
    token(1): ("profile.ps1", 2), token(2): ("export.reg", 2), token(3): ("wide32.txt", 2),
    token(4): ("creds.env", 2), token(5): ("bin/app", 2), token(6): ("dist/a.tgz!app.zip!config/.env", 2),
}


def places(document: dict) -> dict[str, tuple[str, int]]:
    return {f["secret"]: (o["path"], o["line"]) for f in document["findings"] for o in f["locations"]
            if f["rule"] == "test-token"}


def test_scan_dir_reads_every_encoding_binary_and_archive(tree):
    root = tree({**INPUTS, ".secretguard.yaml": CONFIG})
    run = run_cli("scan", "dir", root, "--format", "json", "--reveal", "--jobs", "1")
    assert run.code == 1, run.err
    assert places(json.loads(run.out)) == EXPECTED


def test_locations_say_binary_and_encoding(tree):
    root = tree({**INPUTS, ".secretguard.yaml": CONFIG})
    run = run_cli("scan", "dir", root, "--format", "json", "--reveal")
    locations = {o["path"]: o for f in json.loads(run.out)["findings"] for o in f["locations"]}
    assert locations["bin/app"]["binary"] is True and "encoding" not in locations["bin/app"]
    assert locations["profile.ps1"]["encoding"] == "utf-16-le" and "binary" not in locations["profile.ps1"]
    assert locations["export.reg"]["encoding"] == "utf-16-be"
    assert "binary" not in locations["creds.env"] and "encoding" not in locations["creds.env"]


def test_scan_dir_archive_depth_zero_leaves_archives_closed(tree):
    root = tree({**INPUTS, ".secretguard.yaml": CONFIG})
    run = run_cli("scan", "dir", root, "--format", "json", "--reveal", "--archive-depth", "0")
    document = json.loads(run.out)
    found = places(document)
    assert token(6) not in found and found[token(4)] == ("creds.env", 2)
    assert run.code == 1  # listed, but a depth the user chose does not fail the run
    assert {"path": "dist/a.tgz", "reason": "archives are not opened (archive depth 0): only its raw bytes are "
                                            "scanned"} in document["summary"]["skipped"]


def test_what_an_archive_hides_is_listed_and_fails_the_run(tree):
    bomb = zip_of({"zeros.bin": bytes(50 * 2**20), "ok.txt": b"hello\n"})
    root = tree({"dist/bomb.zip": bomb, "dist/broken.tgz": tgz_of({"a.txt": b"x" * 5000})[:60],
                 "notes.txt": "hello\n"})
    run = run_cli("scan", "dir", root, "--format", "json")
    assert run.code == 2
    document = json.loads(run.out)
    unreadable = {u["path"]: u["reason"] for u in document["summary"]["unreadable"]}
    assert unreadable["dist/bomb.zip!zeros.bin"] == "archive bound reached: expands more than 100 times"
    assert unreadable["dist/broken.tgz"].startswith("corrupt archive")
    assert run.err.startswith("error: 2 inputs could not be scanned: ")


@dataclass(frozen=True)
class BytesSource:
    """Named byte strings to scan, each one file."""

    files: dict[str, bytes]
    label: str = "files"
    target: str = "bytes"

    def items(self, inventory: Inventory) -> Iterator[tuple[str, int]]:
        return ((name, len(data)) for name, data in self.files.items())

    def read(self, item: str) -> Iterator[Chunk]:
        yield Chunk(self.files[item], FileAt(item))

    def describe(self, item: str) -> str:
        return item


def test_decoders_pass_a_binarys_own_bytes_by_but_read_its_utf16_strings():
    line = "key=" + base64.b64encode(f"key: {token(7)}".encode()).decode()
    elf, pe = b"\x7fELF" + bytes(20) + b"\n", b"MZ\x90\x00" + bytes(20) + b"\x01"
    source = BytesSource({"text.cfg": line.encode(), "app": elf + line.encode() + b"\n\0",
                          "app.exe": pe + line.encode("utf-16-le") + b"\0\0"})
    raw = pipeline.scan_hits(source, RuleSelection(extra_files=(MINI_RULES,)))
    decoded = sorted((h.origin.path, h.decoded) for h in raw.hits if h.secret == token(7))
    assert decoded == [("app.exe", ("base64",)), ("text.cfg", ("base64",))]
    [wide] = [h.origin for h in raw.hits if h.origin.path == "app.exe"]
    assert wide == Origin(source="file", path="app.exe", line=1, column=5, binary=True, encoding="utf-16-le")


@pytest.mark.parametrize("depth", ["-1", "11"])
def test_scan_dir_rejects_a_bad_archive_depth(tree, depth):
    run = run_cli("scan", "dir", tree({"a.txt": "hello\n"}), "--archive-depth", depth)
    assert run.code == 2 and run.err.strip() == "error: --archive-depth must be a whole number from 0 to 10"


def test_config_archive_depth(tree):
    root = tree({**INPUTS, ".secretguard.yaml": CONFIG + "archive_depth: 0\n"})
    run = run_cli("scan", "dir", root, "--format", "json", "--reveal")
    assert token(6) not in places(json.loads(run.out))
    (root / ".secretguard.yaml").write_text(CONFIG + "archive_depth: many\n")
    bad = run_cli("scan", "dir", root)
    assert bad.code == 2 and "'archive_depth' must be a whole number from 0 to 10" in bad.err


def test_scan_git_reads_every_encoding_binary_and_archive(tmp_path: Path):
    repo = init_repo(tmp_path / "repo")
    commit(repo, {**INPUTS, ".secretguard.yaml": CONFIG})
    run = run_cli("scan", "git", repo, "--format", "json", "--reveal")
    assert run.code == 1, run.err
    assert places(json.loads(run.out)) == EXPECTED


def test_scan_staged_reads_every_encoding_binary_and_archive(tmp_path: Path):
    repo = init_repo(tmp_path / "repo")
    commit(repo, {".secretguard.yaml": CONFIG})
    write(repo, INPUTS)
    git(repo, "add", "-A")
    run = run_cli("scan", "staged", repo, "--format", "json", "--reveal")
    assert run.code == 1, run.err
    assert places(json.loads(run.out)) == EXPECTED


def test_files_named_by_the_pre_commit_framework_are_read_the_same_way(tmp_path: Path):
    repo = init_repo(tmp_path / "repo")
    commit(repo, INPUTS)
    config = Config(rules=RuleSelection(extra_files=(MINI_RULES,)))
    result = pipeline.scan(StagedSource(repo, config.max_file_size, list(INPUTS)), config, quick_start=True)
    assert {f.secret: (o.path, o.line) for f in result.findings for o in f.locations} == EXPECTED


@pytest.mark.parametrize("name", ["profile.ps1", "creds.env"])
def test_the_hook_blocks_a_utf16_or_nul_prefixed_file(tmp_path: Path, name: str):
    repo = init_repo(tmp_path / "repo")
    commit(repo, {".secretguard.yaml": CONFIG})
    assert run_cli("hook", "install", repo).code == 0
    head = git(repo, "rev-parse", "HEAD")
    write(repo, {name: INPUTS[name]})
    git(repo, "add", "-A")

    done = try_commit(repo)

    assert done.returncode != 0 and git(repo, "rev-parse", "HEAD") == head
    secret = next(s for s, (path, _) in EXPECTED.items() if path == name)
    assert secret not in done.stderr and redact(secret) in done.stderr
    assert f"{name}:2:6" in done.stderr


# --- a secret in decoded text or an archive member is reported where it was introduced -------------------

def utf16(text: str) -> bytes:
    """``text`` as a Windows tool writes it: UTF-16LE behind its byte-order mark."""
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


def script(name: str, *more: str) -> bytes:
    """A UTF-16 script holding token 41's key on its second line."""
    return utf16("".join(f"{line}\r\n" for line in (f"$name = '{name}'", f"$key = 'key: {token(41)}'", *more)))


DOTENV = f"NAME=demo\nkey: {token(43)}\n".encode()


def test_git_reports_a_utf16_secret_once_at_the_commit_that_introduced_it(tmp_path: Path):
    repo = init_repo(tmp_path / "repo")
    introduced = commit(repo, {"deploy.ps1": script("demo")})
    commit(repo, {"deploy.ps1": script("demo2")})
    added = commit(repo, {"deploy.ps1": script("demo3", f"# key: {token(42)}")})

    result = scan_git(repo)

    assert [(o.path, o.commit, o.line, o.encoding) for o in where(result, token(41))] == [
        ("deploy.ps1", introduced, 2, "utf-16-le")]
    assert [(o.path, o.commit, o.line) for o in where(result, token(42))] == [("deploy.ps1", added, 3)]


def test_git_reports_an_archive_members_secret_once_when_the_archive_gains_a_member(tmp_path: Path):
    repo = init_repo(tmp_path / "repo")
    introduced = commit(repo, {"dist/app.zip": zip_of({"config/.env": DOTENV})})
    commit(repo, {"dist/app.zip": zip_of({"config/.env": DOTENV, "README.txt": b"read me\n"})})
    added = commit(repo, {"dist/app.zip": zip_of({"config/.env": DOTENV, "README.txt": b"read me\n",
                                                  "prod.env": f"key: {token(44)}\n".encode()})})

    result = scan_git(repo)

    assert [(o.path, o.commit, o.line) for o in where(result, token(43))] == [
        ("dist/app.zip!config/.env", introduced, 2)]
    assert [(o.path, o.commit) for o in where(result, token(44))] == [("dist/app.zip!prod.env", added)]


@pytest.mark.parametrize(("path", "before", "after"), [
    ("deploy.ps1", script("demo"), script("demo2")),
    ("dist/app.zip", zip_of({"config/.env": DOTENV}), zip_of({"config/.env": DOTENV, "README.txt": b"read me\n"})),
])
def test_a_commit_that_keeps_a_committed_secret_is_not_blocked(tmp_path: Path, path: str, before: bytes,
                                                                after: bytes):
    repo = init_repo(tmp_path / "repo")
    commit(repo, {".secretguard.yaml": CONFIG, path: before})  # committed before the hook was installed
    assert run_cli("hook", "install", repo).code == 0
    write(repo, {path: after})
    git(repo, "add", "-A")

    done = try_commit(repo)

    assert done.returncode == 0, done.stderr
    assert git(repo, "log", "-1", "--format=%s") == "work"


def test_staged_reports_a_secret_added_to_a_utf16_file_but_not_the_one_it_held(tmp_path: Path):
    repo = init_repo(tmp_path / "repo")
    commit(repo, {".secretguard.yaml": CONFIG, "deploy.ps1": script("demo")})
    write(repo, {"deploy.ps1": script("demo2", f"# key: {token(42)}")})
    git(repo, "add", "-A")

    run = run_cli("scan", "staged", repo, "--format", "json", "--reveal")

    assert run.code == 1, run.err
    assert places(json.loads(run.out)) == {token(42): ("deploy.ps1", 3)}


def test_a_push_that_keeps_a_utf16_secret_the_server_holds_goes_through(tmp_path: Path):
    server = tmp_path / "server.git"
    git(tmp_path, "init", "-q", "--bare", str(server))
    client = client_of(tmp_path, server)
    commit(client, {"deploy.ps1": script("demo")})
    assert push(client, "main").returncode == 0  # before the hook was installed
    config = tmp_path / "server.yaml"
    config.write_text(CONFIG)
    assert run_cli("hook", "install", "--pre-receive", "--server-config", config, server).code == 0

    commit(client, {"deploy.ps1": script("demo2")})
    accepted = push(client, "main")
    assert accepted.returncode == 0, accepted.stderr

    introduced = commit(client, {"dist/app.zip": zip_of({"config/.env": DOTENV})})
    commit(client, {"dist/app.zip": zip_of({"config/.env": DOTENV, "README.txt": b"read me\n"})})
    refused = push(client, "main")
    assert refused.returncode != 0
    assert "push blocked: 1 secret found." in refused.stderr
    assert f"dist/app.zip!config/.env:2:6 @{introduced[:10]}" in refused.stderr
