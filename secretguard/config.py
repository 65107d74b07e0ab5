"""The user configuration file, ``.secretguard.yaml``: allowlists and rule selection."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secretguard.archives import DEFAULT_ARCHIVE_DEPTH, MAX_ARCHIVE_DEPTH
from secretguard.decoders import DEFAULT_DECODE_DEPTH, MAX_DECODE_DEPTH
from secretguard.errors import ConfigError
from secretguard.filters import Allowlist
from secretguard.hashing import SaltedHasher

CONFIG_NAME = ".secretguard.yaml"
DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024


@dataclass(frozen=True)
class RuleSelection:
    """Which rules to load, how deep to decode and to open archives: picklable, so worker processes scan the
    same way."""

    extra_files: tuple[Path, ...] = ()
    disabled: frozenset[str] = frozenset()
    decode_depth: int = DEFAULT_DECODE_DEPTH
    archive_depth: int = DEFAULT_ARCHIVE_DEPTH


@dataclass(frozen=True)
class Config:
    """Everything ``.secretguard.yaml`` can say."""

    allowlist: Allowlist = field(default_factory=Allowlist)
    rules: RuleSelection = field(default_factory=RuleSelection)
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    path: Path | None = None


def _strings(value: Any, where: str, path: Path) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: '{where}' must be a list of strings")
    return tuple(value)


def _mapping(value: Any, where: str, path: Path, allowed: set[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: '{where}' must be a mapping")
    unknown = set(value) - allowed
    if unknown:
        raise ConfigError(f"{path}: unknown key '{where}.{sorted(unknown)[0]}'")
    return value


def is_depth(value: Any, maximum: int) -> bool:
    """Whether ``value`` is an allowed decoder or archive depth: a whole number from 0 (off) to ``maximum``."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum


def allowed_secrets(entries: tuple[str, ...], where: str) -> tuple[tuple[SaltedHasher, frozenset[str]], ...]:
    """``allow.secrets`` entries (``scrypt:SALT:HASH``) grouped by salt, so each salt costs one scrypt per secret."""
    groups: dict[bytes, tuple[SaltedHasher, set[str]]] = {}
    for entry in entries:
        hasher, secret_hash = SaltedHasher.parse_entry(entry, where)
        groups.setdefault(hasher.salt, (hasher, set()))[1].add(secret_hash)
    return tuple((hasher, frozenset(hashes)) for hasher, hashes in groups.values())


def load_config(path: Path) -> Config:
    """Read and check one configuration file."""
    import regex  # allow.regexes are written in rule syntax
    import yaml  # here: most runs have no configuration file

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    top = _mapping(document, "(top level)", path, {"allow", "rules", "max_file_size", "decode_depth",
                                                            "archive_depth"})
    allow = _mapping(top.get("allow"), "allow", path, {"paths", "regexes", "secrets", "secrets_sha256"})
    rules = _mapping(top.get("rules"), "rules", path, {"disable", "extra"})
    compiled = []
    for pattern in _strings(allow.get("regexes"), "allow.regexes", path):
        try:
            compiled.append(regex.compile(pattern))
        except regex.error as exc:
            raise ConfigError(f"{path}: allow.regexes: '{pattern}' does not compile: {exc}") from None
    max_size = top.get("max_file_size", DEFAULT_MAX_FILE_SIZE)
    if not isinstance(max_size, int) or max_size <= 0:
        raise ConfigError(f"{path}: 'max_file_size' must be a positive number of bytes")
    depth = top.get("decode_depth", DEFAULT_DECODE_DEPTH)
    if not is_depth(depth, MAX_DECODE_DEPTH):
        raise ConfigError(f"{path}: 'decode_depth' must be a whole number from 0 to {MAX_DECODE_DEPTH}")
    archive_depth = top.get("archive_depth", DEFAULT_ARCHIVE_DEPTH)
    if not is_depth(archive_depth, MAX_ARCHIVE_DEPTH):
        raise ConfigError(f"{path}: 'archive_depth' must be a whole number from 0 to {MAX_ARCHIVE_DEPTH}")
    return Config(
        allowlist=Allowlist(
            paths=_strings(allow.get("paths"), "allow.paths", path),
            regexes=tuple(compiled),
            secrets=allowed_secrets(_strings(allow.get("secrets"), "allow.secrets", path), f"{path}: allow.secrets"),
            secrets_sha256=frozenset(
                s.lower() for s in _strings(allow.get("secrets_sha256"), "allow.secrets_sha256", path)),
        ),
        rules=RuleSelection(
            extra_files=tuple((path.parent / f).resolve() for f in _strings(rules.get("extra"), "rules.extra", path)),
            disabled=frozenset(_strings(rules.get("disable"), "rules.disable", path)),
            decode_depth=depth,
            archive_depth=archive_depth,
        ),
        max_file_size=max_size,
        path=path,
    )


def find_config(explicit: Path | None, root: Path | None) -> Config:
    """The ``--config`` file if given, else ``.secretguard.yaml`` in the scanned root, else defaults."""
    if explicit is not None:
        return load_config(explicit)
    if root is not None and (root / CONFIG_NAME).is_file():
        return load_config(root / CONFIG_NAME)
    return Config()
