"""Writes the encrypted credential-store fixtures (DBeaver's ``credentials-config.json``, ``.mylogin.cnf``) by
encrypting made-up credentials the way each program does, and the rule examples of those formats.

    python -m tests.credstores          rewrite the fixtures under tests/data/credfiles, print the rule examples

Every key and IV is derived from a fixed label, so the output is the same on every run and the committed files
can be checked against it (tests/test_credfiles.py does).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from secretguard.fixedkeys import BLOCK, DBEAVER_KEY

DATA = Path(__file__).parent / "data" / "credfiles"
DBEAVER_PATH = "DBeaverData/workspace6/General/.dbeaver/credentials-config.json"
MYLOGIN_PATH = "mysql/.mylogin.cnf"


def fixed_bytes(label: str, size: int) -> bytes:
    """Bytes that look random and are the same on every run."""
    return hashlib.sha256(label.encode()).digest()[:size]


def _padded(data: bytes) -> bytes:
    padder = padding.PKCS7(8 * BLOCK).padder()
    return padder.update(data) + padder.finalize()


def dbeaver_file(credentials: dict[str, dict[str, dict[str, str]]], label: str, key: bytes = DBEAVER_KEY) -> bytes:
    """``credentials-config.json`` as DBeaver writes it: the IV, then the compact JSON in AES-128-CBC."""
    iv = fixed_bytes(f"dbeaver-iv:{label}", BLOCK)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    plain = json.dumps(credentials, separators=(",", ":")).encode()
    return iv + encryptor.update(_padded(plain)) + encryptor.finalize()


def mylogin_file(text: str, label: str) -> bytes:
    """``.mylogin.cnf`` as mysql_config_editor writes it: 4 zero bytes, 20 key bytes, then each line of
    ``text`` as a little-endian 4-byte length and the line in AES-128-ECB under the folded key."""
    material = fixed_bytes(f"mylogin-key:{label}", 20)
    key = bytearray(BLOCK)
    for i, byte in enumerate(material):
        key[i % BLOCK] ^= byte
    out = bytearray(bytes(4) + material)
    for line in text.splitlines(keepends=True):
        encryptor = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()  # noqa: S305 - the format's mode
        cipher = encryptor.update(_padded(line.encode())) + encryptor.finalize()
        out += len(cipher).to_bytes(4, "little") + cipher
    return bytes(out)


# --- the fixtures: real credentials, and the placeholder twin of each file ---------------------------------------

DBEAVER_REAL = {
    "mysql8-18f2a7c4b1e-3d6e9a0b5c7f2e14": {
        "#connection": {"user": "shop_rw", "password": "Hb6!qt3Rz"},
        "network/ssh_tunnel": {"user": "deploy", "password": "Tn8#wq5Lm"},
    },
    "postgres-jdbc-18f2a7d0c3a-6b1e4f7a9c2d5e38": {"#connection": {"user": "readonly"}},
}
DBEAVER_PLACEHOLDER = {
    "mysql8-18f2a7c4b1e-3d6e9a0b5c7f2e14": {
        "#connection": {"user": "shop_rw", "password": ""},
        "network/ssh_tunnel": {"user": "deploy", "password": "${SSH_PASSWORD}"},
    },
}
MYLOGIN_REAL = """\
[client]
user = "backup"
password = "Qz4!mr7Kp"
host = "localhost"
[reporting]
user = "reporter"
password = "ledger-2024"
host = "db.internal.acme-corp.io"
port = 3306
"""
MYLOGIN_PLACEHOLDER = """\
[client]
user = "backup"
host = "localhost"
[reporting]
user = "reporter"
password = ""
host = "db.internal.acme-corp.io"
"""


def fixtures() -> dict[str, bytes]:
    """Each fixture file, by its path under tests/data/credfiles."""
    return {
        f"real/{DBEAVER_PATH}": dbeaver_file(DBEAVER_REAL, "real"),
        f"placeholder/{DBEAVER_PATH}": dbeaver_file(DBEAVER_PLACEHOLDER, "placeholder"),
        f"real/{MYLOGIN_PATH}": mylogin_file(MYLOGIN_REAL, "real"),
        f"placeholder/{MYLOGIN_PATH}": mylogin_file(MYLOGIN_PLACEHOLDER, "placeholder"),
    }


def rule_examples() -> dict[str, dict[str, list[bytes]]]:
    """The examples and negative examples of the rules of these formats, as file bytes."""
    one = {"oracle-18f2a8e5d1b-2c4e6a8b0d1f3a57": {"#connection": {"user": "ledger", "password": "Vk3$np8Wx"}}}
    truncated = mylogin_file("[client]\nuser = \"backup\"\npassword = \"Qz4!mr7Kp\"\n", "example-3")
    return {
        "dbeaver-credentials-password": {
            "examples": [dbeaver_file(one, "example-1"), dbeaver_file(DBEAVER_REAL, "example-2")],
            "negative_examples": [
                dbeaver_file(one, "example-3", key=fixed_bytes("a project password", BLOCK)),
                dbeaver_file(DBEAVER_PLACEHOLDER, "example-4"),
            ],
        },
        "mysql-login-path-password": {
            "examples": [mylogin_file("[client]\nuser = root\npassword = Vk3$np8Wx\n", "example-1"),
                         mylogin_file(MYLOGIN_REAL, "example-2")],
            "negative_examples": [truncated[:-8], mylogin_file(MYLOGIN_PLACEHOLDER, "example-4")],
        },
    }


def main() -> None:
    for path, data in fixtures().items():
        target = DATA / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for rule, sets in rule_examples().items():
        print(f"# {rule}")
        for key, examples in sets.items():
            print(f"    {key}:")
            for example in examples:
                print(f"      - {base64.b64encode(example).decode()}")


if __name__ == "__main__":
    main()
