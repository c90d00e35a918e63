"""Esqueci minha senha page by page, as a browser submits it."""

from __future__ import annotations

import re
from urllib.parse import unquote

from sqlalchemy import select

from guarita.storage.tables import OutboxMessage
from tests.recovery.test_recovery_service import last_code
from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary
from tests.support.html import csrf_of, submit

NEW = "outra frase nova para a conta"


async def registered(client, runtime, **kw):  # noqa: ANN001, ANN003
    b = await add_beneficiary(runtime, **kw)
    response = await client.post("/api/v1/registrations", json={
        "card_number": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.isoformat(),
        "password": STRONG, "password_confirmation": STRONG, "captcha": solve(runtime.settings)})
    assert response.status_code == 201
    return b


async def test_every_step_with_back_links_and_done_page(client, runtime):
    b = await registered(client, runtime)
    first = await client.get("/esqueci-minha-senha")
    assert "altcha-widget" in first.text and 'href="/entrar"' in first.text
    step = await submit(client, "/esqueci-minha-senha", {"identifier": b.cpf, "captcha": solve(runtime.settings)})
    assert step.status_code == 303 and step.headers["location"] == "/esqueci-minha-senha/metodo"
    assert "Path=/esqueci-minha-senha" in step.headers["set-cookie"]
    method_page = await client.get("/esqueci-minha-senha/metodo")
    assert "E-mail cadastrado" in method_page.text and "SMS para o celular cadastrado" in method_page.text
    step = await client.post(
        "/esqueci-minha-senha/metodo", data={"method": "sms", "csrf_token": csrf_of(method_page.text)}
    )
    assert step.headers["location"] == "/esqueci-minha-senha/codigo"
    code_page = await client.get("/esqueci-minha-senha/codigo")
    not_the_code = "000000" if "000000" != await last_code(runtime, b.phone) else "111111"
    wrong = await client.post("/esqueci-minha-senha/codigo", data={"code": not_the_code,
                                                                  "csrf_token": csrf_of(code_page.text)})
    assert wrong.status_code == 400 and "Restam 4 tentativas" in wrong.text and 'id="code-error"' in wrong.text
    step = await client.post("/esqueci-minha-senha/codigo", data={"code": await last_code(runtime, b.phone),
                                                                 "csrf_token": csrf_of(code_page.text)})
    assert step.headers["location"] == "/esqueci-minha-senha/nova-senha"
    step = await submit(client, "/esqueci-minha-senha/nova-senha", {"password": NEW, "password_confirmation": NEW})
    assert step.headers["location"] == "/esqueci-minha-senha/concluido"
    done = await client.get("/esqueci-minha-senha/concluido")
    assert "Senha alterada" in done.text and 'href="/entrar?senha-nova=1"' in done.text
    assert "Concluir" in done.text
    # "Concluir": the sign-in page says the password is ready, with what this browser typed.
    entrar = await client.get("/entrar?senha-nova=1")
    assert "Sua nova senha está pronta" in entrar.text
    assert f'value="{b.cpf}"' in entrar.text
    again = await client.get("/entrar?senha-nova=1")  # read once
    assert f'value="{b.cpf}"' not in again.text
    signed = await submit(client, "/entrar", {"identifier": b.cpf, "password": NEW})
    assert signed.status_code == 303


async def test_steps_without_a_flow_go_back_to_the_start(client):
    for path in ("/esqueci-minha-senha/metodo", "/esqueci-minha-senha/codigo", "/esqueci-minha-senha/nova-senha"):
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/esqueci-minha-senha?expirou=1"


async def test_captcha_error_is_shown_next_to_the_widget(client):
    response = await submit(client, "/esqueci-minha-senha", {"identifier": "52998224725", "captcha": ""})
    assert response.status_code == 400 and 'id="captcha-error"' in response.text


async def test_data_form_and_the_not_me_link(client, runtime):
    b = await registered(client, runtime)
    step = await submit(client, "/esqueci-minha-senha/dados", {
        "identifier": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.strftime("%d/%m/%Y"),
        "captcha": solve(runtime.settings)})
    assert step.headers["location"] == "/esqueci-minha-senha/codigo?dados=1"
    page = await client.get(step.headers["location"])
    assert "Se os dados estiverem corretos" in page.text
    await client.post("/esqueci-minha-senha/codigo",
                      data={"code": await last_code(runtime, b.email), "csrf_token": csrf_of(page.text)})
    await submit(client, "/esqueci-minha-senha/nova-senha", {"password": NEW, "password_confirmation": NEW})
    async with runtime.db.transaction() as s:
        text = (await s.execute(select(OutboxMessage.text).where(OutboxMessage.template == "password_reset",
                                                                   OutboxMessage.channel == "email"))).scalar_one()
    link = re.search(r"/nao-fui-eu\?token=[\w-]+", text).group(0)
    confirm = await client.get(link)
    assert "Bloquear minha conta" in confirm.text
    token = re.search(r'name="token" value="([^"]+)"', confirm.text).group(1)
    locked = await client.post("/nao-fui-eu", data={"token": token, "csrf_token": csrf_of(confirm.text)})
    assert "Sua conta foi bloqueada" in locked.text
    client.cookies.clear()
    refused = await submit(client, "/entrar", {"identifier": b.card_number, "password": NEW})
    assert refused.status_code == 403 and "Sua conta está bloqueada" in refused.text
    assert 'href="tel:08000000000"' in refused.text  # what to do: the central
    assert "já foi usado" in (await client.get(link)).text


async def test_contact_change_on_the_account_page(client, runtime):
    b = await add_beneficiary(runtime)
    await submit(client, "/cadastro", {"card_number": b.card_number, "cpf": b.cpf,
                                       "birth_date": b.birth_date.isoformat(), "password": STRONG,
                                       "password_confirmation": STRONG, "captcha": solve(runtime.settings)})
    wrong = await submit(client, "/conta/contato?tipo=celular",
                         {"kind": "phone", "value": "(61) 98888-7777", "password": "errada errada errada"},
                         action="/conta/contato")
    assert wrong.status_code == 401 and 'id="password-error"' in wrong.text
    step = await submit(client, "/conta/contato?tipo=celular", {"kind": "phone", "value": "(61) 98888-7777",
                                                                "password": STRONG}, action="/conta/contato")
    assert step.status_code == 303 and "(61) *****-7777" in unquote(step.headers["location"])
    page = await client.get(step.headers["location"])
    done = await client.post(step.headers["location"], data={"code": await last_code(runtime, "+5561988887777"),
                                                              "csrf_token": csrf_of(page.text)})
    assert done.status_code == 303 and done.headers["location"] == "/conta?contato-confirmado=phone"
    account = await client.get(done.headers["location"])
    assert "Contato confirmado" in account.text and "(61) 98888-7777" in account.text


async def test_contact_confirmed_by_the_link_in_the_message(client, runtime):
    from guarita.services import contacts
    from guarita.storage.audit import RequestContext

    b = await registered(client, runtime)
    async with runtime.db.transaction() as s:
        from guarita.storage.tables import Account
        account_id = (await s.execute(select(Account.id))).scalar_one()
    # A contact the person adds in Minha conta (a desk change is confirmed only at the desk:
    # tests/hardening/test_desk_contact_takeover.py).
    await contacts.start_verification(runtime, account_id, "email", "nova@example.com",
                                      context=RequestContext(actor=f"account:{account_id}"))
    async with runtime.db.transaction() as s:
        text = (await s.execute(select(OutboxMessage.text).where(OutboxMessage.to == "nova@example.com"))).scalar_one()
    link = re.search(r"http://testserver(/confirmar-contato\?id=[\w-]+&codigo=\d{6})", text).group(1)
    page = await client.get(link)
    assert "Confirmar este contato" in page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    code = re.search(r'name="code" value="([^"]+)"', page.text).group(1)
    done = await client.post("/confirmar-contato",
                             data={"token": token, "code": code, "csrf_token": csrf_of(page.text)})
    assert "Contato confirmado" in done.text
    signed = await client.post("/api/v1/sessions", json={"identifier": "nova@example.com", "password": STRONG})
    assert signed.status_code == 201, (b, signed.text)


async def test_health_plan_form_says_what_it_is_for_and_where_to_go(client):
    """The health-plan form says who it is for and where to go without access to the contacts."""
    form_page = await client.get("/esqueci-minha-senha/dados")
    assert "não lembra se se cadastrou com o CPF ou com o e-mail" in form_page.text
    assert 'href="tel:08000000000"' in form_page.text and "agência" in form_page.text


async def test_every_code_step_says_what_to_do_when_no_code_comes(client, runtime):
    """The same words for everybody (nothing about the account): the central as a tel: link,
    24 hours when configured, and an agency."""
    step = await submit(client, "/esqueci-minha-senha", {"identifier": "52998224725",
                                                         "captcha": solve(runtime.settings)})
    assert step.status_code == 303
    for path in ("/esqueci-minha-senha", "/esqueci-minha-senha/metodo",
                 "/esqueci-minha-senha/codigo"):
        page = (await client.get(path)).text
        box = page[page.index('class="no-code-help"'):]
        assert 'href="tel:08000000000"' in box and "agência" in box, path
    runtime.settings.support_24h = True
    page = (await client.get("/esqueci-minha-senha/codigo")).text
    assert "24 horas" in page[page.index('class="no-code-help"'):]
    assert "Central de atendimento 24 horas" in page  # the footer too


async def test_after_a_recovery_by_card_minha_conta_no_longer_sends_back_to_recovery(client, runtime):
    """The legacy loop: a legacy person recovers with the card number and the code by SMS. CPF
    sign-in works, the page no longer says "use 'Esqueci minha senha'"; the registry e-mail,
    which received nothing, is opened by confirming it, and the page says so."""
    from guarita.storage.tables import AccountIdentifier
    from guarita.storage.types import utcnow
    from tests.accounts.test_login import legacy

    b, account_id = await legacy(runtime)
    phone = "+5561991234567"
    async with runtime.db.transaction() as s:
        s.add(AccountIdentifier(account_id=account_id, kind="phone", value=phone,
                                verified_at=utcnow(), login_enabled=False))
    step = await submit(client, "/esqueci-minha-senha", {"identifier": b.card_number,
                                                         "captcha": solve(runtime.settings)})
    method_page = await client.get(step.headers["location"])
    await client.post("/esqueci-minha-senha/metodo",
                      data={"method": "sms", "csrf_token": csrf_of(method_page.text)})
    code_page = await client.get("/esqueci-minha-senha/codigo")
    await client.post("/esqueci-minha-senha/codigo", data={"code": await last_code(runtime, phone),
                                                          "csrf_token": csrf_of(code_page.text)})
    done = await submit(client, "/esqueci-minha-senha/nova-senha",
                        {"password": NEW, "password_confirmation": NEW})
    assert done.headers["location"] == "/esqueci-minha-senha/concluido"
    signed = await submit(client, "/entrar", {"identifier": b.cpf, "password": NEW})
    assert signed.status_code == 303, signed.text
    page = (await client.get("/conta")).text
    assert "Esqueci minha senha" not in page
    assert "Para entrar também com o e-mail, confirme-o" in page
    ways = page[page.index('id="como-entrar"'):page.index('id="seguranca"')]
    assert ways.count("pode usar para entrar") == 2 and ways.count("ainda não liberado") == 1
