"""The shipped rules: every example found, every negative not, under both matching paths."""

from __future__ import annotations

from dataclasses import replace

import pytest

from secretguard.aws.keys import account_from_key_id, key_type
from secretguard.detectors import DETECTORS
from secretguard.engine import Detector
from secretguard.rules import builtin_rules_dir, load_rules, prefilter_pattern
from secretguard.rules_check import check_rules
from tests.helpers import run_cli

REQUIRED_PROVIDERS = [
    "aws-access-key-id", "aws-secret-access-key", "aws-session-token", "aws-mws-auth-token",
    "github", "gitlab", "slack", "stripe", "google", "azure", "private-key", "jwt", "sendgrid", "twilio",
    "mailgun", "npm", "pypi", "docker", "openai", "anthropic", "vault", "heroku", "shopify", "square",
    "datadog", "url-basic-auth", "generic-password",
]


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def test_every_example_passes_under_both_paths(rules):
    problems = check_rules(rules)
    assert not problems, "\n".join(map(str, problems))


def test_rule_set_is_broad(rules):
    assert len(rules) >= 60
    ids = [r.id for r in rules]
    for provider in REQUIRED_PROVIDERS:
        assert any(i.startswith(provider) for i in ids), provider
    assert all(len(r.spec.examples) >= 2 and len(r.spec.negative_examples) >= 2 for r in rules)


def test_rules_test_command():
    run = run_cli("rules", "test")
    assert run.code == 0, run.err
    assert "0 problem(s)" in run.out


def test_rules_list_shows_every_rule_and_registered_detector(rules):
    run = run_cli("rules", "list")
    assert run.code == 0 and len(run.out.splitlines()) == len(rules) + len(DETECTORS)
    assert any(line.startswith("cloud-secret-env-var ") for line in run.out.splitlines())


def test_rules_test_runs_the_registered_detectors_examples(monkeypatch):
    broken = replace(DETECTORS[0], examples=(*DETECTORS[0].examples, ("DB_PASSWORD_ARN", "arn:aws:x")))
    monkeypatch.setattr("secretguard.cli.rules.DETECTORS", (broken,))
    run = run_cli("rules", "test")
    assert run.code == 1
    assert "detector 'cloud-secret-env-var': example DB_PASSWORD_ARN='arn:aws:x' not found" in run.err


def test_rules_ship_in_package_dir():
    assert (builtin_rules_dir() / "aws.yaml").is_file()


@pytest.mark.parametrize("secret", [
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AKIAI44QH8DHBEXAMPLE",
])
def test_vendor_example_keys_are_never_findings(rules, secret):
    text = f"aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {secret}\n"
    assert Detector(rules).scan(text.encode()) == []


def test_offline_account_id():
    assert account_from_key_id("ASIAY34FZKBOKMUTVV7A") == "609629065308"
    assert account_from_key_id("AKIAIOSFODNN7EXAMPLE") is None  # fifth letter I: old format
    assert account_from_key_id("AKIAJ34FZKBOKMUTVV7A") is None
    assert account_from_key_id("not-a-key") is None
    assert key_type("ASIAY34FZKBOKMUTVV7A") == "temporary access key (STS session)"


def test_prefilter_pattern_loosens_only_long_repeats():
    assert prefilter_pattern(r"a{64,12000}b{3}c{2,5}\{99}d{20}e{5,}") == r"a{32,}b{3}c{2,5}\{99}d{20,}e{5,}"
    assert prefilter_pattern(r"(?P<secret>x)|(?<secret>y)(?<=z)(?<!w)") == r"(?:x)|(?:y)(?<=z)(?<!w)"


def test_both_paths_agree_on_every_example_and_real_source(rules):
    import sysconfig
    from pathlib import Path

    from secretguard.engine import hyperscan

    if hyperscan is None:
        pytest.skip("the comparison needs Hyperscan installed")
    corpus = [example.encode() for r in rules for example in (*r.spec.examples, *r.spec.negative_examples)]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    corpus += [p.read_bytes() for p in sorted(stdlib.glob("*.py"))[:150]]
    corpus.append(b"\n".join(corpus[:200]))  # many rules' matches in one buffer
    fast, slow = Detector(rules, use_hyperscan=True), Detector(rules, use_hyperscan=False)
    for data in corpus:
        assert [(m.rule.id, m.start, m.end) for m in fast.scan(data)] == \
            [(m.rule.id, m.start, m.end) for m in slow.scan(data)]


RULE_FILE = """\
rules:
  - id: cached-token
    name: {name}
    severity: high
    keywords: [ctok_]
    pattern: '\\b(?P<secret>ctok_[a-z0-9]{{12}})\\b'
    description: {description}
"""


def _cache_entries() -> list:
    from secretguard.cache import cache_dir

    return sorted(cache_dir().glob("rules-*.json"))


def test_parsed_rule_files_are_cached_by_content(tmp_path):
    from secretguard.rules import load_rule_file

    path = tmp_path / "mine.yaml"
    path.write_text(RULE_FILE.format(name="First name", description="plain"))
    before = set(_cache_entries())
    assert load_rule_file(path)[0].name == "First name"
    entry = (set(_cache_entries()) - before).pop()
    assert load_rule_file(path)[0].name == "First name"  # from the entry

    path.write_text(RULE_FILE.format(name="Second name", description="plain"))
    assert load_rule_file(path)[0].name == "Second name"  # new bytes, new entry

    entry.write_bytes(b"{damaged")
    path.write_text(RULE_FILE.format(name="First name", description="plain"))
    assert load_rule_file(path)[0].name == "First name"
    assert b"First name" in entry.read_bytes()  # parsed again and rewritten


def test_a_rule_file_json_cannot_hold_is_parsed_every_time(tmp_path):
    from secretguard.rules import load_rule_file

    path = tmp_path / "dated.yaml"
    path.write_text(RULE_FILE.format(name="Dated", description="2024-05-01"))  # YAML reads a date
    before = set(_cache_entries())
    spec = load_rule_file(path)[0]
    assert spec.description == "2024-05-01"
    assert set(_cache_entries()) == before


def test_a_rule_file_that_is_not_utf8_names_the_file(tmp_path):
    from secretguard.errors import RuleError
    from secretguard.rules import load_rule_file

    path = tmp_path / "latin1.yaml"
    path.write_bytes(RULE_FILE.format(name="Caf\xe9", description="x").encode("latin-1"))
    with pytest.raises(RuleError, match="latin1.yaml.*not UTF-8"):
        load_rule_file(path)


def test_the_readme_sample_rule_passes_rules_test(tmp_path):
    """A rule copied from the README (under a new id) is one `rules test` accepts."""
    import re
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    sample = re.search(r"```yaml\n(.*?)```", readme[readme.index("\n## Rules\n"):], re.S)
    assert sample is not None
    rules = tmp_path / "mine.yaml"
    rules.write_text(sample[1].replace("id: aws-access-key-id", "id: my-sample-key", 1))

    run = run_cli("rules", "test", "--rules", rules)

    assert run.code == 0, run.out + run.err
    assert "my-sample-key" not in run.out + run.err
