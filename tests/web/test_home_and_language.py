"""The home page (three doors, support number), the page skeleton and the language switch."""

from __future__ import annotations

import re

from tests.web.html import find, find_all, squash


async def test_home_has_the_three_doors_with_their_plain_explanations(client):
    response = await client.get("/")
    assert response.status_code == 200
    doors = find_all(response.text, "a", class_="door")
    assert [(d["href"], squash(d.text)) for d in doors] == [
        ("/entrar", "Entrar Já tenho cadastro"),
        ("/cadastro", "Cadastro Primeiro acesso"),
        ("/esqueci-minha-senha", "Esqueci minha senha Não lembro minha senha"),
    ]


async def test_support_number_is_prominent_and_callable(client, runtime):
    phone = runtime.settings.support_phone
    digits = re.sub(r"[^0-9+]", "", phone)
    response = await client.get("/")
    help_box = find(response.text, "div", class_="support-call")
    assert squash(help_box.text) == f"Precisa de ajuda? Ligue para {phone}"
    footer_links = find_all(response.text, "a", href=f"tel:{digits}")
    assert len(footer_links) == 2  # on the page and in the footer
    footer = find(response.text, "p", class_="footer-support")
    assert squash(footer.text) == f"Central de atendimento: {phone}"


async def test_skeleton_landmarks_skip_link_and_organisation(client, runtime):
    settings = runtime.settings
    html = (await client.get("/")).text
    assert '<html lang="pt-BR">' in html
    assert find(html, "a", href="#main").text.strip() == "Ir para o conteúdo"
    assert find(html, "main")["id"] == "main"
    assert len(find_all(html, "header")) == 1 and len(find_all(html, "footer")) == 1
    home = find(html, "a", class_="header-home")
    assert home["href"] == "/" and settings.organisation_name in home.text
    assert find(html, "img", src=settings.organisation_logo)["alt"] == ""
    assert find(html, "title").text == f"Início · {settings.organisation_name}"
    # Signed out: no account links, no sign-out form.
    assert not find_all(html, "a", href="/conta") and not find_all(html, "form", action="/sair")


async def test_language_switch_links_name_each_language_in_itself(client):
    html = (await client.get("/")).text
    nav = find(html, "nav", class_="language-switch")
    links = [child for item in nav.children[-1].children for child in item.children]
    assert [(a["hreflang"], a["lang"], a.text, a["href"]) for a in links] == [
        ("pt-BR", "pt-BR", "Português", "/?lang=pt-BR"),
        ("en", "en", "English", "/?lang=en"),
        ("es", "es", "Español", "/?lang=es"),
    ]
    assert [a.get("aria-current") for a in links] == ["true", None, None]


async def test_language_switch_keeps_the_other_query_parameters(client):
    html = (await client.get("/?next=/conta&lang=es")).text
    hrefs = [a["href"] for a in find_all(html, "a", hreflang="en")]
    assert hrefs == ["/?next=%2Fconta&lang=en"]


async def test_english_with_lang_parameter_and_remembered_in_a_cookie(client):
    response = await client.get("/?lang=en")
    assert '<html lang="en">' in response.text
    assert "I forgot my password" in response.text and "Esqueci minha senha" not in response.text
    assert "Need help? Call" in response.text
    assert response.cookies.get("guarita_lang") == "en"
    # Next visit, no parameter: the cookie keeps English.
    again = await client.get("/")
    assert '<html lang="en">' in again.text and "Sign in" in again.text
    english = find(again.text, "a", hreflang="en")
    assert english.get("aria-current") == "true"
    # Back to Portuguese through the switch.
    back = await client.get("/?lang=pt-BR")
    assert '<html lang="pt-BR">' in back.text and back.cookies.get("guarita_lang") == "pt_BR"
    assert '<html lang="pt-BR">' in (await client.get("/")).text


async def test_spanish_from_accept_language(client):
    response = await client.get("/", headers={"Accept-Language": "es-AR,es;q=0.9,en;q=0.5"})
    assert '<html lang="es">' in response.text
    assert "Olvidé mi contraseña" in response.text and "Ingresar" in response.text
    assert "guarita_lang" not in response.cookies  # only an explicit choice is remembered


async def test_pt_br_is_the_default_and_unknown_languages_fall_back_to_it(client):
    for headers in ({}, {"Accept-Language": "de-DE,fr;q=0.8"}, {"Accept-Language": "en;q=0"}):
        response = await client.get("/", headers=headers)
        assert '<html lang="pt-BR">' in response.text, headers
        assert "Esqueci minha senha" in response.text
    assert '<html lang="pt-BR">' in (await client.get("/?lang=xx")).text


async def test_error_page_is_translated_and_keeps_the_envelope_for_json(client):
    page = await client.get("/nao-existe?lang=en", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "Page not found" in page.text and "Page or resource not found." in page.text
    assert find(page.text, "h1").text == "Page not found"
    pt = await client.get("/nao-existe?lang=pt-BR", headers={"Accept": "text/html"})
    assert "Página ou recurso não encontrado." in pt.text and "Central de atendimento" in pt.text


async def test_pages_need_no_inline_script_or_style_and_load_nothing_from_elsewhere(client):
    for path in ("/", "/?lang=en", "/nao-existe"):
        html = (await client.get(path, headers={"Accept": "text/html"})).text
        assert "<style" not in html and " style=" not in html, path
        for script in find_all(html, "script"):
            assert script.get("src", "").startswith("/static/") and not script.text.strip(), path
        for tag, attr in (("link", "href"), ("script", "src"), ("img", "src")):
            for element in find_all(html, tag):
                assert element[attr].startswith("/static/"), (path, element.attrs)
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers
