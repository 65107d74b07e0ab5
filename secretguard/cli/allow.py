"""``secretguard hash-secret``: the ``allow.secrets`` entry of a secret, for ``.secretguard.yaml``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from secretguard.cli.common import ConfigOpt
from secretguard.config import find_config
from secretguard.errors import SecretguardError
from secretguard.hashing import SaltedHasher

commands = typer.Typer()
"""``hash-secret``, a top-level command."""

FromSha256Opt = Annotated[bool, typer.Option("--from-sha256", help="Read sha256 digests (what allow.secrets_sha256 holds) instead of secrets.")]


def _digest(line: str) -> bytes:
    try:
        digest = bytes.fromhex(line.strip())
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise SecretguardError("--from-sha256: each line must be a sha256 digest (64 hex digits)")
    return digest


@commands.command("hash-secret")
def hash_secret(config: ConfigOpt = None, from_sha256: FromSha256Opt = False) -> int:
    """Print the allow.secrets entry of each secret on stdin, one per line (never give secrets as arguments).

    Entries share the salt of the configuration's allow.secrets, if it has any, so each secret a scan finds
    costs one scrypt.
    """
    lines = [line for line in sys.stdin.read().replace("\r", "").split("\n") if line]
    if not lines:
        raise SecretguardError("no secrets on stdin: pipe them in, one per line")
    groups = find_config(config, Path.cwd()).allowlist.secrets
    hasher = groups[0][0] if groups else SaltedHasher.fresh()
    for line in lines:
        secret_hash = hasher.hash_digest(_digest(line)) if from_sha256 else hasher.secret_hash(line)
        typer.echo(hasher.entry(secret_hash))
    return 0
