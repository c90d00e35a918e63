"""SMS adapters against a real HTTP server on loopback that checks each request (docs/messaging.md › SMS).

The provider formats are the ones cited in each adapter's docstring (Zenvia API v2, Twilio
Message resource); the webhook is Guarita's own contract (docs/messaging.md).
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from guarita.config import SmsSettings
from guarita.messaging.errors import DeliveryError
from guarita.messaging.sms import build_sms_sender
from guarita.messaging.sms.registry import ADAPTERS
from guarita.messaging.worker import deliver_due
from guarita.storage.types import utcnow
from tests.messaging.helpers import enqueue_test_message, load, reconfigure
from tests.support.http_server import RecordingHttpServer

PHONE = "+5511987654321"


@pytest.fixture
def provider():
    with RecordingHttpServer() as server:
        yield server


def test_the_registry_has_one_line_per_adapter():
    assert set(ADAPTERS) == {"log", "webhook", "zenvia", "twilio"}
    for name in ADAPTERS:
        assert type(build_sms_sender(SmsSettings(adapter=name))) is ADAPTERS[name]


async def test_zenvia_request(provider):
    provider.respond(200, body='{"id": "z-1"}')
    sender = build_sms_sender(SmsSettings(
        adapter="zenvia", zenvia_url=f"{provider.url}/v2/channels/sms/messages",
        zenvia_token="tok-zenvia", zenvia_from="guarita-sender", timeout_seconds=2,  # noqa: S106
    ))
    await sender.send(PHONE, "Seu código é 482913", message_id="7")
    [request] = provider.requests
    assert (request.method, request.path) == ("POST", "/v2/channels/sms/messages")
    assert request.headers["x-api-token"] == "tok-zenvia"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "from": "guarita-sender",
        "to": "5511987654321",
        "contents": [{"type": "text", "text": "Seu código é 482913"}],
    }


async def test_twilio_request(provider):
    provider.respond(201, body='{"sid": "SM1", "status": "queued"}')
    sender = build_sms_sender(SmsSettings(
        adapter="twilio", twilio_url=provider.url, twilio_account_sid="AC123",
        twilio_auth_token="tok-twilio", twilio_from="+15005550006", timeout_seconds=2,  # noqa: S106
    ))
    await sender.send(PHONE, "Seu código é 482913")
    [request] = provider.requests
    assert (request.method, request.path) == ("POST", "/2010-04-01/Accounts/AC123/Messages.json")
    assert request.basic_auth() == ("AC123", "tok-twilio")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form() == {"To": PHONE, "From": "+15005550006", "Body": "Seu código é 482913"}


async def test_provider_refusal_says_why_and_a_bad_number_is_permanent(provider):
    provider.respond(400, body='{"code": 21211, "message": "Invalid To number"}')
    provider.respond(429, body="slow down")
    sender = build_sms_sender(SmsSettings(
        adapter="twilio", twilio_url=provider.url, twilio_account_sid="AC123",
        twilio_auth_token="tok-twilio", twilio_from="+15005550006", timeout_seconds=2,  # noqa: S106
    ))
    with pytest.raises(DeliveryError) as refused:
        await sender.send("+550000", "x")
    assert refused.value.permanent and "HTTP 400" in str(refused.value)
    assert "Invalid To number" in str(refused.value) and "tok-twilio" not in str(refused.value)
    with pytest.raises(DeliveryError) as throttled:
        await sender.send(PHONE, "x")
    assert not throttled.value.permanent


async def test_missing_credentials_are_a_clear_error():
    with pytest.raises(DeliveryError, match="ZENVIA_TOKEN"):
        await build_sms_sender(SmsSettings(adapter="zenvia")).send(PHONE, "x")
    with pytest.raises(DeliveryError, match="TWILIO_ACCOUNT_SID"):
        await build_sms_sender(SmsSettings(adapter="twilio")).send(PHONE, "x")


def webhook(provider: RecordingHttpServer, **extra) -> SmsSettings:  # noqa: ANN003
    return SmsSettings(
        adapter="webhook", webhook_url=f"{provider.url}/sms",
        webhook_secret="segredo-do-webhook",  # noqa: S106
        **{"timeout_seconds": 2, **extra},
    )


async def test_webhook_through_the_worker(runtime, provider):
    reconfigure(runtime, sms=webhook(provider))
    message_id = await enqueue_test_message(runtime, channel="sms", to=PHONE, code="482913")
    assert await deliver_due(runtime) == 1

    [request] = provider.requests
    assert (request.method, request.path) == ("POST", "/sms")
    assert request.headers["x-guarita-secret"] == "segredo-do-webhook"
    body = request.json()
    assert body["to"] == PHONE and body["id"] == str(message_id)
    assert "482913" in body["text"] and set(body) == {"to", "text", "id"}
    row = await load(runtime, message_id)
    assert (row.status, row.attempts) == ("sent", 1)


async def test_webhook_500_is_retried_then_delivered(runtime, provider):
    reconfigure(runtime, sms=webhook(provider))
    provider.respond(500, body="gateway quebrado")
    message_id = await enqueue_test_message(runtime, channel="sms", to=PHONE)

    assert await deliver_due(runtime) == 1
    row = await load(runtime, message_id)
    assert row.status == "pending" and row.attempts == 1
    assert "HTTP 500" in row.last_error and "gateway quebrado" in row.last_error
    assert "segredo-do-webhook" not in row.last_error

    assert await deliver_due(runtime, now=utcnow() + timedelta(minutes=1)) == 1
    assert (await load(runtime, message_id)).status == "sent"
    assert [r.json()["id"] for r in provider.requests] == [str(message_id)] * 2


async def test_hanging_sms_provider_costs_one_bounded_attempt(runtime, provider):
    reconfigure(runtime, sms=webhook(provider, timeout_seconds=0.5))
    provider.hang = True
    message_id = await enqueue_test_message(runtime, channel="sms", to=PHONE)
    started = time.monotonic()
    assert await deliver_due(runtime) == 1
    assert time.monotonic() - started < 3
    row = await load(runtime, message_id)
    assert row.status == "pending" and row.attempts == 1 and row.last_error


async def test_a_number_the_provider_refuses_fails_at_once(runtime, provider):
    reconfigure(runtime, sms=webhook(provider))
    provider.respond(422, body='{"error": "numero invalido"}')
    message_id = await enqueue_test_message(runtime, channel="sms", to="+5500")
    await deliver_due(runtime)
    row = await load(runtime, message_id)
    assert (row.status, row.attempts) == ("failed", 1) and "HTTP 422" in row.last_error


async def test_log_adapter_logs_and_counts_as_sent(runtime):
    reconfigure(runtime, sms=SmsSettings(adapter="log"))
    message_id = await enqueue_test_message(runtime, channel="sms", to=PHONE, code="135790")
    with capture_logs() as logs:
        assert await deliver_due(runtime) == 1
    [logged] = [entry for entry in logs if entry["event"] == "sms_logged"]
    assert logged["log_level"] == "info" and logged["to"] == PHONE
    assert "135790" in logged["text"]
    assert (await load(runtime, message_id)).status == "sent"
