"""Running the command line the way a user does, in-process, capturing output and exit code."""

from __future__ import annotations

import binascii
import io
import os
import pwd
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from secretguard.checksums import base62
from secretguard.cli import main
from secretguard.hashing import UserKey

MINI_RULES = Path(__file__).parent / "data" / "mini_rules.yaml"


def checksummed(prefix: str, payload: str) -> str:
    """A GitHub- or npm-style token: prefix, 30-character payload and the CRC32 checksum real tokens carry."""
    return prefix + payload + base62(binascii.crc32(payload.encode()), 6)


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_cli(*args: str | Path) -> Run:
    """``secretguard ARGS…`` in this process: exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
    sys.stdout.flush()
    return Run(code, out.getvalue(), err.getvalue())


def run_cli_unprivileged(home: Path, *args: str | Path) -> Run:
    """``secretguard ARGS…`` as a user without root's power to read everything: this process where it is not
    root, else a child dropped to ``nobody`` with ``setpriv`` (``home``, world-writable, is its home and cache)."""
    if os.geteuid() != 0:
        return run_cli(*args)
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, and setpriv is missing to drop to an unprivileged user")
    nobody = pwd.getpwnam("nobody")
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "XDG_CONFIG_HOME": str(home / ".config")}
    done = subprocess.run(
        [setpriv, f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups",
         sys.executable, "-m", "secretguard", *map(str, args)],
        capture_output=True, text=True, env=env, check=False, timeout=120)
    return Run(done.returncode, done.stdout, done.stderr)


def report_key() -> UserKey:
    """The report key of the isolated home (the one every in-process run of this test uses)."""
    def fail(line: str) -> None:
        raise AssertionError(line)

    return UserKey(fail)


def report_hash(secret: str) -> str:
    """``secret_hash`` of ``secret`` as this test's reports show it."""
    return report_key().secret_hash(secret)


def store_fingerprint(db: Path, rule_id: str, secret: str) -> str:
    """The fingerprint the sweep store ``db`` gives the finding of ``rule_id`` for ``secret``."""
    from secretguard.sweep.store import Store

    with Store(db, create=False) as store:
        return store.hasher.fingerprint(rule_id, secret)
