"""Segurança da conta and "Confirme que é você" as pages, through the HTML forms (CSRF, cookies)."""

from __future__ import annotations

import re

from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary
from tests.support.html import csrf_of, submit
from tests.two_step.helpers import code_at, next_step_code

SECRET = re.compile(r'<p class="totp-secret"><code>([A-Z2-7 ]+)</code></p>')
ENROLMENT = re.compile(r'name="enrolment_id" value="([^"]+)"')


async def registered_on_pages(client, runtime):  # noqa: ANN001
    b = await add_beneficiary(runtime)
    await submit(
        client,
        "/cadastro",
        {
            "card_number": b.card_number,
            "cpf": b.cpf,
            "birth_date": b.birth_date.isoformat(),
            "password": STRONG,
            "password_confirmation": STRONG,
            "captcha": solve(runtime.settings),
        },
    )
    return b


async def enrol_totp_on_pages(client) -> tuple[str, str]:  # noqa: ANN001
    page = await client.get("/conta/seguranca")
    assert (
        page.status_code == 200 and "A chave de acesso é a forma mais fácil e segura" in page.text
    )
    started = await client.post(
        "/conta/seguranca/autenticador", data={"csrf_token": csrf_of(page.text)}
    )
    assert started.status_code == 200 and "<svg" in started.text
    secret = SECRET.search(started.text).group(1)
    assert all(len(group) == 4 for group in secret.split())  # the key in groups of four
    secret = secret.replace(" ", "")
    done = await client.post(
        "/conta/seguranca/autenticador/confirmar",
        data={
            "csrf_token": csrf_of(started.text),
            "code": code_at(secret),
            "enrolment_id": ENROLMENT.search(started.text).group(1),
        },
    )
    assert done.status_code == 200 and "Seus códigos de recuperação" in done.text
    assert done.text.count("<li><code>") == 10
    return secret, done.text


async def sign_out(client) -> None:  # noqa: ANN001
    conta = await client.get("/conta")
    await client.post("/sair", data={"csrf_token": csrf_of(conta.text)})


async def test_enrol_totp_then_sign_in_with_password_and_code(client, runtime):
    b = await registered_on_pages(client, runtime)
    secret, _ = await enrol_totp_on_pages(client)
    await sign_out(client)
    signed = await submit(
        client, "/entrar", {"identifier": b.card_number, "password": STRONG, "next": "/conta"}
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/entrar/confirmar"
    assert (await client.get("/conta")).status_code == 303  # no session yet
    step = await client.get("/entrar/confirmar")
    assert step.status_code == 200 and "Confirme que é você" in step.text
    assert "Usar outro método" in step.text and "Código de recuperação" in step.text
    assert "tel:" in step.text  # the central's number
    wrong = await client.post(
        "/entrar/confirmar",
        data={"csrf_token": csrf_of(step.text), "method": "totp", "code": "000000"},
    )
    assert wrong.status_code == 400 and "Código incorreto" in wrong.text
    right = await client.post(
        "/entrar/confirmar",
        data={"csrf_token": csrf_of(wrong.text), "method": "totp", "code": next_step_code(secret)},
    )
    assert right.status_code == 303 and right.headers["location"] == "/conta"
    assert (await client.get("/conta")).status_code == 200


async def test_a_recovery_code_signs_in_once(client, runtime):
    b = await registered_on_pages(client, runtime)
    _, codes_page = await enrol_totp_on_pages(client)
    code = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", codes_page)[0]
    await sign_out(client)
    for expected in (303, 400):
        await submit(client, "/entrar", {"identifier": b.card_number, "password": STRONG})
        step = await client.get("/entrar/confirmar?metodo=recovery_code")
        answer = await client.post(
            "/entrar/confirmar",
            data={"csrf_token": csrf_of(step.text), "method": "recovery_code", "code": code},
        )
        assert answer.status_code == expected
        if expected == 303:
            await sign_out(client)


async def test_changes_need_a_recent_password(client, runtime):
    await registered_on_pages(client, runtime)
    from datetime import timedelta

    import time_machine

    from guarita.storage.types import utcnow

    with time_machine.travel(utcnow() + timedelta(minutes=6), tick=False):
        page = await client.get("/conta/seguranca")
        assert "Confirme sua senha para fazer mudanças" in page.text
        refused = await client.post(
            "/conta/seguranca/autenticador", data={"csrf_token": csrf_of(page.text)}
        )
        assert refused.status_code == 401
        confirmed = await client.post(
            "/conta/seguranca/confirmar",
            data={"csrf_token": csrf_of(page.text), "password": STRONG},
        )
        assert confirmed.status_code == 303
        page = await client.get("/conta/seguranca")
        assert "Confirme sua senha para fazer mudanças" not in page.text
        started = await client.post(
            "/conta/seguranca/autenticador", data={"csrf_token": csrf_of(page.text)}
        )
        assert started.status_code == 200


async def test_recovery_by_email_on_the_pages_asks_for_the_second_factor_first(client, runtime):
    from tests.recovery.test_recovery_service import last_code
    from tests.support.captcha import solve

    b = await registered_on_pages(client, runtime)
    secret, _ = await enrol_totp_on_pages(client)
    await sign_out(client)
    await submit(client, "/esqueci-minha-senha",
                 {"identifier": b.cpf, "captcha": solve(runtime.settings)})
    method_page = await client.get("/esqueci-minha-senha/metodo")
    await client.post("/esqueci-minha-senha/metodo",
                      data={"method": "email", "csrf_token": csrf_of(method_page.text)})
    code_page = await client.get("/esqueci-minha-senha/codigo")
    step = await client.post("/esqueci-minha-senha/codigo", data={
        "code": await last_code(runtime, b.email), "csrf_token": csrf_of(code_page.text)})
    assert step.headers["location"] == "/esqueci-minha-senha/segunda-etapa"
    # The new-password page is not reachable yet.
    early = await client.get("/esqueci-minha-senha/nova-senha")
    assert early.status_code == 303 and "expirou" in early.headers["location"]
    await submit(client, "/esqueci-minha-senha", {"identifier": b.cpf, "captcha": solve(runtime.settings)})
    method_page = await client.get("/esqueci-minha-senha/metodo")
    await client.post("/esqueci-minha-senha/metodo",
                      data={"method": "email", "csrf_token": csrf_of(method_page.text)})
    code_page = await client.get("/esqueci-minha-senha/codigo")
    await client.post("/esqueci-minha-senha/codigo", data={
        "code": await last_code(runtime, b.email), "csrf_token": csrf_of(code_page.text)})
    page = await client.get("/esqueci-minha-senha/segunda-etapa")
    assert page.status_code == 200 and "Confirme que é você" in page.text
    assert "Código de recuperação" in page.text and "tel:" in page.text
    proven = await client.post("/esqueci-minha-senha/segunda-etapa", data={
        "csrf_token": csrf_of(page.text), "method": "totp", "code": next_step_code(secret)})
    assert proven.headers["location"] == "/esqueci-minha-senha/nova-senha"
    new = "mar e serra"  # with a second factor 8 characters are enough
    done = await submit(client, "/esqueci-minha-senha/nova-senha",
                        {"password": new, "password_confirmation": new})
    assert done.headers["location"] == "/esqueci-minha-senha/concluido"
