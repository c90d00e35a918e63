"""Esqueci minha senha by validação pelo banco in a real Chromium at phone size, against a real
Guarita server and node-oidc-provider as "Banco Exemplo", both on loopback
(``docs/upstreams.md``). The bank is registered the way an operator does it
(``guarita upstreams add``, the secret from the environment)."""

from __future__ import annotations

import re
import subprocess

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import Journey
from tests.e2e.stack import OURS, Stack, prepare, stack_env
from tests.e2e.test_journeys import NEW, choose, new_password, press, sign_in, solve_captcha
from tests.support import upstream as support
from tests.support.factories import STRONG
from tests.support.server import GUARITA, free_port, running_server
from tests.support.smtp import SmtpTestServer

pytestmark = [pytest.mark.e2e, pytest.mark.journey]
BANK_PASSWORD = "senha-do-banco"  # noqa: S105 - the test bank's account


@pytest.fixture(scope="module")
def bank_stack(tmp_path_factory):  # noqa: ANN201
    if not support.available():
        pytest.skip("node e frontend/node_modules/oidc-provider são necessários (make setup)")
    directory = tmp_path_factory.mktemp("banco")
    url = f"sqlite+aiosqlite:///{directory / 'guarita.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    redirect = base + "/upstream/callback"
    with SmtpTestServer() as smtp, support.node_provider(
            [support.client_metadata(redirect)], cpf_in_id_token=False) as bank, \
            support.node_provider([support.client_metadata(redirect)], name="gov.br",
                                  govbr=True, cpf_in_id_token=True) as govbr:
        env = {**stack_env(url, smtp.port), "GUARITA_BASE_URL": base}
        prepare(directory, url, env, via_cli=False, demo=False)
        added = subprocess.run(  # noqa: S603
            [str(GUARITA), "upstreams", "add", "--kind", "bank", "--name", "Banco Exemplo",
             "--code", "001", "--issuer", bank.issuer, "--client-id", support.CLIENT_ID,
             "--json"], env={**env, "GUARITA_UPSTREAM_SECRET": support.CLIENT_SECRET},
            cwd=directory, capture_output=True, text=True, timeout=120)
        assert added.returncode == 0, added.stderr
        added = subprocess.run(  # noqa: S603
            [str(GUARITA), "upstreams", "add", "--kind", "govbr", "--name", "gov.br",
             "--issuer", govbr.issuer, "--client-id", support.CLIENT_ID, "--json"],
            env={**env, "GUARITA_UPSTREAM_SECRET": support.CLIENT_SECRET},
            cwd=directory, capture_output=True, text=True, timeout=120)
        assert added.returncode == 0, added.stderr
        with running_server(env, port=port) as (served, _process):
            yield Stack(served, env, directory, smtp.port, {}, dict(OURS)), bank, govbr


def _to_the_bank(j: Journey, stack: Stack, identifier: str) -> None:
    page = j.page
    page.goto(stack.base_url + "/esqueci-minha-senha")
    page.get_by_label("CPF, número da carteirinha ou e-mail").fill(identifier)
    solve_captcha(page)
    press(page, "Continuar", r"/metodo")
    choose(page, "Validar pelo meu banco")
    j.check("metodo-banco")
    expect(page.get_by_role("heading", level=1)).to_have_text("Como quer confirmar que é você?")
    press(page, "Continuar", r"/esqueci-minha-senha/banco")
    expect(page.get_by_role("heading", level=1)).to_have_text("Validar pelo meu banco")
    j.check("escolha-do-banco")
    button = page.get_by_role("button", name="Banco Exemplo")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 48 and box["width"] >= 300, box  # a large target
    with page.expect_navigation():
        button.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Banco Exemplo")


def test_recovery_by_bank(journey: Journey, bank_stack):  # noqa: ANN001
    stack, bank, _govbr = bank_stack
    person = stack.ours["password"]
    stack.register(person)
    bank.add_account(person.cpf, BANK_PASSWORD, f"cliente-{person.cpf}", cpf=person.cpf,
                     name=person.name)
    j, page = journey, journey.page
    _to_the_bank(j, stack, person.card)
    j.check("site-do-banco", own=False)
    page.get_by_label("CPF ou usuário").fill(person.cpf_dotted)
    page.get_by_label("Senha").fill(BANK_PASSWORD)
    with page.expect_navigation(url=re.compile(r"/esqueci-minha-senha/nova-senha")):
        page.get_by_role("button", name="Entrar").click()
    new_password(j, NEW)
    sign_in(j, stack, person.cpf, NEW, "entrou-depois-do-banco")
    j.finish()


def test_a_bank_account_of_another_person_is_refused_plainly(journey: Journey, bank_stack):  # noqa: ANN001
    stack, bank, _govbr = bank_stack
    person = stack.ours["errors"]
    stack.register(person)
    other = stack.ours["kba"]
    bank.add_account("filho", BANK_PASSWORD, "cliente-filho", cpf=other.cpf, name=other.name)
    j, page = journey, journey.page
    _to_the_bank(j, stack, person.card)
    page.get_by_label("CPF ou usuário").fill("filho")
    page.get_by_label("Senha").fill(BANK_PASSWORD)
    with page.expect_navigation(url=re.compile(r"/upstream/callback")):
        page.get_by_role("button", name="Entrar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Não foi possível confirmar")
    expect(page.locator("main")).to_contain_text("não é o desta conta")
    assert person.name not in page.content() and person.cpf not in page.content()
    j.check("banco-outro-cpf")
    page.get_by_role("link", name="Usar outra forma").click()
    page.wait_for_url(re.compile(r"/esqueci-minha-senha/metodo"))
    j.check("outra-forma")
    j.finish()


def test_govbr_sign_in_then_bank_validation_in_minha_conta(journey: Journey, bank_stack):  # noqa: ANN001
    stack, bank, govbr = bank_stack
    person = stack.ours["keyboard_login"]
    stack.register(person)
    govbr.add_account(person.cpf, BANK_PASSWORD, person.cpf, name=person.name,
                      reliability_info={"level": "silver"})
    bank.add_account(person.cpf, BANK_PASSWORD, f"cliente-{person.cpf}", cpf=person.cpf)
    j, page = journey, journey.page
    page.goto(stack.base_url + "/entrar")
    j.check("entrar-com-govbr")
    with page.expect_navigation():
        page.get_by_role("button", name="Entrar com gov.br").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("gov.br")
    page.get_by_label("CPF").fill(person.cpf)
    page.get_by_label("Senha").fill(BANK_PASSWORD)
    with page.expect_navigation(url=re.compile(r"/entrar/govbr/vincular")):
        page.get_by_role("button", name="Entrar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vincular sua conta gov.br")
    j.check("vincular-govbr")
    page.get_by_label("Senha", exact=True).fill(STRONG)
    press(page, "Confirmar e entrar", r"/conta")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Olá")
    page.get_by_role("link", name="Ver bancos e gov.br").click()
    page.wait_for_url(re.compile(r"/conta/bancos"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Bancos e gov.br")
    j.check("bancos-e-govbr")
    with page.expect_navigation():
        page.get_by_role("button", name="Banco Exemplo").click()
    page.get_by_label("CPF ou usuário").fill(person.cpf)
    page.get_by_label("Senha").fill(BANK_PASSWORD)
    with page.expect_navigation(url=re.compile(r"/conta/bancos\?validado=1")):
        page.get_by_role("button", name="Entrar").click()
    expect(page.get_by_role("status").first).to_contain_text("Seu banco confirmou")
    j.check("banco-validou")
    page.get_by_role("button", name=re.compile("Desvincular gov.br")).click()
    page.wait_for_url(re.compile(r"desvinculado=1"))
    j.check("desvinculado")
    # gov.br's silver and the bank both made prata; the way to ouro is an agency.
    page.goto(stack.base_url + "/conta#nivel")
    expect(page.get_by_role("heading", name="Nível da conta: Prata")).to_be_visible()
    expect(page.get_by_role("heading", name="Como chegar ao nível Ouro")).to_be_visible()
    j.check("nivel-da-conta")
    j.finish()
