"""Accessibility beyond axe (docs/testing.md): sign-in and recovery with the keyboard alone (Tab, Space,
Enter and typing), a visible focus on everything Tab reaches, and errors tied to their field
(``aria-describedby``) and announced (``role="alert"``)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import Journey
from tests.e2e.stack import Stack
from tests.e2e.test_journeys import NEW, press, solve_captcha
from tests.support.factories import STRONG

pytestmark = [pytest.mark.e2e]

# What the element Tab reached looks like: a focus ring people can see (WCAG 2.4.7).
_FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {tag: 'body', visible: false};
  const s = getComputedStyle(el);
  const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
               || s.boxShadow !== 'none';
  return {tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name'),
          text: (el.innerText || el.value || '').slice(0, 40), visible: ring,
          type: el.getAttribute('type')};
}"""


class Keyboard:
    """Only Tab, Shift+Tab, Space, Enter and typed text; remembers every focus it saw."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.unringed: list[str] = []

    def tab_to(self, selector: str, limit: int = 40) -> None:
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            focus = self.page.evaluate(_FOCUS)
            if not focus["visible"] and focus["tag"] != "body":
                self.unringed.append(f"{self.page.url} {focus}")
            if self.page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
                return
        raise AssertionError(f"Tab não chegou a {selector} em {limit} toques em {self.page.url}")

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def enter(self) -> None:
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")

    def space(self, navigates: bool = False) -> None:
        if navigates:
            with self.page.expect_navigation():
                self.page.keyboard.press("Space")
        else:
            self.page.keyboard.press("Space")


def test_sign_in_and_out_with_the_keyboard_only(journey: Journey, stack: Stack):
    j, page = journey, journey.page
    person = stack.ours["keyboard_login"]
    stack.register(person)
    keys = Keyboard(page)
    page.goto(stack.base_url + "/entrar")
    keys.tab_to("#identifier")
    keys.type(person.cpf)
    keys.tab_to("#password")
    keys.type(STRONG)
    keys.enter()  # Enter in a field submits its form
    expect(page).to_have_url(re.compile(r"/conta"))
    j.check("conta")
    keys.tab_to("main form[action='/sair'] button")
    keys.space(navigates=True)
    expect(page).to_have_url(re.compile(r"/entrar\?saiu=1"))
    assert not keys.unringed, "foco sem contorno visível:\n" + "\n".join(keys.unringed)
    j.finish()


def test_recovery_with_the_keyboard_only(journey: Journey, stack: Stack):
    j, page = journey, journey.page
    person = stack.ours["keyboard_recovery"]
    stack.register(person)
    keys = Keyboard(page)
    page.goto(stack.base_url + "/entrar")
    keys.tab_to("a[href='/esqueci-minha-senha']")
    keys.enter()
    keys.tab_to("#identifier")
    keys.type(person.email)
    keys.tab_to("altcha-widget input[type=checkbox]")
    solve_captcha(page, tick=keys.space)  # Space ticks "Eu não sou um robô"
    before = stack.last_message_id(person.email)
    keys.tab_to("main form button[type=submit]")
    keys.enter()
    expect(page).to_have_url(re.compile(r"/metodo"))
    # The first option (e-mail) comes chosen; Tab goes to the group, then to the button.
    keys.tab_to("main form button[type=submit]")
    keys.enter()
    expect(page).to_have_url(re.compile(r"/codigo"))
    keys.tab_to("#code")
    keys.type(stack.code_for(person.email, after=before))
    keys.enter()
    expect(page).to_have_url(re.compile(r"/nova-senha"))
    keys.tab_to("#password")
    keys.type(NEW)
    keys.tab_to("#password_confirmation")
    keys.type(NEW)
    keys.enter()
    expect(page).to_have_url(re.compile(r"/concluido"))
    keys.tab_to("main a[href^='/entrar']")
    keys.enter()
    # Entrar comes with the identifier this browser typed in the recovery already filled in.
    expect(page.locator("#identifier")).to_have_value(person.email)
    keys.tab_to("#password")
    keys.type(NEW)
    keys.enter()
    expect(page).to_have_url(re.compile(r"/conta"))
    assert not keys.unringed, "foco sem contorno visível:\n" + "\n".join(keys.unringed)
    j.finish()


# -- errors: tied to their field and announced ---------------------------------------------------
_TIED = """() => {
  const found = {invalid: 0, problems: []};
  const say = (field, problem) => found.problems.push((field.id || field.name) + ': ' + problem);
  for (const field of document.querySelectorAll('[aria-invalid="true"]')) {
    found.invalid += 1;
    const ids = (field.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
    const described = ids.map((id) => document.getElementById(id)).filter(Boolean);
    if (!described.length) { say(field, 'sem aria-describedby'); continue; }
    const alert = described.find((el) => el.closest('[role="alert"]'));
    if (!alert) { say(field, 'a mensagem não tem role=alert'); continue; }
    const r = alert.getBoundingClientRect();
    if (!alert.innerText.trim() || r.width < 1 || r.height < 1) {
      say(field, 'mensagem vazia ou invisível');
    }
  }
  const summary = document.querySelector('[data-error-summary]');
  if (summary) {
    if (summary.getAttribute('role') !== 'alert') {
      found.problems.push('resumo de erros sem role=alert');
    }
    for (const link of summary.querySelectorAll('a[href^="#"]')) {
      const target = link.getAttribute('href');
      if (!document.getElementById(target.slice(1))) {
        found.problems.push('link do resumo para campo inexistente: ' + target);
      }
    }
  }
  return found;
}"""

FORMS = [
    ("entrar", "/entrar", "Entrar", {}),
    ("cadastro", "/cadastro", "Criar cadastro", {"#card_number": "12"}),
    ("esqueci-minha-senha", "/esqueci-minha-senha", "Continuar", {}),
    ("dados", "/esqueci-minha-senha/dados", "Continuar", {"#cpf": "111.111.111-11"}),
]


@pytest.mark.parametrize(("label", "path", "button", "typed"), FORMS, ids=[f[0] for f in FORMS])
def test_errors_are_tied_to_their_fields_and_announced(journey: Journey, stack: Stack, label, path,
                                                       button, typed):
    j, page = journey, journey.page
    page.goto(stack.base_url + path)
    for selector, value in typed.items():
        page.locator(selector).fill(value)
    press(page, button)
    tied = page.evaluate(_TIED)
    alerts = page.get_by_role("alert")
    assert alerts.count() >= 1, "nenhuma mensagem anunciada (role=alert)"
    assert tied["invalid"] >= 1, page.locator("main").inner_text()[:500]
    assert not tied["problems"], tied["problems"]
    # The error summary takes focus, so screen readers read it first.
    if page.locator("[data-error-summary]").count():
        expect(page.locator("[data-error-summary]")).to_be_focused()
    j.check(f"{label}-com-erros")
    j.finish()


def test_code_page_errors_are_tied_and_announced(journey: Journey, stack: Stack):
    """The code step, reached through the API (its own journey tests the pages before it)."""
    j, page = journey, journey.page
    person = stack.ours["errors"]
    stack.register(person)
    page.goto(stack.base_url + "/esqueci-minha-senha")
    page.get_by_label("CPF, número da carteirinha ou e-mail").fill(person.card)
    solve_captcha(page)
    press(page, "Continuar", r"/metodo")
    press(page, "Enviar código", r"/codigo")
    page.get_by_label("Código de 6 números").fill("12")
    press(page, "Confirmar código")
    tied = page.evaluate(_TIED)
    assert tied["invalid"] == 1 and not tied["problems"], tied
    j.check("codigo-com-erro")
    j.finish()
