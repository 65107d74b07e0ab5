"""Structure-aware extraction: values that formats keep as data, rewritten as ``NAME="value"`` lines.

Kubernetes ``Secret`` manifests (``data`` base64-decoded, ``stringData`` as is), docker-compose
``environment`` lists and maps, name/value pairs (Kubernetes ``env``, ECS), credential-named keys in YAML
and JSON (named by their last two keys, so ``{"aws": {"secret": …}}`` reads ``aws.secret=…``), Jupyter
notebook cells (joined, so a key split over a cell's lines is whole again), ``.env``, INI, Java properties
and Terraform ``.tfvars``. Files are parsed with pyyaml, json and configparser; each line of the synthetic
text points back at the offset of its value (or key) in the chunk. A file that does not parse gives
nothing here: the line scanner has already seen it.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from secretguard.decoders import Region, decode_escapes, decode_regions, is_text

if TYPE_CHECKING:
    import yaml

MAX_PARSE_BYTES = 4 * 1024 * 1024
"""Larger files are left to the line scanner (and the decoders)."""
CREDENTIAL_NAME = re.compile(
    r"(?i:pass|pwd|secret|token|cred|auth(?!or)|private|session|signature)"
    r"|(?:(?<![A-Za-z])(?:key|Key)|(?<=[a-z])Key|KEY)S?s?(?![a-z])"  # api_key, apiKey, PRIVATE_KEY; not keyv, monkey
)
_CREDENTIAL_KEY = rb"[\w.-]*(?i:pass|pwd|secret|token|key|cred|auth|private)[\w.-]*"
_YAML_HINT = re.compile(
    rb"(?m)^[ \t-]*[\"']?" + _CREDENTIAL_KEY + rb"[\"']?[ \t]*:|^[ \t]*(?:environment|env|data|stringData)[ \t]*:")
_JSON_HINT = re.compile(rb'"' + _CREDENTIAL_KEY + rb'"\s*:|"value"\s*:')
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
MAX_NAME = 60


@dataclass(frozen=True, slots=True)
class Record:
    """One named value, the decoders it went through, and the chunk offset it is reported at.

    A record of a credential-file ``view`` (see :mod:`secretguard.credfiles`) is written ``VIEW::NAME=value``,
    for the rules of that view; a decoded one keeps its encoded ``token``, which gives way to what it hides.
    ``entry`` names the entry of a credential store the value belongs to (a DBeaver connection, a Firefox
    login's site), where the offset alone cannot tell them apart.
    """

    name: str
    value: str
    offset: int
    chain: tuple[str, ...] = ()
    view: str = ""
    token: bytes = b""
    entry: str = ""


_BY_SUFFIX = {
    "ipynb": "notebook", "yaml": "yaml", "yml": "yaml", "json": "json", "tfvars": "tfvars", "env": "env",
    "ini": "ini", "cfg": "ini", "properties": "properties",
}
_BY_NAME = {".env": "env", ".pypirc": "ini", "credentials": "ini", "package-lock.json": None,
            "npm-shrinkwrap.json": None}  # lockfiles: thousands of entries, hashes but no credentials


def file_kind(path: str | None, data: bytes) -> str | None:
    """Which extractor reads this file: a credential file's own reader, else one by its name, else (for blobs
    without one) by a look at the content."""
    from secretguard.credfiles import credential_kind, is_settings_file

    kind = credential_kind(path)
    if kind is not None:
        return kind
    name = (path or "").rpartition("/")[2].lower()
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name.startswith(".env."):
        return "env"
    stem, dot, suffix = name.rpartition(".")
    if dot and stem:
        return "python-settings" if suffix == "py" and is_settings_file(path) else _BY_SUFFIX.get(suffix)
    head = data[:4096].lstrip()
    if head[:1] in (b"{", b"["):
        return "notebook" if b'"nbformat"' in data else "json"
    if re.search(rb"(?m)^kind:[ \t]*[\"']?Secret\b", data[:65536]):
        return "yaml"
    return None


def extract_regions(path: str | None, data: bytes, depth: int, budget: list[int],
                    binary: bool = False) -> list[Region]:
    """Regions of synthetic ``NAME="value"`` text (notebook cells as they are), and what decodes inside them;
    for a ``binary``'s bytes, only those of the credential files that are binary (encrypted stores)."""
    from secretguard.credfiles import BINARY_KINDS, credential_kind, is_settings_file

    kind = credential_kind(path) if binary else file_kind(path, data)
    if kind is None or depth <= 0 or len(data) > MAX_PARSE_BYTES or (binary and kind not in BINARY_KINDS):
        return []
    text = data.decode("utf-8", "replace")
    try:
        if kind == "notebook":
            regions = _notebook(data, text)
        else:
            records = list(read_records(kind, data, text, settings=is_settings_file(path)))
            for record in records:
                if "base64" in record.chain:
                    budget[0] -= len(record.value)
            regions = _regions(records)
    except RecursionError:  # nested deeper than Python goes: left to the line scanner
        return []
    nested: list[Region] = []
    for region in regions:
        if depth > len(region.chain) and budget[0] > 0:
            nested += decode_regions(region.text, depth - len(region.chain), budget, within=region)
    return regions + nested


def read_records(kind: str, data: bytes, text: str, settings: bool = False) -> Iterator[Record]:
    """The records of the ``kind`` reader; in a settings file, credential-named values in the settings view."""
    from secretguard import credfiles

    if kind in EXTRACTORS:
        records = EXTRACTORS[kind](data, text)
        return credfiles.settings_records(kind, records) if settings else records
    if kind == "python-settings":
        return credfiles.settings_records(kind, credfiles.READERS[kind](data, text))
    return credfiles.READERS[kind](data, text)


def extractor_names() -> frozenset[str]:
    """Every reader a rule may name as its ``extractor``."""
    from secretguard.credfiles import READERS

    return frozenset(EXTRACTORS) | frozenset(READERS)


def view_text(kind: str, data: bytes) -> bytes:
    """The lines the ``kind`` reader makes of ``data`` read as a settings file, as rules see them (for rule
    examples written in a file format)."""
    text = data.decode("utf-8", "replace")
    return b"\n".join(r.text for r in _regions(list(read_records(kind, data, text, settings=True))))


def _quoted(value: str) -> str:
    for quote in ('"', "'"):
        if quote not in value:
            return f"{quote}{value}{quote}"
    return value


def _regions(records: list[Record]) -> list[Region]:
    """One region per decode chain (and encoded token): a ``NAME="value"`` line per record (a multi-line value
    spans lines), ``VIEW::NAME=value`` for a view's records."""
    by_chain: dict[tuple[tuple[str, ...], bytes], tuple[list[str], list[int], list[str]]] = {}
    for record in records:
        lines, origins, entries = by_chain.setdefault((record.chain, record.token), ([], [], []))
        name = _NAME_CHARS.sub("_", record.name)[-MAX_NAME:] or "value"
        line = f"{record.view}::{name}={record.value}" if record.view else f"{name}={_quoted(record.value)}"
        lines.append(line)
        origins.extend([record.offset] * (line.count("\n") + 1))
        entries.extend([record.entry] * (line.count("\n") + 1))
    return [
        Region("\n".join(lines).encode("utf-8", "surrogateescape"), chain, tuple(origins), token,
               entries=tuple(entries) if any(entries) else ())
        for (chain, token), (lines, origins, entries) in by_chain.items()
    ]


def line_starts(data: bytes) -> list[int]:
    starts = [0]
    pos = data.find(b"\n")
    while pos != -1:
        starts.append(pos + 1)
        pos = data.find(b"\n", pos + 1)
    return starts


# --- YAML: Kubernetes Secrets, docker-compose environment, name/value pairs, credential-named keys ----------

def yaml_records(data: bytes, text: str) -> Iterator[Record]:
    if not _YAML_HINT.search(data):
        return
    import yaml  # here, not at the top: most scans meet no YAML worth parsing, and importing it is slow

    try:
        documents = list(yaml.compose_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    except yaml.YAMLError:
        return
    starts = line_starts(data)

    def offset(node: yaml.Node) -> int:
        mark = node.start_mark
        return starts[min(mark.line, len(starts) - 1)] + mark.column

    seen: set[int] = set()  # aliases share nodes: visit each once, so "billion laughs" stays small

    def walk(node: yaml.Node, names: tuple[str, ...]) -> Iterator[Record]:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            for item in node.value:
                if names and names[-1] == "environment" and isinstance(item, yaml.ScalarNode) and "=" in item.value:
                    name, _, value = item.value.partition("=")
                    yield Record(name.strip(), value, offset(item))
                else:
                    yield from walk(item, names)
            return
        if not isinstance(node, yaml.MappingNode):
            return
        scalars = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
        name, value = scalars.get("name"), scalars.get("value")
        if isinstance(name, yaml.ScalarNode) and isinstance(value, yaml.ScalarNode):
            yield Record(name.value, value.value, offset(value))
        kind = scalars.get("kind")
        secret = isinstance(kind, yaml.ScalarNode) and kind.value == "Secret" and not names
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            if isinstance(value, yaml.ScalarNode):
                if names and names[-1] == "environment":
                    yield Record(key.value, value.value, offset(value))
                elif _credential_name(key.value):
                    yield Record(".".join((*names[-1:], key.value)), value.value, offset(value))
            elif secret and key.value in ("data", "stringData") and isinstance(value, yaml.MappingNode):
                yield from _secret_values(value, key.value == "data", offset)
            else:
                yield from walk(value, (*names, key.value))

    for document in documents:
        if document is not None:
            yield from walk(document, ())


def _secret_values(node: yaml.MappingNode, encoded: bool, offset: Callable[[yaml.Node], int]) -> Iterator[Record]:
    """A Kubernetes Secret's ``data`` (base64) or ``stringData`` (plain) entries, whatever their names."""
    import yaml

    for key, value in node.value:
        if not (isinstance(key, yaml.ScalarNode) and isinstance(value, yaml.ScalarNode)):
            continue
        if not encoded:
            yield Record(key.value, value.value, offset(value))
            continue
        try:
            raw = binascii.a2b_base64("".join(value.value.split()).encode("ascii"), strict_mode=True)
        except (binascii.Error, UnicodeEncodeError):
            continue
        if is_text(raw):
            yield Record(key.value, raw.decode("utf-8", "surrogateescape"), offset(value), ("base64",))


def _credential_name(name: str) -> bool:
    return CREDENTIAL_NAME.search(name) is not None


# --- JSON configs and notebooks ----------------------------------------------------------------------------

class _Cursor:
    """Finds JSON keys and strings in the raw bytes in document order, to point records back at them."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def find(self, value: str, suffix: bytes = b"") -> int:
        for ascii_only in (False, True):
            raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogateescape")
            m = re.compile(re.escape(raw) + suffix).search(self.data, self.pos)
            if m:
                self.pos = m.end()
                return m.start()
        return self.pos


def json_records(data: bytes, text: str) -> Iterator[Record]:
    if not _JSON_HINT.search(data):
        return
    try:
        document = json.loads(text)
    except ValueError:
        return
    cursor = _Cursor(data)

    def chain(at: int) -> tuple[str, ...]:
        end = data.find(b"\n", at)
        return ("json-escape",) if b"\\" in data[at : len(data) if end == -1 else end] else ()

    def walk(node: Any, names: tuple[str, ...]) -> Iterator[Record]:
        if isinstance(node, list):
            for item in node:
                yield from walk(item, names)
            return
        if not isinstance(node, dict):
            return
        name = node.get("name")
        for key, item in node.items():
            if isinstance(item, str) and isinstance(key, str):
                if key == "value" and isinstance(name, str):
                    at = cursor.find(key, rb"\s*:")
                    yield Record(name, item, at, chain(at))
                elif _credential_name(key):
                    at = cursor.find(key, rb"\s*:")
                    yield Record(".".join((*names[-1:], key)), item, at, chain(at))
            elif isinstance(key, str):
                yield from walk(item, (*names, key))

    yield from walk(document, ())


def _notebook(data: bytes, text: str) -> list[Region]:
    """Every cell's source and text outputs, joined as the notebook shows them, one region."""
    try:
        document = json.loads(text)
    except ValueError:
        return []
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        return []
    cursor = _Cursor(data)
    lines: list[str] = []
    origins: list[int] = []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        pieces = [cell.get("source")]
        for output in cell.get("outputs") or ():
            if isinstance(output, dict):
                pieces += [output.get("text"), (output.get("data") or {}).get("text/plain")]
        for piece in pieces:
            parts = [piece] if isinstance(piece, str) else [p for p in piece or () if isinstance(p, str)]
            block: list[str] = []
            for part in parts:
                at = cursor.find(part)
                block.append(part)
                origins.extend([at] * part.count("\n"))
            joined = "".join(block)
            if joined:
                if not joined.endswith("\n"):
                    origins.append(origins[-1] if origins else 0)
                lines.append(joined.rstrip("\n"))
    if not lines:
        return []
    body = "\n".join(lines).encode("utf-8", "surrogateescape")
    while len(origins) < body.count(b"\n") + 1:
        origins.append(origins[-1] if origins else 0)
    return [Region(body, ("json-escape",), tuple(origins))]


# --- .env, INI, Java properties, Terraform tfvars ----------------------------------------------------------

_ENV_LINE = re.compile(rb"(?m)^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=[ \t]*")


def _env(data: bytes, text: str) -> Iterator[Record]:
    """``NAME=value`` lines: quoted values may span lines; escapes count in double quotes only."""
    for m in _ENV_LINE.finditer(data):
        name = m.group(1).decode("ascii")
        if not _credential_name(name):
            continue
        value = quoted_value(data, m.end(), double_escapes=True)
        if value is not None:
            yield Record(name, value, m.end())


def quoted_value(data: bytes, at: int, double_escapes: bool) -> str | None:
    """The value starting at ``at``: a quoted string (to its closing quote) or the rest of the line."""
    quote = data[at : at + 1]
    if quote in (b'"', b"'"):
        m = re.compile(rb"(?:[^\\" + quote + rb"]|\\.)*" + quote, re.S).match(data, at + 1)
        if m is None:
            return None
        raw = data[at + 1 : m.end() - 1]
        if quote == b'"' and double_escapes and b"\\" in raw:
            raw = decode_escapes(raw) or raw
        return raw.decode("utf-8", "surrogateescape")
    end = data.find(b"\n", at)
    line = data[at : len(data) if end == -1 else end]
    line = re.split(rb"[ \t]+#", line, maxsplit=1)[0].strip()
    return line.decode("utf-8", "surrogateescape") or None


def ini_records(data: bytes, text: str) -> Iterator[Record]:
    import configparser

    parser = configparser.ConfigParser(interpolation=None, strict=False, allow_no_value=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error:
        return
    for section in [parser.default_section, *parser.sections()]:
        header = re.search(rb"(?m)^[ \t]*\[" + re.escape(section.encode()) + rb"\]", data)
        start = header.end() if header else 0
        for key, value in parser[section].items():
            if value is None or not _credential_name(key) or (section != parser.default_section
                                                                and key in parser.defaults()):
                continue
            m = re.search(rb"(?m)^[ \t]*" + re.escape(key.encode()) + rb"[ \t]*[=:][ \t]*", data[start:])
            at = start + m.end() if m else start
            name = key if section == parser.default_section else f"{section}.{key}"
            yield Record(name, value, at)


_PROPERTY = re.compile(rb"(?m)^[ \t]*([^#!\s=:][^\s=:]*)[ \t]*(?:[=:][ \t]*|[ \t]+)")


def _properties(data: bytes, text: str) -> Iterator[Record]:
    """Java ``.properties``: ``key=value``, ``key: value`` or ``key value``; backslash continues a line."""
    for m in _PROPERTY.finditer(data):
        name = m.group(1).decode("utf-8", "replace")
        if not _credential_name(name):
            continue
        end, pieces, at = m.end(), [], m.end()
        while True:
            stop = data.find(b"\n", end)
            stop = len(data) if stop == -1 else stop
            piece = data[end:stop].rstrip(b"\r")
            if piece.endswith(b"\\") and not piece.endswith(b"\\\\") and stop < len(data):
                pieces.append(piece[:-1])
                end = stop + 1
                while end < len(data) and data[end : end + 1] in (b" ", b"\t"):
                    end += 1
                continue
            pieces.append(piece)
            break
        raw = b"".join(pieces)
        value = (decode_escapes(raw) or raw) if b"\\" in raw else raw
        if value:
            yield Record(name, value.decode("utf-8", "surrogateescape"), at)


_TFVAR = re.compile(rb'(?m)(?:^|[{,][ \t]*)[ \t]*"?([A-Za-z_][A-Za-z0-9_-]*)"?[ \t]*=[ \t]*(?=["<])')
_HEREDOC = re.compile(rb"<<-?([A-Za-z_][A-Za-z0-9_]*)[ \t]*\r?\n")


def _tfvars(data: bytes, text: str) -> Iterator[Record]:
    """Terraform variable files: ``name = "value"`` (also inside ``{ }`` maps) and ``<<EOT`` heredocs."""
    for m in _TFVAR.finditer(data):
        name = m.group(1).decode("ascii")
        if not _credential_name(name):
            continue
        heredoc = _HEREDOC.match(data, m.end())
        if heredoc:
            close = re.compile(rb"(?m)^[ \t]*" + re.escape(heredoc.group(1)) + rb"[ \t]*$").search(data, heredoc.end())
            if close:
                body = data[heredoc.end() : close.start()].rstrip(b"\r\n")
                yield Record(name, body.decode("utf-8", "surrogateescape"), heredoc.end())
            continue
        value = quoted_value(data, m.end(), double_escapes=True)
        if value is not None:
            yield Record(name, value, m.end())


EXTRACTORS = {
    "yaml": yaml_records,
    "json": json_records,
    "env": _env,
    "ini": ini_records,
    "properties": _properties,
    "tfvars": _tfvars,
}
