"""The ``aws`` and ``ray`` markers select the slow tests that need the local AWS API or a Ray runtime."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def collected(*args: str) -> set[str]:
    """Test names ``pytest --collect-only`` selects with ``args``."""
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return {line.split("::")[1].split("[")[0] for line in run.stdout.splitlines() if "::" in line}


def test_aws_marks_exactly_the_tests_that_use_the_local_aws_api() -> None:
    uses_aws = collected("-m", "aws", "tests/test_validate.py")
    assert "test_server_stopped_mid_run" in uses_aws  # through the aws fixture
    assert "test_each_pair_is_checked_once_per_run" not in uses_aws
    assert not uses_aws & collected("-m", "not aws", "tests/test_validate.py")


def test_ray_marks_the_ray_runtime_tests() -> None:
    pytest.importorskip("ray")
    ray_tests = collected("tests/test_sweep_ray.py")
    assert ray_tests and collected("-m", "ray", "tests/test_sweep_ray.py", "tests/test_sweep.py") == ray_tests
