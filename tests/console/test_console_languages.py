"""The support console follows the chosen language like the people's pages (docs/pages-and-i18n.md):
every page of the desk, asked in English, shows no Portuguese word of its own (names, e-mail
addresses and the organisation's name are data), its dates in the English pattern, and the
labels that come from Python (states, reasons, history, charts) translated too."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.console.helpers import caller_data, person, post, quick_staff, session_client

# Words of the console's Portuguese pages that an English page must not show.
PORTUGUESE = re.compile(
    r"\b(senha|entrar|entrou|você|não|código|conta|cadastro|carteirinha|atendimento|celular|"
    r"olá|aparelho|nível|voltar|enviar|buscar|busca|pessoa|motivo|conferir|confere|desbloquear|"
    r"mensagens?|nenhum|nenhuma|painel|equipe|ações|recuperação|tentativas|situação|escolha|"
    r"obrigatório|histórico|acessos?|dados|quando|sim|até)\b",
    re.IGNORECASE,
)
DATA = re.compile(r"[\w.+-]+@[\w.-]+|Maria José da Conceição|Pessoa Admin")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):  # noqa: ANN001, ANN201
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):  # noqa: ANN001, ANN201
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):  # noqa: ANN001, ANN201
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return DATA.sub(" ", " ".join(parser.parts))


def portuguese_left(html: str, organisation: str) -> list[str]:
    text = visible_text(html).replace(organisation, " ")
    return sorted({m.group(0).lower() for m in PORTUGUESE.finditer(text)})


async def test_every_console_page_in_english_has_no_portuguese_left(app, runtime):
    b = await person(runtime)
    admin = await quick_staff(runtime, "admin")
    organisation = runtime.settings.organisation_name
    async with await session_client(app, runtime, admin) as browser:
        first = await browser.get("/atendimento?lang=en")
        assert first.status_code == 200 and '<html lang="en"' in first.text
        pages = {"search": first}
        pages["masked person"] = await browser.get(f"/atendimento/pessoas/{b.id}")
        pages["person"] = await post(browser, f"/atendimento/pessoas/{b.id}/conferencia",
                                     caller_data(b), page=f"/atendimento/pessoas/{b.id}")
        pages["unlocked"] = await browser.get(
            (await post(browser, f"/atendimento/pessoas/{b.id}/desbloqueio",
                        {"reason": "bloqueio", "reason_text": ""},
                        page=f"/atendimento/pessoas/{b.id}")).headers["location"])
        pages["results"] = await browser.get(f"/atendimento?q={b.cpf}&reason=contato")
        for path in ("/atendimento/painel", "/atendimento/equipe", "/atendimento/tokens"):
            pages[path] = await browser.get(path)
    async with await session_client(app, runtime, None) as anonymous:
        pages["sign-in"] = await anonymous.get("/atendimento/entrar?lang=en")
    left = {}
    for name, page in pages.items():
        assert page.status_code == 200, (name, page.status_code)
        assert '<html lang="en"' in page.text, name
        words = portuguese_left(page.text, organisation)
        if words:
            left[name] = words
    assert not left, f"Portuguese words on English console pages: {left}"
    # Labels drawn in Python: the account state, the history, the charts' descriptions.
    assert "Active" in pages["person"].text and "Helpline: data check" in pages["unlocked"].text
    assert "Sign-ins" in pages["/atendimento/painel"].text
    assert re.search(r"From \d{2}/\d{2} to \d{2}/\d{2}\.", pages["/atendimento/painel"].text)
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2} [AP]M",
                     pages["person"].text)  # "Identity checked until Nov 25, 2026, 9:12 AM"


async def test_the_console_in_spanish_and_portuguese(app, runtime):
    admin = await quick_staff(runtime, "admin")
    async with await session_client(app, runtime, admin) as browser:
        spanish = await browser.get("/atendimento?lang=es")
        assert '<html lang="es"' in spanish.text and "Buscar persona" in spanish.text
        assert "Motivo de la llamada" in spanish.text
        portuguese = await browser.get("/atendimento?lang=pt-BR")
        assert '<html lang="pt-BR"' in portuguese.text and "Motivo da ligação" in portuguese.text
        # The word list does find the Portuguese page (the English test is not vacuous).
        assert {"buscar", "motivo", "atendimento"} <= set(
            portuguese_left(portuguese.text, runtime.settings.organisation_name))
