"""Every request body is capped before parsing (SECURITY.md › Data).

The attack: a 200 MiB JSON body to ``POST /api/v1/sessions`` was parsed whole (server memory
245 → 783 MiB). Now a declared length over the limit is refused before a byte is read, and a
streamed body without a length is cut off at the limit: the test counts the chunks the server
pulled from a 200 MiB stream.
"""

from __future__ import annotations

import httpx
import pytest

from guarita.web.body_limit import BodyLimitMiddleware

CHUNK = 16 * 1024
HUGE = 200 * 1024 * 1024


class Stream:
    """A request body produced on demand; counts how much the server asked for."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.pulled = 0

    async def __aiter__(self):  # noqa: ANN204
        while self.pulled < self.total:
            self.pulled += CHUNK
            yield b"a" * CHUNK


def _is_payload_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert error["message"] == "Os dados enviados são grandes demais."


@pytest.mark.parametrize(
    "path,content_type",
    [
        ("/api/v1/sessions", "application/json"),
        ("/entrar", "application/x-www-form-urlencoded"),
        ("/oauth/token", "application/x-www-form-urlencoded"),
    ],
)
async def test_a_streamed_body_is_cut_off_at_the_limit_without_buffering(
    client, runtime, path, content_type
):
    stream = Stream(HUGE)
    response = await client.post(path, content=stream, headers={"content-type": content_type})
    _is_payload_too_large(response)
    limit = runtime.settings.http.max_body_bytes
    # The server stopped asking at the first chunk past the limit: 64 KiB + one chunk,
    # not 200 MiB.
    assert stream.pulled <= limit + CHUNK, stream.pulled


async def test_a_declared_length_over_the_limit_is_refused_before_reading(client):
    stream = Stream(HUGE)
    response = await client.post(
        "/api/v1/sessions", content=stream,
        headers={"content-type": "application/json", "content-length": str(HUGE)},
    )
    _is_payload_too_large(response)
    assert stream.pulled <= CHUNK  # at most what the transport pre-reads; nothing was parsed


async def test_a_body_under_the_limit_is_parsed_as_before(client):
    response = await client.post(
        "/api/v1/sessions", json={"identifier": "x" * 1000, "password": "y" * 1000}
    )
    assert response.status_code != 413
    assert response.json()["error"]["code"] != "payload_too_large"


class TestSetting:
    @pytest.fixture
    def settings_overrides(self) -> dict:
        from guarita.config import HttpSettings

        return {"http": HttpSettings(max_body_bytes=1024)}

    async def test_the_limit_is_a_setting(self, client):
        response = await client.post("/api/v1/sessions", json={"identifier": "x" * 2000})
        _is_payload_too_large(response)


async def test_a_route_can_declare_a_larger_limit():
    """The hook the face captures use (``routes.larger_bodies``): a path template, matched
    whole, so the larger limit does not spread to the routes beside it."""
    seen: dict = {}

    async def app(scope, receive, send):  # noqa: ANN001
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen["bytes"] = len(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    limited = BodyLimitMiddleware(app, default=1024, larger={"/api/v1/recoveries/{recovery_id}/face": 10_000})
    transport = httpx.ASGITransport(app=limited)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        face = "/api/v1/recoveries/abc-123/face"
        assert (await http.post(face, content=b"x" * 8000)).status_code == 200
        assert seen["bytes"] == 8000
        assert (await http.post(face, content=b"x" * 20_000)).status_code == 413
        assert (await http.post(face + "/review", content=b"x" * 8000)).status_code == 413
        assert (await http.post("/api/v1/recoveries//face", content=b"x" * 8000)).status_code == 413
        assert (await http.post("/api/v1/sessions", content=b"x" * 8000)).status_code == 413


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/recoveries/nao-existe/face",
        "/esqueci-minha-senha/rosto",
        "/api/v1/support/people/1/face-reference",
        "/atendimento/pessoas/1/rosto",
    ],
)
async def test_face_captures_have_their_own_limit(client, runtime, path):
    """Camera frames and the desk's reference photo pass the 64 KiB cap (they reach the route,
    which answers for itself), up to ``GUARITA_FACE__MAX_UPLOAD_BYTES``; beyond it, 413 before
    a byte is parsed. The routes beside them keep the general cap."""
    photo = b"\xff" * (256 * 1024)
    files = [("frames", ("f.jpg", photo, "image/jpeg"))]
    passed = await client.post(path, data={"challenge_id": "x"}, files=files)
    assert passed.status_code != 413, passed.text
    assert runtime.settings.face.max_upload_bytes < HUGE
    stream = Stream(HUGE)
    refused = await client.post(path, content=stream, headers={
        "content-type": "multipart/form-data; boundary=x", "content-length": str(HUGE)})
    _is_payload_too_large(refused)
    assert stream.pulled <= CHUNK
    beside = await client.post(path + ("/revisao" if "rosto" in path else "/review"),
                               data={"challenge_id": "x"}, files=files)
    assert beside.status_code == 413
