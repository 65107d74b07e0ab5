"""Error types that the command line turns into one line on stderr and exit code 2."""

from __future__ import annotations


class SecretguardError(Exception):
    """A problem the user can fix: bad input, unreadable path, bad configuration."""


class RuleError(SecretguardError):
    """A rule file that does not load or a rule that is malformed."""

    def __init__(self, path: str, rule_id: str | None, message: str) -> None:
        where = f"{path}: rule '{rule_id}'" if rule_id else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.rule_id = rule_id


class ConfigError(SecretguardError):
    """A configuration file that does not load or has unknown or mistyped keys."""


class SourceError(SecretguardError):
    """A path, repository or cloud resource that cannot be read."""
