"""What every command writes where: ``--quiet`` silences the terminal only, and ``--output`` files are always written
(private, mode 0600, when they hold revealed secrets)."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.helpers import run_cli

LEAKY_APP = Path(__file__).parent.parent / "examples" / "leaky-app"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "commit.gpgsign=false", *args], check=True, capture_output=True)


@pytest.fixture
def leaky_repo(tmp_path: Path) -> Path:
    """The sample app, committed in a repository of its own, with one more leaky file staged."""
    repo = tmp_path / "app"
    shutil.copytree(LEAKY_APP, repo)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "app")
    shutil.copy(LEAKY_APP / "settings.py", repo / "settings_copy.py")
    git(repo, "add", "settings_copy.py")
    return repo


def command(name: str, repo: Path, tmp_path: Path) -> list[str | Path]:
    if name == "report":
        db = tmp_path / "sweep.db"
        if not db.exists():
            assert run_cli("sweep", repo, "--db", db, "--quiet").code == 1
        return ["report", "--db", db]
    return [*name.split(), repo, *(["--no-progress"] if name != "scan staged" else [])]


@pytest.mark.parametrize("name", ["scan dir", "scan git", "scan staged", "report"])
@pytest.mark.parametrize("fmt", ["json", "sarif", "html", "text"])
def test_quiet_with_output_writes_the_file_and_nothing_else(name: str, fmt: str, leaky_repo: Path,
                                                            tmp_path: Path) -> None:
    output = tmp_path / f"out.{fmt}"

    run = run_cli(*command(name, leaky_repo, tmp_path), "--format", fmt, "--output", output, "--quiet")
    loud = run_cli(*command(name, leaky_repo, tmp_path), "--format", fmt)

    assert (run.code, run.out, run.err) == (1, "", "")
    assert output.read_text() == loud.out
    if fmt in ("json", "sarif"):
        json.loads(output.read_text())


def test_quiet_without_output_prints_nothing(leaky_repo: Path) -> None:
    run = run_cli("scan", "dir", leaky_repo, "--format", "json", "--quiet")

    assert (run.code, run.out, run.err) == (1, "", "")


@pytest.mark.parametrize("reveal", [True, False])
def test_revealed_reports_are_private_files(reveal: bool, leaky_repo: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.json"
    output.write_text("old\n")
    output.chmod(0o644)  # already there, readable by others: it is narrowed, not kept

    run = run_cli("scan", "dir", leaky_repo, "--format", "json", "--output", output, "--no-progress",
                  *(["--reveal"] if reveal else []))

    assert run.code == 1, run.err
    assert stat.S_IMODE(output.stat().st_mode) == (0o600 if reveal else 0o644)
    assert json.loads(output.read_text())["findings"]


def test_validate_quiet_with_output_writes_the_file(leaky_repo: Path, tmp_path: Path) -> None:
    """STS is unreachable here (the tests point AWS at a closed local port): each key is an error, silently."""
    revealed = tmp_path / "revealed.json"
    assert run_cli("scan", "dir", leaky_repo, "--format", "json", "--reveal", "--output", revealed,
                   "--no-progress").code == 1
    output = tmp_path / "validated.json"

    run = run_cli("validate", revealed, "--format", "json", "--output", output, "--quiet")

    assert (run.code, run.out, run.err) == (1, "", "")
    statuses = [f["validation"]["status"] for f in json.loads(output.read_text())["findings"] if "validation" in f]
    assert statuses and set(statuses) <= {"error", "unchecked", "canary"}
