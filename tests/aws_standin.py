"""Loopback stand-ins for AWS calls the local AWS API (moto) lacks: an HTTP server on 127.0.0.1, and on it a JSON
stand-in that answers the operations it is given itself (by ``X-Amz-Target``) and forwards every other request to
the local AWS API unchanged. ``tests/aws_services.py`` serves whole services on it."""

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
Response = tuple[int, dict[str, str], bytes]
"""Status, headers and body as sent."""


def refused(operation: str) -> Answer:
    """An answer that refuses ``operation`` as AWS does when the caller may not make it."""
    return lambda _: (400, {"__type": "AccessDeniedException",
                            "message": f"User is not authorized to perform: {operation}"})


class LoopbackServer:
    """An HTTP server on 127.0.0.1, in a thread of its own: :meth:`respond` turns each request into a response."""

    def __init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers, data = server.respond(self.command, self.path, self.headers, body)
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

    def respond(self, method: str, path: str, headers: Message, body: bytes) -> Response:
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class JsonStandIn(LoopbackServer):
    """An endpoint on 127.0.0.1: ``answers`` by operation name; everything else goes to ``upstream``."""

    def __init__(self, upstream: str, answers: dict[str, Answer] | None = None) -> None:
        self.upstream = upstream
        self.answers = answers or {}
        self.calls: list[str] = []
        super().__init__()

    def respond(self, method: str, path: str, headers: Message, body: bytes) -> Response:
        operation = headers.get("X-Amz-Target", "").rpartition(".")[2]
        self.calls.append(operation)
        reply = self.answer(operation, headers, body)
        if reply is not None:
            status, extra, answer = reply
            return status, {**extra, "Content-Type": "application/x-amz-json-1.1"}, json.dumps(answer).encode()
        request = urllib.request.Request(self.upstream + path, data=body or None, method=method,
                                         headers={k: v for k, v in headers.items() if k.lower() != "host"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, forwarded, data = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, forwarded, data = exc.code, exc.headers, exc.read()
        return status, {k: v for k, v in forwarded.items() if k.lower() not in
                        ("content-length", "connection", "transfer-encoding", "server", "date")}, data

    def answer(self, operation: str, headers: Message, body: bytes) -> Reply | None:
        """The reply to give instead of forwarding, if any: here, from ``answers`` by operation name."""
        if operation not in self.answers:
            return None
        status, answer = self.answers[operation](json.loads(body or b"{}"))
        return status, {}, answer


@pytest.fixture
def stand_in(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[JsonStandIn]:
    """A stand-in in front of the local AWS API, with boto3 (the test's and the scan's) pointed at it."""
    server = JsonStandIn(aws.url, {})
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    yield server
    server.close()
