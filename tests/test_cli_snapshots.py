"""The text each command prints, pinned on fixed inputs: a change to what users read shows up in review.

Update after an intended change with ``python -m pytest tests/test_cli_snapshots.py -n 0 --inline-snapshot=fix``.
Output is made deterministic: no colour (``NO_COLOR``), a fixed terminal width, a fixed fingerprint key, git
commits at fixed dates, and the working directory and clock times replaced by placeholders of the same length
(so that tables keep their layout).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from inline_snapshot import snapshot

from tests.helpers import run_cli
from tests.test_git_history import commit, git, init_repo
from tests.test_migrate import World, world  # noqa: F401 - the fixture

KEY_ID = "AKIAQYLPMN5HHHFPZAM2"
SECRET_KEY = "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"
CREDENTIALS = f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET_KEY}\n"
SHADOW = ("root:$6$Wk2Lp9Qz$Hq7mW2vXk9LpRt8Wz1Ns6Jd3Hy5Bc0FgQ4Fm7eXpRk2bV9Lz8wJhN3aY6cD0uG5tS1Pn4wq9ZKj3vT8qMx4tq7"
          ":19876:0:99999:7:::\n")
WORKDIR_LENGTH = 90
CLOCK = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:\+00:00|Z)?")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory for the command, its absolute path always ``WORKDIR_LENGTH`` long."""
    room = WORKDIR_LENGTH - len(str(tmp_path)) - 1
    assert room > 0, f"{tmp_path} is too long for a {WORKDIR_LENGTH}-character working directory"
    path = tmp_path / ("w" * room)
    path.mkdir()
    monkeypatch.chdir(path)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("SECRETGUARD_FINGERPRINT_KEY", "snapshot-fingerprint-key-0123456789abcdef")
    return path


def shown(text: str, workdir: Path) -> str:
    """``text`` with the working directory and clock times replaced, trailing spaces dropped."""
    text = text.replace(str(workdir), "<workdir>".ljust(WORKDIR_LENGTH, "~"))
    text = CLOCK.sub(lambda m: "<time>".ljust(len(m.group()), "~"), text)
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def cli(workdir: Path, *args: str) -> tuple[int, str, str]:
    run = run_cli(*args)
    return run.code, shown(run.out, workdir), shown(run.err, workdir)


def test_help(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert cli(workdir, "--help") == snapshot((0, """\

 Usage: secretguard [OPTIONS] COMMAND [ARGS]...

 Find cloud credentials, tell whether they are live, and move them where they belong.

 --version (after any command, too) shows the version; -h or --help, the help of any command.

╭─ Options ────────────────────────────────────────────────────────────────────────────────────────╮
│ --help  -h        Show this message and exit.                                                    │
╰──────────────────────────────────────────────────────────────────────────────────────────────────╯
╭─ Commands ───────────────────────────────────────────────────────────────────────────────────────╮
│ scan         Scan a working tree, a git history, a staged change or an AWS account.              │
│ validate     Check the AWS key pairs of a saved report against STS and report them with their    │
│              status.                                                                             │
│ rules        Show the rules, or run every rule's examples.                                       │
│ baseline     Record accepted findings so that only new ones are reported.                        │
│ aws          AWS helpers that need no scan.                                                      │
│ migrate      Move plaintext secrets from Lambda, ECS, Batch, CodeBuild and .env files into AWS   │
│              Secrets Manager, and SSM String parameters into SecureStrings.                      │
│ sweep        Scan the full history of many repositories into one store; only blobs it has not    │
│              seen are scanned.                                                                   │
│ report       Report a sweep store's open findings, live keys first, with totals per repository,  │
│              rule and status.                                                                    │
│ findings     Record decisions about findings in a sweep store.                                   │
│ hook         Install the git hooks that stop commits and pushes adding secrets.                  │
│ hash-secret  Print the allow.secrets entry of each secret on stdin, one per line (never give     │
│              secrets as arguments).                                                              │
╰──────────────────────────────────────────────────────────────────────────────────────────────────╯

""", ''))


def test_scan_dir_with_findings(workdir: Path) -> None:
    (workdir / "app").mkdir()
    (workdir / "app" / "aws.ini").write_text(CREDENTIALS)
    (workdir / "app" / "README.md").write_text("nothing to see\n")
    assert cli(workdir, "scan", "dir", "app", "--no-progress") == snapshot((1, """\
                              CRITICAL (1)
┏━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┓
┃ rule              ┃ secret                             ┃ locations    ┃
┡━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━┩
│ aws-access-key-id │ AKIA************ZAM2               │ aws.ini:2:21 │
│                   │ + uIzO************************B5pN │              │
│                   │ account 052310077262               │              │
└───────────────────┴────────────────────────────────────┴──────────────┘
1 finding in 2 files, 0.0 MB.
""", ''))


def test_scan_dir_clean(workdir: Path) -> None:
    (workdir / "app").mkdir()
    (workdir / "app" / "README.md").write_text("nothing to see\n")
    assert cli(workdir, "scan", "dir", "app", "--no-progress") == snapshot((0, 'No secrets found in 1 files, 0.0 MB.\n', ''))


def test_scan_git(workdir: Path) -> None:
    repo = init_repo(workdir / "repo")
    commit(repo, {"README.md": "app\n", "deploy/aws.ini": CREDENTIALS}, "add deploy keys", day=1)
    commit(repo, {"deploy/aws.ini": None}, "remove the keys", day=2)
    assert cli(workdir, "scan", "git", "repo", "--no-progress") == snapshot((1, """\
                                                                CRITICAL (1)
┏━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ rule              ┃ secret                             ┃ locations                                                                       ┃
┡━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ aws-access-key-id │ AKIA************ZAM2               │ deploy/aws.ini:2:21 @1adf23646e (Test Author <author@example.test>, 2024-01-01) │
│                   │ + uIzO************************B5pN │                                                                                 │
│                   │ account 052310077262               │                                                                                 │
└───────────────────┴────────────────────────────────────┴─────────────────────────────────────────────────────────────────────────────────┘
1 finding in 2 blobs, 0.0 MB.
""", ''))


def test_scan_staged(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = init_repo(workdir / "repo")
    commit(repo, {"README.md": "app\n"}, day=1)
    (repo / "etc").mkdir()
    (repo / "etc" / "shadow").write_text(SHADOW)
    git(repo, "add", "-A")
    monkeypatch.chdir(repo)
    assert cli(workdir, "scan", "staged") == snapshot((1, """\
                                 LOW (1)
┏━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┓
┃ rule               ┃ secret                           ┃ locations      ┃
┡━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━┩
│ unix-password-hash │ $6$W************************4tq7 │ etc/shadow:1:6 │
└────────────────────┴──────────────────────────────────┴────────────────┘
1 finding in 1 staged files, 0.0 MB.
""", ''))


def test_rules_list_head(workdir: Path) -> None:
    code, out, err = cli(workdir, "rules", "list")
    assert (code, out.splitlines()[:3], err) == snapshot((0, ['age-secret-key                                critical  age secret key (X25519 identity)', 'groq-api-key                                  high      Groq API key', 'replicate-api-token                           high      Replicate API token'], ''))


def test_report_from_a_sweep_store(workdir: Path) -> None:
    repo = init_repo(workdir / "repo")
    commit(repo, {"deploy/aws.ini": CREDENTIALS, "etc/shadow": SHADOW}, "add deploy keys", day=1)
    assert run_cli("sweep", "repo", "--db", "sweep.db", "--jobs", "1").code == 1
    assert cli(workdir, "report", "--db", "sweep.db") == snapshot((1, """\
                                                                CRITICAL (1)
┏━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ rule              ┃ secret                             ┃ locations                                                                       ┃
┡━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ aws-access-key-id │ AKIA************ZAM2               │ deploy/aws.ini:2:21 @29f1c9be33 (Test Author <author@example.test>, 2024-01-01) │
│                   │ + uIzO************************B5pN │                                                                                 │
│                   │ account 052310077262               │                                                                                 │
└───────────────────┴────────────────────────────────────┴─────────────────────────────────────────────────────────────────────────────────┘
                                                               LOW (1)
┏━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ rule               ┃ secret                           ┃ locations                                                                  ┃
┡━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ unix-password-hash │ $6$W************************4tq7 │ etc/shadow:1:6 @29f1c9be33 (Test Author <author@example.test>, 2024-01-01) │
└────────────────────┴──────────────────────────────────┴────────────────────────────────────────────────────────────────────────────┘
open findings by validation status: not validated 2
rule aws-access-key-id: 1
rule unix-password-hash: 1
repository <workdir>~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~/repo: 2 findings
last run #1 (finished, started <time>~~~~~~~~~~~~~~~~~~~): 1 repositories, 0 failed, 2 blobs scanned
2 findings in 1 repositories, 0.0 MB.
""", ''))


def test_migrate_plan(workdir: Path, world: World) -> None:
    assert cli(workdir, "migrate", "plan", "--function", "billing") == snapshot((0, """\
migration plan: 3 secret(s) to move, 0 skipped; nothing has been changed
arn:aws:lambda:us-east-1:123456789012:function:billing
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ variable                         ┃ secret                                               ┃ IAM grant                                            ┃ resource change                                     ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ API_TOKEN                        │ create secretguard/lambda/billing/API_TOKEN (or      │ inline policy secretguard-API_TOKEN-49d1d98a47b7 on  │ set API_TOKEN_SECRET_ARN = the secret ARN beside    │
│                                  │ reuse it if it holds the same value)                 │ role billing-role: secretsmanager:GetSecretValue on  │ API_TOKEN; `migrate finalize` removes API_TOKEN     │
│                                  │ KMS key: aws/secretsmanager (AWS managed)            │ this secret only                                     │                                                     │
│                                  │ tags: secretguard:source=lambda,                     │                                                      │                                                     │
│                                  │ secretguard:resource=arn:aws:lambda:us-east-1:123456 │                                                      │                                                     │
│                                  │ 789012:function:billing,                             │                                                      │                                                     │
│                                  │ secretguard:variable=API_TOKEN                       │                                                      │                                                     │
├──────────────────────────────────┼──────────────────────────────────────────────────────┼──────────────────────────────────────────────────────┼─────────────────────────────────────────────────────┤
│ DB_PASSWORD                      │ create secretguard/lambda/billing/DB_PASSWORD (or    │ inline policy secretguard-DB_PASSWORD-753811478b24   │ set DB_PASSWORD_SECRET_ARN = the secret ARN beside  │
│                                  │ reuse it if it holds the same value)                 │ on role billing-role: secretsmanager:GetSecretValue  │ DB_PASSWORD; `migrate finalize` removes DB_PASSWORD │
│                                  │ KMS key: aws/secretsmanager (AWS managed)            │ on this secret only                                  │                                                     │
│                                  │ tags: secretguard:source=lambda,                     │                                                      │                                                     │
│                                  │ secretguard:resource=arn:aws:lambda:us-east-1:123456 │                                                      │                                                     │
│                                  │ 789012:function:billing,                             │                                                      │                                                     │
│                                  │ secretguard:variable=DB_PASSWORD                     │                                                      │                                                     │
├──────────────────────────────────┼──────────────────────────────────────────────────────┼──────────────────────────────────────────────────────┼─────────────────────────────────────────────────────┤
│ DEPLOY_ACCESS_KEY                │ create secretguard/lambda/billing/DEPLOY_ACCESS_KEY  │ inline policy                                        │ set DEPLOY_ACCESS_KEY_SECRET_ARN = the secret ARN   │
│ rotate: AWS key                  │ (or reuse it if it holds the same value)             │ secretguard-DEPLOY_ACCESS_KEY-a86e6630e477 on role   │ beside DEPLOY_ACCESS_KEY; `migrate finalize`        │
│ AKIA************ZEIH (account    │ KMS key: aws/secretsmanager (AWS managed)            │ billing-role: secretsmanager:GetSecretValue on this  │ removes DEPLOY_ACCESS_KEY                           │
│ 210987654321)                    │ tags: secretguard:source=lambda,                     │ secret only                                          │                                                     │
│                                  │ secretguard:resource=arn:aws:lambda:us-east-1:123456 │                                                      │                                                     │
│                                  │ 789012:function:billing,                             │                                                      │                                                     │
│                                  │ secretguard:variable=DEPLOY_ACCESS_KEY               │                                                      │                                                     │
└──────────────────────────────────┴──────────────────────────────────────────────────────┴──────────────────────────────────────────────────────┴─────────────────────────────────────────────────────┘
""", ''))
