"""The skeleton answers: home page, health, readiness, metrics, error envelope, headers."""

from __future__ import annotations


async def test_home_page_is_pt_br_with_the_three_doors(client):
    response = await client.get("/")
    assert response.status_code == 200
    assert '<html lang="pt-BR">' in response.text
    for door in ("Entrar", "Cadastro", "Esqueci minha senha"):
        assert door in response.text


async def test_health_and_readiness(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"


async def test_metrics_are_prometheus_text(client):
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert "guarita_http_requests_total" in response.text


async def test_unknown_api_route_uses_the_error_envelope(client):
    response = await client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Página ou recurso não encontrado.", "field": None}
    }


async def test_security_headers(client):
    response = await client.get("/")
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "x-request-id" in response.headers
