"""``/metrics`` is never public (SECURITY.md › Data).

The attack: the outbox counters on a public ``/metrics`` moved only when a code was really
sent, so an outsider could start a recovery for a CPF and learn whether it has an account and a
contact. Now production's public application answers 404 there; the metrics live on a loopback
listener (``GUARITA_METRICS__PORT``) or behind a bearer token (``GUARITA_METRICS__TOKEN``).
"""

from __future__ import annotations

import httpx
import pytest

from guarita.config import Environment, MetricsSettings
from guarita.web.metrics import start_listener
from tests.conftest import make_settings
from tests.support.ports import free_port

PROMETHEUS_LINE = "guarita_http_requests_total"


async def _client_for(runtime, **overrides):  # noqa: ANN001, ANN003, ANN202
    from guarita.app import create_app
    from guarita.runtime import Runtime

    settings = make_settings(runtime.settings.database_url, **overrides)
    app = create_app(runtime=Runtime(settings=settings, db=runtime.db, hasher=runtime.hasher))
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_production_public_app_answers_404_on_metrics(runtime):
    async with await _client_for(
        runtime, env=Environment.PRODUCTION, base_url="https://guarita.example.org"
    ) as http:
        await http.get("/healthz")
        response = await http.get("/metrics")
        assert response.status_code == 404
        assert PROMETHEUS_LINE not in response.text
        api = await http.get("/metrics", headers={"accept": "application/json"})
        assert api.json()["error"]["code"] == "not_found"  # the same answer as any unknown path


@pytest.mark.parametrize("env", [Environment.PRODUCTION, Environment.TEST])
async def test_with_a_token_only_its_bearer_reads_metrics(runtime, env):
    token = "t" * 40
    async with await _client_for(
        runtime, env=env, base_url="https://guarita.example.org",
        metrics=MetricsSettings(token=token),
    ) as http:
        assert (await http.get("/metrics")).status_code == 404
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
        assert wrong.status_code == 404
        right = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert right.status_code == 200 and PROMETHEUS_LINE in right.text



async def test_a_separate_loopback_listener_serves_metrics_and_the_public_port_does_not(runtime):
    port = free_port()
    metrics = MetricsSettings(port=port)
    assert metrics.host == "127.0.0.1"  # loopback unless the operator says otherwise
    async with await _client_for(runtime, metrics=metrics) as http:
        await http.get("/healthz")
        assert (await http.get("/metrics")).status_code == 404
    listener = start_listener(metrics)
    try:
        async with httpx.AsyncClient() as outside:
            response = await outside.get(f"http://127.0.0.1:{port}/metrics")
        assert response.status_code == 200 and PROMETHEUS_LINE in response.text
        assert listener.server_address[0] == "127.0.0.1"
    finally:
        listener.shutdown()
        listener.server_close()


async def test_the_application_starts_the_listener_with_its_lifespan(runtime):
    from guarita.app import create_app
    from guarita.runtime import Runtime

    port = free_port()
    settings = make_settings(runtime.settings.database_url, metrics=MetricsSettings(port=port))
    app = create_app(runtime=Runtime(settings=settings, db=runtime.db, hasher=runtime.hasher))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient() as outside:
            response = await outside.get(f"http://127.0.0.1:{port}/metrics")
        assert response.status_code == 200 and PROMETHEUS_LINE in response.text
