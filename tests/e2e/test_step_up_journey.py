"""Step-up as a new user meets it (docs/trust-levels.md › Step-up), in a real Chromium at phone
size: Ana (demo, bronze, an account from the old portal) presses "Autorizar consignado" on the
demo portal, which asks Guarita for ``acr_values=urn:guarita:loa:prata``; after signing in she
is shown "Para continuar, confirme sua identidade", validates at "Banco Exemplo"
(node-oidc-provider on loopback, registered as an operator does with ``guarita upstreams add``),
and comes back to the portal, which shows the ``acr`` of its new ID token: prata."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import Journey
from tests.e2e.stack import OURS, Stack, _demo, prepare, stack_env
from tests.interop.conftest import stop, wait_until_up
from tests.support import upstream as support
from tests.support.server import GUARITA, ROOT, free_port, running_server
from tests.support.smtp import SmtpTestServer

pytestmark = [pytest.mark.e2e, pytest.mark.journey]
BANK_PASSWORD = "senha-do-banco"  # noqa: S105 - the test bank's account


@pytest.fixture(scope="module")
def step_up_stack(tmp_path_factory):  # noqa: ANN201
    """Guarita with the demo registry and a bank, and the demo portal next to it."""
    if not support.available():
        pytest.skip("node e frontend/node_modules/oidc-provider são necessários (make setup)")
    directory = tmp_path_factory.mktemp("step-up")
    url = f"sqlite+aiosqlite:///{directory / 'guarita.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with SmtpTestServer() as smtp, support.node_provider(
            [support.client_metadata(base + "/upstream/callback")], cpf_in_id_token=False) as bank:
        env = {**stack_env(url, smtp.port), "GUARITA_BASE_URL": base}
        prepare(directory, url, env, via_cli=False, demo=True)
        added = subprocess.run(  # noqa: S603
            [str(GUARITA), "upstreams", "add", "--kind", "bank", "--name", "Banco Exemplo",
             "--code", "001", "--issuer", bank.issuer, "--client-id", support.CLIENT_ID,
             "--json"], env={**env, "GUARITA_UPSTREAM_SECRET": support.CLIENT_SECRET},
            cwd=directory, capture_output=True, text=True, timeout=120)
        assert added.returncode == 0, added.stderr
        with running_server(env, port=port) as (served, _process):
            stack = Stack(served, env, directory, smtp.port, _demo(), dict(OURS))
            portal_port = free_port()
            portal = f"http://127.0.0.1:{portal_port}"
            client = stack.cli("clients", "ensure-demo-portal", "--redirect-uri",
                               portal + "/callback", "--post-logout-redirect-uri",
                               portal + "/saiu")
            portal_env = {**env, "PORTAL_URL": portal, "PORTAL_GUARITA_URL": served,
                          "PORTAL_CLIENT_ID": client["client_id"],
                          "PORTAL_CLIENT_SECRET": client["client_secret"]}
            with (directory / "portal.log").open("w") as log:
                process = subprocess.Popen(  # noqa: S603
                    [sys.executable, "-m", "uvicorn", "--app-dir",
                     str(ROOT / "examples" / "portal"), "--factory", "app:create_app",
                     "--host", "127.0.0.1", "--port", str(portal_port), "--log-level",
                     "warning"],
                    env=portal_env, cwd=directory, stdout=subprocess.DEVNULL, stderr=log)
                try:
                    wait_until_up(portal + "/", process)
                    yield stack, bank, portal
                finally:
                    stop(process)


def test_autorizar_consignado_leads_a_bronze_person_through_the_bank_to_prata(
        journey: Journey, step_up_stack):  # noqa: ANN001
    from guarita.services.demo import DEMO_LEGACY_PASSWORD

    stack, bank, portal = step_up_stack
    ana = stack.demo["200100033"]
    bank.add_account(ana.cpf, BANK_PASSWORD, f"cliente-{ana.cpf}", cpf=ana.cpf, name=ana.name)
    j, page = journey, journey.page

    page.goto(portal + "/consignado")
    expect(page.get_by_role("heading", level=1)).to_have_text("Autorizar consignado")
    j.check("portal-consignado", own=False)
    with page.expect_navigation(url=re.compile(re.escape(stack.base_url) + r"/entrar")):
        page.get_by_role("button", name="Autorizar consignado").click()
    page.get_by_label("CPF, número da carteirinha ou e-mail").fill(ana.card)
    page.get_by_label("Senha", exact=True).fill(DEMO_LEGACY_PASSWORD)
    with page.expect_navigation(url=re.compile(r"/confirmar-identidade\?pedido=")):
        page.get_by_role("button", name="Entrar", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Para continuar, confirme sua identidade")
    main = page.locator("main")
    expect(main).to_contain_text("O serviço Portal do Beneficiário (demonstração) pede uma conta "
                                  "no nível Prata")
    expect(main).to_contain_text("A sua está no nível Bronze")
    expect(main).to_contain_text("Vá a uma agência")
    j.check("confirme-sua-identidade")
    button = page.get_by_role("button", name="Banco Exemplo")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44, box  # a large target
    with page.expect_navigation():
        button.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Banco Exemplo")
    j.check("site-do-banco", own=False)
    page.get_by_label("CPF ou usuário").fill(ana.cpf_dotted)
    page.get_by_label("Senha").fill(BANK_PASSWORD)
    with page.expect_navigation(url=re.compile("^" + re.escape(portal) + r"/consignado$")):
        page.get_by_role("button", name="Entrar").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Consignado autorizado")
    expect(page.locator("#loan-level")).to_have_text("Prata")
    expect(page.locator("#acr")).to_have_text("urn:guarita:loa:prata")
    j.check("consignado-autorizado", own=False)
    page.goto(portal + "/")
    expect(page.locator("#trust")).to_have_text("Prata")

    # Minha conta says the same level.
    page.goto(stack.base_url + "/conta")
    expect(page.locator("#nivel")).to_contain_text("Prata")
    j.finish()


def test_giving_up_returns_to_the_portal_with_a_plain_answer(
        journey: Journey, step_up_stack):  # noqa: ANN001
    """Luzia (demo, bronze, old portal) would rather not: "Voltar sem confirmar" — the portal
    hears ``unmet_authentication_requirements`` and says so plainly."""
    from guarita.services.demo import DEMO_LEGACY_PASSWORD

    stack, _bank, portal = step_up_stack
    person = stack.demo["200100050"]

    j, page = journey, journey.page
    page.goto(portal + "/consignado")
    with page.expect_navigation(url=re.compile(re.escape(stack.base_url) + r"/entrar")):
        page.get_by_role("button", name="Autorizar consignado").click()
    page.get_by_label("CPF, número da carteirinha ou e-mail").fill(person.card)
    page.get_by_label("Senha", exact=True).fill(DEMO_LEGACY_PASSWORD)
    with page.expect_navigation(url=re.compile(r"/confirmar-identidade\?pedido=")):
        page.get_by_role("button", name="Entrar", exact=True).click()
    with page.expect_navigation(url=re.compile("^" + re.escape(portal) + r"/callback")):
        page.get_by_role("link", name="Voltar sem confirmar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Não foi possível continuar")
    expect(page.locator("main")).to_contain_text("não foi confirmada no nível Prata")
    j.check("portal-desistiu", own=False)
    j.finish()

