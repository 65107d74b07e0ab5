"""The one place ``migrate`` looks at values with the detection rules.

Two callers: planning resources named on the command line (``--function``, ``--task-definition``, ``--env-file``),
and verifying, at the end of every run, what each touched resource still holds. ``migrate plan --from`` never
comes here: it reads the findings it was given.
"""

from __future__ import annotations

from secretguard.config import Config
from secretguard.detectors import CLOUD_RULE_INFO, environment_hits
from secretguard.filters import user_filter
from secretguard.findings import Finding, Origin, collect
from secretguard.pipeline import detector_for, rule_info
from secretguard.sources.aws_env import Environment


class Scanner:
    """Scans one environment's variables as ``scan aws`` does, with the user's allowlist."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._info: dict[str, tuple[str, str]] | None = None

    def findings(self, variables: dict[str, str], origin: Origin) -> list[Finding]:
        """The findings ``scan aws`` would report for these variables, each located at its variable."""
        if self._info is None:
            self._info = rule_info(self.config) | CLOUD_RULE_INFO
        env = Environment(origin, tuple(sorted(variables.items())))
        hits = environment_hits(detector_for(self.config.rules), env)
        return collect(hits, self._info, user_filter(self.config.allowlist))

    def plaintext(self, variables: dict[str, str], origin: Origin) -> dict[str, str]:
        """Variable -> the rule that still finds plaintext in it; the second half of a key pair included."""
        found: dict[str, str] = {}
        for finding in self.findings(variables, origin):
            for location in finding.locations:
                if location.variable:
                    found.setdefault(location.variable, finding.rule)
            if finding.pair is not None:
                for name, value in variables.items():
                    if finding.pair.secret in value:
                        found.setdefault(name, finding.pair.rule)
        return found
