"""A loopback SERPRO Datavalid that speaks the ``pf-facial`` contract (standard library only).

- ``POST /token``: ``grant_type=client_credentials`` with HTTP Basic consumer key and secret →
  ``{"access_token", "token_type": "Bearer", "expires_in"}``; wrong credentials → 401;
- ``POST /datavalid/v4/pf-facial`` with ``Authorization: Bearer <token>`` and
  ``{"cpf", "validacao": {"biometria_face": "<base64>"}}`` → ``{"biometria_face":
  {"disponivel", "probabilidade", "similaridade"}}``, decided per CPF by ``answers``:
  a similarity (float), ``"DV040"`` (no photo for the CPF: HTTP 400 with the error list), or
  ``"hang"`` (never answers, for timeouts). A stale or unknown token → 401.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

KEY, SECRET = "consumer-key-teste", "consumer-secret-teste"


class FakeDatavalid:
    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.requests: list[dict] = []
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def settings(self, **extra: Any) -> dict:
        return {"provider": "datavalid", "datavalid_token_url": self.url + "/token",
                "datavalid_url": self.url + "/datavalid/v4/pf-facial",
                "datavalid_consumer_key": KEY, "datavalid_consumer_secret": SECRET, **extra}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.path == "/token":
                    return self._token(body)
                if self.path == "/datavalid/v4/pf-facial":
                    return self._facial(body)
                return self._send(404, {"message": "not found"})

            def _token(self, body: bytes) -> None:
                fake.token_requests += 1
                auth = self.headers.get("authorization", "")
                basic = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                if auth != f"Basic {basic}" or form.get("grant_type") != "client_credentials":
                    return self._send(401, {"error": "invalid_client"})
                token = secrets.token_hex(16)
                fake.tokens.add(token)
                self._send(200, {"access_token": token, "token_type": "Bearer",
                                 "expires_in": 3600, "scope": "am_application_scope default"})

            def _facial(self, body: bytes) -> None:
                token = self.headers.get("authorization", "").removeprefix("Bearer ")
                if token not in fake.tokens:
                    return self._send(401, {"message": "Invalid Credentials"})
                payload = json.loads(body)
                fake.requests.append(payload)
                image = base64.b64decode(payload["validacao"]["biometria_face"])
                if not image.startswith(b"\xff\xd8"):
                    return self._send(400, [{"code": "DV025", "message": "Imagem inválida"}])
                answer = fake.answers.get(payload["cpf"], 0.1)
                if answer == "hang":
                    fake._release.wait(30)
                    return None
                if answer == "DV040":
                    return self._send(400, [{"code": "DV040",
                                             "message": "Foto não disponível para o CPF."}])
                band = ("Altíssima probabilidade" if answer >= 0.95 else
                        "Alta probabilidade" if answer >= 0.9 else "Baixa probabilidade")
                self._send(200, {"biometria_face": {"disponivel": True, "probabilidade": band,
                                                    "similaridade": answer}})

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def __enter__(self) -> FakeDatavalid:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
