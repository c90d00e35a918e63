"""Meus dados in the browser (docs/privacy.md): a person downloads the PDF of her data after
confirming her password, files a deletion request; a supervisor approves it at the desk; she can
no longer sign in and the audit chain still verifies. Every page axe-clean with 44 px targets."""

from __future__ import annotations

import io
import re

import pypdf
import pytest
from playwright.sync_api import expect

from tests.e2e.browser import Journey
from tests.e2e.stack import Stack
from tests.e2e.test_journeys import choose, press
from tests.e2e.test_portal_and_support_desk import _totp
from tests.support.factories import STRONG

pytestmark = [pytest.mark.e2e, pytest.mark.journey]
STAFF_PASSWORD = "frase longa da equipe de atendimento"  # noqa: S105 - test data


def test_meus_dados_pdf_then_deletion_approved_at_the_desk(journey: Journey, stack: Stack):
    j, page = journey, journey.page
    lucia = stack.ours["privacy"]
    stack.register(lucia)

    page.goto(stack.base_url + "/entrar")
    page.get_by_label("CPF, número da carteirinha ou e-mail").fill(lucia.card)
    page.get_by_label("Senha", exact=True).fill(STRONG)
    press(page, "Entrar", r"/conta")
    page.get_by_role("link", name="Ver meus dados").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Meus dados")
    expect(page.locator("[data-field=name]")).to_have_text(lucia.name)
    j.check("meus-dados")

    page.get_by_label("Sua senha").fill(STRONG)
    press(page, "Confirmar e gerar o link", r"/conta/meus-dados/exportar")
    j.check("meus-dados-link")
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Baixar o arquivo PDF").click()
    content = open(waiting.value.path(), "rb").read()  # noqa: PTH123, SIM115
    assert content.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(content)).pages)
    assert lucia.name in text and lucia.card in text

    page.get_by_label("Por que quer excluir sua conta").fill("Não uso mais este serviço.")
    press(page, "Pedir exclusão da conta", r"pedido-registrado=1")
    expect(page.locator("main")).to_contain_text("Pedido registrado")
    expect(page.locator(".privacy-request")).to_contain_text("em análise")
    j.check("meus-dados-pedido")

    supervisor = stack.cli("staff", "add", "--email", "sonia.supervisora@example.org", "--name",
                           "Sônia Supervisora", "--role", "supervisor")
    page.goto(supervisor["enrolment_link"].replace(stack.env["GUARITA_BASE_URL"], stack.base_url))
    secret = page.locator(".totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Senha", exact=True).fill(STAFF_PASSWORD)
    page.get_by_label("Repita a senha").fill(STAFF_PASSWORD)
    page.get_by_label("Código que o aplicativo mostra agora").fill(_totp(secret, -1))
    press(page, "Ativar acesso")
    page.get_by_role("link", name=re.compile("Já guardei os códigos")).click()
    page.wait_for_url(re.compile(r"/atendimento$"))
    page.get_by_role("link", name="Pedidos LGPD").click()
    page.wait_for_url(re.compile(r"/atendimento/pedidos-lgpd$"))
    request = page.locator(".privacy-queue > li", has_text=lucia.name)
    expect(request).to_contain_text("Não uso mais este serviço.")
    j.check("atendimento-pedidos-lgpd", desk=True)
    choose(page, "Aprovar e excluir a conta agora")
    request.get_by_label("Motivo da decisão (a pessoa vai ler)").fill("Pedido conferido.")
    press(page, "Registrar decisão", r"feito=excluida")
    expect(page.locator("main")).to_contain_text("Conta excluída")
    j.check("atendimento-pedido-decidido", desk=True)

    page.goto(stack.base_url + "/conta")
    page.wait_for_url(re.compile(r"/entrar"))
    page.get_by_label("CPF, número da carteirinha ou e-mail").fill(lucia.card)
    page.get_by_label("Senha", exact=True).fill(STRONG)
    press(page, "Entrar", r"/entrar")
    expect(page.locator("main")).to_contain_text("incorretas")
    assert stack.cli("audit", "verify")["ok"] is True
    j.finish()
