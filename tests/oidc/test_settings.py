"""The provider's settings are the ``oidc`` group of the one settings tree
(``GUARITA_OIDC__<NAME>``, DESIGN.md › Stack: config); the former ``GUARITA_OIDC_<NAME>`` names
keep working, below the new ones, with a deprecation warning at load and at start-up."""

from __future__ import annotations

import warnings

import httpx
import pytest
from structlog.testing import capture_logs

from guarita.config import OidcSettings, Settings


@pytest.fixture
def clean_environment(monkeypatch):
    for name in OidcSettings.model_fields:
        monkeypatch.delenv(f"GUARITA_OIDC_{name.upper()}", raising=False)
        monkeypatch.delenv(f"GUARITA_OIDC__{name.upper()}", raising=False)
    return monkeypatch


def test_the_nested_names_set_the_oidc_group(clean_environment):
    clean_environment.setenv("GUARITA_OIDC__CODE_TTL_SECONDS", "30")
    clean_environment.setenv("GUARITA_OIDC__ID_TOKEN_ALG", "ES256")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation for the new names
        settings = Settings()
    assert settings.oidc.code_ttl_seconds == 30 and settings.oidc.id_token_alg == "ES256"
    assert settings.oidc.access_token_ttl_seconds == 300  # the others keep their defaults
    assert settings.deprecations() == []


def test_the_former_names_still_work_with_a_deprecation_warning(clean_environment):
    clean_environment.setenv("GUARITA_OIDC_CODE_TTL_SECONDS", "45")
    with pytest.warns(DeprecationWarning, match="GUARITA_OIDC__CODE_TTL_SECONDS"):
        settings = Settings()
    assert settings.oidc.code_ttl_seconds == 45
    assert settings.deprecations() == [
        "GUARITA_OIDC_CODE_TTL_SECONDS está obsoleta; use GUARITA_OIDC__CODE_TTL_SECONDS."
    ]


def test_the_new_name_wins_over_the_former(clean_environment):
    clean_environment.setenv("GUARITA_OIDC_ACCESS_TOKEN_TTL_SECONDS", "999")
    clean_environment.setenv("GUARITA_OIDC__ACCESS_TOKEN_TTL_SECONDS", "120")
    with pytest.warns(DeprecationWarning):
        assert Settings().oidc.access_token_ttl_seconds == 120


async def test_start_up_logs_each_former_name(clean_environment, runtime):
    from guarita.app import create_app

    clean_environment.setenv("GUARITA_OIDC_JWKS_MAX_AGE_SECONDS", "60")
    app = create_app(runtime=runtime)
    with capture_logs() as logs:
        async with app.router.lifespan_context(app):
            pass
    assert {
        "event": "deprecated_setting",
        "detail": "GUARITA_OIDC_JWKS_MAX_AGE_SECONDS está obsoleta; use GUARITA_OIDC__JWKS_MAX_AGE_SECONDS.",
        "log_level": "warning",
    } in logs


@pytest.fixture
def settings_overrides() -> dict:
    return {"oidc": OidcSettings(discovery_max_age_seconds=123, jwks_max_age_seconds=45)}


async def test_the_provider_reads_its_group(app, client):
    from guarita.oidc.endpoints import fast_path

    transport = httpx.ASGITransport(app=fast_path(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as fast:
        for http in (client, fast):  # through the whole stack and on the fast path
            discovery = await http.get("/.well-known/openid-configuration")
            jwks = await http.get("/oauth/jwks")
            assert "max-age=123" in discovery.headers["cache-control"]
            assert "max-age=45" in jwks.headers["cache-control"]
