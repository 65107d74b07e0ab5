"""``migrate`` has named resources scanned through the pipeline, with the user's configuration, as ``scan aws``."""

from __future__ import annotations

import pytest

from secretguard.aws.migrate_scan import Scanner
from secretguard.config import Config, RuleSelection
from secretguard.findings import Origin

VARIABLES = {"DB_PASSWORD": "pG7-kL9vQ2mXw4Rt", "API_TOKEN": "tk8fJ2nQ5rV1xZ7bM3cK9d", "LOG_LEVEL": "info"}
ORIGIN = Origin(source="lambda", resource="arn:aws:lambda:us-east-1:123456789012:function:billing:$LATEST",
                region="us-east-1")


def test_findings_are_located_at_their_variables() -> None:
    found = Scanner(Config()).findings(VARIABLES, ORIGIN)
    assert sorted((f.secret, loc.variable, loc.resource) for f in found for loc in f.locations) == [
        (VARIABLES["DB_PASSWORD"], "DB_PASSWORD", ORIGIN.resource),
        (VARIABLES["API_TOKEN"], "API_TOKEN", ORIGIN.resource)]


@pytest.mark.parametrize(("disabled", "expected"), [
    ({"generic-password"}, {"cloud-secret-env-var"}),
    ({"generic-password", "cloud-secret-env-var"}, set()),
])
def test_rules_the_configuration_disables_find_nothing(disabled: set[str], expected: set[str]) -> None:
    """Registered detectors the user disabled stay off here too, as in every scan."""
    scanner = Scanner(Config(rules=RuleSelection(disabled=frozenset(disabled))))
    assert {f.rule for f in scanner.findings(VARIABLES, ORIGIN)} == expected
    assert set(scanner.plaintext(VARIABLES, ORIGIN).values()) == expected
