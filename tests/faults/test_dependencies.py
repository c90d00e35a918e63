"""Dependencies down or hanging, through a real server (SECURITY.md › Reliability): requests
answer within a bounded time, nothing fails open, and the outbox delivers once the dependency
is back.

The worker-level behaviour (one bounded attempt against a hanging SMTP server or SMS provider,
retries with backoff, a 500 retried) is tested in tests/messaging; here the whole server runs
with its worker inside (``GUARITA_RUN_WORKER_IN_SERVER=true``), so what is proven is what a
person sees: the page or the API answers at once because messages are queued, never sent
inline, and what was queued while the provider was away arrives when it returns.

The bound on answers is generous on purpose (a loaded 2-core machine): it tells "answered"
from "waited for the dependency", it is not a performance figure.
"""

from __future__ import annotations

import socket
import time
from contextlib import ExitStack

import httpx
import pytest

from tests.e2e.stack import OURS, prepare, stack_env
from tests.support.captcha import solve_remote
from tests.support.factories import STRONG
from tests.support.html import csrf_of
from tests.support.http_server import RecordingHttpServer
from tests.support.server import free_port, running_server
from tests.support.smtp import SilentTcpServer, SmtpTestServer


class ReusableSilentServer(SilentTcpServer):
    """A hung SMTP server whose port a real one can take over afterwards: with SO_REUSEADDR on
    the listening socket (inherited by the accepted ones), the closed connections' TIME_WAIT
    does not keep the port from the aiosmtpd server that replaces it."""

    def __init__(self) -> None:
        super().__init__()
        port = self.port
        self._sock.close()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self._sock.listen(16)

pytestmark = [pytest.mark.fault]

ANSWERS_WITHIN = 10.0  # seconds; the dependencies below are down for far longer than this


def _retry_fast(**extra: str) -> dict[str, str]:
    return {"GUARITA_OUTBOX__FIRST_RETRY_SECONDS": "0.5", "GUARITA_OUTBOX__MAX_RETRY_SECONDS": "1",
            "GUARITA_OUTBOX__MAX_ATTEMPTS": "100", "GUARITA_OUTBOX__POLL_SECONDS": "0.2",
            "GUARITA_SMTP__TIMEOUT_SECONDS": "1", "GUARITA_SMS__TIMEOUT_SECONDS": "1", **extra}


def _timed(call):  # noqa: ANN001, ANN202
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def _register(base: str, person) -> httpx.Response:  # noqa: ANN001
    return httpx.post(base + "/api/v1/registrations", timeout=60, json={
        "card_number": person.card, "cpf": person.cpf, "birth_date": person.birth.isoformat(),
        "password": STRONG, "password_confirmation": STRONG, "captcha": solve_remote(base)})


def _recovery_code(base: str, identifier: str, method: str) -> list[httpx.Response]:
    started = httpx.post(base + "/api/v1/recoveries", json={"identifier": identifier}, timeout=60)
    rid = started.json()["recovery_id"]
    asked = httpx.post(f"{base}/api/v1/recoveries/{rid}/code-requests", json={"method": method},
                       timeout=60)
    return [started, asked]


def _outbox(base: str, to: str) -> list[dict]:
    return httpx.get(base + "/dev/outbox.json", params={"to": to}, timeout=10).json()


def _wait(condition, timeout: float = 30.0, what: str = "") -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"não aconteceu em {timeout} s: {what}")


@pytest.mark.parametrize("failure", ["down", "hanging"])
def test_smtp_and_sms_away_then_back(failure, tmp_path):
    """E-mail to an SMTP port that refuses (down) or never answers (hanging); SMS to a webhook
    that answers 500 (down) or never answers (hanging). Registration and the recovery code
    request answer at once; the messages wait with the reason in the outbox; once the servers
    are back every message is delivered exactly once."""
    mailer, texter = OURS["kba"], OURS["sms"]
    smtp_port = free_port()
    with ExitStack() as stack:
        webhook = stack.enter_context(RecordingHttpServer())
        if failure == "down":
            webhook.respond(*[500] * 1000, body="gateway fora do ar")
        else:
            silent = stack.enter_context(ReusableSilentServer())
            smtp_port = silent.port
            webhook.hang = True
        url = f"sqlite+aiosqlite:///{tmp_path / 'guarita.db'}"
        env = stack_env(url, smtp_port, GUARITA_CAPTCHA="off", **_retry_fast(
            GUARITA_SMS__ADAPTER="webhook", GUARITA_SMS__WEBHOOK_URL=webhook.url + "/sms"))
        prepare(tmp_path, url, env, via_cli=False, demo=False)
        base, _process = stack.enter_context(running_server(env))

        for person in (mailer, texter):
            answer, took = _timed(lambda p=person: _register(base, p))
            assert answer.status_code == 201 and took < ANSWERS_WITHIN, (answer.text, took)
        for identifier, method in ((mailer.card, "email"), (texter.card, "sms")):
            answers, took = _timed(lambda i=identifier, m=method: _recovery_code(base, i, m))
            assert [a.status_code for a in answers] == [201, 202] and took < ANSWERS_WITHIN, took

        # Waiting, with the reason, and retried: nothing lost, nothing sent.
        _wait(lambda: all(m["attempts"] >= 2 and m["last_error"] for m in
                          _outbox(base, mailer.email) + _outbox(base, texter.phone_e164)),
              what="as mensagens não foram tentadas de novo")
        assert all(m["status"] != "sent" for m in _outbox(base, mailer.email))
        assert all(m["status"] != "sent" for m in _outbox(base, texter.phone_e164))
        # The pages still answer while the dependencies are away.
        page, took = _timed(lambda: httpx.get(base + "/esqueci-minha-senha", timeout=60))
        assert page.status_code == 200 and took < ANSWERS_WITHIN

        # Back.
        if failure == "hanging":
            silent.__exit__(None, None, None)
            webhook.hang = False
        with webhook._lock:  # the gateway answers 200 again
            webhook._answers.clear()
        back_at = len(webhook.requests)
        smtp = stack.enter_context(SmtpTestServer(port=smtp_port))
        queued_mail = len(_outbox(base, mailer.email))
        queued_sms = [m["id"] for m in _outbox(base, texter.phone_e164)]
        _wait(lambda: all(m["status"] == "sent" for m in
                          _outbox(base, mailer.email) + _outbox(base, texter.phone_e164)),
              timeout=60, what="as mensagens não foram entregues depois da volta")
        time.sleep(1.0)  # anything sent twice would arrive by now
        delivered = smtp.wait_for(queued_mail, timeout=10)
        assert sorted(m.rcpt_tos[0] for m in delivered) == [mailer.email] * queued_mail
        assert len(smtp.messages) == queued_mail  # each e-mail exactly once
        after = [int(r.json()["id"]) for r in webhook.requests[back_at:]
                 if r.json().get("to") == texter.phone_e164]
        assert sorted(after) == sorted(queued_sms)  # each SMS exactly once


def _recovery_with_captcha(base: str, response: str) -> tuple[httpx.Response, float]:
    return _timed(lambda: httpx.post(base + "/api/v1/recoveries", timeout=60,
                                     json={"identifier": OURS["kba"].card, "captcha": response}))


def test_captcha_provider_fails_closed(tmp_path):
    """hCaptcha mode, siteverify pointed at a local server, through the whole server: a provider
    that hangs or is down means the captcha is refused (no recovery starts) within a bounded
    time, on the API and on the page. A "yes" lets the flow start, so the test really reaches
    the provider. (Each provider's answers one by one — no, 500, nonsense — are tested at the
    method level in tests/recovery/test_captcha_providers.py.)"""
    with ExitStack() as stack:
        provider = stack.enter_context(RecordingHttpServer())
        url = f"sqlite+aiosqlite:///{tmp_path / 'guarita.db'}"
        env = stack_env(url, 9, GUARITA_CAPTCHA="hcaptcha",
                        GUARITA_CAPTCHA_SITE_KEY="site-key-teste",
                        GUARITA_CAPTCHA_SECRET="segredo-do-captcha",  # noqa: S106
                        GUARITA_CAPTCHA_VERIFY_URL=provider.url + "/siteverify",
                        GUARITA_RUN_WORKER_IN_SERVER="false")
        prepare(tmp_path, url, env, via_cli=False, demo=False)
        base, _process = stack.enter_context(running_server(env))

        provider.respond(200, body='{"success": true}')
        answer, _ = _recovery_with_captcha(base, "resposta-do-widget")
        assert answer.status_code == 201, answer.text
        sent = provider.requests[-1].form()
        assert sent["secret"] == "segredo-do-captcha" and sent["response"]  # noqa: S105 == "resposta-do-widget"

        provider.hang = True
        answer, took = _recovery_with_captcha(base, "resposta-do-widget")
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "captcha_invalid"
        assert took < ANSWERS_WITHIN + 5, took  # the provider timeout is 5 s
        provider.stop()  # down: connection refused
        answer, took = _recovery_with_captcha(base, "resposta-do-widget")
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "captcha_invalid"
        assert took < ANSWERS_WITHIN

        # The page, as a person sees it: refused, announced, still on the first step.
        with httpx.Client(base_url=base, timeout=60) as browser:
            form = browser.get("/esqueci-minha-senha")
            page, took = _timed(lambda: browser.post("/esqueci-minha-senha", data={
                "identifier": OURS["kba"].card, "captcha": "x", "csrf_token": csrf_of(form.text)}))
        assert page.status_code == 400 and took < ANSWERS_WITHIN, (page.status_code, took)
        assert "/metodo" not in str(page.url) and 'role="alert"' in page.text
