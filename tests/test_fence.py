"""The suite's own guards: no test leaves loopback, and none writes to the real home directory."""

from __future__ import annotations

import os
import socket

import pytest

from tests import conftest


@pytest.mark.parametrize("address", [("192.0.2.1", 443), ("8.8.8.8", 53)])
def test_a_connection_beyond_loopback_is_refused_and_remembered(address):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(address)
    assert conftest._escapes == [f"socket.connect {address[0]}:{address[1]}"]
    conftest._escapes.clear()  # this test meant it; any other test that does so fails


def test_a_name_lookup_beyond_loopback_is_refused():
    with pytest.raises(OSError, match="stay on loopback"):
        socket.getaddrinfo("sts.amazonaws.com", 443)
    conftest._escapes.clear()


def test_loopback_stays_reachable():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
    assert socket.getaddrinfo("localhost", 80)
    assert conftest._escapes == []


def test_home_and_caches_are_the_tests_own(tmp_path_factory):
    base = str(tmp_path_factory.getbasetemp())
    for var in ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        assert os.environ[var].startswith(base), var
