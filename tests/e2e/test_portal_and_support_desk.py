"""Single sign-on through the demo portal (docs/oidc.md) and the support desk registering an e-mail
for a caller (docs/support-desk.md), in the browser."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode

import pyotp
import pytest
from playwright.sync_api import expect

from tests.e2e.browser import Journey
from tests.e2e.stack import Stack
from tests.e2e.test_journeys import press
from tests.interop.conftest import stop, wait_until_up
from tests.support.http_server import RecordingHttpServer
from tests.support.server import ROOT, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.journey]


@pytest.fixture(scope="module")
def portal(stack: Stack, tmp_path_factory):  # noqa: ANN201
    """The demo portal (examples/portal) served next to Guarita, as ``make run`` does."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    client = stack.cli("clients", "ensure-demo-portal", "--redirect-uri", url + "/callback",
                       "--post-logout-redirect-uri", url + "/saiu",
                       "--backchannel-logout-uri", url + "/backchannel-logout")
    directory = tmp_path_factory.mktemp("portal")
    env = {**stack.env, "PORTAL_URL": url, "PORTAL_GUARITA_URL": stack.base_url,
           "PORTAL_CLIENT_ID": client["client_id"], "PORTAL_CLIENT_SECRET": client["client_secret"]}
    with (directory / "portal.log").open("w") as log:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "examples" / "portal"),
             "--factory", "app:create_app", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning"],
            env=env, cwd=directory, stdout=subprocess.DEVNULL, stderr=log,
        )
        try:
            wait_until_up(url + "/", process)
            yield url
        finally:
            stop(process)


def test_single_sign_on_through_the_demo_portal(journey: Journey, stack: Stack, portal: str):
    """Ana (demo, old-portal account) enters the Portal do Beneficiário with Guarita, is known
    by Guarita's own pages without signing in again, and leaves both from the portal."""
    from guarita.services.demo import DEMO_LEGACY_PASSWORD

    j, page = journey, journey.page
    ana = stack.demo["200100033"]
    page.goto(portal + "/")
    j.check("portal-inicio", own=False)
    page.get_by_role("link", name="Entrar com a conta do Instituto").click()
    page.wait_for_url(re.compile(re.escape(stack.base_url) + r"/entrar"))
    # The sign-in page names the application that sent her, and the organisation.
    asking = page.locator("[data-requesting-app]")
    expect(asking).to_contain_text("Para continuar no Portal do Beneficiário")
    expect(asking).to_contain_text("entre com sua conta do Instituto de Previdência Demonstração")
    j.check("guarita-entrar")
    page.get_by_label("CPF, número da carteirinha ou e-mail").fill(ana.card)
    page.get_by_label("Senha", exact=True).fill(DEMO_LEGACY_PASSWORD)
    with page.expect_navigation(url=re.compile("^" + re.escape(portal) + r"/$")):
        page.get_by_role("button", name="Entrar", exact=True).click()
    expect(page.locator("#name")).to_have_text(ana.name)
    expect(page.locator("#card")).to_have_text(ana.card)
    j.check("portal-conectado", own=False)

    # Single sign-on: Guarita's account page knows her already.
    page.goto(stack.base_url + "/conta")
    expect(page.get_by_role("heading", level=1)).to_have_text("Olá, Ana")
    j.check("guarita-conta")
    # …and says which app received what of hers, and when (docs/privacy.md).
    page.get_by_role("link", name="Quem recebeu meus dados").click()
    expect(page.locator(".data-release").first).to_contain_text(
        re.compile(r"Portal do Beneficiário \(demonstração\) recebeu seu nome, sua data de nascimento, o número da sua "
                   r"carteirinha.* em \d\d/\d\d/\d{4} às"))
    j.check("guarita-quem-recebeu")

    page.goto(portal + "/")
    page.get_by_role("button", name="Sair").click()
    page.wait_for_url(re.compile(re.escape(portal) + r"/saiu"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Você saiu")
    j.check("portal-saiu", own=False)
    page.goto(stack.base_url + "/conta")
    page.wait_for_url(re.compile(r"/entrar"))  # Guarita's session ended too
    j.finish()


def test_signing_out_in_minha_conta_signs_out_of_the_portal(
    journey: Journey, stack: Stack, portal: str
):
    """Ana enters the portal with Guarita, then presses "Sair" in Minha conta, on Guarita: the
    portal hears it by the back channel (a logout token from the outbox worker, Back-Channel
    Logout 1.0) and no longer knows her, without her visiting it."""
    from guarita.services.demo import DEMO_LEGACY_PASSWORD

    j, page = journey, journey.page
    ana = stack.demo["200100033"]
    page.goto(portal + "/")
    page.get_by_role("link", name="Entrar com a conta do Instituto").click()
    page.wait_for_url(re.compile(re.escape(stack.base_url) + r"/entrar"))
    page.get_by_label("CPF, número da carteirinha ou e-mail").fill(ana.card)
    page.get_by_label("Senha", exact=True).fill(DEMO_LEGACY_PASSWORD)
    with page.expect_navigation(url=re.compile("^" + re.escape(portal) + r"/$")):
        page.get_by_role("button", name="Entrar", exact=True).click()
    expect(page.locator("#name")).to_have_text(ana.name)

    page.goto(stack.base_url + "/conta")
    expect(page.get_by_role("heading", level=1)).to_have_text("Olá, Ana")
    page.get_by_role("button", name="Sair", exact=True).first.click()
    page.wait_for_url(re.compile(r"/entrar"))
    j.check("guarita-saiu")

    # The worker delivers at once after the commit; give it a few seconds on a busy machine.
    deadline = time.monotonic() + 20
    while True:
        page.goto(portal + "/")
        if page.get_by_role("link", name="Entrar com a conta do Instituto").count():
            break
        assert time.monotonic() < deadline, "o portal não recebeu o logout token"
        page.wait_for_timeout(500)
    expect(page.locator("#name")).to_have_count(0)
    j.check("portal-saiu-pelo-guarita", own=False)
    j.finish()


def test_signing_out_loads_the_front_channel_logout_of_an_app(journey: Journey, stack: Stack):
    """An app that can only clear its cookie in the browser (Front-Channel Logout 1.0): after
    Ana signs into it through Guarita and presses "Sair" in Minha conta, the page she sees
    loads the app's logout address in a hidden frame, with iss and sid — which the page's CSP
    lets through, and nothing else."""
    from guarita.services.demo import DEMO_LEGACY_PASSWORD

    j, page = journey, journey.page
    ana = stack.demo["200100033"]
    with RecordingHttpServer() as app:
        app.respond(*([200] * 20), body="<!doctype html><title>ok</title>", content_type="text/html")
        client = stack.cli("clients", "add", "--name", "Agendamento", "--redirect-uri",
                           app.url + "/cb", "--frontchannel-logout-uri", app.url + "/fc?v=1")
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        page.goto(stack.base_url + "/oauth/authorize?" + urlencode({
            "response_type": "code", "client_id": client["client_id"],
            "redirect_uri": app.url + "/cb", "scope": "openid", "state": "s", "nonce": "n",
            "code_challenge": challenge, "code_challenge_method": "S256",
        }))
        page.wait_for_url(re.compile(re.escape(stack.base_url) + r"/entrar"))
        page.get_by_label("CPF, número da carteirinha ou e-mail").fill(ana.card)
        page.get_by_label("Senha", exact=True).fill(DEMO_LEGACY_PASSWORD)
        with page.expect_navigation(url=re.compile("^" + re.escape(app.url) + r"/cb\?")):
            page.get_by_role("button", name="Entrar", exact=True).click()

        page.goto(stack.base_url + "/conta")
        page.get_by_role("button", name="Sair", exact=True).first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Você saiu da sua conta")
        deadline = time.monotonic() + 10
        while not [r for r in app.requests if r.path == "/fc"]:
            assert time.monotonic() < deadline, "o iframe de saída não foi carregado"
            page.wait_for_timeout(200)
        [frame] = [r for r in app.requests if r.path == "/fc"]
        query = parse_qs(frame.query)
        assert query["v"] == ["1"] and query["iss"] == [stack.base_url] and query["sid"][0]
        j.check("saiu-com-front-channel")
    j.finish()


def _totp(secret: str, steps_from_now: int) -> str:
    """A code of the step before or after this one: RFC 6238 §5.2 drift window of one step,
    so enrolment and sign-in need not wait 30 s for the next step (each step is used once)."""
    now = int(datetime.now(UTC).timestamp())
    return pyotp.TOTP(secret).at(now + 30 * steps_from_now)


def test_support_desk_registers_an_email(journey: Journey, stack: Stack):
    """Benedito (demo: no e-mail, no phone) calls the desk. An agent added with ``guarita staff
    add`` enrols, signs in, finds him by CPF, checks who is calling, registers his e-mail with a
    code he reads back; then Benedito signs in with that e-mail."""
    from guarita.services.demo import DEMO_LEGACY_PASSWORD

    j, page = journey, journey.page
    benedito = stack.demo["200100068"]
    new_email = "benedito.santos@example.org"
    agent = stack.cli("staff", "add", "--email", "ana.atendente@example.org", "--name",
                      "Ana Atendente", "--role", "agent")

    page.goto(agent["enrolment_link"].replace(stack.env["GUARITA_BASE_URL"], stack.base_url))
    j.check("atendimento-ativar", desk=True)
    secret = page.locator(".totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Senha", exact=True).fill("frase longa da equipe de atendimento")
    page.get_by_label("Repita a senha").fill("frase longa da equipe de atendimento")
    page.get_by_label("Código que o aplicativo mostra agora").fill(_totp(secret, -1))
    press(page, "Ativar acesso")
    expect(page.locator("main")).to_contain_text("Guarde agora")
    j.check("atendimento-codigos", desk=True)

    page.get_by_role("link", name=re.compile("Já guardei os códigos")).click()
    page.wait_for_url(re.compile(r"/atendimento$"))
    # Enrolment leaves her signed in; she signs out and in again, as on her next shift.
    with page.expect_navigation():
        page.locator("form.console-signout").get_by_role("button", name="Sair").click()
    page.goto(stack.base_url + "/atendimento/entrar")
    j.check("atendimento-entrar", desk=True)
    page.get_by_label("E-mail").fill("ana.atendente@example.org")
    page.get_by_label("Senha", exact=True).fill("frase longa da equipe de atendimento")
    page.get_by_label("Código do aplicativo autenticador").fill(_totp(secret, +1))
    press(page, "Entrar", r"/atendimento")
    j.check("atendimento-inicio", desk=True)

    page.get_by_label("CPF, carteirinha, e-mail, celular ou nome").fill(benedito.cpf_dotted)
    # A full CPF is searched only with the call's reason (docs/support-desk.md › Search).
    page.locator("#search-reason").select_option("contato")
    press(page, "Buscar")
    j.check("atendimento-resultado", desk=True)
    page.locator("main a[href^='/atendimento/pessoas/']").first.click()
    page.wait_for_url(re.compile(r"/atendimento/pessoas/\d+$"))
    j.check("atendimento-pessoa", desk=True)

    page.locator("#check-reason").select_option("contato")
    page.get_by_label("Data de nascimento que a pessoa disse").fill(benedito.birth_br)
    page.get_by_label("CPF que a pessoa disse").fill(benedito.cpf)
    press(page, "Conferir")
    expect(page.locator("main")).to_contain_text("Confere.")
    j.check("atendimento-conferido", desk=True)

    page.locator("#contact-kind").select_option("email")
    page.get_by_label("Novo e-mail ou celular").fill(new_email)
    page.locator("#contact-reason").select_option("contato")
    before = stack.last_message_id(new_email)
    press(page, "Enviar código")
    j.check("atendimento-codigo", desk=True)
    page.get_by_label("Código que a pessoa leu").fill(stack.code_for(new_email, after=before))
    press(page, "Confirmar contato")
    expect(page.locator("main")).to_contain_text("Contato confirmado")
    j.check("atendimento-contato-confirmado", desk=True)

    # Benedito, at home, signs in with the e-mail the desk registered.
    home = page.context.browser.new_context(viewport=page.viewport_size, locale="pt-BR")
    try:
        own = home.new_page()
        own.goto(stack.base_url + "/entrar")
        own.get_by_label("CPF, número da carteirinha ou e-mail").fill(new_email)
        own.get_by_label("Senha", exact=True).fill(DEMO_LEGACY_PASSWORD)
        press(own, "Entrar", r"/conta")
        expect(own.locator("main")).to_contain_text(new_email)
    finally:
        home.close()
    j.finish()
