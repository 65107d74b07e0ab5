"""The git hooks: ``python -m secretguard.hook pre-commit [FILE...]``, ``… pre-push REMOTE URL`` and, on a server,
``… pre-receive [OPTIONS]`` (see :mod:`secretguard.prereceive`).

``pre-commit`` scans the staged change (the lines the commit adds); given file names, as the pre-commit framework
passes them, it scans those files whole instead, so ``pre-commit run --all-files`` checks every tracked file.

This is the path every commit pays for, so it imports only what the scan needs: no command line
(typer), no pygit2 (the staged change comes from git itself), and no rich unless there are findings to
print. It reads ``.secretguard.yaml`` and
``.secretguard-baseline.json`` from the top of the work tree, prints each secret (redacted) with where
it is and how to proceed, and exits 1 to block; 0 lets git go on; 2 is an error (which blocks too).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO

from secretguard.baseline import DEFAULT_BASELINE, Baseline, load_baseline
from secretguard.config import find_config
from secretguard.errors import SecretguardError
from secretguard.findings import Finding, Origin, redact
from secretguard.pipeline import ScanResult, default_jobs, scan
from secretguard.sources.staged import StagedSource, default_baseline

COMMIT_ADVICE = f"""\
To proceed, do one of these and commit again:
  - Remove the secret from the file and `git add` it (and revoke the secret if it is real).
  - Not a secret (a test value, an example)? Put `secretguard:allow` in a comment on its line.
  - Known and accepted? Record it in the baseline: `secretguard baseline update --staged`,
    then `git add {DEFAULT_BASELINE}`.
  (`--no-verify` skips this check, and every other hook.)"""

PUSH_ADVICE = f"""\
These commits are only local so far. To proceed, do one of these and push again:
  - Take the secret out of the commits that add it (`git commit --amend`, `git rebase -i`),
    and revoke it if it is real.
  - Not a secret? Put `secretguard:allow` on its line in the commit that adds it.
  - Known and accepted? Record it in the baseline: `secretguard baseline update --git`,
    then commit `{DEFAULT_BASELINE}`.
  (`--no-verify` skips this check, and every other hook.)"""


def report_blocked(findings: list[Finding], what: str, advice: str, out: TextIO, total: int | None = None) -> None:
    """Tell the user which secrets stopped ``what``, where they are, and how to proceed (secrets redacted);
    ``total``, when more were found than ``findings`` lists, says how many."""
    found = len(findings) if total is None else total
    count = f"{found} secret{'s' if found != 1 else ''}"
    shown = f" (the first {len(findings)} below)" if found > len(findings) else ""
    print(f"secretguard: {what} blocked: {count} found{shown}.\n", file=out)
    for finding in findings:
        pair = f" + {redact(finding.pair.secret)}" if finding.pair else ""
        print(f"  {finding.name} [{finding.rule}, {finding.severity}]: {redact(finding.secret)}{pair}", file=out)
        for origin in sorted(finding.locations, key=Origin.sort_key):
            print(f"      {origin.describe()}", file=out)
    print(f"\n{advice}", file=out)


def _baseline(top: Path) -> Baseline:
    path = default_baseline(top)
    if path is None:
        return Baseline()
    return load_baseline(path, lambda line: print(f"warning: {line}", file=sys.stderr))


def _verdict(result: ScanResult, what: str, advice: str, out: TextIO) -> int:
    """1 (block) with the secrets named when there are findings; 2 (block) when an input could not be scanned."""
    code = 0
    if result.findings:
        report_blocked(result.findings, what, advice, out)
        code = 1
    unread = result.summary.unread_error()
    if unread is not None:
        print(f"secretguard: error: {unread}", file=out)
        code = 2
    return code


def pre_commit(out: TextIO, paths: list[str] | None = None) -> int:
    """Scan the staged change, or with ``paths`` (from the pre-commit framework) those files whole; 1 (block)
    when a secret is found."""
    top = Path.cwd()  # git and the framework run a hook at the top of the work tree
    config = find_config(None, top)
    result = scan(StagedSource(top, config.max_file_size, paths or None), config, 1, _baseline(top),
                  quick_start=True)
    return _verdict(result, "commit", COMMIT_ADVICE, out)


def _is_zero(sha: str) -> bool:
    return set(sha) == {"0"}


def pushed_revisions(lines: Iterable[str], remote: str | None, env: Mapping[str, str],
                     remote_refs: Iterable[str]) -> tuple[list[str], list[str]]:
    """The commits a push sends, as (tips, exclude): from git's ``<local ref> <sha> <remote ref> <sha>``
    lines, or from the pre-commit framework's ``PRE_COMMIT_FROM_REF``/``PRE_COMMIT_TO_REF``.

    Whatever the remote already has (its old tip, its remote-tracking branches) is excluded.
    """
    tips: list[str] = []
    exclude: list[str] = []
    for line in lines:
        parts = line.split()
        if len(parts) != 4 or _is_zero(parts[1]):  # a deleted ref sends nothing
            continue
        tips.append(parts[1])
        if not _is_zero(parts[3]):
            exclude.append(parts[3])
    if not tips and env.get("PRE_COMMIT_TO_REF"):
        tips.append(env["PRE_COMMIT_TO_REF"])
        exclude.extend(ref for ref in [env.get("PRE_COMMIT_FROM_REF", "")] if ref)
    elif not tips and env.get("PRE_COMMIT_LOCAL_BRANCH"):
        tips.append(env["PRE_COMMIT_LOCAL_BRANCH"])
    if tips and remote:
        exclude.extend(ref for ref in remote_refs if ref.startswith(f"refs/remotes/{remote}/"))
    return tips, exclude


def pre_push(args: list[str], stdin: TextIO, out: TextIO) -> int:
    """Scan the commits being pushed; 1 (block) when they add a secret."""
    from pygit2.enums import RepositoryOpenFlag  # pygit2 is for history only: the commit hook does without

    from secretguard.sources.git import GitSource, open_repository

    repo = open_repository(Path.cwd(), RepositoryOpenFlag.FROM_ENV)
    top = Path(repo.workdir or repo.path)
    remote = args[0] if args else os.environ.get("PRE_COMMIT_REMOTE_NAME")
    # Under the pre-commit framework, git's ref lines were read by the framework, which sets PRE_COMMIT_*.
    lines = [] if os.environ.get("PRE_COMMIT") == "1" or stdin.isatty() else stdin.read().splitlines()
    tips, exclude = pushed_revisions(lines, remote, os.environ, repo.listall_references())
    if not tips:
        return 0
    # The remote's old tip may be a commit this clone never fetched: nothing to exclude then.
    exclude = [rev for rev in exclude if rev.startswith("refs/") or repo.get(rev) is not None]
    config = find_config(None, top)
    source = GitSource(str(top), config.max_file_size, refs=tips, exclude=exclude)
    return _verdict(scan(source, config, default_jobs(), _baseline(top)), "push", PUSH_ADVICE, out)


MARKER = "# secretguard-hook"
SHIM = """\
#!/bin/sh
{marker} {kind}: installed by `secretguard hook install`; run that again to update it.
# A hook that was here before is kept as {kind}.local and runs first.
py={python}
scan() {{
    if [ -x "$py" ]; then "$py" -m secretguard.hook {kind}{options} "$@"; else secretguard hook run {kind}{options} "$@"; fi
}}
previous="${{0%/*}}/{kind}.local"
{body}"""  # noqa: E501
REF_LINES_BODY = """\
refs=$(cat)  # git's ref lines, for both hooks
if [ -x "$previous" ]; then printf '%s\\n' "$refs" | "$previous" "$@" || exit $?; fi
printf '%s\\n' "$refs" | scan "$@"
"""
SHIM_BODY = {
    "pre-commit": """\
if [ -x "$previous" ]; then "$previous" "$@" || exit $?; fi
scan "$@"
""",
    "pre-push": REF_LINES_BODY,
    "pre-receive": REF_LINES_BODY,
}


def hooks_dir(repo: Path) -> Path:
    """Where git looks for this repository's hooks (``core.hooksPath`` and linked work trees included)."""
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "--git-path", "hooks"],
                             capture_output=True, text=True, check=False)
    except OSError as exc:
        raise SecretguardError(f"cannot run git: {exc.strerror or exc}") from None
    if out.returncode != 0:
        raise SecretguardError(f"{repo}: not a git repository")
    return repo / out.stdout.strip()


def hook_script(kind: str, options: Iterable[str] = ()) -> str:
    """The ``kind`` hook script: it runs this Python (``sys.executable``), else ``secretguard`` from PATH,
    with ``options`` after the hook's name."""
    quoted = "".join(f" {shlex.quote(option)}" for option in options)
    return SHIM.format(marker=MARKER, kind=kind, python=shlex.quote(sys.executable), options=quoted,
                       body=SHIM_BODY[kind])


def install_hook(repo: Path, kind: str, chain: bool = False, options: Iterable[str] = ()) -> str:
    """Install the ``kind`` hook into ``repo``; an existing foreign hook is kept and run first only with ``chain``.

    Returns a line saying what was done.
    """
    directory = hooks_dir(repo)
    path = directory / kind
    previous = directory / f"{kind}.local"
    note = ""
    if path.exists() and MARKER not in path.read_text(encoding="utf-8", errors="replace"):
        if not chain:
            raise SecretguardError(
                f"{path}: a {kind} hook is already installed; rerun with --chain to keep it (it runs first, "
                f"as {previous.name}), or call `python -m secretguard.hook {kind}` from it yourself")
        if previous.exists():
            raise SecretguardError(f"{previous}: already exists, so the current {kind} hook cannot be kept there")
        path.rename(previous)
        note = f" (the previous hook runs first, from {previous.name})"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(hook_script(kind, options), encoding="utf-8")
    path.chmod(0o755)
    return f"installed {path}{note}"


def main(argv: list[str] | None = None) -> int:
    """Run the hook named by the first argument; the rest are git's hook arguments."""
    args = sys.argv[1:] if argv is None else argv
    try:
        if args[:1] == ["pre-commit"]:
            return pre_commit(sys.stderr, args[1:])
        if args[:1] == ["pre-push"]:
            return pre_push(args[1:], sys.stdin, sys.stderr)
        if args[:1] == ["pre-receive"]:
            from secretguard.prereceive import parse_arguments, pre_receive

            return pre_receive(parse_arguments(args[1:]), sys.stdin, sys.stderr)
    except SecretguardError as exc:
        print(f"secretguard: error: {exc}", file=sys.stderr)
        return 2
    print("usage: python -m secretguard.hook pre-commit [FILE...] | pre-push REMOTE URL | pre-receive [OPTIONS]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
