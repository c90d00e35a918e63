"""Pages: ``__Host-`` CSRF cookie, a narrow CSP ``form-action``, and no bidirectional
controls in names or reasons (SECURITY.md › Sessions and cookies; UAX #9).

The attacks: (1) a sibling subdomain could plant the CSRF cookie (no ``__Host-`` prefix);
(2) ``form-action 'self' http: https:`` let an injected form post anywhere, yet blocked the
custom scheme of a native app after consent; (3) a registry name or a desk reason with
U+202E displayed reversed ("Trojan Source") in the console and the audit log.
"""

from __future__ import annotations

import re

import httpx
import pytest

from guarita.domain.text import has_bidi_controls
from tests.conftest import make_settings
from tests.console.helpers import api_token, bearer
from tests.oidc.support import (
    add_client,
    authorize,
    follow_login,
    person,
    pkce,
    query_of,
    sign_in,
)
from tests.support.factories import format_cpf


def form_action(response: httpx.Response) -> str:
    csp = response.headers["content-security-policy"]
    return re.search(r"form-action ([^;]*)", csp).group(1).strip()


# -- CSRF cookie ---------------------------------------------------------------------------------
async def _https_client(runtime):  # noqa: ANN001, ANN202
    from guarita.app import create_app
    from guarita.runtime import Runtime

    settings = make_settings(runtime.settings.database_url, base_url="https://testserver")
    app = create_app(runtime=Runtime(settings=settings, db=runtime.db, hasher=runtime.hasher))
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 50000))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


async def test_the_csrf_cookie_is_host_prefixed_under_https(runtime):
    b = await person(runtime)
    async with await _https_client(runtime) as http:
        page = await http.get("/entrar")
        cookie = page.headers["set-cookie"]
        assert cookie.startswith("__Host-guarita_csrf=")
        assert "secure" in cookie.lower() and "path=/" in cookie.lower()
        assert "domain=" not in cookie.lower()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        # A cookie without the prefix (what a sibling subdomain can set) is not the CSRF cookie.
        planted = http.cookies.get("__Host-guarita_csrf")
        http.cookies.clear()
        http.cookies.set("guarita_csrf", planted)
        refused = await http.post(
            "/entrar", data={"identifier": b.card_number, "password": "x" * 20,
                             "csrf_token": token},
        )
        assert refused.status_code == 403


async def test_the_csrf_cookie_keeps_its_plain_name_over_http(client):
    page = await client.get("/entrar")
    assert page.headers["set-cookie"].startswith("guarita_csrf=")


# -- CSP form-action -----------------------------------------------------------------------------
async def test_pages_outside_a_flow_post_to_self_only(client):
    for path in ("/", "/entrar", "/cadastro", "/esqueci-minha-senha"):
        assert form_action(await client.get(path)) == "'self'", path


async def test_the_sign_in_page_of_a_flow_allows_that_flows_redirect(runtime, client):
    portal = await add_client(runtime)
    _, challenge = pkce()
    parked = await authorize(client, portal, challenge)
    login_page = await client.get(parked.headers["location"])
    assert form_action(login_page) == "'self' https://portal.example.org/callback"
    # Another browser (no interaction cookie) gets nothing extra from the same link.
    transport = httpx.ASGITransport(app=client._transport.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        assert form_action(await other.get(parked.headers["location"])) == "'self'"


async def test_consent_for_a_native_app_allows_its_custom_scheme(runtime, client):
    """The known gap: after consent, the redirect to ``br.gov.exemplo.app:/cb`` was blocked."""
    b = await person(runtime)
    app = await add_client(
        runtime, public=True, third_party=True, application_type="native",
        redirect_uris=["br.gov.exemplo.app:/cb"],
    )
    _, challenge = pkce()
    response = await authorize(client, app, challenge)
    consent_page = await follow_login(client, response, b.card_number)
    assert consent_page.status_code == 200 and "interaction" in consent_page.text
    assert form_action(consent_page) == "'self' br.gov.exemplo.app:"
    interaction = re.search(r'name="interaction" value="([^"]+)"', consent_page.text).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', consent_page.text).group(1)
    allowed = await client.post(
        "/oauth/authorize/consent",
        data={"interaction": interaction, "decision": "allow", "csrf_token": csrf},
    )
    assert allowed.status_code == 303
    assert allowed.headers["location"].startswith("br.gov.exemplo.app:/cb?")
    assert "code" in query_of(allowed.headers["location"])


async def test_the_second_step_page_of_a_flow_allows_that_flows_redirect(runtime, client):
    """The second step's form answers with the resume path, which redirects to the client:
    the page must allow that redirect, and only while it resumes a flow."""
    from tests.two_step.test_oidc import enrol_totp, second_step

    b = await person(runtime)
    secret = await enrol_totp(runtime, b)
    portal = await add_client(runtime)
    verifier, challenge = pkce()
    start = await authorize(client, portal, challenge, acr_values="urn:guarita:mfa")
    next_path = query_of(start.headers["location"])["next"]
    signed = await sign_in(client, b.card_number, next_path=next_path)
    assert signed.headers["location"] == "/entrar/confirmar"
    page = await client.get("/entrar/confirmar")
    assert form_action(page) == "'self' https://portal.example.org/callback"
    done = await second_step(client, secret)
    assert done.status_code == 303 and done.headers["location"] == next_path
    resumed = await client.get(next_path)
    assert resumed.headers["location"].startswith(portal.redirect_uri)


async def test_a_second_step_outside_a_flow_posts_to_self_only(runtime, client):
    from tests.two_step.test_oidc import enrol_totp

    b = await person(runtime)
    await enrol_totp(runtime, b)
    signed = await sign_in(client, b.card_number)
    assert signed.headers["location"] == "/entrar/confirmar"
    assert form_action(await client.get("/entrar/confirmar")) == "'self'"


async def test_a_signed_in_flow_of_a_first_party_client_needs_no_widening(runtime, client):
    b = await person(runtime)
    portal = await add_client(runtime)
    assert (await sign_in(client, b.card_number)).status_code == 303
    _, challenge = pkce()
    response = await authorize(client, portal, challenge)
    assert response.status_code == 303
    assert response.headers["location"].startswith(portal.redirect_uri)


# -- bidirectional controls ----------------------------------------------------------------------
@pytest.mark.parametrize("char", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
                                  "\u2066", "\u2067", "\u2068", "\u2069"])
def test_every_bidi_control_is_recognised(char):
    assert has_bidi_controls(f"Maria{char} Silva")


def test_ordinary_names_pass():
    assert not has_bidi_controls("Maria José da Conceição D'Ávila-Ñúñez")


async def test_the_registry_import_reports_a_name_with_bidi_controls(runtime, tmp_path):
    from guarita.services.registry_import import import_beneficiaries

    path = tmp_path / "registro.csv"
    path.write_text(
        "card_number,cpf,birth_date,name,email,phone,legacy_password_hash\n"
        "700100200,,1950-01-02,Maria \u202eavlis,,,\n"
        "700100201,,1950-01-02,Maria Silva,,,\n",
        encoding="utf-8",
    )
    report = await import_beneficiaries(runtime, path)
    assert (report.created, report.rejected) == (1, 1)
    [rejected] = report.rejections
    assert rejected.line == 2 and "direção do texto" in rejected.reason


async def test_the_desk_refuses_a_reason_with_bidi_controls(runtime, client):
    b = await person(runtime)
    token = await api_token(runtime, "caller_check")
    response = await client.post(
        f"/api/v1/support/people/{b.id}/caller-checks", headers=bearer(token, agent="ana"),
        json={"reason": "outro", "reason_text": "ligou pedindo \u202eodatsil o ed oãçisiuqer",
              "birth_date": b.birth_date.isoformat(), "cpf": format_cpf(b.cpf)},
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "reason_text"
