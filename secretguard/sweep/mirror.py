"""Repositories named by URL are kept as bare mirror clones in a cache directory: cloned once, fetched after.

The git command does the network part, so SSH agents, credential helpers and ``insteadOf`` rules work as they
do for the user. Nothing ever prompts: a repository that needs credentials it cannot get fails with one line.
A first clone goes to a temporary directory renamed into place when complete, so a killed sweep never leaves
a half-cloned mirror behind; a fetch that is cut short leaves the previous mirror intact, as git guarantees.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from secretguard.errors import SourceError

URL_SCHEMES = ("file", "ssh", "git", "http", "https", "git+ssh", "ssh+git")
SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:(?!//)")
"""``git@host:org/repo.git``: the short SSH form, which has no scheme."""
MIRROR_TIMEOUT_SECONDS = 3 * 3600
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0"}


def is_url(spec: str) -> bool:
    """Whether ``spec`` names a repository to clone rather than a local path."""
    scheme = spec.split("://", 1)[0].lower() if "://" in spec else ""
    return scheme in URL_SCHEMES or bool(SCP_LIKE.match(spec))


def repository_key(spec: str) -> str:
    """How the store names a repository: a URL without its credentials, or an absolute local path."""
    if not is_url(spec):
        return str(Path(spec).expanduser().resolve())
    if "://" not in spec:
        return spec
    parts = urlsplit(spec)
    if parts.scheme.lower() in ("http", "https") and "@" in parts.netloc:
        parts = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])
    return urlunsplit(parts)


def mirror_path(cache_dir: Path, key: str) -> Path:
    """Where the mirror of the repository named ``key`` lives: readable, and unique per key."""
    tail = re.sub(r"[^A-Za-z0-9._-]+", "-", key.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git"))[-60:]
    return cache_dir / f"{tail or 'repo'}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.git"


def _git(args: list[str], url: str, what: str) -> None:
    """Run git; a failure is one line naming the repository by its key, never with the URL's credentials."""
    key = repository_key(url)
    env = {**os.environ, **GIT_ENV}
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    try:
        done = subprocess.run(["git", *args], env=env, capture_output=True, text=True, errors="replace",
                              timeout=MIRROR_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SourceError(f"{key}: {what} took longer than {MIRROR_TIMEOUT_SECONDS} s") from None
    except OSError as exc:
        raise SourceError(f"{key}: cannot run git: {exc.strerror or exc}") from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        reason = next((line for line in reversed(lines) if line.startswith(("fatal:", "error:"))),
                      lines[-1] if lines else f"git exited with {done.returncode}")
        raise SourceError(f"{key}: {what} failed: {reason.replace(url, key)}")


def _origin_url(git_dir: Path) -> str | None:
    import pygit2

    try:
        return pygit2.Repository(str(git_dir)).remotes["origin"].url
    except (KeyError, pygit2.GitError):
        return None


def _is_mirror(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "config").is_file()


def ensure_mirror(url: str, cache_dir: Path) -> Path:
    """An up-to-date bare mirror of ``url`` in ``cache_dir``: fetched when it exists, else cloned."""
    key = repository_key(url)
    dest = mirror_path(cache_dir, key)
    if _is_mirror(dest):
        if _origin_url(dest) != url:  # new credentials in the URL, say
            _git(["--git-dir", str(dest), "remote", "set-url", "origin", url], url, "updating the mirror's URL")
        _git(["--git-dir", str(dest), "fetch", "--prune", "--quiet", "origin"], url, "fetch")
        return dest
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SourceError(f"{cache_dir}: cannot create the mirror cache: {exc.strerror or exc}") from None
    for stale in [dest, *cache_dir.glob(dest.name + ".tmp-*")]:
        shutil.rmtree(stale, ignore_errors=True)
    tmp = dest.with_name(f"{dest.name}.tmp-{os.getpid()}")
    _git(["clone", "--mirror", "--quiet", url, str(tmp)], url, "clone")
    os.replace(tmp, dest)
    return dest


def object_bytes(git_dir: Path) -> int:
    """On-disk size of a repository's object database (packs and loose objects)."""
    objects = git_dir / "objects" if (git_dir / "objects").is_dir() else git_dir / ".git" / "objects"
    total = 0
    for root, _dirs, files in os.walk(objects):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total
