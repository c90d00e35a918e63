"""Two-step verification in Debian's Chromium (docs/two-step.md): a passkey enrolled from
Segurança da conta with the DevTools virtual authenticator (CDP ``WebAuthn``: ctap2, internal,
resident keys, user verification, automatic presence), then sign-in with it typing nothing; the
authenticator app enrolled and its second step completed with the keyboard alone; axe on every
new page.

WebAuthn refuses an IP address as relying-party id, so this module serves its own Guarita on
``http://localhost:<port>`` (GUARITA_BASE_URL), not on 127.0.0.1 like the other journeys.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pyotp
import pytest
from playwright.sync_api import expect

from tests.e2e.browser import Journey
from tests.e2e.stack import OURS, Stack, _demo, prepare, stack_env
from tests.e2e.test_keyboard_and_errors import Keyboard
from tests.support.factories import STRONG
from tests.support.server import free_port, running_server
from tests.support.smtp import SmtpTestServer

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory):  # noqa: ANN201
    directory = tmp_path_factory.mktemp("e2e-two-step")
    url = f"sqlite+aiosqlite:///{directory / 'guarita.db'}"
    port = free_port()
    with SmtpTestServer() as smtp:
        env = stack_env(url, smtp.port, GUARITA_BASE_URL=f"http://localhost:{port}")
        prepare(directory, url, env, via_cli=False, demo=False)
        with running_server(env, port=port):
            base = f"http://localhost:{port}"
            yield Stack(base, env, directory, smtp.port, _demo(), dict(OURS))


def virtual_authenticator(page) -> dict:  # noqa: ANN001
    """A platform authenticator with a fingerprint reader that always says yes."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return {"cdp": cdp, "id": added["authenticatorId"]}


def api_enrol_totp(stack: Stack, card: str) -> str:
    """The person enrols the app from the mobile app (the API): returns the secret."""
    with httpx.Client(base_url=stack.base_url, timeout=30) as api:
        signed = api.post("/api/v1/sessions", json={"identifier": card, "password": STRONG})
        assert signed.status_code == 201, signed.text
        auth = {"Authorization": f"Bearer {signed.json()['session_token']}"}
        started = api.post("/api/v1/me/second-factors/totp", json={}, headers=auth)
        assert started.status_code == 201, started.text
        secret = started.json()["secret"].replace(" ", "")
        confirmed = api.post(
            "/api/v1/me/second-factors/totp/confirmation",
            headers=auth,
            json={
                "enrolment_id": started.json()["enrolment_id"],
                "code": pyotp.TOTP(secret).at(datetime.now(UTC)),
            },
        )
        assert confirmed.status_code == 200 and len(confirmed.json()["recovery_codes"]) == 10
    return secret


def later_code(secret: str) -> str:
    """The next step's code: the enrolment spent the current one (RFC 6238 §5.2)."""
    return pyotp.TOTP(secret).at(datetime.now(UTC).timestamp() + 30)


def test_enrol_a_passkey_sign_out_and_sign_in_with_it_typing_nothing(
    journey: Journey, local_stack: Stack
):
    j, page, stack = journey, journey.page, local_stack
    person = stack.ours["password"]
    stack.register(person)
    virtual_authenticator(page)
    page.goto(stack.base_url + "/entrar")
    page.fill("#identifier", person.card)
    page.fill("#password", STRONG)
    page.get_by_role("button", name="Entrar", exact=True).click()
    expect(page).to_have_url(re.compile(r"/conta$"))
    page.get_by_role("link", name="Ver segurança da conta").click()
    expect(page).to_have_url(re.compile(r"/conta/seguranca"))
    j.check("seguranca")
    page.fill("#name", "Celular da Francisca")
    page.get_by_role("button", name="Criar chave de acesso").click()
    expect(page.get_by_role("heading", name="Seus códigos de recuperação")).to_be_visible()
    assert page.locator("ol.recovery-codes li").count() == 10
    j.check("codigos")
    page.get_by_role("link", name="Já guardei").click()
    expect(page.get_by_role("heading", name="Celular da Francisca")).to_be_visible()
    j.check("seguranca-com-chave")
    page.locator("header form[action='/sair'] button").click()
    expect(page).to_have_url(re.compile(r"/entrar"))
    # Typing nothing: one button, the authenticator answers with the discoverable credential.
    page.get_by_role("button", name="Entrar com chave de acesso").click()
    expect(page).to_have_url(re.compile(r"/conta$"))
    expect(page.get_by_role("heading", name=re.compile("Olá"))).to_be_visible()
    j.finish()


def test_totp_second_step_with_the_keyboard_only(journey: Journey, local_stack: Stack):
    j, page, stack = journey, journey.page, local_stack
    person = stack.ours["keyboard_login"]
    stack.register(person)
    secret = api_enrol_totp(stack, person.card)
    keys = Keyboard(page)
    page.goto(stack.base_url + "/entrar")
    keys.tab_to("#identifier")
    keys.type(person.card)
    keys.tab_to("#password")
    keys.type(STRONG)
    keys.enter()
    expect(page).to_have_url(re.compile(r"/entrar/confirmar"))
    j.check("confirme-que-e-voce")
    keys.tab_to("#code")
    keys.type(later_code(secret))
    keys.enter()
    expect(page).to_have_url(re.compile(r"/conta$"))
    assert not keys.unringed, "foco sem contorno visível:\n" + "\n".join(keys.unringed)
    j.finish()


def test_enrol_the_authenticator_app_on_the_pages(journey: Journey, local_stack: Stack):
    j, page, stack = journey, journey.page, local_stack
    person = stack.ours["errors"]
    stack.register(person)
    page.goto(stack.base_url + "/entrar")
    page.fill("#identifier", person.card)
    page.fill("#password", STRONG)
    page.get_by_role("button", name="Entrar", exact=True).click()
    page.goto(stack.base_url + "/conta/seguranca")
    page.get_by_role("button", name="Cadastrar aplicativo autenticador").click()
    expect(page.locator("svg.totp-qr")).to_be_visible()
    j.check("autenticador")
    secret = page.locator(".totp-secret code").inner_text().replace(" ", "")
    page.fill("#code", "000000")
    page.get_by_role("button", name="Confirmar").click()
    expect(page.locator("#code-error")).to_be_visible()
    j.check("autenticador-erro")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirmar").click()
    expect(page.get_by_role("heading", name="Seus códigos de recuperação")).to_be_visible()
    page.locator("header form[action='/sair'] button").click()
    page.fill("#identifier", person.card)
    page.fill("#password", STRONG)
    page.get_by_role("button", name="Entrar", exact=True).click()
    expect(page).to_have_url(re.compile(r"/entrar/confirmar"))
    page.get_by_role("link", name=re.compile("Código de recuperação")).click()
    j.check("confirme-com-codigo-de-recuperacao")
    j.finish()
