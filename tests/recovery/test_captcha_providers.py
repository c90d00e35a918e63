"""hCaptcha, reCAPTCHA and Turnstile verified server-side through their siteverify APIs,
against a real HTTP server on loopback standing in for the provider (SECURITY.md › Recovery)."""

from __future__ import annotations

import json
import time

import pytest
from pydantic import SecretStr

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.methods import captcha
from tests.support.http_server import RecordingHttpServer


@pytest.fixture
def provider():
    with RecordingHttpServer() as server:
        yield server


@pytest.mark.parametrize("kind", ["hcaptcha", "recaptcha", "turnstile"])
async def test_siteverify_success_sends_secret_response_and_ip(runtime, provider, kind):
    settings = runtime.settings
    settings.captcha = kind
    settings.captcha_site_key = "site-key"
    settings.captcha_secret = SecretStr("segredo-do-provedor")
    settings.captcha_verify_url = f"{provider.url}/siteverify"
    provider.respond(200, body=json.dumps({"success": True}))
    await captcha.verify(runtime, "token-do-widget", ip="198.51.100.1")
    request = provider.requests[0]
    assert request.method == "POST" and request.path == "/siteverify"
    assert request.form() == {"secret": "segredo-do-provedor", "response": "token-do-widget",
                              "remoteip": "198.51.100.1"}


@pytest.mark.parametrize(("status", "body"), [
    (200, {"success": False, "error-codes": ["invalid-input-response"]}),
    (500, {"success": True}),  # a broken provider never counts as a pass
    (200, "isto não é JSON"),
])
async def test_siteverify_failures_fail_closed(runtime, provider, status, body):
    settings = runtime.settings
    settings.captcha = "hcaptcha"
    settings.captcha_verify_url = f"{provider.url}/siteverify"
    provider.respond(status, body=body if isinstance(body, str) else json.dumps(body))
    with pytest.raises(GuaritaError) as exc:
        await captcha.verify(runtime, "token")
    assert exc.value.code is ErrorCode.CAPTCHA_INVALID


async def test_provider_down_or_hanging_fails_closed_in_bounded_time(runtime, provider):
    settings = runtime.settings
    settings.captcha = "turnstile"
    settings.captcha_verify_url = "http://127.0.0.1:9/siteverify"  # discard port: refused
    with pytest.raises(GuaritaError) as exc:
        await captcha.verify(runtime, "token")
    assert exc.value.code is ErrorCode.CAPTCHA_INVALID
    provider.hang = True
    settings.captcha_verify_url = f"{provider.url}/siteverify"
    started = time.monotonic()
    with pytest.raises(GuaritaError):
        await captcha.verify(runtime, "token")
    assert time.monotonic() - started < 30  # bounded by the client timeout, not forever


async def test_pages_show_the_chosen_provider_and_forward_its_answer(runtime, provider):
    import httpx

    from guarita.app import create_app
    from tests.support.html import submit

    settings = runtime.settings
    settings.captcha = "hcaptcha"
    settings.captcha_site_key = "chave-do-site"
    settings.captcha_secret = SecretStr("segredo")
    settings.captcha_verify_url = f"{provider.url}/siteverify"
    provider.respond(200, body=json.dumps({"success": True}))
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await client.get("/esqueci-minha-senha")
        assert 'class="h-captcha"' in page.text and 'data-sitekey="chave-do-site"' in page.text
        assert "altcha-widget" not in page.text
        assert "https://js.hcaptcha.com/1/api.js" in page.text
        assert "https://*.hcaptcha.com" in page.headers["content-security-policy"]
        answer = await submit(client, "/esqueci-minha-senha",
                              {"identifier": "52998224725", "h-captcha-response": "resposta-do-widget"})
        assert answer.status_code == 303
    assert provider.requests[0].form()["response"] == "resposta-do-widget"
