"""The server's push protection: ``python -m secretguard.hook pre-receive [OPTIONS]`` in a bare repository.

git runs a pre-receive hook once per push, with one ``old new ref`` line per updated ref on standard input
and the pushed objects still in its quarantine directory. Only what the push brings is scanned: the commits
reachable from the new tips and from no existing ref, and of their blobs only those that are not already in
the snapshots just below them. A secret already on the server never blocks a push.

The configuration is the server's alone: the options baked into the installed hook and the ``--config`` file
they name. A ``.secretguard.yaml`` inside the pushed commits is never read. Messages go to standard error,
which git relays to the pusher as ``remote:`` lines.

Exit codes: 0 the push goes on; 1 a secret blocks it; 2 the scan failed or ran out of time with the policy
fail-closed (the default). With fail-open, such a push goes on with a warning.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from secretguard.baseline import Baseline, load_baseline
from secretguard.config import Config, load_config
from secretguard.errors import SecretguardError
from secretguard.findings import Finding
from secretguard.hashing import SecretHasher, UserKey

BYPASS_OPTION = "secretguard.bypass"
AUDIT_LOG_NAME = "secretguard-audit.jsonl"
SHOWN_FINDINGS = 10
PUSHER_VARIABLES = ("GL_USERNAME", "GITEA_PUSHER_NAME", "REMOTE_USER", "USER")
DEFAULT_MAX_SECONDS = 5.0
"""GitHub Enterprise Server's budget for all pre-receive hooks of a push together."""


@dataclass(frozen=True, slots=True)
class RefUpdate:
    """One line of git's pre-receive input: a ref moving from ``old`` to ``new`` (all zeros: none)."""

    old: str
    new: str
    ref: str

    @property
    def is_deletion(self) -> bool:
        return set(self.new) == {"0"}


@dataclass(frozen=True, slots=True)
class ServerPolicy:
    """What the server decided when it installed the hook."""

    config: Path | None = None
    baseline: Path | None = None
    max_seconds: float = DEFAULT_MAX_SECONDS
    fail_open: bool = False
    allow_bypass: bool = True
    audit_log: Path | None = None


class OutOfTime(BaseException):
    """The scan used up the hook's time budget (a BaseException, so no handler on the way swallows it)."""


def parse_ref_lines(lines: Iterable[str]) -> list[RefUpdate]:
    """git's ``old new ref`` lines; anything else is an error (git never sends it)."""
    updates = []
    for line in lines:
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise SecretguardError(f"unexpected pre-receive input line: {line.strip()[:200]!r}")
        updates.append(RefUpdate(*parts))
    return updates


def push_options(env: Mapping[str, str]) -> dict[str, str]:
    """The ``git push -o KEY=VALUE`` options of this push (``KEY`` alone maps to an empty value)."""
    try:
        count = int(env.get("GIT_PUSH_OPTION_COUNT", "0"))
    except ValueError:
        return {}
    options = {}
    for index in range(count):
        key, _, value = env.get(f"GIT_PUSH_OPTION_{index}", "").partition("=")
        options[key] = value
    return options


def pusher(env: Mapping[str, str]) -> str:
    """Who pushed, as the hosting software (GitLab, Gitea, a web server, a shell account) tells it."""
    return next((env[name] for name in PUSHER_VARIABLES if env.get(name)), "unknown")


def scan_push(git_dir: Path, updates: list[RefUpdate], config: Config, baseline: Baseline | None) -> list[Finding]:
    """The findings in what the push brings: commits reachable from its new tips and from no existing ref.

    Anything in it that could not be read is an error: a push is never let through unseen.
    """
    from secretguard.pipeline import default_jobs, scan
    from secretguard.sources.git import GitSource, open_repository

    tips = [u.new for u in updates if not u.is_deletion]
    if not tips:
        return []
    repo = open_repository(git_dir)
    existing = [name for name in repo.listall_references() if name.startswith("refs/")]
    source = GitSource(str(git_dir), config.max_file_size, refs=tips, exclude=existing)
    result = scan(source, config, default_jobs(), baseline)
    unread = result.summary.unread_error()
    if unread is not None:
        raise SecretguardError(unread)
    return result.findings


def _write_audit(path: Path, updates: list[RefUpdate], findings: list[Finding], reason: str,
                 env: Mapping[str, str], hasher: SecretHasher) -> None:
    """Append one JSON line recording a bypass: who, when, which refs, which findings (fingerprints under
    ``hasher`` only)."""
    record = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "pusher": pusher(env),
        "refs": [{"ref": u.ref, "old": u.old, "new": u.new} for u in updates],
        "fingerprints": sorted(f.fingerprint(hasher) for f in findings),
        "rules": sorted({f.rule for f in findings}),
        "reason": reason,
    }
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    with os.fdopen(fd, "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")
        log.flush()
        os.fsync(log.fileno())


def _advice(policy: ServerPolicy) -> str:
    bypass = (f'  - Must it go through as it is? `git push -o {BYPASS_OPTION}="why"` lets it through, '
              "and records your name, the refs and the reason (never the secret)."
              if policy.allow_bypass else "  - This server does not allow bypassing the check.")
    return (
        "The server refused this push. To proceed, do one of these and push again:\n"
        "  - Take the secret out of the commits that add it (`git commit --amend` for the last commit,\n"
        "    `git rebase -i` for older ones), and rotate it if it is real: it was sent to the server.\n"
        "  - Not a secret? Put `secretguard:allow` on its line in the commit that adds it.\n" + bypass)


def _refuse(findings: list[Finding], policy: ServerPolicy, out: TextIO) -> None:
    from secretguard.hook import report_blocked

    shown = sorted(findings, key=lambda f: (f.rule, f.secret))[:SHOWN_FINDINGS]
    report_blocked(shown, "push", _advice(policy), out, total=len(findings))


def _prepare_rules(config: Config) -> None:
    """Compile the rules (or load them from the cache) before the push's clock starts: with hundreds of
    rules a cold compile can take seconds, once per rule set, and a refused push would never cache it."""
    from secretguard.pipeline import detector_for

    detector_for(config.rules)


def _arm_timer(seconds: float) -> None:
    def expired(_signum: int, _frame: object) -> None:
        import multiprocessing

        for worker in multiprocessing.active_children():  # a large push's scan workers
            worker.kill()
        raise OutOfTime

    signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _disarm_timer() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)


def _on_failure(what: str, policy: ServerPolicy, out: TextIO) -> int:
    if policy.fail_open:
        print(f"secretguard: warning: {what}; the push goes on unscanned (fail-open).", file=out)
        return 0
    print(f"secretguard: error: {what}; the push is refused (fail-closed).", file=out)
    return 2


def pre_receive(policy: ServerPolicy, stdin: TextIO, out: TextIO, env: Mapping[str, str] = os.environ) -> int:
    """Scan what the push brings and decide: 0 let it in, 1 refuse it, 2 the scan failed (fail-closed)."""
    git_dir = Path(env.get("GIT_DIR", "."))
    started = time.monotonic()

    def warn(line: str) -> None:
        print(f"secretguard: warning: {line}", file=out)

    try:
        updates = parse_ref_lines(stdin.read().splitlines())
        config = load_config(policy.config) if policy.config else Config()
        baseline = load_baseline(policy.baseline, warn) if policy.baseline else None
        _prepare_rules(config)
        deadline = time.monotonic() + policy.max_seconds
        _arm_timer(policy.max_seconds)
        try:
            findings = scan_push(git_dir, updates, config, baseline)
        finally:
            _disarm_timer()
        if time.monotonic() > deadline:  # the alarm can land in a finalizer, which swallows what it raises
            raise OutOfTime
    except OutOfTime:
        return _on_failure(f"the scan took longer than its {policy.max_seconds:g} s budget", policy, out)
    except SecretguardError as exc:
        return _on_failure(f"cannot scan the push: {exc}", policy, out)
    if not findings:
        return 0
    reason = push_options(env).get(BYPASS_OPTION)
    if reason is not None:
        if not policy.allow_bypass:
            print("secretguard: this server does not allow bypassing the check.", file=out)
        elif not reason.strip():
            print(f'secretguard: a bypass needs a reason: git push -o {BYPASS_OPTION}="why".', file=out)
        else:
            _write_audit(policy.audit_log or git_dir / AUDIT_LOG_NAME, updates, findings, reason.strip(), env,
                         UserKey(warn))
            print(f"secretguard: {len(findings)} secret(s) let through on {pusher(env)}'s word "
                  f"({reason.strip()}); this bypass is recorded.", file=out)
            return 0
    _refuse(findings, policy, out)
    print(f"(checked in {time.monotonic() - started:.2f} s)", file=out)
    return 1


def parse_arguments(args: list[str]) -> ServerPolicy:
    """The options the installed hook passes (see ``secretguard hook install --pre-receive``)."""
    parser = argparse.ArgumentParser(prog="secretguard.hook pre-receive", exit_on_error=False)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS)
    parser.add_argument("--fail-open", action="store_true")
    parser.add_argument("--no-bypass", action="store_true")
    parser.add_argument("--audit-log", type=Path)
    try:
        parsed = parser.parse_args(args)
    except (argparse.ArgumentError, SystemExit) as exc:
        raise SecretguardError(f"bad pre-receive hook options {' '.join(args)!r}: {exc}") from None
    if parsed.max_seconds <= 0:
        raise SecretguardError("--max-seconds must be positive")
    return ServerPolicy(config=parsed.config, baseline=parsed.baseline, max_seconds=parsed.max_seconds,
                        fail_open=parsed.fail_open, allow_bypass=not parsed.no_bypass, audit_log=parsed.audit_log)


def install_options(policy: ServerPolicy) -> list[str]:
    """The command-line options that make :func:`parse_arguments` give back ``policy`` (paths made absolute)."""
    options: list[str] = []
    for flag, path in (("--config", policy.config), ("--baseline", policy.baseline),
                       ("--audit-log", policy.audit_log)):
        if path is not None:
            options += [flag, str(path.resolve())]
    if policy.max_seconds != DEFAULT_MAX_SECONDS:
        options += ["--max-seconds", f"{policy.max_seconds:g}"]
    if policy.fail_open:
        options.append("--fail-open")
    if not policy.allow_bypass:
        options.append("--no-bypass")
    return options


def enable_push_options(repo: Path) -> None:
    """Have ``repo`` accept ``git push -o`` (receive.advertisePushOptions), so a pusher can ask for a bypass."""
    import subprocess

    done = subprocess.run(["git", "-C", str(repo), "config", "receive.advertisePushOptions", "true"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SecretguardError(f"{repo}: cannot set receive.advertisePushOptions: {done.stderr.strip()}")
