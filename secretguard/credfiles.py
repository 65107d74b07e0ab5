"""Credential files and settings files: each read with its own reader, each credential field one record.

A credential file (``.pgpass``, ``.git-credentials``, FileZilla's ``sitemanager.xml``, ``.docker/config.json``,
``/etc/shadow``, a SQL dump, …) exists to hold credentials, so every value in one of its credential fields is a
secret whatever its entropy: ``admin123`` in ``.pgpass`` is a real password. Settings files (``.env``,
``settings.py``, ``application.properties``, ``appsettings.json``, ``config/*.yml``) hold many values; there a
value whose *name* says it is a credential (``*_PASSWORD``, ``*_SECRET``, ``*_TOKEN``, ``*_KEY``) is one.

Each record is rendered as a line ``VIEW::FIELD=value`` (``pgpass::password=…``), a shape no source code
has and the generic rules do not read; the rules of ``patterns/credential-files.yaml`` name their view as
their ``extractor`` and match these lines only. What a format encodes is decoded first (FileZilla and docker
base64, JetBrains' scrambled passwords, git's percent-escapes, the AES of DBeaver's ``credentials-config.json``
and of ``.mylogin.cnf``, whose keys every copy shares), with the decoder named in the chain.
References (``${VAR}``, ``$VAR``, ``%VAR%``, ``{{ var }}``) and documented defaults are never records.
"""

from __future__ import annotations

import binascii
import html
import json
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import unquote

from secretguard import fixedkeys
from secretguard.decoders import is_text
from secretguard.extractors import Record, ini_records, json_records, line_starts, quoted_value, yaml_records

Reader = Callable[[bytes, str], Iterator[Record]]

# --- which files -----------------------------------------------------------------------------------------------

_BY_NAME = {
    ".git-credentials": "git-credentials", "git-credentials": "git-credentials",
    ".pgpass": "pgpass", "pgpass.conf": "pgpass",
    "recentservers.xml": "filezilla", "sitemanager.xml": "filezilla", "filezilla.xml": "filezilla",
    "sftp-config.json": "sftp-config", ".ftpconfig": "ftpconfig", ".remote-sync.json": "remote-sync",
    "webservers.xml": "jetbrains-webservers", "data-sources.json": "dbeaver",
    "robomongo.json": "robomongo", "robo3t.json": "robomongo", "mongoid.yml": "mongoid",
    ".s3cfg": "s3cfg", ".tugboat": "tugboat", ".netrc": "netrc", "_netrc": "netrc",
    ".dockercfg": "docker-config", ".dockerconfigjson": "docker-config", ".npmrc": "npmrc", "npmrc": "npmrc",
    "master.key": "rails-master-key", "shadow": "shadow", "shadow-": "shadow",
    ".htpasswd": "htpasswd", "htpasswd": "htpasswd", "ftpd.passwd": "passwd", ".esmtprc": "esmtprc",
    "esmtprc": "esmtprc", "ventrilo_srv.ini": "ventrilo", ".my.cnf": "mysql-cnf", "my.cnf": "mysql-cnf",
    "logins.json": "firefox-logins", ".pypirc": "pypirc", "auth.json": "composer-auth",
    ".mylogin.cnf": "mysql-login",
}
_BY_PATH = (
    (re.compile(r"(?:^|/)\.docker/config\.json$"), "docker-config"),
    (re.compile(r"(?:^|/)\.dbeaver/credentials-config\.json$"), "dbeaver-credentials"),
    (re.compile(r"(?:^|/)config/credentials/[^/]+\.key$"), "rails-master-key"),
    (re.compile(r"\.sql$"), "sql-dump"),
    (re.compile(r"\.htpasswd$"), "htpasswd"),
    (re.compile(r"(?:^|/)(?:\.m2/|\.mvn/)?(?:[\w.-]*[_-])?settings\.xml$"), "maven-settings"),
)
_SETTINGS_PATH = re.compile(
    r"""(?x)(?:^|/)(?:
        \.env(?:\.[^/]+)? | [^/]+\.env                                   (?# .env, .env.production, prod.env )
      | (?:[^/]*_)?settings(?:_[^/]*)?\.py | settings/[^/]+\.py           (?# Django: settings.py, local_settings.py )
      | application(?:-[^/]+)?\.(?:properties|ya?ml)                     (?# Spring )
      | appsettings(?:\.[^/]+)?\.json                                    (?# .NET )
      | config/[^/]+\.ya?ml | (?:secrets|database|parameters)\.ya?ml     (?# Rails, Symfony )
    )$""")


_TEMPLATE = re.compile(r"example|sample|template|dist\b|\.tpl|default|test")
"""Templates of settings files (``.env.example``) hold what to fill in, not what was filled in; test settings
(``test_settings.py``, ``.env.test``) hold made-up values."""
_TEST_DIR = re.compile(r"(?:^|/)(?:tests?|testing|fixtures|examples?|samples?|docs?)/")


def _tail(lowered: str) -> str:
    """The last three components of a path: all that :data:`_BY_PATH` and :data:`_SETTINGS_PATH` look at (their
    matches start at a component and end at the path's end), so a long path (an archive member's, a deep
    tree's) costs no more to test than a short one."""
    return "/".join(lowered.rsplit("/", 3)[-3:])


def credential_kind(path: str | None) -> str | None:
    """The credential-file reader for this path, if its name or place says what it holds."""
    if not path:
        return None
    lowered = path.lower()
    kind = _BY_NAME.get(lowered.rpartition("/")[2])
    if kind is not None:
        return kind
    tail = _tail(lowered)
    return next((kind for pattern, kind in _BY_PATH if pattern.search(tail)), None)


def is_settings_file(path: str | None) -> bool:
    """Whether the path names a settings file, where credential-named values are findings whatever they look like."""
    lowered = (path or "").lower()
    return (_SETTINGS_PATH.search(_tail(lowered)) is not None and _TEMPLATE.search(lowered.rpartition("/")[2]) is None
            and _TEST_DIR.search(lowered) is None)


# --- which values ----------------------------------------------------------------------------------------------

_REFERENCE = re.compile(
    r"""(?x)
      \$\{ | ^\$(?![A-Za-z0-9]{1,8}\$)[A-Za-z_(] | ^%[A-Za-z_][A-Za-z0-9_]*%$ | \{\{ | ^<[^>]*>$ | ^\[[^\]]*\]$
    | ^(?:env|getenv|ENV)\s*[(\[] | os\.environ | process\.env
    """)
DEFAULTS = frozenset({
    "", "x", "*", "null", "none", "nil", "true", "false", "yes", "no", "on", "off", "root", "admin", "toor",
    "postgres", "mysql", "guest", "pass", "passwd", "secret", "password", "changeme", "changeit", "homestead", "forge",
    "put your unique phrase here", "database_name_here", "username_here", "password_here",
})
"""Values documentation and skeletons ship (Laravel's homestead/forge, Java keystores' changeit, WordPress' phrases)."""


def is_literal(value: str) -> bool:
    """A value that is itself a credential: not empty, not a reference to one, not a shipped default."""
    stripped = value.strip()
    return stripped.lower() not in DEFAULTS and _REFERENCE.search(stripped) is None and "\n" not in stripped


def _record(view: str, field: str, value: str, offset: int, chain: tuple[str, ...] = (),
            token: bytes = b"", entry: str = "") -> Iterator[Record]:
    if is_literal(value):
        yield Record(field, value.strip(), offset, chain, view=view, token=token, entry=entry)


def _entry(name: str, user: str) -> str:
    """How a store's entry is named in a location: its name, and the user its password is for."""
    return f"{name} (user {user})" if user else name


def _unquoted(value: str) -> str:
    """``value`` without one pair of quotes around it, as option files' readers take it."""
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'" else value


# --- colon-separated files: .pgpass, .git-credentials, shadow, htpasswd, passwd ----------------------------------

def _lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    for start in line_starts(data):
        end = data.find(b"\n", start)
        line = data[start : len(data) if end == -1 else end].rstrip(b"\r")
        if line.strip() and not line.lstrip().startswith(b"#"):
            yield start, line


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


_PGPASS_LINE = re.compile(rb"(?:(?:[^:\\]|\\.)*:){4}((?:[^:\\]|\\.)*)")


def _pgpass(data: bytes, text: str) -> Iterator[Record]:
    """``host:port:database:user:password``; ``\\:`` and ``\\\\`` escape within a field."""
    for start, line in _lines(data):
        m = _PGPASS_LINE.match(line)
        if m:
            password = _text(re.sub(rb"\\(.)", rb"\1", m.group(1)))
            yield from _record("pgpass", "password", password, start + m.start(1))


_CREDENTIAL_URL = re.compile(rb"^\s*[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s]*:([^@\s]+)@[^\s@]+")


def _git_credentials(data: bytes, text: str) -> Iterator[Record]:
    """``https://user:password@host``: git stores the password percent-encoded."""
    for start, line in _lines(data):
        m = _CREDENTIAL_URL.match(line)
        if m:
            raw = _text(m.group(1))
            plain = unquote(raw)
            chain, token = (("percent",), m.group(1)) if plain != raw else ((), b"")
            yield from _record("git-credentials", "password", plain, start + m.start(1), chain, token)


_LOCKED = re.compile(r"^[!*]+$|^x$")


def _colon_hashes(view: str) -> Reader:
    """The second field of ``user:hash[:…]`` lines (shadow, htpasswd, ProFTPd's passwd): hashes, never locks."""
    def read(data: bytes, text: str) -> Iterator[Record]:
        for start, line in _lines(data):
            user, colon, rest = line.partition(b":")
            field = rest.split(b":", 1)[0]
            value = _text(field).lstrip("!")
            if colon and user.strip() and value and not _LOCKED.match(_text(field)):
                yield from _record(view, "hash", value, start + len(user) + 1 + len(field) - len(value))
    return read


# --- XML: FileZilla, JetBrains --------------------------------------------------------------------------------

_FILEZILLA_PASS = re.compile(rb'<Pass(\s+encoding="base64")?\s*>([^<]+)</Pass>')


def _filezilla(data: bytes, text: str) -> Iterator[Record]:
    """``<Pass>`` of each server, plain (FileZilla 2) or ``encoding="base64"`` (FileZilla 3)."""
    for m in _FILEZILLA_PASS.finditer(data):
        raw = html.unescape(_text(m.group(2)))
        if not m.group(1):
            yield from _record("filezilla", "password", raw, m.start(2))
            continue
        try:
            decoded = binascii.a2b_base64(raw.encode("ascii"), strict_mode=True)
        except (binascii.Error, UnicodeEncodeError):
            continue
        if is_text(decoded):
            yield from _record("filezilla", "password", _text(decoded), m.start(2), ("base64",), m.group(2))


_XML_PASSWORD = re.compile(rb'\bpassword="([^"]+)"|<option\s+name="password"\s+value="([^"]+)"')
_SCRAMBLED = re.compile(r"(?:[0-9a-f]{4})+")
JETBRAINS_XOR = 0xDFAA
"""IntelliJ's ``PasswordUtil`` writes each character as four hex digits of its code XOR this."""


def unscramble_jetbrains(value: str) -> str | None:
    """The password IntelliJ scrambled into ``value``, or None when ``value`` is not such a scramble."""
    if not _SCRAMBLED.fullmatch(value):
        return None
    chars = [int(value[i : i + 4], 16) ^ JETBRAINS_XOR for i in range(0, len(value), 4)]
    return "".join(map(chr, chars)) if all(32 <= c < 127 for c in chars) else None


def _jetbrains(data: bytes, text: str) -> Iterator[Record]:
    """Deployment servers' ``password`` attributes, unscrambled where IntelliJ scrambled them."""
    for m in _XML_PASSWORD.finditer(data):
        group = 1 if m.group(1) is not None else 2
        raw = html.unescape(_text(m.group(group)))
        plain = unscramble_jetbrains(raw)
        if plain is None:
            yield from _record("jetbrains-webservers", "password", raw, m.start(group))
        else:
            yield from _record("jetbrains-webservers", "password", plain, m.start(group), ("jetbrains-scramble",),
                               m.group(group))


_MAVEN_PASSWORD = re.compile(rb"<(password|passphrase)>([^<]+)</\1>")


def _maven_settings(data: bytes, text: str) -> Iterator[Record]:
    """Each ``<server>``'s ``<password>`` or ``<passphrase>`` (Maven may store them encrypted: ``{…}``)."""
    if b"<servers>" not in data:
        return
    for m in _MAVEN_PASSWORD.finditer(data):
        yield from _record("maven-settings", "password", html.unescape(_text(m.group(2))), m.start(2))


# --- structured formats, read by the generic extractors and picked by field -------------------------------------

def _fields(view: str, read: Reader, fields: dict[str, str], unquote_values: bool = False) -> Reader:
    """The records of ``read``, those whose last name part is one of ``fields`` (in lower case) in the view;
    ``unquote_values`` for option files, whose readers strip one pair of quotes around a value."""
    def pick(data: bytes, text: str) -> Iterator[Record]:
        for record in read(data, text):
            field = fields.get(record.name.rpartition(".")[2].lower())
            if field is None:
                yield record
                continue
            value = _unquoted(record.value) if unquote_values else record.value
            yield from _record(view, field, value, record.offset + (value != record.value), record.chain)
    return pick


_JSON_COMMENT = re.compile(rb'"(?:[^"\\\n]|\\.)*"|//[^\n]*|/\*.*?\*/', re.S)


def _jsonc(data: bytes, text: str) -> Iterator[Record]:
    """JSON with ``//`` and ``/* */`` comments (Sublime's and VS Code's settings): comments become spaces, so
    offsets stay where they were."""
    def blank(m: re.Match[bytes]) -> bytes:
        token = m.group()
        return token if token[:1] == b'"' else re.sub(rb"[^\n]", b" ", token)

    stripped = _JSON_COMMENT.sub(blank, data)
    return json_records(stripped, stripped.decode("utf-8", "replace"))


def _docker_config(data: bytes, text: str) -> Iterator[Record]:
    """Each registry's ``auth``, base64 of ``user:password``: the password, decoded; other values as JSON's."""
    for record in json_records(data, text):
        if record.name.rpartition(".")[2] != "auth":
            yield record
            continue
        try:
            decoded = binascii.a2b_base64(record.value.encode("ascii"), strict_mode=True)
        except (binascii.Error, UnicodeEncodeError):
            continue
        user, colon, password = _text(decoded).partition(":")
        if colon and is_text(decoded):
            yield from _record("docker-config", "password", password, record.offset, ("base64",),
                               record.value.encode("ascii"))


_NPMRC_AUTH = re.compile(rb"(?m)^[ \t]*(?:\S*:)?(_auth|_password)[ \t]*=[ \t]*")


def _npmrc(data: bytes, text: str) -> Iterator[Record]:
    """``_auth`` (base64 of ``user:password``) and ``_password`` (base64 of the password), global or per registry."""
    for m in _NPMRC_AUTH.finditer(data):
        raw = quoted_value(data, m.end(), double_escapes=False)
        if raw is None:
            continue
        try:
            decoded = binascii.a2b_base64(raw.encode("ascii"), strict_mode=True)
        except (binascii.Error, UnicodeEncodeError):
            continue
        if not is_text(decoded):
            continue
        password = _text(decoded)
        if m.group(1) == b"_auth":
            user, colon, password = password.partition(":")
            if not colon:
                continue
        yield from _record("npmrc", "password", password, m.end(), ("base64",), raw.encode("ascii"))


def _netrc(data: bytes, text: str) -> Iterator[Record]:
    """Every ``password`` token's value, however the entries are spread over lines."""
    for m in re.finditer(rb"(?:^|\s)password\s+(\S+)", data):
        yield from _record("netrc", "password", _text(m.group(1)), m.start(1))


def _esmtprc(data: bytes, text: str) -> Iterator[Record]:
    """``password = value`` (quoted or not) in each identity."""
    for m in re.finditer(rb"(?m)^[ \t]*password[ \t]*=[ \t]*", data):
        value = quoted_value(data, m.end(), double_escapes=True)
        if value is not None:
            yield from _record("esmtprc", "password", value, m.end())


def _rails_master_key(data: bytes, text: str) -> Iterator[Record]:
    """The whole file: 32 hex digits that decrypt ``credentials.yml.enc``."""
    m = re.fullmatch(rb"\s*([0-9a-f]{32})\s*", data)
    if m:
        yield from _record("rails-master-key", "key", _text(m.group(1)), m.start(1))


# --- credential stores: DBeaver, mysql_config_editor (fixed keys), Firefox (the profile's key) -------------------

def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:  # UnicodeDecodeError included
        return None


def _dbeaver_sources(data: bytes, text: str) -> Iterator[Record]:
    """``data-sources.json``: each connection's password (DBeaver before 6.1.3 kept it here), under the id
    ``credentials-config.json`` files the same connection's credentials by; other values as JSON's."""
    document = _json(data)
    connections = document.get("connections") if isinstance(document, dict) else None
    places = sorted((data.find(json.dumps(name).encode("utf-8", "surrogateescape")), name, settings)
                    for name, settings in (connections.items() if isinstance(connections, dict) else ()))
    starts = [at for at, _, _ in places]
    for record in _fields("dbeaver", json_records, {"password": "password"})(data, text):
        index = bisect_right(starts, record.offset) - 1
        if record.view and index >= 0:
            _, name, settings = places[index]
            configuration = settings.get("configuration") if isinstance(settings, dict) else None
            user = configuration.get("user") if isinstance(configuration, dict) else None
            record = replace(record, entry=_entry(name, user if isinstance(user, str) else ""))
        yield record


def _dbeaver_credentials(data: bytes, text: str) -> Iterator[Record]:
    """``credentials-config.json``: ``{connection id: {"#connection": {"user", "password"}, "network/…": …}}``,
    encrypted with DBeaver's published key; each password under its connection (and its tunnel or proxy)."""
    document = _json(fixedkeys.dbeaver_credentials(data) or b"")
    for connection, sections in document.items() if isinstance(document, dict) else ():
        for section, fields in sections.items() if isinstance(sections, dict) else ():
            password = fields.get("password") if isinstance(fields, dict) else None
            if isinstance(password, str):
                user = fields.get("user")
                name = connection if section == "#connection" else f"{connection} {section}"
                yield from _record("dbeaver-credentials", "password", password, 0, ("dbeaver-aes",),
                                   entry=_entry(name, user if isinstance(user, str) else ""))


def _mysql_login(data: bytes, text: str) -> Iterator[Record]:
    """``.mylogin.cnf``: each login path's ``password``, decrypted with the key the file itself holds."""
    import configparser

    plain = fixedkeys.mylogin(data)
    if plain is None:
        return
    parser = configparser.ConfigParser(interpolation=None, strict=False, allow_no_value=True)
    try:
        parser.read_string(plain.decode("utf-8", "surrogateescape"))
    except configparser.Error:
        return
    for section in parser.sections():
        options = parser[section]
        password = options.get("password")
        if password is not None:
            yield from _record("mysql-login", "password", _unquoted(password), 0, ("mylogin-aes",),
                               entry=_entry(section, _unquoted(options.get("user") or "")))


def _firefox_logins(data: bytes, text: str) -> Iterator[Record]:
    """Each saved login's ``encryptedPassword``, under its site. The key is in the profile's ``key4.db`` (and may
    be behind a primary password), so the value stays encrypted: the finding says a browser's password store
    was committed."""
    document = _json(data)
    logins = document.get("logins") if isinstance(document, dict) else None
    for login in logins if isinstance(logins, list) else ():
        value = login.get("encryptedPassword") if isinstance(login, dict) else None
        if isinstance(value, str):
            site = login.get("hostname")
            at = data.find(json.dumps(value).encode("utf-8"))
            yield from _record("firefox-logins", "encrypted_password", value, at + 1 if at >= 0 else 0,
                               entry=site if isinstance(site, str) else "")


# --- SQL dumps -------------------------------------------------------------------------------------------------

_SQL_NAME = rb"[`\"\[]?(\w+)[`\"\]]?"
_CREATE = re.compile(rb"(?is)CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:\w+\.)?" + _SQL_NAME + rb"\s*\(")
_COLUMN = re.compile(rb"(?m)^\s*[`\"\[]?(\w+)[`\"\]]?\s+\w")
_INSERT = re.compile(rb"(?is)INSERT\s+(?:IGNORE\s+)?INTO\s+(?:\w+\.)?" + _SQL_NAME
                     + rb"\s*(?:\(([^)]*)\))?\s*VALUES\s*")
_SQL_TOKEN = re.compile(rb"'((?:[^'\\]|\\.|'')*)'|([^,()\s']+)|(\()|(\))|(,)|(;)|\s+", re.S)
PASSWORD_COLUMN = re.compile(r"(?i)(?:^|_)(?:pass(?:word|wd)?|pwd)(?:_?(?:hash|digest))?$|^(?:user_?)?pass(?:word)?$")
"""``password``, ``passwd``, ``user_pass``, ``encrypted_password``, ``password_hash``; not ``password_changed_at``
or ``password_reset_token``."""
HASH_SHAPE = re.compile(
    r"""(?x)^(?:
        \$(?:1|2[abxy]?|5|6|y|gy|7|apr1|P|H|argon2(?:id|i|d)|pbkdf2[-\w]*|scrypt|sha1|md5)\$\S+
      | \{(?:SSHA|SHA|SMD5|MD5|CRYPT|SSHA256|SSHA512|PBKDF2[-\w]*)\}\S+
      | pbkdf2_sha\d+\$\S+ | bcrypt(?:_sha256)?\$\S+ | argon2\$\S+                 (?# Django )
      | [0-9a-fA-F]{32} | [0-9a-fA-F]{40} | [0-9a-fA-F]{64} | [0-9a-fA-F]{128}
    )$""")


def _columns(header: bytes) -> list[str]:
    return [_text(m.group(1)) for m in re.finditer(rb"[`\"\[]?(\w+)[`\"\]]?", header)]


def _sql_dump(data: bytes, text: str) -> Iterator[Record]:
    """Values of password columns in ``INSERT`` rows; the columns come from the statement or its ``CREATE TABLE``."""
    tables: dict[bytes, list[str]] = {}
    for m in _CREATE.finditer(data):
        end = data.find(b";", m.end())
        tables[m.group(1).lower()] = [_text(c.group(1)) for c in _COLUMN.finditer(data, m.end(),
                                                                                len(data) if end == -1 else end)]
    for m in _INSERT.finditer(data):
        columns = _columns(m.group(2)) if m.group(2) else tables.get(m.group(1).lower(), [])
        wanted = {i for i, name in enumerate(columns) if PASSWORD_COLUMN.search(name)}
        if wanted:
            yield from _sql_rows(data, m.end(), wanted)


def _sql_rows(data: bytes, at: int, wanted: set[int]) -> Iterator[Record]:
    """The wanted columns of each ``(…), (…)`` row, up to the end of the statement."""
    depth, index, pos = 0, 0, at
    while True:
        token = _SQL_TOKEN.match(data, pos)
        if token is None or token.end() == pos:
            return
        pos = token.end()
        quoted, bare, opening, closing, comma, end = token.groups()
        if end is not None:
            return
        if opening is not None:
            depth, index = depth + 1, 0 if depth == 0 else index
        elif closing is not None:
            depth -= 1
            if depth < 0:
                return
        elif comma is not None:
            index += depth == 1
        elif quoted is not None or bare is not None:
            if depth == 0:
                return  # past the last row: ON DUPLICATE KEY …
            if depth == 1 and index in wanted and not (bare is not None and bare.upper() == b"NULL"):
                raw = quoted if quoted is not None else bare
                value = _text(re.sub(rb"\\(.)|''", lambda e: e.group(1) or b"'", raw))
                field = "hash" if HASH_SHAPE.match(value) else "password"
                yield from _record("sql-dump", field, value, token.start(1 if quoted is not None else 2))


# --- settings files ----------------------------------------------------------------------------------------------

_PY_ASSIGNMENT = re.compile(
    rb"""(?mx)^[ \t]*(?:([A-Z_][A-Z0-9_]*)[ \t]*=|["']([A-Za-z_][A-Za-z0-9_]*)["'][ \t]*:)[ \t]*
         [rbuRBU]{0,2}(["'])((?:(?!\3)[^\\\n]|\\.)*)\3[ \t]*,?[ \t]*(?:\#.*)?\r?$""")


def _python_settings(data: bytes, text: str) -> Iterator[Record]:
    """Literal strings in module-level ``NAME = '…'`` lines and in ``'NAME': '…'`` dictionary entries."""
    for m in _PY_ASSIGNMENT.finditer(data):
        name = _text(m.group(1) or m.group(2))
        yield Record(name, _text(m.group(4)), m.start(4))


_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
CREDENTIAL_WORDS = ("password", "passwd", "pwd", "secret", "token", "apikey", "secretkey", "privatekey", "passphrase",
                    "credential", "credentials")
PUBLIC_WORDS = frozenset({"public", "pub", "publishable"})
NOT_SECRET_KEYS = frozenset({
    "site", "cache", "sort", "primary", "foreign", "partition", "routing", "lookup",
    "idempotency", "hash", "object", "s3", "storage", "field", "column", "index", "group", "map", "host", "ssh",
    "csrf", "page", "next", "continuation", "sync", "i18n", "translation",
})


def is_settings_credential(name: str) -> bool:
    """A settings name whose last word says its value is a credential: ``DB_PASSWORD``, ``clientSecret``,
    ``API_KEY``, ``db_pass``; not ``AWS_ACCESS_KEY_ID``, ``STRIPE_PUBLISHABLE_KEY``, ``CACHE_KEY``,
    ``SSL_KEY_PATH``, ``csrftoken``, ``monkey``."""
    words: list[str] = [w.lower() for w in _WORDS.findall(name.rpartition(".")[2])]
    if not words or PUBLIC_WORDS.intersection(words) or words[-1].startswith(("csrf", "public")):
        return False
    last, before = words[-1], words[-2] if len(words) > 1 else ""
    if before in NOT_SECRET_KEYS:
        return False
    if last in ("key", "pass"):
        return bool(before)
    return last.endswith(CREDENTIAL_WORDS)


def settings_records(kind: str, records: Iterator[Record]) -> Iterator[Record]:
    """A settings file's records: credential-named literals become records of the ``kind`` view, the rest stay."""
    for record in records:
        if is_settings_credential(record.name) and not record.chain:
            if is_literal(record.value) and len(record.value.strip()) >= 4:
                yield Record(record.name, record.value.strip(), record.offset, view=kind)
        elif kind != "python-settings":
            yield record


READERS: dict[str, Reader] = {
    "git-credentials": _git_credentials,
    "pgpass": _pgpass,
    "filezilla": _filezilla,
    "sftp-config": _fields("sftp-config", _jsonc, {"password": "password"}),
    "ftpconfig": _fields("ftpconfig", json_records, {"pass": "password", "password": "password"}),
    "remote-sync": _fields("remote-sync", json_records, {"password": "password"}),
    "jetbrains-webservers": _jetbrains,
    "dbeaver": _dbeaver_sources,
    "dbeaver-credentials": _dbeaver_credentials,
    "robomongo": _fields("robomongo", json_records, {"userpassword": "password", "password": "password"}),
    "mongoid": _fields("mongoid", yaml_records, {"password": "password"}),
    "s3cfg": _fields("s3cfg", ini_records, {"secret_key": "secret_key"}, unquote_values=True),
    "tugboat": _fields("tugboat", yaml_records, {"api_key": "api_key", "access_token": "api_key"}),
    "netrc": _netrc,
    "docker-config": _docker_config,
    "npmrc": _npmrc,
    "rails-master-key": _rails_master_key,
    "shadow": _colon_hashes("shadow"),
    "htpasswd": _colon_hashes("htpasswd"),
    "passwd": _colon_hashes("passwd"),
    "esmtprc": _esmtprc,
    "ventrilo": _fields("ventrilo", ini_records, {"password": "password", "adminpassword": "password"}),
    "mysql-cnf": _fields("mysql-cnf", ini_records, {"password": "password"}, unquote_values=True),
    "mysql-login": _mysql_login,
    "firefox-logins": _firefox_logins,
    "sql-dump": _sql_dump,
    "maven-settings": _maven_settings,
    "pypirc": _fields("pypirc", ini_records, {"password": "password"}),
    "composer-auth": _fields("composer-auth", json_records, {"password": "password"}),
    "python-settings": _python_settings,
}

BINARY_KINDS = frozenset({"dbeaver-credentials", "mysql-login"})
"""Credential files that are ciphertext, read even where the content check calls them binary."""
