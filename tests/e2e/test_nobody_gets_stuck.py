"""Where people stalled the first time they tried Guarita, in a real Chromium at phone size:
no dead end without contacts, the "Não possui CPF" box, the health-plan form's link, the
sign-in page after a recovery and after an application's request, Minha conta on a phone with
its devices, "Ocultar senha", the pages in English, /dev/outbox at 360 px.

Every page passes :meth:`Journey.check` (screenshots, axe, labels, 200 % text, and touch
targets of 44×44 CSS px with text of 16 px at 360 px).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import PHONE, Journey
from tests.e2e.stack import Stack
from tests.e2e.test_journeys import choose, press, sign_in, solve_captcha
from tests.support.factories import STRONG

pytestmark = [pytest.mark.e2e, pytest.mark.journey]

TEL = "tel:08000000000"


def no_code_box(page: Page) -> None:
    """The way out of every code step: the central as a link that calls, and an agency."""
    box = page.locator(".no-code-help")
    expect(box).to_be_visible()
    expect(box.get_by_role("link", name="0800 000 0000")).to_have_attribute("href", TEL)
    expect(box).to_contain_text("agência")


# -- 3 and 5: without e-mail or phone, nobody is left at "espere um minuto" ---------------------
def test_a_person_without_contacts_is_told_what_to_do(journey: Journey, stack: Stack):
    """Benedito (demo) has neither e-mail nor phone. Every step of Esqueci minha senha says,
    in the same words as for anybody, to call the central or go to an agency."""
    j, page = journey, journey.page
    benedito = stack.demo["200100068"]
    page.goto(stack.base_url + "/esqueci-minha-senha")
    no_code_box(page)
    # The health-plan form's link says what it is for.
    expect(page.get_by_role("heading", name="Não sabe com qual dado se cadastrou?")).to_be_visible()
    expect(page.get_by_role("link", name="Recuperar com os dados da carteirinha")).to_be_visible()
    page.get_by_label("CPF, número da carteirinha ou e-mail").fill(benedito.card)
    solve_captcha(page)
    press(page, "Continuar", r"/metodo")
    no_code_box(page)
    j.check("metodo-sem-contatos")
    choose(page, "E-mail cadastrado")
    press(page, "Enviar código", r"/codigo")
    no_code_box(page)
    expect(page.locator("main")).to_contain_text("Não recebeu? Espere um minuto")
    j.check("codigo-sem-contatos")
    page.get_by_role("link", name="Voltar").click()
    page.goto(stack.base_url + "/esqueci-minha-senha/dados")
    expect(page.locator(".lead")).to_contain_text("não lembra se se cadastrou com o CPF ou com o e-mail")
    no_code_box(page)
    j.finish()


# -- 4: "Não possui CPF" ------------------------------------------------------------------------
def test_no_cpf_box_clears_and_restores_the_cpf_field(journey: Journey, stack: Stack):
    j, page = journey, journey.page
    for path, heading in (("/cadastro", "Cadastro"),
                          ("/esqueci-minha-senha/dados", "Recuperar com os dados da carteirinha")):
        page.goto(stack.base_url + path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        cpf = page.get_by_label("CPF", exact=True)
        expect(page.locator("#cpf-hint")).to_contain_text("Se você não tem CPF, marque")
        cpf.fill("123.456.789-09")
        choose(page, "Não possui CPF")
        expect(cpf).to_be_disabled()
        expect(cpf).to_have_value("")
        j.check("sem-cpf-" + path.rsplit("/", 1)[-1])
        page.locator("label", has_text="Não possui CPF").click()
        expect(cpf).to_be_enabled()
        expect(cpf).to_have_value("123.456.789-09")
    # A blank CPF without the box asks for one or the other; it is not "inválido".
    page.goto(stack.base_url + "/cadastro")
    page.get_by_label("Número da carteirinha").fill("200100025")
    page.get_by_label("Data de nascimento").fill("03/11/1952")
    press(page, "Criar cadastro")
    expect(page.locator("#cpf-error")).to_contain_text("Informe o CPF ou marque")
    j.check("cpf-em-branco")
    j.finish()


# -- 8: after Concluir --------------------------------------------------------------------------
def test_after_a_recovery_the_sign_in_page_is_ready(journey: Journey, stack: Stack):
    """Antônio (demo) recovers with his card number; "Concluir" lands on Entrar saying the new
    password is ready, his card number already typed."""
    j, page = journey, journey.page
    antonio = stack.demo["200100084"]
    stack.register(antonio)
    page.goto(stack.base_url + "/esqueci-minha-senha")
    page.get_by_label("CPF, número da carteirinha ou e-mail").fill(antonio.card)
    solve_captcha(page)
    before = stack.last_message_id(antonio.email)
    press(page, "Continuar", r"/metodo")
    choose(page, "E-mail cadastrado")
    press(page, "Enviar código", r"/codigo")
    page.get_by_label("Código de 6 números").fill(stack.code_for(antonio.email, after=before))
    press(page, "Confirmar código", r"/nova-senha")
    new = "o sabiá cantou cedo na palmeira"
    page.get_by_label("Nova senha", exact=True).fill(new)
    page.get_by_label("Repita a nova senha").fill(new)
    press(page, "Salvar nova senha", r"/concluido")
    page.get_by_role("link", name="Concluir").click()
    page.wait_for_url(re.compile(r"/entrar\?senha-nova=1"))
    expect(page.get_by_role("status").first).to_contain_text("Sua nova senha está pronta")
    expect(page.get_by_label("CPF, número da carteirinha ou e-mail")).to_have_value(antonio.card)
    j.check("entrar-depois-da-recuperacao")
    page.get_by_label("Senha", exact=True).fill(new)
    press(page, "Entrar", r"/conta")
    j.finish()


# -- 9 and 10: Minha conta on a phone; "Ocultar senha" ------------------------------------------
def test_minha_conta_on_a_phone_with_its_devices(journey: Journey, stack: Stack, browser):
    """Francisca is signed in on her phone and on another device: Minha conta is grouped, its
    dates read "25/11/2026, 08:42", and each other device has "Encerrar"."""
    j, page = journey, journey.page
    person = stack.ours["devices"]
    stack.register(person)  # through the API: a session of "aplicativo" (python-httpx)

    other = browser.new_context(viewport=PHONE, locale="pt-BR",
                                user_agent="Mozilla/5.0 (Windows NT 10.0) Firefox/130.0")
    try:
        elsewhere = other.new_page()

        def sign_in_elsewhere() -> None:
            elsewhere.goto(stack.base_url + "/entrar")
            elsewhere.get_by_label("CPF, número da carteirinha ou e-mail").fill(person.card)
            elsewhere.get_by_label("Senha", exact=True).fill(STRONG)
            with elsewhere.expect_navigation():
                elsewhere.get_by_role("button", name="Entrar", exact=True).click()
            expect(elsewhere.get_by_role("heading", level=1)).to_contain_text("Olá")

        sign_in_elsewhere()
        page.goto(stack.base_url + "/entrar")
        toggle = page.get_by_role("button", name="Mostrar senha")
        page.get_by_label("Senha", exact=True).fill(STRONG)
        toggle.click()
        expect(page.get_by_role("button", name="Ocultar senha")).to_be_visible()
        expect(page.get_by_label("Senha", exact=True)).to_have_attribute("type", "text")
        page.get_by_role("button", name="Ocultar senha").click()
        expect(page.get_by_label("Senha", exact=True)).to_have_attribute("type", "password")
        sign_in(j, stack, person.card, STRONG, "conta")

        for heading in ("Seus dados", "Como entrar", "Segurança", "Aplicativos conectados",
                        "Histórico"):
            expect(page.get_by_role("heading", level=2, name=heading)).to_be_visible()
        expect(page.locator("main")).to_contain_text("Como chegar ao nível Prata")
        expect(page.locator(".history")).to_contain_text("endereço de internet (IP)")
        when = page.locator(".history time").first
        expect(when).to_have_text(re.compile(r"^\d{2}/\d{2}/\d{4}, \d{2}:\d{2}$"))
        assert when.evaluate("t => t.getClientRects().length") == 1  # one line on a phone
        devices = page.locator(".devices .device")
        expect(devices).to_have_count(3)  # this phone, the Firefox, the registration's app
        expect(devices.filter(has_text="este aparelho")).to_have_count(1)
        expect(devices.filter(has_text="Computador com Windows · Firefox")).to_have_count(1)
        expect(devices.filter(has_text="este aparelho").get_by_role("button")).to_have_count(0)
        # A budget for Minha conta at 360 px: it has since gained the level, banks and Meus dados
        # sections (5,251 px measured with "O que cada nível libera" closed); what only informs
        # opens on demand, so the page does not grow past about eight screens.
        height = page.evaluate("document.documentElement.scrollHeight")
        j.check("conta-com-dois-aparelhos")

        firefox = devices.filter(has_text="Computador com Windows · Firefox")
        firefox.get_by_role("button", name=re.compile("Encerrar")).click()
        page.wait_for_url(re.compile(r"aparelho-encerrado=1"))
        expect(page.get_by_role("status").first).to_contain_text("encerrada")
        expect(page.locator(".devices .device")).to_have_count(2)
        elsewhere.goto(stack.base_url + "/conta")
        elsewhere.wait_for_url(re.compile(r"/entrar"))

        sign_in_elsewhere()
        page.reload()
        page.get_by_role("button", name="Sair de todos os outros").click()
        page.wait_for_url(re.compile(r"outros-encerrados=1"))
        expect(page.get_by_role("status").first).to_contain_text("todos os outros")
        expect(page.locator(".devices .device")).to_have_count(1)
        j.check("conta-so-este-aparelho")
        elsewhere.goto(stack.base_url + "/conta")
        elsewhere.wait_for_url(re.compile(r"/entrar"))
        assert height < 5500, height
    finally:
        other.close()
    j.finish()


# -- 11: the pages in English -------------------------------------------------------------------
# Words of the Portuguese pages that an English page must not show (names of people and of the
# organisation are data, and contain none of them).
PORTUGUESE = re.compile(
    r"\b(senha|entrar|você|não|código|conta|cadastro|carteirinha|atendimento|agência|celular|"
    r"esqueci|olá|aparelho|nível|voltar|enviar|continuar|recuperar|nascimento|histórico|"
    r"segurança|acesso|robô|obrigatório|caracteres|padrão|entrou)\b", re.IGNORECASE)


def portuguese_left(page: Page) -> list[str]:
    text = page.locator("body").inner_text()
    return sorted({m.group(0).lower() for m in PORTUGUESE.finditer(text)})


def test_pages_in_english_have_no_portuguese_left(journey: Journey, stack: Stack):
    """Joaquim chooses English: the journeys' pages, the captcha, the password errors, the
    dates and device names of Minha conta are English."""
    j, page = journey, journey.page
    person = stack.ours["english"]
    stack.register(person)
    page.goto(stack.base_url + "/?lang=en")
    seen: dict[str, list[str]] = {}

    def look(label: str) -> None:
        expect(page.locator("html")).to_have_attribute("lang", "en")
        seen[label] = portuguese_left(page)
        j.check(label, lang="en")

    look("home-en")
    page.goto(stack.base_url + "/cadastro")
    page.get_by_label("Card number").fill(person.card)
    page.get_by_label("CPF", exact=True).fill(person.cpf)
    page.get_by_label("Date of birth").fill(person.birth_br)
    page.get_by_label("Create a password").fill("123456789012345")
    page.get_by_label("Repeat the password").fill("123456789012345")
    press(page, "Register")
    expect(page.locator("#password-error")).to_contain_text("pattern")
    look("registration-errors-en")
    page.goto(stack.base_url + "/esqueci-minha-senha")
    widget = page.locator("altcha-widget")
    expect(widget).to_contain_text("not a robot")
    look("forgot-password-en")
    page.goto(stack.base_url + "/esqueci-minha-senha/dados")
    look("card-data-form-en")
    page.goto(stack.base_url + "/entrar")
    page.get_by_label("CPF, card number or e-mail").fill(person.card)
    page.get_by_label("Password", exact=True).fill(STRONG)
    press(page, "Sign in", r"/conta")
    expect(page.locator(".history time").first).to_have_text(
        re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2} [AP]M$"))
    expect(page.locator(".devices")).to_contain_text(" on ")
    look("account-en")
    left = {label: words for label, words in seen.items() if words}
    assert not left, f"Portuguese words on English pages: {left}"
    j.finish()


# -- 13: /dev/outbox at 360 px ------------------------------------------------------------------
def test_dev_outbox_is_readable_on_a_phone(journey: Journey, stack: Stack):
    j, page = journey, journey.page
    helena = stack.ours["outbox"]
    stack.register(helena)
    page.goto(stack.base_url + "/esqueci-minha-senha")
    page.get_by_label("CPF, número da carteirinha ou e-mail").fill(helena.email)
    solve_captcha(page)
    before = stack.last_message_id(helena.email)
    press(page, "Continuar", r"/metodo")
    choose(page, "E-mail cadastrado")
    press(page, "Enviar código", r"/codigo")
    code = stack.code_for(helena.email, after=before)
    page.goto(stack.base_url + "/dev/outbox?to=" + helena.email)
    card = page.locator(".dev-outbox-card").first
    expect(card).to_be_visible()
    shown = card.locator("[data-code]")
    expect(shown).to_have_text(code)
    size = shown.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    box = shown.bounding_box()
    assert size >= 28 and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (size, box)
    assert shown.evaluate("e => getComputedStyle(e).userSelect") == "all"  # one tap selects it
    j.check("caixa-de-saida")
    j.finish()
