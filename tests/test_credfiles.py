"""Credential files and settings files, each a hand-written fixture in its real format (tests/data/credfiles/real),
with a placeholder variant of each (tests/data/credfiles/placeholder) that must stay silent."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from secretguard import fixedkeys
from secretguard.content import text_encoding
from secretguard.credfiles import (
    credential_kind,
    is_literal,
    is_settings_credential,
    is_settings_file,
    unscramble_jetbrains,
)
from secretguard.extractors import view_text
from secretguard.findings import Origin
from secretguard.rules import load_rules
from tests.credstores import DBEAVER_PATH, dbeaver_file, fixtures, mylogin_file, rule_examples
from tests.helpers import run_cli

DATA = Path(__file__).parent / "data" / "credfiles"
WP_SALTS = [
    "Q4|Fm<7@e-xP~Rk}2bV9 Lz+8wJ!hN3%aY6,cD0]uG5^tS1", "bT8~wq2!Zr+M5v@Lk9#Xp3$Nd6^Jc1&Hy4*Gf7(Ue0)Sa",
    "Pz3@Wn8!Kq5#Vr2$Lm7%Xt9^Bc4&Hj6*Gd1(Fs0)Ya+Ue", "Mk6!Rt2@Wz9#Lp4$Qv7%Nx1^Hc8&Jb3*Fd5(Gs0)Ye+Ua",
    "Xr5@Kt8!Mq2#Wz7$Lv4%Pn9^Bc1&Hd6*Jg3(Fs0)Ya+Ue", "Nw4!Zq7@Rk2#Lt9$Mv5%Xp8^Hc3&Jb6*Gd1(Fs0)Ye+Ua",
    "Tv9@Lq3!Wk6#Zr8$Mp2%Nx5^Hc7&Jb4*Gd1(Fs0)Ya+Ue", "Kz2!Rw5@Mq8#Lt3$Xv6%Pn9^Hc4&Jb7*Gd1(Fs0)Ye+Ua",
]
SHADOW_ROOT = ("$6$Wk2Lp9Qz$Hq7mW2vXk9LpRt8Wz1Ns6Jd3Hy5Bc0FgQ4Fm7eXpRk2bV9Lz8wJhN3aY6cD0uG5tS1Pn4wq9ZKj3vT8qMx4tq7")
EXPECTED_FIREFOX = "MDoEEPgAAAAAAAAAAAAAAAAAAAEwFAYIKoZIhvcNAwcECLm2Vw5Zc8KpBBCq0Xf3Ns6Jd4Hy7Bg1Qe2R"
BCRYPT = "$2y$10$Lh8GxJf0qW2c9vZ3kN7mT1pR4sY6uB5dE8aQ0wX2zC4vN6bM8kJ1h"

# (path, line, rule, secret, decoded): every finding the real tree gives, and nothing else.
EXPECTED = [
    (".git-credentials", 1, "git-credentials", "ghx7Qm2pLw9Zk4Rt", None),
    (".git-credentials", 2, "git-credentials", "Tr0ub4dor&3x", ["percent"]),
    (".pgpass", 2, "pgpass-password", "admin123", None),
    (".pgpass", 3, "pgpass-password", "Qw:9x!Lm2v", None),
    ("filezilla/recentservers.xml", 10, "filezilla-password", "Vt9#qLm2!xRb", ["base64"]),
    ("filezilla/sitemanager.xml", 10, "filezilla-password", "shopweb2024", ["base64"]),
    ("sublime/sftp-config.json", 19, "sftp-config-password", "Wq7!pZ3k", None),
    (".ftpconfig", 6, "ftpconfig-password", "Kj3#vT8q", None),
    (".remote-sync.json", 6, "remote-sync-password", "bluebird88", None),
    (".idea/WebServers.xml", 6, "jetbrains-webservers-password", "Sd7!kq2Lp", ["jetbrains-scramble"]),
    ("dbeaver/data-sources.json", 18, "dbeaver-password", "Yt5#kp9Wq", None),
    ("robomongo/robomongo.json", 14, "robomongo-password", "Mx4!tq7Zp", None),
    ("config/mongoid.yml", 16, "mongoid-password", "mongoShop77", None),
    (".s3cfg", 7, "s3cfg-secret-key", "p7Lk2Qm9Xv4Rt8Wz1Ns6Jd3Hy5Bc0Fg", None),
    (".tugboat", 3, "tugboat-api-key", "9f2c7a1e4b8d6f03a5c9e7b1d2f4a6c8e0b3d5f7a9c1e3b5d7f9a2c4e6b8d0f1", None),
    (".netrc", 3, "heroku-api-key", "2b9f6c1e-7d4a-4e8b-9c3f-5a1d2e7b8f60", None),  # the provider's rule stands
    (".netrc", 7, "netrc-password", "tulip99", None),
    (".docker/config.json", 4, "docker-config-password", "Hq7mW2vXk9Lp", ["base64"]),
    (".npmrc", 2, "npmrc-password", "Rk4!zP8qWm", ["base64"]),
    ("keys/deploy.ppk", 8, "putty-private-key", "AAAAIGm4Tq8Wz2Lp6Xv9Rk3Nc7Bd1Hf5Jy0Qs4Ue8Ag2Mo6", None),
    ("rails/config/master.key", 1, "rails-master-key", "6875d8a200330a91f9f3443896678cf4", None),
    ("rails/config/secrets.yml", 5, "rails-secret-key-base",
     "15a92ace8b8070bd17bf4367608427715864607c9c1a8cd3967cb13f43983da6b923904221eaf91322ea28ed93eebd8aa19bb3831cbea"
     "fb8d05d87dc9fd9b4a6", None),
    ("rails/config/database.yml", 10, "generic-password", "railsdb2024", None),
    ("django/settings.py", 8, "django-secret-key", "django-insecure-8f#k2l!x9q@m3n$w7p^r5t&y1u*i0o(e)z", None),
    ("django/settings.py", 19, "generic-config-credential", "shop1234pg", None),
    ("django/settings.py", 25, "generic-password", "mailpass2024", None),
    ("laravel/.env", 3, "laravel-app-key", "i38uJifSE7iF+kIzcbFwva4dlaouM7rUI62xBoO19Zs=", None),
    ("laravel/.env", 14, "generic-config-credential", "admin123", None),
    ("laravel/.env", 17, "generic-config-credential", "RedisPass1!", None),
    ("laravel/.env", 24, "generic-password", "mailgun2024pw", None),
    ("wordpress/wp-config.php", 14, "wordpress-db-password", "wpAdmin2024", None),
    *[("wordpress/wp-config.php", 22 + i, "wordpress-auth-key", salt, None) for i, salt in enumerate(WP_SALTS)],
    ("etc/shadow", 1, "unix-password-hash", SHADOW_ROOT, None),
    ("etc/shadow", 5, "unix-password-hash",
     "$y$j9T$F5Jx0qW2c9vZ3kN7mT1pR.$Lh8GxJf0qW2c9vZ3kN7mT1pR4sY6uB5dE8aQ0wX2zC4", None),
    (".htpasswd", 1, "htpasswd-password-hash", "$apr1$Qw9xLm2v$F5Jx0qW2c9vZ3kN7mT1pR/", None),
    (".htpasswd", 2, "htpasswd-password-hash", BCRYPT, None),
    ("proftpd/ftpd.passwd", 1, "proftpd-password-hash", "$1$Rk4zP8qW$Lh8GxJf0qW2c9vZ3kN7mT1", None),
    (".esmtprc", 4, "esmtprc-password", "Sm7!tp4Qx", None),
    ("ventrilo/ventrilo_srv.ini", 6, "ventrilo-password", "Vn8!qr2Lx", None),
    ("ventrilo/ventrilo_srv.ini", 7, "ventrilo-password", "raidnight7", None),
    ("dumps/users.sql", 16, "sql-dump-password", "Summer2024!", None),
    ("dumps/users.sql", 16, "sql-dump-password-hash", BCRYPT, None),
    (".my.cnf", 3, "mysql-cnf-password", "Mq5!zr8Wp", None),
    ("mysql/.mylogin.cnf", 1, "mysql-login-path-password", "Qz4!mr7Kp", ["mylogin-aes"]),
    ("mysql/.mylogin.cnf", 1, "mysql-login-path-password", "ledger-2024", ["mylogin-aes"]),
    (DBEAVER_PATH, 1, "dbeaver-credentials-password", "Hb6!qt3Rz", ["dbeaver-aes"]),
    (DBEAVER_PATH, 1, "dbeaver-credentials-password", "Tn8#wq5Lm", ["dbeaver-aes"]),
    ("firefox/logins.json", 1, "firefox-logins-password", EXPECTED_FIREFOX, None),
    (".m2/settings.xml", 9, "maven-settings-password", "Nx7!kd2Qp", None),
    (".pypirc", 8, "pypirc-password", "wheelhouse42", None),
    ("composer/auth.json", 5, "composer-auth-password", "packagist77", None),
    ("spring/application.properties", 4, "generic-config-credential", "orders2024", None),
    ("dotnet/appsettings.json", 11, "generic-config-credential", "apiSecret99", None),
]
KINDS = {"unix-password-hash": "hash", "htpasswd-password-hash": "hash", "proftpd-password-hash": "hash",
         "sql-dump-password-hash": "hash", "firefox-logins-password": "encrypted"}


def sightings(findings: list[dict]) -> list[tuple[str, int, str, str, list[str] | None]]:
    return sorted((o["path"], o["line"], f["rule"], f["secret"], f.get("decoded"))
                  for f in findings for o in f["locations"])


@pytest.fixture(scope="module")
def real_findings() -> list[dict]:
    run = run_cli("scan", "dir", DATA / "real", "--format", "json", "--reveal")
    assert run.code == 1, run.err
    return json.loads(run.out)["findings"]


@pytest.mark.parametrize("path, line, rule, secret, decoded", EXPECTED, ids=lambda v: str(v)[:40])
def test_each_credential_field_is_found_at_its_line(real_findings, path, line, rule, secret, decoded):
    assert (path, line, rule, secret, decoded) in sightings(real_findings)


def test_nothing_else_is_found_in_the_real_files(real_findings):
    assert sightings(real_findings) == sorted(EXPECTED)


def test_every_real_file_gives_a_finding(real_findings):
    files = {str(p.relative_to(DATA / "real")) for p in (DATA / "real").rglob("*") if p.is_file()}
    assert files == {path for path, *_ in EXPECTED}


def test_hashes_and_undecryptable_values_are_low_severity_findings_of_their_kind(real_findings):
    for finding in real_findings:
        if finding["rule"] in KINDS:
            assert (finding["severity"], finding["kind"]) == ("low", KINDS[finding["rule"]])
        else:
            assert "kind" not in finding


def test_secrets_are_redacted_without_reveal():
    run = run_cli("scan", "dir", DATA / "real" / ".pgpass", "--format", "json")
    assert "admin123" not in run.out and "Qw:9x!Lm2v" not in run.out


@pytest.mark.parametrize("path", sorted(str(p.relative_to(DATA / "placeholder"))
                                        for p in (DATA / "placeholder").rglob("*") if p.is_file()))
def test_placeholder_variant_is_silent(path):
    assert (DATA / "real" / path).is_file()  # each placeholder file is the variant of a real one
    run = run_cli("scan", "dir", DATA / "placeholder" / path, "--format", "json", "--reveal")
    assert run.code == 0, run.out


# --- recognition and filters ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path, kind", [
    ("home/mira/.git-credentials", "git-credentials"), (".pgpass", "pgpass"),
    ("x/.docker/config.json", "docker-config"),
    ("app/config/credentials/production.key", "rails-master-key"), ("backup/2024-06-11.sql", "sql-dump"),
    ("site/.htpasswd", "htpasswd"), ("etc/shadow", "shadow"), ("AppData/FileZilla/sitemanager.xml", "filezilla"),
    ("home/ci/.m2/settings.xml", "maven-settings"), ("ci_settings.xml", "maven-settings"),
    ("config.json", None), ("src/app.py", None), (None, None),
])
def test_credential_files_are_recognised_by_name_and_place(path, kind):
    assert credential_kind(path) == kind


@pytest.mark.parametrize("path, kind", [
    ("dist/app.whl!a/b/app/config/credentials/production.key", "rails-master-key"),
    ("dist/app.whl!a/b/x/.docker/config.json", "docker-config"),
    ("dist/app.whl!a/b/home/ci/.m2/settings.xml", "maven-settings"),
    ("dist/app.whl!a/b/credentials/production.key", None), ("dist/app.whl!a/b/docker/config.json", None),
])
def test_credential_files_deep_in_a_tree_or_an_archive(path, kind):
    assert credential_kind(path) == kind


@pytest.mark.parametrize("path, settings", [
    ("dist/app.whl!a/b/shop/settings/prod.py", True), ("dist/app.whl!a/b/deploy/config/app.yml", True),
    ("dist/app.whl!a/tests/b/shop/settings/prod.py", False), ("dist/app.whl!a/b/shop/conf/prod.py", False),
])
def test_settings_files_deep_in_a_tree_or_an_archive(path, settings):
    assert is_settings_file(path) is settings


@pytest.mark.parametrize("path, settings", [
    (".env", True), ("deploy/.env.production", True), ("prod.env", True), ("shop/settings.py", True),
    ("shop/local_settings.py", True), ("src/main/resources/application-prod.properties", True),
    ("appsettings.Development.json", True), ("config/database.yml", True), (".env.example", False),
    ("config/settings.sample.yml", False), ("app/models.py", False), ("docs/settings.md", False),
    ("shop/test_settings.py", False), (".env.test", False), ("tests/project/settings.py", False),
])
def test_settings_files_by_path(path, settings):
    assert is_settings_file(path) is settings


@pytest.mark.parametrize("name, credential", [
    ("DB_PASSWORD", True), ("REDIS_PASSWORD", True), ("clientSecret", True), ("API_KEY", True),
    ("AzureAd.ClientSecret", True), ("spring.datasource.password", True), ("AWS_SECRET_ACCESS_KEY", True),
    ("AWS_ACCESS_KEY_ID", False), ("STRIPE_PUBLISHABLE_KEY", False), ("CACHE_KEY", False), ("SSL_KEY_PATH", False),
    ("monkey", False), ("CSRF_TOKEN", False), ("token_type", False), ("PUBLIC_KEY", False), ("key", False),
])
def test_settings_credential_names(name, credential):
    assert is_settings_credential(name) is credential


@pytest.mark.parametrize("value, literal", [
    ("admin123", True), ("$6$salt$hash", True), ("${DB_PASSWORD}", False), ("$DB_PASSWORD", False),
    ("%DB_PASSWORD%", False), ("{{ db_password }}", False), ("", False), ("homestead", False), ("null", False),
    ("put your unique phrase here", False), ("<password>", False),
])
def test_references_empty_values_and_defaults_are_not_literals(value, literal):
    assert is_literal(value) is literal


def test_jetbrains_scrambled_password_decodes_as_intellij_encodes_it():
    # each character XOR 0xdfaa as four hex digits: "Password", as IntelliJ's PasswordUtil writes it
    assert unscramble_jetbrains("dffadfcbdfd9dfd9dfdddfc5dfd8dfce") == "Password"
    assert unscramble_jetbrains("Rq8!mv2Lx") is None and unscramble_jetbrains("deadbeef") is None


def test_view_lines_are_what_the_rules_read():
    assert view_text("pgpass", b"db:5432:orders:app:admin123\n") == b"pgpass::password=admin123"
    assert view_text("env", b"DEBUG=1\nDB_PASSWORD=admin123\n") == b"env::DB_PASSWORD=admin123"


def test_settings_rule_does_not_reach_source_code(tree):
    """The same weak assignment is a finding in a settings file and not in ordinary code."""
    root = tree({"shop/settings.py": "DB_PASSWORD = 'admin123'\n", "shop/models.py": "DB_PASSWORD = 'admin123'\n"})
    run = run_cli("scan", "dir", root, "--format", "json")
    assert run.code == 1, run.err
    [finding] = json.loads(run.out)["findings"]
    assert finding["rule"] == "generic-config-credential"
    assert [o["path"] for o in finding["locations"]] == ["shop/settings.py"]


# --- rule files: extractor, kind, supersedes --------------------------------------------------------------------

RULE = """\
rules:
  - id: acme-pgpass
    name: Acme pgpass
    severity: low
    keywords: ["pgpass::"]
    pattern: '(?m)^pgpass::password=(?P<secret>[^\\n]+)'
    examples: ["db:5432:orders:app:Acme2024x\\n", "db:5432:*:ci:Acme2025y\\n"]
    negative_examples: ["db:5432:orders:app:\\n", "# db:5432:orders:app:Acme2024x\\n"]
"""


@pytest.mark.parametrize("extra, message", [
    ("    extractor: pgpass\n    kind: salt\n", "rule 'acme-pgpass': 'kind' must be one of hash"),
    ("    extractor: pgpass\n    supersedes: [no-such-rule]\n", "'supersedes' names unknown rule 'no-such-rule'"),
    ("    extractor: pgpass\n    examples_encoding: hex\n", "'examples_encoding' must be one of base64"),
    ("    extractor: pgpass\n    examples_encoding: base64\n", "an example is not base64"),
])
def test_bad_rule_keys_are_one_line_errors(tmp_path, extra, message):
    rules = tmp_path / "acme.yaml"
    rules.write_text(RULE + extra)
    run = run_cli("rules", "list", "--rules", rules)
    assert run.code == 2 and message in run.err and run.err.startswith("error:")


@pytest.mark.parametrize("extra, problem", [
    ("    extractor: pgpass\n", None),
    ("", "example not found"),  # without it, examples in the file's own format are never found
    ("    extractor: pgpass-v2\n", "unknown extractor 'pgpass-v2'"),
])
def test_rules_test_reads_examples_with_the_named_extractor(tmp_path, extra, problem):
    rules = tmp_path / "acme.yaml"
    rules.write_text(RULE + extra)
    run = run_cli("rules", "test", "--rules", rules)
    if problem is None:
        assert run.code == 0 and "0 problem(s)" in run.out
    else:
        assert run.code == 1 and problem in run.err


BINARY_RULE = """\
rules:
  - id: acme-mylogin
    name: Acme login path
    severity: low
    extractor: mysql-login
    keywords: ["mysql-login::"]
    pattern: '(?m)^mysql-login::password=(?P<secret>[^\\n]+)'
"""


def yaml_list(files: list[bytes]) -> str:
    return "[" + ", ".join(base64.b64encode(f).decode() for f in files) + "]"


@pytest.mark.parametrize("encoding, problem", [("    examples_encoding: base64\n", None), ("", "example not found")])
def test_rules_test_reads_base64_examples_as_file_bytes(tmp_path, encoding, problem):
    real = [mylogin_file(f"[client]\npassword = Acme{n}x9\n", f"r{n}") for n in range(2)]
    silent = [mylogin_file(f"[client]\nuser = u{n}\n", f"s{n}") for n in range(2)]
    rules = tmp_path / "acme.yaml"
    rules.write_text(BINARY_RULE + encoding + f"    examples: {yaml_list(real)}\n"
                     f"    negative_examples: {yaml_list(silent)}\n")
    run = run_cli("rules", "test", "--rules", rules)
    if problem is None:
        assert run.code == 0 and "0 problem(s)" in run.out, run.err
    else:
        assert run.code == 1 and problem in run.err


def test_credential_files_in_git_history_and_the_staged_change(tmp_path):
    from tests.test_git_history import commit, git, init_repo, write

    repo = init_repo(tmp_path / "repo")
    commit(repo, {"README.md": "ops\n", "deploy/.pgpass": "db:5432:orders:app:admin123\n"})
    commit(repo, {"deploy/.pgpass": None})  # deleted later: still in the history
    run = run_cli("scan", "git", repo, "--format", "json", "--reveal")
    assert run.code == 1, run.err
    [finding] = json.loads(run.out)["findings"]
    assert (finding["rule"], finding["secret"]) == ("pgpass-password", "admin123")
    assert [(o["path"], o["line"]) for o in finding["locations"]] == [("deploy/.pgpass", 1)]

    write(repo, {".my.cnf": "[client]\nuser=backup\npassword=dumpster42\n"})
    git(repo, "add", "-A")
    staged = run_cli("scan", "staged", repo, "--format", "json", "--reveal")
    assert staged.code == 1, staged.err
    assert [(f["rule"], f["secret"], f["locations"][0]["line"]) for f in json.loads(staged.out)["findings"]] == [
        ("mysql-cnf-password", "dumpster42", 3)]


# --- credential stores: encrypted with a published key, or with a key that is not in the file ---------------------

def test_encrypted_fixtures_and_rule_examples_are_what_the_generator_writes():
    for path, data in fixtures().items():
        assert (DATA / path).read_bytes() == data, f"{path}: run python -m tests.credstores"
    specs = {rule.id: rule.spec for rule in load_rules()}
    for rule, sets in rule_examples().items():
        assert [specs[rule].example_bytes(e) for e in specs[rule].examples] == sets["examples"]
        assert [specs[rule].example_bytes(e) for e in specs[rule].negative_examples] == sets["negative_examples"]


def test_each_store_credential_names_its_entry(real_findings):
    entries = {(f["rule"], f["secret"]): [o.get("entry") for o in f["locations"]] for f in real_findings}
    assert entries[("dbeaver-credentials-password", "Hb6!qt3Rz")] == [
        "mysql8-18f2a7c4b1e-3d6e9a0b5c7f2e14 (user shop_rw)"]
    assert entries[("dbeaver-credentials-password", "Tn8#wq5Lm")] == [
        "mysql8-18f2a7c4b1e-3d6e9a0b5c7f2e14 network/ssh_tunnel (user deploy)"]
    assert entries[("mysql-login-path-password", "Qz4!mr7Kp")] == ["client (user backup)"]
    assert entries[("mysql-login-path-password", "ledger-2024")] == ["reporting (user reporter)"]
    assert entries[("firefox-logins-password", EXPECTED_FIREFOX)] == ["https://intranet.acme-corp.io"]
    # data-sources.json names its connections by the ids credentials-config.json files their credentials under
    assert entries[("dbeaver-password", "Yt5#kp9Wq")] == ["postgres-jdbc-18a3c2f1d7e-5b9a0c7e4f2d1a83 (user analyst)"]


def test_store_entries_are_in_the_text_report_and_passwords_stay_redacted():
    run = run_cli("scan", "dir", DATA / "real" / "mysql", "--format", "text", "--no-progress")
    assert run.code == 1, run.err
    assert "client (user" in run.out and "Qz4!mr7Kp" not in run.out and "ledger-2024" not in run.out


def test_dbeaver_credentials_decrypt_with_the_published_key_only():
    document = {"c1": {"#connection": {"user": "u", "password": "p4ss-Word"}}}
    assert json.loads(fixedkeys.dbeaver_credentials(dbeaver_file(document, "t")) or b"") == document
    assert fixedkeys.dbeaver_credentials(dbeaver_file(document, "t", key=bytes(16))) is None
    assert fixedkeys.dbeaver_credentials(b"{}") is None and fixedkeys.dbeaver_credentials(bytes(33)) is None


def test_mylogin_key_is_the_twenty_bytes_folded_into_sixteen():
    material = bytes(range(20))
    assert fixedkeys.mylogin_key(material) == bytes([0 ^ 16, 1 ^ 17, 2 ^ 18, 3 ^ 19, *range(4, 16)])


def test_mylogin_decrypts_line_by_line_up_to_what_is_not_whole():
    text = "[client]\nuser = root\npassword = Vk3$np8Wx\n"
    data = mylogin_file(text, "t")
    assert fixedkeys.mylogin(data) == text.encode()
    assert fixedkeys.mylogin(data[:-1]) == b"[client]\nuser = root\n"  # cut inside the last line
    assert fixedkeys.mylogin(data[:24] + (7).to_bytes(4, "little") + data[28:]) is None  # not a whole block
    assert fixedkeys.mylogin(b"[client]\npassword = Vk3$np8Wx\n" * 2) is None  # a plain option file


def test_an_encrypted_store_the_content_check_calls_binary_is_still_read(tree):
    """A DBeaver file holding NUL bytes is a binary to the content check, whose own bytes no decoder reads."""
    document = {"mysql8-1": {"#connection": {"user": "root", "password": "Bin4ry!Pw"}}}
    data = next(d for d in (dbeaver_file(document, f"nul-{i}") for i in range(64)) if b"\0" in d)
    assert text_encoding(data) == "binary"
    root = tree({".dbeaver/credentials-config.json": data})
    run = run_cli("scan", "dir", root, "--format", "json", "--reveal")
    assert run.code == 1, run.err
    [finding] = json.loads(run.out)["findings"]
    assert (finding["rule"], finding["secret"], finding["locations"][0]["binary"]) == (
        "dbeaver-credentials-password", "Bin4ry!Pw", True)


def test_a_file_of_the_same_name_encrypted_otherwise_is_silent(tree):
    other_key = dbeaver_file({"c1": {"#connection": {"user": "u", "password": "Vk3$np8Wx"}}}, "t", key=bytes(16))
    root = tree({".dbeaver/credentials-config.json": other_key,
                 ".mylogin.cnf": bytes(4) + bytes(range(20)) + (16).to_bytes(4, "little") + bytes(range(16))})
    run = run_cli("scan", "dir", root, "--format", "json")
    assert run.code == 0, run.out


def test_an_entry_is_shown_with_its_place():
    assert Origin(source="file", path="p/logins.json", line=1, column=9, entry="https://git.acme-corp.io").describe() \
        == "p/logins.json [https://git.acme-corp.io]:1:9"


def test_firefox_logins_give_one_encrypted_finding_per_login_under_its_site(tree):
    logins = [{"hostname": f"https://{site}", "encryptedUsername": "MDIEEPgAAAAAAAAAAAAAAAAAAAEwFAYIKoZIhvcNAwcECA==",
               "encryptedPassword":
                   f"MDoEEPgAAAAAAAAAAAAAAAAAAAEwFAYIKoZIhvcNAwcECL{n}Vw5Zc8KpBBCq0Xf3Ns6Jd4Hy7Bg1Qe2R"}
              for n, site in enumerate(["git.acme-corp.io", "intranet.acme-corp.io", "mail.acme-corp.io"])]
    logins.append({"hostname": "https://old.acme-corp.io", "encryptedPassword": ""})
    root = tree({"profile/logins.json": json.dumps({"nextId": 5, "logins": logins, "version": 3})})
    run = run_cli("scan", "dir", root, "--format", "json")
    assert run.code == 1, run.err
    findings = json.loads(run.out)["findings"]
    assert sorted((f["rule"], f["kind"], f["severity"], f["locations"][0]["entry"]) for f in findings) == [
        ("firefox-logins-password", "encrypted", "low", f"https://{site}")
        for site in ["git.acme-corp.io", "intranet.acme-corp.io", "mail.acme-corp.io"]]


def test_encrypted_stores_in_git_history_and_the_staged_change(tmp_path):
    from tests.test_git_history import commit, git, init_repo, write

    repo = init_repo(tmp_path / "repo")
    commit(repo, {"README.md": "ops\n"})
    write(repo, {"home/.mylogin.cnf": (DATA / "real" / "mysql" / ".mylogin.cnf").read_bytes()})
    git(repo, "add", "-A")
    staged = run_cli("scan", "staged", repo, "--format", "json", "--reveal")
    assert staged.code == 1, staged.err
    assert sorted(f["secret"] for f in json.loads(staged.out)["findings"]) == ["Qz4!mr7Kp", "ledger-2024"]
    commit(repo, message="login paths")
    history = run_cli("scan", "git", repo, "--format", "json", "--reveal")
    assert history.code == 1, history.err
    assert sorted((f["rule"], f["secret"], f["locations"][0]["path"]) for f in json.loads(history.out)["findings"]) \
        == [("mysql-login-path-password", s, "home/.mylogin.cnf") for s in ("Qz4!mr7Kp", "ledger-2024")]
