"""Token checksums: the CRC32 GitHub and npm tokens carry, and rules that name it."""

from __future__ import annotations

import pytest

from secretguard.checksums import base62, has_crc32_base62
from secretguard.engine import Detector
from secretguard.errors import RuleError
from secretguard.rules import load_rule_file, load_rules

# "Zq81mWc4Lp0sXv7Ne2Rt5Yb9Qa3Kd6" has CRC32 0xCC151181 = 3423932801, which is "3jiTKb" in base 62
# (digits 0-9A-Za-z: 3, 45, 44, 29, 20, 37).
VALID = "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"


def test_base62_digits_then_capitals_then_lowercase():
    assert base62(0, 6) == "000000"
    assert base62(61, 1) == "z"
    assert base62(62, 2) == "10"
    assert base62(3423932801, 6) == "3jiTKb"


@pytest.mark.parametrize("token, valid", [
    (VALID, True),
    ("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", True),     # the prefix is not part of the sum
    ("ghp_Zq81mWc4Lp0sXv7Ne2Rt5Yb9Qa3Kd73jiTKb", False),    # one payload character changed
    ("ghp_Zq81mWc4Lp0sXv7Ne2Rt5Yb9Qa3Kd63jiTKc", False),    # one checksum character changed
    ("ghp_Zq81mWc4Lp0sXv7Ne2Rt5Yb9Qa3Kd6\u00e9jiTKb", False),
])
def test_crc32_base62(token, valid):
    assert has_crc32_base62(token) is valid


RULE = """\
rules:
  - id: summed-token
    name: Summed token
    severity: high
    keywords: [ghp_]
    checksum: {checksum}
    pattern: '(?P<secret>ghp_[A-Za-z0-9]{{36}})'
"""


def test_a_rule_naming_a_checksum_drops_tokens_that_fail_it(tmp_path):
    path = tmp_path / "summed.yaml"
    path.write_text(RULE.format(checksum="crc32-base62"))
    detector = Detector(load_rules([path], builtin=False), use_hyperscan=False)
    broken = VALID[:-1] + "c"
    found = detector.scan(f"a = {VALID}\nb = {broken}\n".encode())
    assert [m.secret_text for m in found] == [VALID]


def test_an_unknown_checksum_is_a_rule_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(RULE.format(checksum="luhn"))
    with pytest.raises(RuleError, match="bad.yaml.*summed-token.*'checksum' must be one of crc32-base62"):
        load_rule_file(path)


def test_shipped_github_and_npm_rules_check_the_sum():
    rules = {r.id: r for r in load_rules()}
    assert rules["github-pat"].spec.checksum == "crc32-base62"
    assert rules["npm-access-token"].spec.checksum == "crc32-base62"
    detector = Detector(list(rules.values()))
    assert [m.rule.id for m in detector.scan(f"clone https://{VALID}@github.com/a/b\n".encode())] == ["github-pat"]
    assert detector.scan(f"clone https://{VALID[:-1]}c@github.com/a/b\n".encode()) == []
