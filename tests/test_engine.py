"""The detector: both matching paths, windows, keywords, entropy, filters, pairing, bytes input."""

from __future__ import annotations

from pathlib import Path

import pytest

from secretguard.engine import Detector, hyperscan
from secretguard.rules import load_rules

MINI = Path(__file__).parent / "data" / "mini_rules.yaml"
KEY_ID = "TKIDQ3RZ7W2LMNPX4KTY"
SECRET = "b7Hq2+Kd9/Lm3Pz8Wx1Vt6Yc4Rn0Js5Ga9Ef2Ui7"
PATHS = [False, True] if hyperscan is not None else [False]


@pytest.fixture(scope="module")
def mini_rules():
    return load_rules([MINI], builtin=False)


@pytest.fixture(params=PATHS, ids=lambda hs: "hyperscan" if hs else "regex")
def detector(request, mini_rules):
    return Detector(mini_rules, use_hyperscan=request.param)


def found(detector: Detector, text: str | bytes) -> list[tuple[str, str]]:
    data = text.encode() if isinstance(text, str) else text
    return [(m.rule.id, m.secret_text) for m in detector.scan(data)]


def test_pair_within_lines_becomes_one_match(detector):
    matches = detector.scan(f"a\nid = {KEY_ID}\nsecret = {SECRET}\n".encode())
    assert [(m.rule.id, m.line, m.column) for m in matches] == [("test-key-id", 2, 6)]
    assert matches[0].pair is not None and matches[0].pair.secret_text == SECRET
    assert matches[0].pair.line == 3


def test_required_rule_does_not_fire_alone_or_too_far(detector):
    assert found(detector, f"secret = {SECRET}\n") == []
    far = f"id = {KEY_ID}\n" + "\n" * 5 + f"{SECRET}\n"
    assert found(detector, far) == [("test-key-id", KEY_ID)]


def test_keywords_entropy_and_placeholders(detector):
    assert found(detector, "tok_a8Fk2LmQ9zXw4RtY7uPb3NcV") == [("test-token", "tok_a8Fk2LmQ9zXw4RtY7uPb3NcV")]
    assert found(detector, "TKIDAAAAAAAAAAAAAAAA") == []  # entropy too low
    assert found(detector, "password = ${DB_PASSWORD}") == []
    assert found(detector, "password = YOUR_PASSWORD_HERE") == []
    assert found(detector, "password = xxxxxxxxxx") == []


def test_inline_allow_markers(detector):
    for marker in ("secretguard:allow", "pragma: allowlist secret", "gitleaks:allow"):
        assert found(detector, f"t = 'tok_a8Fk2LmQ9zXw4RtY7uPb3NcV'  # {marker}\n") == []


def test_generic_rule_yields_to_specific_rule_on_same_secret(detector):
    assert found(detector, "password = tok_a8Fk2LmQ9zXw4RtY7uPb3NcV") == [
        ("test-token", "tok_a8Fk2LmQ9zXw4RtY7uPb3NcV")
    ]


def test_non_utf8_and_nul_bytes_do_not_crash(detector):
    data = b"\xff\xfe\x00garbage\x80\n" + b"k = tok_a8Fk2LmQ9zXw4RtY7uPb3NcV\n\xc3\x28"
    assert found(detector, data) == [("test-token", "tok_a8Fk2LmQ9zXw4RtY7uPb3NcV")]
    assert detector.scan(b"") == []


def test_line_and_column_are_one_based_bytes(detector):
    matches = detector.scan("é\n\n  x tok_a8Fk2LmQ9zXw4RtY7uPb3NcV".encode())
    assert [(m.line, m.column) for m in matches] == [(3, 5)]


@pytest.mark.skipif(hyperscan is None, reason="the comparison needs Hyperscan installed")
def test_both_paths_agree_on_a_mixed_corpus(mini_rules):
    lines = []
    for i in range(400):
        lines.append(f"def f{i}(): return {i}  # filler")
        if i % 37 == 0:
            lines.append(f"id = {KEY_ID[:4]}{'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[i % 32] * 2}{KEY_ID[6:]}")
            lines.append(f"s = {SECRET[:-3]}{i:03d}")
        if i % 53 == 0:
            lines.append(f"password: Zq{i:04d}!vB#kL9")
        if i % 41 == 0:
            lines.append(f"tok_{i:04d}a8Fk2LmQ9zXw4RtY7uPb")
    data = "\n".join(lines).encode() + b"\n\xff\xfe"
    fast = Detector(mini_rules, use_hyperscan=True).scan(data)
    slow = Detector(mini_rules, use_hyperscan=False).scan(data)
    assert fast and [(m.rule.id, m.start, m.end, m.pair and m.pair.start) for m in fast] == [
        (m.rule.id, m.start, m.end, m.pair and m.pair.start) for m in slow
    ]
    assert {m.rule.id for m in fast} == {"test-key-id", "test-token", "generic-test-password"}


@pytest.mark.skipif(hyperscan is None, reason="the fallback within the Hyperscan path needs Hyperscan")
def test_a_rule_hyperscan_rejects_runs_on_the_regex_path_beside_the_others(tmp_path: Path, mini_rules, caplog):
    rejected = tmp_path / "rejected.yaml"
    rejected.write_text("""\
rules:
  - id: upper-code
    name: Upper-case code
    severity: low
    keywords: [code=]
    pattern: 'code=(?|(?P<secret>[A-Z]{4}[0-9]{8}))\\b'   # Hyperscan knows no branch reset
""")
    detector = Detector(load_rules([rejected], builtin=False) + mini_rules)

    assert detector.uses_hyperscan
    assert [r.id for r in detector.regex_only] == ["upper-code"]
    assert "rule upper-code runs without the prefilter" in caplog.text
    assert found(detector, "code=QZXW12345678 and tok_a8Fk2LmQ9zXw4RtY7uPb3NcV") == [
        ("upper-code", "QZXW12345678"), ("test-token", "tok_a8Fk2LmQ9zXw4RtY7uPb3NcV")]


@pytest.mark.parametrize("use_hyperscan", PATHS, ids=lambda hs: "hyperscan" if hs else "regex")
def test_a_keyword_may_stand_before_the_match_on_its_line(tmp_path: Path, use_hyperscan: bool):
    rules = tmp_path / "lookbehind.yaml"
    rules.write_text("""\
rules:
  - id: acme-token
    name: Acme token
    severity: high
    keywords: [acme_token]
    pattern: '(?<=acme_token=)(?P<secret>[A-Za-z0-9]{20})\\b'
""")
    detector = Detector(load_rules([rules], builtin=False), use_hyperscan=use_hyperscan)

    assert found(detector, "acme_token=Qz8Lm2Xw9Rt4Yb7Nc3Vp\nother=Qz8Lm2Xw9Rt4Yb7Nc3Vq\n") == [
        ("acme-token", "Qz8Lm2Xw9Rt4Yb7Nc3Vp")]
    assert found(detector, "acme_token=\nQz8Lm2Xw9Rt4Yb7Nc3Vp\n") == []  # a keyword on another line is no context
