"""Bad input gives one line ``error: …`` on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import run_cli, run_cli_unprivileged


def assert_one_line_error(run, *fragments: str) -> None:
    assert run.code == 2, run
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.err
    assert "Traceback" not in run.err
    for fragment in fragments:
        assert fragment in lines[0]


def test_missing_path(tmp_path: Path):
    assert_one_line_error(run_cli("scan", "dir", tmp_path / "nope"), str(tmp_path / "nope"), "no such file")


def test_bad_format(tmp_path: Path):
    assert_one_line_error(run_cli("scan", "dir", tmp_path, "--format", "xml"), "unknown format 'xml'")


def test_broken_rule_file_names_file_and_rule(tmp_path: Path):
    rules = tmp_path / "broken.yaml"
    rules.write_text("rules:\n  - id: my-rule\n    name: Mine\n    severity: high\n    keywords: [x]\n"
                     "    pattern: '(?P<secret>[a-z'\n")
    config = tmp_path / "cfg.yaml"
    config.write_text(f"rules:\n  extra: [{rules}]\n")
    assert_one_line_error(run_cli("scan", "dir", tmp_path, "--config", config),
                          str(rules), "rule 'my-rule'", "does not compile")


@pytest.mark.parametrize("body, message", [
    ("rules:\n  - id: Bad_Id\n", "kebab-case"),
    ("rules:\n  - id: no-group\n    name: n\n    severity: low\n    keywords: [a]\n    pattern: 'abc'\n",
     "no named group 'secret'"),
    ("rules:\n  - id: bad-sev\n    name: n\n    severity: urgent\n    keywords: [a]\n    pattern: '(?P<secret>a)'\n",
     "'severity' must be one of"),
    ("rules: [\n", "invalid YAML"),
    ("rules:\n  - id: no-kw\n    name: n\n    severity: low\n    pattern: '(?P<secret>a)'\n", "'keywords' is required"),
])
def test_rule_problems_are_named(tmp_path: Path, body: str, message: str):
    rules = tmp_path / "r.yaml"
    rules.write_text(body)
    assert_one_line_error(run_cli("rules", "list", "--rules", rules), str(rules), message)


@pytest.mark.parametrize("body, message", [
    ("allow: [1, 2]\n", "'allow' must be a mapping"),
    ("allow:\n  colours: [red]\n", "unknown key 'allow.colours'"),
    ("allow:\n  regexes: ['(']\n", "does not compile"),
    ("max_file_size: -1\n", "max_file_size"),
    ("{{{\n", "invalid YAML"),
])
def test_bad_config(tmp_path: Path, body: str, message: str):
    config = tmp_path / ".secretguard.yaml"
    config.write_text(body)
    assert_one_line_error(run_cli("scan", "dir", tmp_path), str(config), message)


def test_dangling_symlink_target(tmp_path: Path):
    link = tmp_path / "gone"
    link.symlink_to(tmp_path / "nowhere")
    assert_one_line_error(run_cli("scan", "dir", link), str(link), "no such file")


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary directory an unprivileged user can reach (pytest's own are private to the test's user)."""
    path = Path(tempfile.mkdtemp(prefix="secretguard-test-"))
    path.chmod(0o777)
    yield path
    for sub in path.rglob("*"):
        if sub.is_dir():
            sub.chmod(0o755)
    shutil.rmtree(path)


def test_unreadable_directory(shared_tmp: Path):
    locked = shared_tmp / "locked"
    locked.mkdir()
    locked.chmod(0)
    assert_one_line_error(run_cli_unprivileged(shared_tmp, "scan", "dir", locked), str(locked), "not readable")


def test_bad_baseline(tmp_path: Path):
    baseline = tmp_path / "b.json"
    baseline.write_text("{not json")
    assert_one_line_error(run_cli("scan", "dir", tmp_path, "--baseline", baseline), str(baseline), "not valid JSON")


def test_unknown_option_is_one_line(tmp_path: Path):
    assert_one_line_error(run_cli("scan", "dir", tmp_path, "--colour"), "--colour")


def _command_paths() -> list[list[str]]:
    """Every command and group of the command line, as the words that name it."""
    import typer

    from secretguard.cli import app

    paths, todo = [], [([], typer.main.get_command(app))]
    while todo:
        words, command = todo.pop()
        paths.append(words)
        for name, sub in getattr(command, "commands", {}).items():
            todo.append(([*words, name], sub))
    return sorted(paths)


def test_every_command_has_dash_h_and_version():
    from secretguard import __version__

    paths = _command_paths()
    assert ["scan", "dir"] in paths and ["findings", "triage"] in paths and ["sweep"] in paths
    for words in paths:
        short = run_cli(*words, "-h")
        assert short.code == 0 and "Usage: secretguard" in short.out, words
        version = run_cli(*words, "--version")
        assert (version.code, version.out, version.err) == (0, f"secretguard {__version__}\n", ""), words


@pytest.mark.parametrize("words", [["scan", "dir"], ["scan", "git"], ["sweep"], ["baseline", "create"]])
def test_help_shows_meaningful_defaults(words, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    shown = run_cli(*words, "-h").out
    assert "[default: 0]" not in shown
    assert "(default: all cores)" in shown
    if words == ["sweep"]:
        assert "secretguard[ray]" in shown and "--no-progress" in shown


@pytest.mark.parametrize("args, option", [
    (["scan", "dir", ".", "--jobs", "-1"], "--jobs"),
    (["scan", "dir", ".", "--jobs", "0"], "--jobs"),
    (["scan", "dir", ".", "--max-file-size", "-5"], "--max-file-size"),
    (["scan", "git", ".", "--max-file-size", "0"], "--max-file-size"),
    (["scan", "git", ".", "-j", "-2"], "--jobs"),
    (["sweep", ".", "--jobs", "-3"], "--jobs"),
    (["scan", "dir", ".", "--validate-jobs", "-1"], "--validate-jobs"),
])
def test_negative_counts_and_sizes_are_refused(args, option):
    assert_one_line_error(run_cli(*args), f"Invalid value for '{option}'", "is not in the range x>=1")



@pytest.mark.parametrize("command", [["scan", "dir"], ["scan", "git"], ["sweep", "--db", "sweep.db"]])
def test_ray_without_the_ray_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]):
    monkeypatch.setitem(sys.modules, "ray", None)  # as without `pip install 'secretguard[ray]'`
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(run_cli(*command, tmp_path, "--ray", "auto"),
                          "--ray needs Ray: pip install 'secretguard[ray]'")
