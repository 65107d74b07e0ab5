"""Keyed hashes of secrets: identities that match across runs without giving a reader a fast way to test guesses.

An unsalted sha256 of a short password is brute-forced in under a second, so no output or stored file carries
one. Two kinds of hasher, one per kind of place:

- :class:`ReportKey`: HMAC-SHA256 under a key that is never written beside the hashes (the user's key file, or
  one made for this run). Reports use it: a reader of the report alone has no key to test guesses with.
- :class:`SaltedHasher`: scrypt (N=2^14, r=8, p=1: 16 MiB and tens of milliseconds per guess) under a random
  salt kept in the file itself. Baselines, the sweep store and ``allow.secrets`` use it, because they must
  match on other machines; a reader has the salt, so each guess costs one scrypt.

Both stretch ``sha256(secret)`` rather than the secret, so a file that kept an old sha256 is upgraded without
the secret, and a fingerprint is ``HMAC(key, rule, secret_hash)``: testing a guess against it costs as much as
against the secret's hash.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from secretguard.errors import SecretguardError

KDF = "scrypt"
KDF_N = 2 ** 14
"""The documented work factor: the least N this secretguard writes or accepts."""
KDF_MAX_N = 2 ** 16
KDF_R = 8
KDF_P = 1
KDF_MAXMEM = 128 * KDF_R * KDF_MAX_N + 1024 * 1024
SALT_BYTES = 16
KEY_BYTES = 32
KEY_ENV = "SECRETGUARD_FINGERPRINT_KEY"
KEY_ENV_MIN_CHARS = 32
KEY_FILE = "fingerprint.key"


def sha256_digest(text: str) -> bytes:
    """The plain sha256 of ``text``: an input to the keyed hashes, and what old files kept; never output."""
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()


class SecretHasher(ABC):
    """``secret_hash`` and ``fingerprint`` of secrets under one key; each secret is stretched once per hasher."""

    key: bytes

    def __init__(self) -> None:
        self._stretched: dict[bytes, str] = {}

    @abstractmethod
    def _stretch(self, digest: bytes) -> bytes:
        """The keyed, and for a salt kept in the file slow, function of a secret's sha256."""

    def hash_digest(self, digest: bytes) -> str:
        """The secret hash of the secret whose plain sha256 is ``digest`` (how old files are upgraded)."""
        found = self._stretched.get(digest)
        if found is None:
            found = self._stretched[digest] = self._stretch(digest).hex()
        return found

    def secret_hash(self, secret: str) -> str:
        """The keyed hash of ``secret``."""
        return self.hash_digest(sha256_digest(secret))

    def fingerprint_of(self, rule_id: str, secret_hash: str) -> str:
        """The identity of a finding of rule ``rule_id`` whose secret has ``secret_hash``."""
        return hmac.new(self.key, rule_id.encode() + b"\0" + bytes.fromhex(secret_hash), hashlib.sha256).hexdigest()

    def fingerprint(self, rule_id: str, secret: str) -> str:
        """The identity of a finding: rule and secret, never the line."""
        return self.fingerprint_of(rule_id, self.secret_hash(secret))

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_stretched"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _stretched={})


class SaltedHasher(SecretHasher):
    """scrypt under a salt kept in the file it hashes for: slow, so the salt may be public."""

    def __init__(self, salt: bytes, n: int = KDF_N) -> None:
        super().__init__()
        self.salt, self.n = salt, n
        self.key = salt

    @staticmethod
    def fresh() -> SaltedHasher:
        """A hasher with a new random salt, for a new file."""
        return SaltedHasher(os.urandom(SALT_BYTES))

    def _stretch(self, digest: bytes) -> bytes:
        return hashlib.scrypt(digest, salt=self.salt, n=self.n, r=KDF_R, p=KDF_P, dklen=32, maxmem=KDF_MAXMEM)

    def params(self) -> dict[str, Any]:
        """How a file records this hasher (``from_params`` reads it back)."""
        return {"kdf": KDF, "salt": self.salt.hex(), "n": self.n, "r": KDF_R, "p": KDF_P}

    @staticmethod
    def from_params(data: Any, where: str) -> SaltedHasher:
        """The hasher a file recorded; a one-line error naming ``where`` if it is not one this version accepts."""
        try:
            salt, n = bytes.fromhex(data["salt"]), data["n"]
            if data["kdf"] != KDF or data["r"] != KDF_R or data["p"] != KDF_P or len(salt) < SALT_BYTES:
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise SecretguardError(f"{where}: hash parameters must be scrypt with r={KDF_R}, p={KDF_P} and a "
                                   f"salt of at least {SALT_BYTES} bytes in hex") from None
        if not isinstance(n, int) or n & (n - 1) or not KDF_N <= n <= KDF_MAX_N:
            raise SecretguardError(f"{where}: scrypt N must be a power of two from {KDF_N} to {KDF_MAX_N}")
        return SaltedHasher(salt, n)

    def entry(self, secret_hash: str) -> str:
        """An ``allow.secrets`` entry: ``scrypt:SALT:HASH`` (N, r and p as documented)."""
        return f"{KDF}:{self.salt.hex()}:{secret_hash}"

    @staticmethod
    def parse_entry(entry: str, where: str) -> tuple[SaltedHasher, str]:
        """The hasher and the hash an ``allow.secrets`` entry names."""
        parts = entry.strip().lower().split(":")
        try:
            if len(parts) != 3 or parts[0] != KDF or len(bytes.fromhex(parts[2])) != 32:
                raise ValueError
            return SaltedHasher.from_params({"kdf": KDF, "salt": parts[1], "n": KDF_N, "r": KDF_R, "p": KDF_P},
                                            where), parts[2]
        except (ValueError, SecretguardError):
            raise SecretguardError(f"{where}: '{entry}' is not 'scrypt:SALT:HASH' as `secretguard hash-secret` "
                                   f"prints it") from None


class ReportKey(SecretHasher):
    """HMAC-SHA256 under a key kept out of the report; fast, because the reader lacks the key."""

    def __init__(self, key: bytes) -> None:
        super().__init__()
        self.key = key

    def _stretch(self, digest: bytes) -> bytes:
        return hmac.new(self.key, b"secret\0" + digest, hashlib.sha256).digest()


def key_file() -> Path:
    """Where the user's report key lives: ``$XDG_CONFIG_HOME/secretguard/fingerprint.key``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "secretguard" / KEY_FILE


def _read_or_create_key(path: Path) -> bytes:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        text = path.read_text(encoding="ascii", errors="replace").strip()
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) != KEY_BYTES:
            raise SecretguardError(f"{path}: not a fingerprint key ({2 * KEY_BYTES} hex digits); delete it to "
                                   "get a new one") from None
        return key
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(KEY_BYTES) + "\n")
    return _read_or_create_key(path)


class UserKey(ReportKey):
    """The report key of this user, read (or made, mode 0600) on first use only, so a text report makes no file.

    ``$SECRETGUARD_FINGERPRINT_KEY`` wins over the file (for CI). When the file can neither be read nor made,
    the key is made for this run alone and ``warn`` says so: fingerprints then differ from run to run.
    """

    def __init__(self, warn: Callable[[str], None]) -> None:
        SecretHasher.__init__(self)
        self._warn = warn

    @cached_property
    def key(self) -> bytes:  # type: ignore[override]
        given = os.environ.get(KEY_ENV)
        if given is not None:
            if len(given) < KEY_ENV_MIN_CHARS:
                raise SecretguardError(f"{KEY_ENV} must hold at least {KEY_ENV_MIN_CHARS} characters (a random key)")
            return given.encode()
        path = key_file()
        try:
            return _read_or_create_key(path)
        except OSError as exc:
            self._warn(f"cannot keep a fingerprint key in {path}: {exc.strerror or exc}; "
                       "fingerprints in this report hold for this run only")
            return os.urandom(KEY_BYTES)
