"""A tiny real HTTP server on loopback that records requests (standard library only).

Stands in for an SMS provider, a webhook receiver, a captcha verifier or a bank: the code under
test makes real HTTP requests to it, and the test checks what arrived.

    with RecordingHttpServer() as server:           # http://127.0.0.1:<free port>
        server.respond(500, 200)                     # next answers; then the default (200)
        ... POST to server.url + "/path" ...
        request = server.requests[0]
        assert request.path == "/path" and request.json() == {...}

``server.hang = True`` makes it accept requests and never answer (until it stops), for timeout
tests. Answers default to ``200`` with ``{}``; ``respond(status, body=...)`` queues others.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body, one value per field."""
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def basic_auth(self) -> tuple[str, str] | None:
        value = self.headers.get("authorization", "")
        if not value.lower().startswith("basic "):
            return None
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
        return user, password


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str


class RecordingHttpServer:
    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.hang = False
        self.default = _Answer(200, b"{}", "application/json")
        self._answers: deque[_Answer] = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # A short poll interval: shutdown() waits for it, and tests stop servers often.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def respond(
        self, *statuses: int, body: bytes | str = b"{}", content_type: str = "application/json"
    ) -> None:
        """Queues the next answers, in order; once used up, the default answer returns."""
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._answers.extend(_Answer(status, data, content_type) for status in statuses)

    def _next_answer(self) -> _Answer:
        with self._lock:
            return self._answers.popleft() if self._answers else self.default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = RecordedRequest(
                    method=self.command, path=parts.path, query=parts.query,
                    headers={k.lower(): v for k, v in self.headers.items()}, body=body,
                )
                with server._lock:
                    server.requests.append(recorded)
                if server.hang:
                    server._released.wait()
                    return
                answer = server._next_answer()
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # quiet test output

        return Handler

    def start(self) -> RecordingHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    def __enter__(self) -> RecordingHttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
