"""Cadastro, Entrar, Minha conta and Sair as a browser uses them (server side; the real browser
journeys are in tests/e2e)."""

from __future__ import annotations

import re

from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary
from tests.support.html import csrf_of, submit

NEW = "outra frase nova para a conta"


async def test_register_on_the_page_lands_signed_in_on_conta(client, runtime):
    b = await add_beneficiary(runtime)
    response = await submit(client, "/cadastro", {
        "card_number": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.strftime("%d/%m/%Y"),
        "password": STRONG, "password_confirmation": STRONG, "captcha": solve(runtime.settings)})
    assert response.status_code == 303 and response.headers["location"].startswith("/conta")
    assert "guarita_session" in response.cookies
    session_cookie = response.headers["set-cookie"]
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    page = await client.get("/conta")
    assert page.status_code == 200 and "Maria" in page.text and b.card_number in page.text
    assert b.cpf not in page.text  # only the masked CPF


async def test_registration_errors_are_next_to_the_fields(client, runtime):
    response = await submit(client, "/cadastro", {"card_number": "12", "cpf": "123", "birth_date": "x",
                                                   "password": "a", "password_confirmation": "b"})
    assert response.status_code == 422
    html = response.text
    for field in ("card_number", "cpf", "birth_date", "password", "password_confirmation"):
        assert f'id="{field}-error"' in html, field
        assert re.search(rf'aria-describedby="[^"]*{field}-error', html), field
    assert 'value="12"' in html  # what was typed is kept (but never the password)
    assert "Corrija" in html


async def test_sign_in_by_cpf_then_sign_out(client, runtime):
    b = await add_beneficiary(runtime)
    await submit(client, "/cadastro", {"card_number": b.card_number, "cpf": b.cpf,
                                       "birth_date": b.birth_date.isoformat(), "password": STRONG,
                                       "password_confirmation": STRONG, "captcha": solve(runtime.settings)})
    conta = await client.get("/conta")
    out = await client.post("/sair", data={"csrf_token": csrf_of(conta.text)})
    assert out.status_code == 303
    assert (await client.get("/conta")).headers.get("location", "").startswith("/entrar")
    signed = await submit(client, "/entrar?next=/conta", {"identifier": b.cpf, "password": STRONG, "next": "/conta"})
    assert signed.status_code == 303 and signed.headers["location"] == "/conta"


async def test_wrong_password_and_wait_message_on_the_page(client, runtime):
    b = await add_beneficiary(runtime)
    await submit(client, "/cadastro", {"card_number": b.card_number, "cpf": b.cpf,
                                       "birth_date": b.birth_date.isoformat(), "password": STRONG,
                                       "password_confirmation": STRONG, "captcha": solve(runtime.settings)})
    client.cookies.clear()
    for _ in range(5):
        wrong = await submit(client, "/entrar", {"identifier": b.card_number, "password": "errada errada errada"})
        assert wrong.status_code == 401 and "Identificação ou senha incorretas." in wrong.text
    waiting = await submit(client, "/entrar", {"identifier": b.card_number, "password": STRONG})
    assert waiting.status_code == 429
    assert "Muitas tentativas. Tente de novo em 1 minuto ou use &#39;Esqueci minha senha&#39;." in waiting.text


async def test_next_cannot_redirect_elsewhere(client, runtime):
    b = await add_beneficiary(runtime)
    await client.post("/api/v1/registrations", json={"card_number": b.card_number, "cpf": b.cpf,
                      "birth_date": b.birth_date.isoformat(), "password": STRONG, "password_confirmation": STRONG,
                      "captcha": solve(runtime.settings)})
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        client.cookies.clear()
        response = await submit(client, "/entrar", {"identifier": b.card_number, "password": STRONG, "next": evil})
        assert response.headers["location"] == "/conta", evil


async def test_change_password_on_the_page(client, runtime):
    b = await add_beneficiary(runtime)
    await submit(client, "/cadastro", {"card_number": b.card_number, "cpf": b.cpf,
                                       "birth_date": b.birth_date.isoformat(), "password": STRONG,
                                       "password_confirmation": STRONG, "captcha": solve(runtime.settings)})
    wrong = await submit(client, "/conta", {"current_password": "errada errada errada", "password": NEW,
                                            "password_confirmation": NEW}, action="/conta/senha")
    assert wrong.status_code == 401 and 'id="current_password-error"' in wrong.text
    ok = await submit(client, "/conta", {"current_password": STRONG, "password": NEW,
                                         "password_confirmation": NEW}, action="/conta/senha")
    assert ok.status_code == 303
    assert "Senha alterada" in (await client.get(ok.headers["location"])).text


async def test_csrf_refused_without_or_with_a_wrong_token(client, runtime):
    await client.get("/entrar")  # gets the CSRF cookie
    for data in ({"identifier": "x", "password": "y"}, {"identifier": "x", "password": "y", "csrf_token": "forjado"}):
        response = await client.post("/entrar", data=data)
        assert response.status_code == 403 and "A página expirou" in response.text


async def test_logout_by_get_changes_nothing(client, runtime):
    b = await add_beneficiary(runtime)
    await submit(client, "/cadastro", {"card_number": b.card_number, "cpf": b.cpf,
                                       "birth_date": b.birth_date.isoformat(), "password": STRONG,
                                       "password_confirmation": STRONG, "captcha": solve(runtime.settings)})
    assert (await client.get("/sair")).status_code == 200
    assert (await client.get("/conta")).status_code == 200


async def test_a_weak_password_is_explained_once_and_in_the_chosen_language(client, runtime):
    """Each reason is one catalogue sentence, so an English page says it in English."""
    b = await add_beneficiary(runtime)
    fields = {"card_number": b.card_number, "cpf": b.cpf,
              "birth_date": b.birth_date.strftime("%d/%m/%Y"),
              "password": "123456789012345", "password_confirmation": "123456789012345"}
    page = await submit(client, "/cadastro", fields)
    assert page.status_code == 422 and "padrão fácil de adivinhar" in page.text
    short = await submit(client, "/cadastro", {**fields, "password": "curta",
                                               "password_confirmation": "curta"})
    # The error says the length once (it used to say "pelo menos 15 caracteres" twice).
    shown = re.findall(r'<li><a href="#password">(.*?)</a></li>', short.text)
    assert shown and shown[0].count("pelo menos") == 1, shown
    english = await submit(client, "/cadastro?lang=en", fields)
    assert "follows a pattern that is easy to guess" in english.text
    assert "padrão" not in english.text
    spanish = await submit(client, "/cadastro?lang=es", {**fields, "password": "curta",
                                                         "password_confirmation": "curta"})
    assert "necesita al menos 15 caracteres" in spanish.text
