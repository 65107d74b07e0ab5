"""A loopback stand-in for AWS JSON-protocol calls the local AWS API (moto) lacks: it answers the operations it
is given itself (by ``X-Amz-Target``) and forwards every other request to the local AWS API unchanged."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Answer = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]
"""Given the request's JSON body, the status and JSON body to answer with."""
Reply = tuple[int, dict[str, str], dict[str, Any]]
"""Status, extra headers and JSON body."""


def refused(operation: str) -> Answer:
    """An answer that refuses ``operation`` as AWS does when the caller may not make it."""
    return lambda _: (400, {"__type": "AccessDeniedException",
                            "message": f"User is not authorized to perform: {operation}"})


class JsonStandIn:
    """An endpoint on 127.0.0.1: ``answers`` by operation name; everything else goes to ``upstream``."""

    def __init__(self, upstream: str, answers: dict[str, Answer] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                operation = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
                stand_in.calls.append(operation)
                reply = stand_in.answer(operation, self.headers, body)
                if reply is not None:
                    status, headers, answer = reply
                    self._reply(status, {**headers, "Content-Type": "application/x-amz-json-1.1"},
                                json.dumps(answer).encode())
                    return
                request = urllib.request.Request(upstream + self.path, data=body or None, method=self.command,
                                                 headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        status, headers, data = response.status, response.headers, response.read()
                except urllib.error.HTTPError as exc:
                    status, headers, data = exc.code, exc.headers, exc.read()
                self._reply(status, {k: v for k, v in headers.items() if k.lower() not in
                                     ("content-length", "connection", "transfer-encoding", "server", "date")}, data)

            def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, operation: str, headers: Message, body: bytes) -> Reply | None:
        """The reply to give instead of forwarding, if any: here, from ``answers`` by operation name."""
        if operation not in self.answers:
            return None
        status, answer = self.answers[operation](json.loads(body or b"{}"))
        return status, {}, answer

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[JsonStandIn]:
    """A stand-in in front of the local AWS API, with boto3 (the test's and the scan's) pointed at it."""
    server = JsonStandIn(aws.url, {})
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    yield server
    server.close()
