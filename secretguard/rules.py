"""Load and check detection rules from YAML (``patterns/*.yaml`` and user rule files).

A rule file is parsed into frozen :class:`RuleSpec` records that mirror the YAML, then compiled into
:class:`Rule` objects that hold the compiled ``regex`` pattern. Every problem names its file and rule.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import re._parser as sre_parse
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secretguard.cache import read_entry, write_entry
from secretguard.checksums import CHECKSUMS
from secretguard.errors import RuleError

if TYPE_CHECKING:
    import regex

SEVERITIES = ("critical", "high", "medium", "low")
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SECRET_GROUP = "secret"
UNBOUNDED_WIDTH = 4096
"""Bytes searched before a prefilter hit when a pattern's width has no bound."""
KNOWN_KEYS = {
    "id", "name", "severity", "keywords", "pattern", "entropy", "pair", "requires", "validate",
    "examples", "negative_examples", "references", "description", "extractor", "kind", "supersedes",
    "checksum", "examples_encoding",
}
KINDS = ("hash", "encrypted")
"""What a finding is when it is not the credential itself: ``hash``, a password hash (shadow, htpasswd, dumps);
``encrypted``, a password encrypted with a key that is not in the file (Firefox's ``logins.json``)."""
EXAMPLES_ENCODINGS = ("base64",)
"""How examples of a binary file format are written: ``base64`` of the file's bytes."""


@dataclass(frozen=True, slots=True)
class Proximity:
    """Another rule whose match must (``requires``) or may (``pair``) lie within some lines."""

    rule: str
    within_lines: int


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule exactly as written in its YAML file."""

    id: str
    name: str
    severity: str
    pattern: str
    source: str
    keywords: tuple[str, ...] = ()
    entropy: float | None = None
    pair: Proximity | None = None
    requires: Proximity | None = None
    validate: str | None = None
    checksum: str | None = None
    examples: tuple[str, ...] = ()
    negative_examples: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    description: str = ""
    extractor: str | None = None
    """The reader whose lines the pattern matches (a credential-file view); its examples are in that format."""
    kind: str | None = None
    supersedes: tuple[str, ...] = ()
    """Rules that read the same secret by its shape alone: where both find it, this rule's finding stands."""
    examples_encoding: str | None = None
    """``base64`` where the examples are files of a binary format (an encrypted credential store)."""

    def example_bytes(self, example: str) -> bytes:
        """One of the examples as the bytes of a file."""
        return base64.b64decode(example) if self.examples_encoding == "base64" else example.encode()


@dataclass(frozen=True)
class Rule:
    """A checked rule; its pattern is compiled on first use, so loading many rules stays cheap."""

    spec: RuleSpec

    @cached_property
    def regex(self) -> regex.Pattern[bytes]:
        return _compile_pattern(self.spec)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def is_generic(self) -> bool:
        """Generic rules yield to any specific rule that claims the same secret."""
        return self.spec.id.startswith("generic-")

    @cached_property
    def keywords(self) -> tuple[bytes, ...]:
        return tuple(k.lower().encode() for k in self.spec.keywords)

    @cached_property
    def max_width(self) -> int:
        """Upper bound on a match's length in bytes, used to size the window around a prefilter hit."""
        try:
            high = sre_parse.parse(self.spec.pattern).getwidth()[1]
        except Exception:  # syntax only the `regex` module knows
            return UNBOUNDED_WIDTH
        return UNBOUNDED_WIDTH if high >= sre_parse.MAXREPEAT else high


def _as_str_tuple(value: Any, path: str, rule_id: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleError(path, rule_id, f"'{key}' must be a list of strings")
    return tuple(value)


def _proximity(value: Any, path: str, rule_id: str, key: str) -> Proximity | None:
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("rule"), str)
        or not isinstance(value.get("within_lines", 0), int)
        or set(value) - {"rule", "within_lines"}
    ):
        raise RuleError(path, rule_id, f"'{key}' must be {{rule: ID, within_lines: N}}")
    return Proximity(value["rule"], int(value.get("within_lines", 0)))


def parse_rule(raw: Any, path: str, index: int) -> RuleSpec:
    """Check one YAML mapping and turn it into a :class:`RuleSpec`."""
    if not isinstance(raw, dict):
        raise RuleError(path, f"#{index + 1}", "a rule must be a mapping")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not ID_PATTERN.match(rule_id):
        raise RuleError(path, str(rule_id or f"#{index + 1}"), "'id' must be kebab-case")
    unknown = set(raw) - KNOWN_KEYS
    if unknown:
        raise RuleError(path, rule_id, f"unknown key(s): {', '.join(sorted(unknown))}")
    for key in ("name", "pattern"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise RuleError(path, rule_id, f"'{key}' is required")
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        raise RuleError(path, rule_id, f"'severity' must be one of {', '.join(SEVERITIES)}")
    entropy = raw.get("entropy")
    if entropy is not None and not isinstance(entropy, (int, float)):
        raise RuleError(path, rule_id, "'entropy' must be a number")
    if raw.get("kind") is not None and raw["kind"] not in KINDS:
        raise RuleError(path, rule_id, f"'kind' must be one of {', '.join(KINDS)}")
    if raw.get("examples_encoding") is not None and raw["examples_encoding"] not in EXAMPLES_ENCODINGS:
        raise RuleError(path, rule_id, f"'examples_encoding' must be one of {', '.join(EXAMPLES_ENCODINGS)}")
    if raw.get("extractor") is not None and not isinstance(raw["extractor"], str):
        raise RuleError(path, rule_id, "'extractor' must be the name of a reader")
    checksum = raw.get("checksum")
    if checksum is not None and checksum not in CHECKSUMS:
        raise RuleError(path, rule_id, f"'checksum' must be one of {', '.join(CHECKSUMS)}")
    spec = RuleSpec(
        id=rule_id,
        name=raw["name"],
        severity=severity,
        pattern=raw["pattern"].strip("\n"),  # a YAML block scalar's final newline is not part of it
        source=path,
        keywords=_as_str_tuple(raw.get("keywords"), path, rule_id, "keywords"),
        entropy=float(entropy) if entropy is not None else None,
        pair=_proximity(raw.get("pair"), path, rule_id, "pair"),
        requires=_proximity(raw.get("requires"), path, rule_id, "requires"),
        validate=raw.get("validate"),
        checksum=checksum,
        examples=_as_str_tuple(raw.get("examples"), path, rule_id, "examples"),
        negative_examples=_as_str_tuple(raw.get("negative_examples"), path, rule_id, "negative_examples"),
        references=_as_str_tuple(raw.get("references"), path, rule_id, "references"),
        description=str(raw.get("description", "")),
        extractor=raw.get("extractor"),
        kind=raw.get("kind"),
        supersedes=_as_str_tuple(raw.get("supersedes"), path, rule_id, "supersedes"),
        examples_encoding=raw.get("examples_encoding"),
    )
    if not spec.keywords and spec.requires is None:
        raise RuleError(path, rule_id, "'keywords' is required unless the rule 'requires' another")
    if spec.examples_encoding == "base64":
        try:
            for example in spec.examples + spec.negative_examples:
                base64.b64decode(example, validate=True)
        except binascii.Error:
            raise RuleError(path, rule_id, "an example is not base64, as 'examples_encoding' says") from None
    return spec


def _compile_pattern(spec: RuleSpec) -> regex.Pattern[bytes]:
    """Compile a spec's pattern; the pattern must define the named group ``secret``."""
    import regex  # rule syntax is `regex`'s; a scan without a single prefilter hit never needs it

    try:
        compiled = regex.compile(spec.pattern.encode())
    except (regex.error, UnicodeEncodeError) as exc:
        raise RuleError(spec.source, spec.id, f"pattern does not compile: {exc}") from None
    if SECRET_GROUP not in compiled.groupindex:
        raise RuleError(spec.source, spec.id, f"pattern has no named group '{SECRET_GROUP}'")
    return compiled


def check_rule(spec: RuleSpec) -> Rule:
    """A rule whose pattern is compiled (and so checked) now rather than on first use."""
    rule = Rule(spec)
    rule.regex  # noqa: B018 - compiling is the check
    return rule


RULE_CACHE_FORMAT = 1
"""Part of each parsed-rule-file cache entry's name: raise it when parsing changes what a file means."""


def load_rule_file(path: Path) -> list[RuleSpec]:
    """Parse one rule file into specs, with errors that name the file and rule.

    A file's parsed YAML is cached by the hash of its bytes, so a run whose rules have not changed
    neither imports nor runs the YAML parser; every spec is checked again either way.
    """
    name = str(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise RuleError(name, None, f"cannot read: {exc.strerror or exc}") from None
    entry = f"rules-{RULE_CACHE_FORMAT}-{hashlib.sha256(text).hexdigest()[:32]}.json"
    document = _cached_document(entry)
    if document is None:
        document = _parse_yaml(text, name)
        if _is_json_data(document):
            write_entry(entry, json.dumps(document).encode())
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise RuleError(name, None, "expected a top-level 'rules:' list")
    return [parse_rule(raw, name, i) for i, raw in enumerate(document["rules"])]


def _cached_document(entry: str) -> Any:
    cached = read_entry(entry)
    try:
        return json.loads(cached) if cached is not None else None
    except ValueError:  # a damaged entry: parse the file again
        return None


def _parse_yaml(text: bytes, name: str) -> Any:
    import yaml  # only when a rule file is new or changed: see load_rule_file

    try:
        return yaml.load(text.decode("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except UnicodeDecodeError as exc:
        raise RuleError(name, None, f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise RuleError(name, None, f"invalid YAML{where}: {getattr(exc, 'problem', exc)}") from None


def _is_json_data(document: Any) -> bool:
    """Whether JSON holds ``document`` exactly (YAML can also give dates, sets and non-string keys)."""
    try:
        return bool(json.loads(json.dumps(document)) == document)
    except (TypeError, ValueError):
        return False


def builtin_rules_dir() -> Path:
    """The shipped ``patterns/`` folder, inside an installed wheel or beside a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "patterns", here.parent / "patterns"):
        if candidate.is_dir():
            return candidate
    raise RuleError(str(here / "patterns"), None, "built-in rules not found")


def load_rules(
    extra_files: Iterable[Path] = (),
    disabled: Iterable[str] = frozenset(),
    builtin: bool = True,
) -> list[Rule]:
    """Load built-in rules and ``extra_files``, drop ``disabled`` ids, and check the set as a whole.

    Loaded once per process for each distinct selection.
    """
    return list(_load_rules(tuple(Path(f) for f in extra_files), frozenset(disabled), builtin))


@lru_cache(maxsize=8)
def _load_rules(extra_files: tuple[Path, ...], disabled: frozenset[str], builtin: bool) -> tuple[Rule, ...]:
    files = sorted(builtin_rules_dir().glob("*.yaml")) if builtin else []
    builtin_files = {str(f) for f in files}
    specs: list[RuleSpec] = []
    for file in [*files, *extra_files]:
        specs.extend(load_rule_file(Path(file)))
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.id in seen:
            raise RuleError(spec.source, spec.id, f"duplicate id (also in {seen[spec.id]})")
        seen[spec.id] = spec.source
    ids = {s.id for s in specs}
    for spec in specs:
        for key, ref in (("pair", spec.pair), ("requires", spec.requires)):
            if ref is not None and ref.rule not in ids:
                raise RuleError(spec.source, spec.id, f"'{key}' names unknown rule '{ref.rule}'")
        for other in spec.supersedes:
            if other not in ids:
                raise RuleError(spec.source, spec.id, f"'supersedes' names unknown rule '{other}'")
    # A rule that requires a disabled rule can never fire: it goes too.
    off = set(disabled)
    while True:
        more = {s.id for s in specs if s.requires is not None and s.requires.rule in off} - off
        if not more:
            break
        off |= more
    specs = [s for s in specs if s.id not in off]
    # Built-in patterns are checked by `secretguard rules test` and the test suite; user rules now.
    return tuple(Rule(s) if s.source in builtin_files else check_rule(s) for s in specs)


BOUNDED_REPEAT = re.compile(r"(?<!\\)\{(\d+)(?:(,)(\d*))?\}")
NAMED_GROUP = re.compile(r"(?<!\\)\(\?P?<(?![=!])\w+>")
PREFILTER_MAX_REPEAT = 16
PREFILTER_MIN_REPEAT = 32


def prefilter_pattern(pattern: str) -> str:
    """The pattern as the prefilter gets it: long counted repeats loosened (``{64,12000}`` to ``{32,}``)
    and named groups made plain (Hyperscan captures nothing, and refuses a name used twice).

    Large bounded repeats make Hyperscan compile for minutes; a looser repeat matches a superset, and
    the exact pattern still decides on the window around each hit.
    """
    def loosen(m: re.Match[str]) -> str:
        low = int(m.group(1))
        high = None if m.group(2) and not m.group(3) else int(m.group(3) or low)
        if high is not None and high <= PREFILTER_MAX_REPEAT:
            return m.group(0)
        return f"{{{min(low, PREFILTER_MIN_REPEAT)},}}"

    return NAMED_GROUP.sub("(?:", BOUNDED_REPEAT.sub(loosen, pattern))
