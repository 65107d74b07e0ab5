"""Shared fixtures: an isolated home, a fixed git identity, no real AWS, and a local AWS API (moto)."""

from __future__ import annotations

import ipaddress
import socket
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

AWS_ENV_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN",
                "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")


def _isolate(mp: pytest.MonkeyPatch, home: Path, cache: Path) -> None:
    """Point home, caches, git and AWS configuration at ``home``; no real credentials, no real AWS endpoint."""
    mp.setenv("HOME", str(home))
    mp.setenv("XDG_CACHE_HOME", str(cache))
    mp.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for var, value in {
        "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.test",
        "GIT_COMMITTER_NAME": "Test Committer", "GIT_COMMITTER_EMAIL": "committer@example.test",
    }.items():
        mp.setenv(var, value)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n")
    for var in AWS_ENV_VARS:
        mp.delenv(var, raising=False)
    empty = home / ".aws-empty"
    empty.write_text("")
    mp.setenv("AWS_CONFIG_FILE", str(empty))
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # Anything that forgets to point at the local server fails instead of reaching AWS.
    mp.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    mp.setenv("AWS_ACCESS_KEY_ID", "testing")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    mp.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="session", autouse=True)
def isolated_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Isolation before any module- or session-scoped fixture runs, so none of them touches the real home."""
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, tmp_path_factory.mktemp("session-home"), tmp_path_factory.getbasetemp() / "cache")
        yield


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets a fresh home of its own (the rule cache is shared by the session)."""
    _isolate(monkeypatch, tmp_path_factory.mktemp("home"), tmp_path_factory.getbasetemp() / "cache")


# --- the network fence inside the process: tests reach loopback only ------------------------------------------
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", ""})
_escapes: list[str] = []


def _is_loopback(host: object) -> bool:
    if host is None or not isinstance(host, (str, bytes)):
        return host is None
    name = host.decode() if isinstance(host, bytes) else host
    if name in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


def _network_audit(event: str, args: tuple[object, ...]) -> None:
    """Refuse, and remember, any connection or name lookup beyond loopback made by this process."""
    if event in ("socket.connect", "socket.sendto"):
        address = args[1]
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            _escapes.append(f"{event} {address[0]}:{address[1]}")
            raise ConnectionRefusedError(f"tests stay on loopback: refused {event} to {address[0]}")
    elif event == "socket.getaddrinfo" and not _is_loopback(args[0]):
        _escapes.append(f"{event} {args[0]!r}")
        raise OSError(f"tests stay on loopback: refused a lookup of {args[0]!r}")


sys.addaudithook(_network_audit)


@pytest.fixture(autouse=True)
def stays_on_loopback() -> Iterator[None]:
    """Fail the test whose process tried to leave the machine, even when the code under test hid the error;
    an attempt made while a module or session fixture was set up fails the first test that uses it."""
    _check_escapes("a fixture")
    yield
    _check_escapes("the test")


def _check_escapes(who: str) -> None:
    escapes = list(_escapes)
    _escapes.clear()
    assert not escapes, f"{who} tried to reach beyond loopback: {escapes}"


class MotoServer:
    """A real HTTP AWS API on 127.0.0.1, shared by the session and reset between tests."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"

    def _post(self, path: str, body: bytes = b"") -> None:
        request = urllib.request.Request(self.url + path, data=body, method="POST",
                                         headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def reset(self) -> None:
        self._post("/moto-api/reset")

    def enable_auth(self) -> None:
        """Make the server check signatures and credentials, as AWS does."""
        self._post("/moto-api/reset-auth", b"0")

    def disable_auth(self) -> None:
        self._post("/moto-api/reset-auth", b"inf")

    def stop(self) -> None:
        self._server.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that reaches the local AWS API ``aws``, however it gets there (``-m "not aws"`` skips moto)."""
    for item in items:
        if "moto_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.aws)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """The local AWS API, empty, with boto3 pointed at it through ``AWS_ENDPOINT_URL``."""
    moto_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    yield moto_server
    moto_server.disable_auth()
    moto_server.reset()


@pytest.fixture
def tree(tmp_path: Path):
    """Write a dict of relative path -> text (or bytes) under a fresh directory; returns the directory."""

    def make(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / "tree"
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        root.mkdir(exist_ok=True)
        return root

    return make


@pytest.fixture(scope="module")
def ray_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One local Ray runtime (two CPUs) for the module: no usage report, no dashboard, on 127.0.0.1; its workers
    get an isolated home, like every test."""
    ray = pytest.importorskip("ray")
    home = tmp_path_factory.mktemp("ray-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
        mp.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        mp.setenv("RAY_AUTH_MODE", "disabled")
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")  # no usage report, no cloud-metadata probe
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    yield
    ray.shutdown()
