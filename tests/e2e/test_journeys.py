"""What a beneficiary does, in a real Chromium against a real server (docs/recovery.md).

Each journey is a person of the demo registry or of our own (tests/e2e/stack.py), clicks and
types what they would, and passes :meth:`Journey.check` on every page (screenshots at 360 and
1280 px, axe, labels, lang, 200 % text).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import Journey
from tests.e2e.stack import Stack
from tests.support.factories import STRONG

pytestmark = [pytest.mark.e2e, pytest.mark.journey]

NEW = "minha horta tem couve e alface"


# -- small things people do --------------------------------------------------------------------
def solve_captcha(page: Page, tick=None) -> None:  # noqa: ANN001
    """Ticks "Eu não sou um robô" (the ALTCHA widget) and waits for the proof of work; the
    failure quotes what the widget said in the console. ``tick``: another way to tick it (the
    keyboard test presses Space)."""
    said: list[str] = []

    def listen(message) -> None:  # noqa: ANN001
        said.append(message.text[:300])

    page.on("console", listen)
    try:
        widget = page.locator("altcha-widget")
        if tick is None:
            widget.get_by_text(re.compile("não sou um robô", re.I)).click()
        else:
            tick()
        done = widget.locator(".altcha[data-state=verified], .altcha[data-state=error]")
        done.wait_for(state="attached", timeout=30_000)
        state = widget.locator(".altcha").get_attribute("data-state")
    finally:
        page.remove_listener("console", listen)
    assert state == "verified", (
        f"o captcha não foi resolvido no navegador (estado {state!r}); o widget disse: {said}"
    )


def press(page: Page, button: str, expected_url: str | None = None) -> None:
    """Presses a form's button and waits for the next page; if it is not the expected one,
    the failure shows what the page said."""
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()
    if expected_url is not None and not re.search(expected_url, page.url):
        raise AssertionError(f"esperava {expected_url}, está em {page.url}: "
                             + page.locator("main").inner_text()[:600])


def choose(page: Page, words: str) -> None:
    """Ticks a gov.br radio or checkbox the way people do: by clicking its words (the design
    system draws its own box over the input)."""
    page.locator("label", has_text=words).click()
    expect(page.get_by_label(words)).to_be_checked()


def sign_in(j: Journey, stack: Stack, identifier: str, password: str, label: str) -> None:
    page = j.page
    page.goto(stack.base_url + "/entrar")
    page.get_by_label("CPF, número da carteirinha ou e-mail").fill(identifier)
    page.get_by_label("Senha", exact=True).fill(password)
    press(page, "Entrar", r"/conta")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Olá")
    j.check(label)


def sign_out(j: Journey, label: str = "saiu") -> None:
    page = j.page
    page.locator("main").get_by_role("button", name="Sair", exact=True).click()
    page.wait_for_url(re.compile(r"/entrar\?saiu=1"))
    expect(page.get_by_role("status")).to_contain_text("Você saiu")
    j.check(label)


def new_password(j: Journey, password: str, label: str = "nova-senha") -> None:
    page = j.page
    expect(page.get_by_role("heading", level=1)).to_have_text("Crie uma nova senha")
    j.check(label)
    page.get_by_label("Nova senha", exact=True).fill(password)
    page.get_by_label("Repita a nova senha").fill(password)
    press(page, "Salvar nova senha", r"/concluido")
    expect(page.get_by_role("heading", level=1)).to_have_text("Senha alterada")
    j.check("senha-alterada")
    page.get_by_role("link", name="Concluir").click()
    page.wait_for_url(re.compile(r"/entrar"))


def enter_code(j: Journey, code: str) -> None:
    page = j.page
    page.get_by_label("Código de 6 números").fill(code)
    press(page, "Confirmar código", r"/nova-senha")


# -- Cadastro -------------------------------------------------------------------------------------
def test_registration(journey: Journey, stack: Stack):
    """Raimunda (demo) finds Cadastro on the home page, first mistypes her password, then
    registers and lands signed in on Minha conta; then signs out."""
    j, page = journey, journey.page
    raimunda = stack.demo["200100076"]
    page.goto(stack.base_url + "/")
    j.check("inicio")
    page.get_by_role("link", name=re.compile("Cadastro")).click()
    page.wait_for_url(re.compile(r"/cadastro$"))
    j.check("cadastro")

    page.get_by_label("Número da carteirinha").fill(raimunda.card)
    page.get_by_label("CPF", exact=False).first.fill(raimunda.cpf_dotted)
    page.get_by_label("Data de nascimento").fill(raimunda.birth_br)
    page.get_by_label("Crie uma senha").fill("curta")
    page.get_by_label("Repita a senha").fill("curta")
    press(page, "Criar cadastro")
    summary = page.locator("[data-error-summary]")
    expect(summary).to_contain_text("pelo menos 15 caracteres")
    # The card, CPF and date typed stay; only the passwords must be typed again.
    expect(page.get_by_label("Número da carteirinha")).to_have_value(raimunda.card)
    j.check("cadastro-senha-curta")

    page.get_by_label("Crie uma senha").fill(STRONG)
    page.get_by_label("Repita a senha").fill(STRONG)
    solve_captcha(page)  # the registration asks "não sou um robô" as recovery does
    press(page, "Criar cadastro", r"/conta\?bem-vindo=1")
    expect(page.get_by_role("status").first).to_contain_text("Cadastro feito")
    expect(page.get_by_role("heading", level=1)).to_have_text("Olá, Raimunda")
    j.check("conta-bem-vindo")
    sign_out(j)
    j.finish()


def test_registration_without_cpf(journey: Journey, stack: Stack):
    """José (demo) has no CPF: he ticks "Não possui CPF"."""
    j, page = journey, journey.page
    jose = stack.demo["200100025"]
    page.goto(stack.base_url + "/cadastro")
    page.get_by_label("Número da carteirinha").fill(jose.card)
    choose(page, "Não possui CPF")
    page.get_by_label("Data de nascimento").fill(jose.birth_br)
    page.get_by_label("Crie uma senha").fill(STRONG)
    page.get_by_label("Repita a senha").fill(STRONG)
    solve_captcha(page)
    j.check("cadastro-preenchido")
    press(page, "Criar cadastro", r"/conta\?bem-vindo=1")
    expect(page.locator("main")).to_contain_text("não possui")
    j.check("conta-bem-vindo")
    j.finish()


# -- Entrar ---------------------------------------------------------------------------------------
def test_sign_in_with_card_cpf_and_email(journey: Journey, stack: Stack):
    """Maria (demo) signs in with her card number, then her CPF typed with dots, then her
    e-mail, signing out in between."""
    j = journey
    maria = stack.demo["200100017"]
    stack.register(maria)
    j.page.goto(stack.base_url + "/entrar")
    j.check("entrar")
    sign_in(j, stack, maria.card, STRONG, "conta-pela-carteirinha")
    sign_out(j, "saiu-1")
    sign_in(j, stack, maria.cpf_dotted, STRONG, "conta-pelo-cpf")
    sign_out(j, "saiu-2")
    sign_in(j, stack, maria.email.upper(), STRONG, "conta-pelo-email")
    # The account page lists this sign-in among the last ones.
    expect(j.page.locator(".history")).to_contain_text("Entrou")
    sign_out(j, "saiu-3")
    j.finish()


def test_lockout_message(journey: Journey, stack: Stack):
    """After five wrong passwords the sixth try says to wait or use Esqueci minha senha."""
    j, page = journey, journey.page
    person = stack.ours["lockout"]
    stack.register(person)
    page.goto(stack.base_url + "/entrar")
    for attempt in range(6):
        page.get_by_label("CPF, número da carteirinha ou e-mail").fill(person.card)
        page.get_by_label("Senha", exact=True).fill(f"não é esta a senha número {attempt}")
        press(page, "Entrar")
        if attempt == 0:
            expect(page.get_by_role("alert").first).to_be_visible()
            j.check("senha-errada")
    alert = page.get_by_role("alert").first
    expect(alert).to_contain_text("Muitas tentativas")
    expect(alert).to_contain_text("Esqueci minha senha")
    j.check("muitas-tentativas")
    # Even the right password waits now: the lockout holds.
    page.get_by_label("Senha", exact=True).fill(STRONG)
    press(page, "Entrar")
    expect(page.get_by_role("alert").first).to_contain_text("Muitas tentativas")
    j.finish()


# -- Esqueci minha senha --------------------------------------------------------------------------
def test_recovery_by_email_opens_cpf_sign_in_for_a_legacy_account(journey: Journey, stack: Stack):
    """Sebastião (demo, old-portal account) is told to recover before using his CPF; he
    recovers by e-mail, and then signs in with his CPF."""
    j, page = journey, journey.page
    sebastiao = stack.demo["200100041"]
    from guarita.services.demo import DEMO_LEGACY_PASSWORD

    page.goto(stack.base_url + "/entrar")
    page.get_by_label("CPF, número da carteirinha ou e-mail").fill(sebastiao.cpf)
    page.get_by_label("Senha", exact=True).fill(DEMO_LEGACY_PASSWORD)
    press(page, "Entrar")
    expect(page.get_by_role("alert").first).to_contain_text("Esqueci minha senha")
    j.check("cpf-ainda-nao-vale")

    page.get_by_role("link", name="Esqueci minha senha", exact=True).click()
    page.wait_for_url(re.compile(r"/esqueci-minha-senha$"))
    j.check("esqueci-minha-senha")
    page.get_by_label("CPF, número da carteirinha ou e-mail").fill(sebastiao.cpf_dotted)
    solve_captcha(page)
    before = stack.last_message_id(sebastiao.email)
    press(page, "Continuar", r"/metodo")
    j.check("metodo")
    choose(page, "E-mail cadastrado")
    press(page, "Enviar código", r"/codigo")
    j.check("codigo")
    enter_code(j, stack.code_for(sebastiao.email, after=before))
    new_password(j, NEW)
    sign_in(j, stack, sebastiao.cpf, NEW, "conta-pelo-cpf")
    # The refused CPF sign-in had the right password: the history says so, not "Senha errada".
    history = page.locator(".history")
    expect(history).to_contain_text("Entrada com CPF ainda não liberada")
    expect(history).not_to_contain_text("Senha errada")
    # Every way in is open now: nothing left to "liberar".
    expect(page.locator("#como-entrar").locator("..")).not_to_contain_text("ainda não liberado")
    j.finish()


def test_recovery_by_sms_then_not_me_link(journey: Journey, stack: Stack):
    """Luzia (demo, phone only) recovers by SMS and signs in with her CPF; the "Não foi você?"
    link sent to her phone then locks the account."""
    j, page = journey, journey.page
    luzia = stack.demo["200100050"]
    page.goto(stack.base_url + "/esqueci-minha-senha")
    page.get_by_label("CPF, número da carteirinha ou e-mail").fill(luzia.card)
    solve_captcha(page)
    j.check("identificacao-com-captcha")
    before = stack.last_message_id(luzia.phone_e164)
    press(page, "Continuar", r"/metodo")
    choose(page, "SMS para o celular cadastrado")
    j.check("metodo-sms")
    press(page, "Enviar código", r"/codigo")

    # A wrong code first: the error is tied to the field and says how many tries are left.
    page.get_by_label("Código de 6 números").fill("000000")
    press(page, "Confirmar código")
    expect(page.locator("#code-error")).to_be_visible()
    j.check("codigo-errado")
    enter_code(j, stack.code_for(luzia.phone_e164, after=before))
    new_password(j, NEW)
    # She typed her card number; the recovery opens her CPF too (the registry ties both to her).
    sign_in(j, stack, luzia.cpf, NEW, "conta-pelo-cpf")

    notice = next(m for m in stack.messages(luzia.phone_e164) if "/nao-fui-eu" in (m["text"] or ""))
    link = re.search(r"https?://\S+/nao-fui-eu\?token=[\w\-]+", notice["text"]).group(0)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Não foi você?")
    j.check("nao-fui-eu")
    press(page, "Bloquear minha conta")
    expect(page.get_by_role("status").first).to_contain_text("bloqueada")
    j.check("conta-bloqueada")
    j.finish()


def test_health_plan_data_form(journey: Journey, stack: Stack):
    """Geralda uses "Recuperar com os dados da carteirinha": card, CPF and birth date; the code
    goes to her e-mail (the default, SECURITY.md › Recovery)."""
    j, page = journey, journey.page
    geralda = stack.ours["kba"]
    stack.register(geralda)
    page.goto(stack.base_url + "/esqueci-minha-senha")
    page.get_by_role("link", name="Recuperar com os dados da carteirinha").click()
    page.wait_for_url(re.compile(r"/dados$"))
    j.check("dados")
    page.get_by_label("Número da carteirinha ou e-mail").fill(geralda.card)
    page.get_by_label("CPF", exact=True).fill(geralda.cpf)
    page.get_by_label("Data de nascimento").fill(geralda.birth_br)
    solve_captcha(page)
    before = stack.last_message_id(geralda.email)
    press(page, "Continuar", r"/codigo")
    j.check("codigo")
    enter_code(j, stack.code_for(geralda.email, after=before))
    new_password(j, NEW)
    sign_in(j, stack, geralda.email, NEW, "conta")
    j.finish()


# -- Minha conta ----------------------------------------------------------------------------------
def test_change_password(journey: Journey, stack: Stack):
    """Francisca changes her password on Minha conta, signs out and signs in with the new one."""
    j, page = journey, journey.page
    francisca = stack.ours["password"]
    stack.register(francisca)
    sign_in(j, stack, francisca.card, STRONG, "conta")
    page.get_by_label("Senha atual").fill("não lembro direito qual era")
    page.get_by_label("Nova senha", exact=True).fill(NEW)
    page.get_by_label("Repita a nova senha").fill(NEW)
    press(page, "Trocar senha")
    expect(page.locator("#current_password-error")).to_be_visible()
    j.check("senha-atual-errada")
    page.get_by_label("Senha atual").fill(STRONG)
    page.get_by_label("Nova senha", exact=True).fill(NEW)
    page.get_by_label("Repita a nova senha").fill(NEW)
    press(page, "Trocar senha", r"senha-alterada=1")
    expect(page.get_by_role("status").first).to_contain_text("Senha alterada")
    j.check("senha-alterada")
    sign_out(j)
    sign_in(j, stack, francisca.card, NEW, "conta-com-a-nova-senha")
    j.finish()
