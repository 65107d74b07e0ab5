"""What an AWS reader hands out: an :class:`Environment` of named values (a function version's variables, a
parameter, stage variables), or a :class:`Document` scanned as it is (a template, user data, a build spec)."""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from secretguard.aws.session import error_code, error_line
from secretguard.provenance import CloudResource, Provenance
from secretguard.sources import Chunk, Unreadable

MAX_USER_DATA_BYTES = 16 * 1024 * 1024
"""EC2 itself limits user data to 16 KB; a decompressed body is read this far at most."""
DOWNLOAD_TIMEOUT_SECONDS = 120
REFUSED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                           "SubscriptionRequiredException"})
"""What AWS answers when the caller may not make a call, or the account does not use the service."""

_Part = TypeVar("_Part")


Variables = tuple[tuple[str, str], ...]
"""Named values as (name, value) pairs, sorted by name."""


@dataclass(frozen=True, slots=True)
class Environment:
    """Named values of one version of one cloud resource: a function version's or a container's environment, a
    parameter, a stack's parameters and outputs, stage variables."""

    origin: Provenance
    variables: Variables
    error: str | None = None
    """Why the variables could not be read (a KMS key the caller cannot use), if so."""
    noun = "environment"

    def text(self) -> tuple[bytes, list[int]]:
        """``NAME=value`` lines sorted by name (key pairs sit together), and the first line of each variable."""
        starts, lines, line = [], [], 1
        for name, value in self.variables:
            starts.append(line)
            lines.append(f"{name}={value}")
            line += 1 + value.count("\n")
        return "\n".join(lines).encode("utf-8", "surrogateescape"), starts

    @property
    def size(self) -> int:
        return len(self.text()[0])

    def chunk(self) -> Chunk:
        """The ``NAME=value`` text as one chunk whose fields are the variables."""
        data, starts = self.text()
        fields = tuple((n, v, line) for (n, v), line in zip(self.variables, starts, strict=True))
        return Chunk(data, self.origin, fields)


def variables_of(pairs: Iterable[tuple[Any, Any]]) -> Variables:
    """Name and value pairs as strings, sorted by name."""
    return tuple(sorted((str(k), str(v)) for k, v in pairs))


@dataclass(frozen=True, slots=True)
class Document:
    """The text of one version of one cloud resource; ``error`` says why it could not be read, if so."""

    origin: CloudResource
    content: str
    error: str | None = None
    noun = "document"

    @property
    def size(self) -> int:
        return len(self.content)

    def chunk(self) -> Chunk:
        return Chunk(self.content.encode("utf-8", "surrogateescape"), self.origin)


def user_data_text(encoded: str) -> tuple[str, str | None]:
    """EC2 user data as AWS returns it (base64, often of gzip), as text; with a reason when it is not text."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return encoded, None  # not base64 after all: scan it as given
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.GzipFile(fileobj=io.BytesIO(raw)).read(MAX_USER_DATA_BYTES)
        except (OSError, EOFError, zlib.error) as exc:
            return "", f"user data is gzip that does not decompress: {exc}"
    return raw.decode("utf-8", "replace"), None



def download(url: str, limit: int) -> bytes:
    """The bytes at ``url`` (an address AWS gave, such as a pre-signed S3 URL), through the proxy the environment
    names now (``HTTPS_PROXY``), if any; at most ``limit`` bytes, else :class:`Unreadable`."""
    try:
        with urllib.request.build_opener().open(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
            data: bytes = response.read(limit + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise Unreadable(f"download failed: {getattr(exc, 'reason', exc)}") from None
    if len(data) > limit:
        raise Unreadable(f"larger than {limit} bytes")
    return data


def guarded(what: CloudResource, parts: Iterator[_Part]) -> Iterator[_Part | Document]:
    """``parts`` until AWS refuses a call (access denied, a service the account does not use); the refusal then
    becomes a document not read that names ``what`` and the refused call, and the rest of the kind goes on."""
    try:
        yield from parts
    except ClientError as exc:
        if error_code(exc) not in REFUSED_CODES:
            raise
        yield Document(what, "", f"{exc.operation_name}: {error_line(exc)}")
