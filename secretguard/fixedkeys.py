"""Credential stores encrypted with a key every copy of the program shares: decrypted here, as the program does.

DBeaver encrypts ``credentials-config.json`` with one AES key published in its sources; ``mysql_config_editor``
writes the AES key into ``.mylogin.cnf`` itself. Neither is protection, so a committed copy is as good as
plaintext. Each function returns the plaintext, or None when the bytes are not such a file (another key, a
truncated copy, a file of the same name in another format). ``cryptography`` is imported on the first such file
only: the pre-commit hook should not pay for it on every commit.
"""

from __future__ import annotations

from typing import Any

DBEAVER_KEY = bytes.fromhex("babb4a9f774ab853c96c2d653dfe544a")
"""The AES-128 key DBeaver Community encrypts ``credentials-config.json`` with (CBC, the IV in the first 16 bytes)."""
BLOCK = 16
MYLOGIN_KEY_AT = 4
"""``.mylogin.cnf``: 4 unused bytes, then the 20 bytes the AES-128-ECB key is folded from."""
MYLOGIN_KEY_BYTES = 20
MYLOGIN_MAX_LINE = 64 * 1024
"""Longer encrypted lines than this are not what mysql_config_editor writes (its lines are option lines)."""


def dbeaver_credentials(data: bytes) -> bytes | None:
    """The JSON text DBeaver encrypted into ``credentials-config.json``."""
    if len(data) < 2 * BLOCK or len(data) % BLOCK:
        return None
    return _decrypt(_aes_cbc(DBEAVER_KEY, data[:BLOCK]), data[BLOCK:])


def mylogin_key(material: bytes) -> bytes:
    """The AES-128 key of a ``.mylogin.cnf``: its 20 key bytes XOR-folded into 16."""
    key = bytearray(BLOCK)
    for i, byte in enumerate(material):
        key[i % BLOCK] ^= byte
    return bytes(key)


def mylogin(data: bytes) -> bytes | None:
    """The option-file text ``mysql_config_editor`` encrypted into ``.mylogin.cnf``: each line is stored as a
    4-byte little-endian length and that many bytes of AES-128-ECB ciphertext. A copy cut short gives the lines
    before the cut."""
    at = MYLOGIN_KEY_AT + MYLOGIN_KEY_BYTES
    if len(data) < at + 4 + BLOCK:
        return None
    mode = _aes_ecb(mylogin_key(data[MYLOGIN_KEY_AT:at]))
    lines: list[bytes] = []
    while at < len(data):
        length = int.from_bytes(data[at : at + 4], "little")
        at += 4
        line = None
        if 0 < length <= MYLOGIN_MAX_LINE and length % BLOCK == 0 and at + length <= len(data):
            line = _decrypt(mode, data[at : at + length])
        if line is None:
            break
        lines.append(line)
        at += length
    return b"".join(lines) if lines else None


def _aes_cbc(key: bytes, iv: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    return Cipher(algorithms.AES(key), modes.CBC(iv))


def _aes_ecb(key: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    return Cipher(algorithms.AES(key), modes.ECB())  # noqa: S305 - the format's own mode, read, never written


def _decrypt(cipher: Any, ciphertext: bytes) -> bytes | None:
    """The PKCS#7-padded plaintext of ``ciphertext``, or None when the padding shows the key was wrong."""
    from cryptography.hazmat.primitives import padding

    decryptor = cipher.decryptor()
    unpadder = padding.PKCS7(8 * BLOCK).unpadder()
    try:
        return unpadder.update(decryptor.update(ciphertext) + decryptor.finalize()) + unpadder.finalize()
    except ValueError:
        return None
