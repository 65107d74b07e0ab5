"""The one place ``migrate`` has values scanned: through the pipeline, as ``scan aws`` scans an environment.

Two callers: planning resources named on the command line (``--function``, ``--task-definition``, ``--env-file``),
and verifying, at the end of every run, what each touched resource still holds. ``migrate plan --from`` never
comes here: it reads the findings it was given. Either way migrate only ever sees findings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from secretguard.config import Config
from secretguard.findings import Finding, Origin
from secretguard.pipeline import scan
from secretguard.sources import Chunk, Inventory
from secretguard.sources.aws_items import Environment, variables_of


@dataclass(frozen=True)
class VariablesSource:
    """One environment's variables, already in memory, as a source of one item for :func:`pipeline.scan`."""

    environment: Environment
    label = "environments"

    @property
    def target(self) -> str:
        return self.environment.origin.describe()

    def items(self, inventory: Inventory) -> Iterator[tuple[Environment, int]]:
        yield self.environment, self.environment.size

    def read(self, item: Environment) -> Iterator[Chunk]:
        yield item.chunk()

    def describe(self, item: Environment) -> str:
        return item.origin.describe()


class Scanner:
    """Scans one environment's variables as ``scan aws`` does, with the user's configuration and allowlist."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def findings(self, variables: dict[str, str], origin: Origin) -> list[Finding]:
        """The findings ``scan aws`` would report for these variables, each located at its variable."""
        source = VariablesSource(Environment(origin, variables_of(variables.items())))
        return scan(source, self.config).findings

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
