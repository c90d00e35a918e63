"""Staff enrolment and sign-in: password + TOTP always, codes once, recovery codes once, CSRF,
15 idle minutes (docs/support-desk.md › Enrolling staff)."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.services import staff as staff_service
from guarita.storage.audit import verify
from guarita.storage.support_tables import StaffAccount, StaffEnrolment
from guarita.storage.tables import Credential
from guarita.storage.types import utcnow
from tests.console.helpers import (
    CTX,
    STAFF_PASSWORD,
    console_csrf,
    enrol,
    events,
    quick_staff,
    session_client,
)
from tests.support.html import csrf_of


async def sign_in(client, email: str, password: str, code: str):  # noqa: ANN001, ANN201
    token = await console_csrf(client, "/atendimento/entrar")
    return await client.post(
        "/atendimento/entrar",
        data={"email": email, "password": password, "code": code, "csrf_token": token},
    )


async def test_enrolment_page_shows_a_qr_code_and_sets_everything_up(client, runtime):
    enrolment = await staff_service.add_staff(
        runtime,
        email="Ana@Atendimento.example.org",
        name="Ana Souza",
        role="agent",
        created_by="test",
        context=CTX,
    )
    assert enrolment.link.startswith("http://testserver/atendimento/ativar?token=")
    assert enrolment.staff.email == "ana@atendimento.example.org"
    page = await client.get(enrolment.link.removeprefix("http://testserver"))
    assert page.status_code == 200
    html = page.text
    svg = re.search(r"<svg[^>]*class=\"totp-qr\".*?</svg>", html, re.S)
    assert svg and "style=" not in svg.group(0) and "<script" not in html.split("<main", 1)[1]
    assert 'role="img"' in svg.group(0)
    secret = re.search(r'class="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    again = await client.get(enrolment.link.removeprefix("http://testserver"))
    assert secret.replace(" ", "") in again.text.replace(" ", "")  # reloading keeps the secret

    token = enrolment.link.split("token=", 1)[1]
    done = await client.post(
        "/atendimento/ativar",
        data={
            "token": token,
            "password": STAFF_PASSWORD,
            "password_confirmation": STAFF_PASSWORD,
            "code": pyotp.TOTP(secret).now(),
            "csrf_token": csrf_of(page.text),
        },
    )
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li><code>((?:[a-z2-9]{4}-){3}[a-z2-9]{4})</code></li>", done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "guarita_staff" in done.cookies  # signed in at once
    async with runtime.db.transaction() as session:
        row = (await session.execute(select(StaffAccount))).scalar_one()
        factors = {c.kind: c for c in (await session.execute(
            select(Credential).where(Credential.staff_id == row.id))).scalars()}
        link = (await session.execute(select(StaffEnrolment))).scalar_one()
    # Every factor is one row of the credentials table (house rule 2).
    assert set(factors) == {"password", "totp", "recovery_codes"}
    assert row.status == "active" and factors["password"].hash.startswith("$argon2id$")
    sealed = factors["totp"].data["sealed"]
    assert sealed.startswith("v1:") and secret not in sealed
    stored = factors["recovery_codes"].data["hashes"]
    assert len(stored) == 10
    assert link.used_at is not None and token not in link.token_hash
    assert not set(codes) & set(stored)  # only HMACs are stored
    home = await client.get("/atendimento")
    assert home.status_code == 200 and "Ana Souza" in home.text
    # The link is single use.
    reused = await client.get(enrolment.link.removeprefix("http://testserver"))
    assert reused.status_code == 410


async def test_enrolment_refuses_a_weak_password_and_a_wrong_code(client, runtime):
    enrolment = await staff_service.add_staff(
        runtime,
        email="bia@example.org",
        name="Bia Lima",
        role="agent",
        created_by="test",
        context=CTX,
    )
    path = enrolment.link.removeprefix("http://testserver")
    page = await client.get(path)
    response = await client.post(
        "/atendimento/ativar",
        data={
            "token": path.split("token=")[1],
            "password": "curta",
            "password_confirmation": "curta",
            "code": "000000",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert response.status_code == 422
    assert 'id="password-error"' in response.text and 'id="code-error"' in response.text


async def test_enrolment_link_expires_after_24_hours(runtime):
    enrolment = await staff_service.add_staff(
        runtime, email="caio@example.org", name="Caio", role="agent", created_by="test", context=CTX
    )
    token = enrolment.link.split("token=", 1)[1]
    with time_machine.travel(utcnow() + timedelta(hours=24, seconds=1)):
        with pytest.raises(GuaritaError) as exc:
            await staff_service.enrolment_page(runtime, token)
    assert exc.value.code is ErrorCode.ENROLMENT_EXPIRED


async def test_sign_in_needs_password_and_totp_and_refuses_a_reused_code(client, runtime):
    member = await enrol(runtime, "agent")
    start = utcnow() + timedelta(seconds=60)  # past the step used at enrolment
    with time_machine.travel(start, tick=False):
        code = member.code()
        no_code = await sign_in(client, member.email, STAFF_PASSWORD, "")
        assert no_code.status_code == 401 and "E-mail, senha ou código incorretos" in no_code.text
        wrong_password = await sign_in(client, member.email, "outra frase qualquer aqui", code)
        assert wrong_password.status_code == 401
        ok = await sign_in(client, member.email, STAFF_PASSWORD, code)
        assert ok.status_code == 303 and ok.headers["location"] == "/atendimento"
        cookie = ok.headers["set-cookie"]
        assert cookie.startswith("guarita_staff=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
        client.cookies.clear()
        # The same code again, even with the right password, is refused (RFC 6238 §5.2).
        replay = await sign_in(client, member.email, STAFF_PASSWORD, code)
        assert replay.status_code == 401
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert (await sign_in(client, member.email, STAFF_PASSWORD, member.code())).status_code == 303
    failed = await events(runtime, AuditTag.STAFF_LOGIN_FAILED)
    assert len(failed) == 3 and all(e.subject == f"staff:{member.id}" for e in failed)


async def test_a_code_is_accepted_once_even_at_the_same_time(runtime):
    import asyncio

    member = await quick_staff(runtime, "agent")
    code = member.code()
    results = await asyncio.gather(
        *(staff_service.sign_in(runtime, member.email, STAFF_PASSWORD, code, CTX) for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(1 for r in results if not isinstance(r, Exception)) == 1
    assert all(r.code is ErrorCode.INVALID_CREDENTIALS for r in results if isinstance(r, GuaritaError))


async def test_recovery_codes_work_once(client, runtime):
    member = await enrol(runtime, "agent")
    first = member.codes[0]
    ok = await staff_service.sign_in(runtime, member.email, STAFF_PASSWORD, first.upper(), CTX)
    assert ok.used_recovery_code and ok.recovery_codes_left == 9
    with pytest.raises(GuaritaError) as exc:
        await staff_service.sign_in(runtime, member.email, STAFF_PASSWORD, first, CTX)
    assert exc.value.code is ErrorCode.INVALID_CREDENTIALS
    # Another person's code does not open this account.
    other = await enrol(runtime, "agent", email="outra@example.org")
    with pytest.raises(GuaritaError):
        await staff_service.sign_in(runtime, member.email, STAFF_PASSWORD, other.codes[0], CTX)
    assert len(await events(runtime, AuditTag.STAFF_RECOVERY_CODE_USED)) == 1
    # On the page: a warning with the codes left.
    page = await sign_in(client, member.email, STAFF_PASSWORD, member.codes[1])
    assert page.status_code == 303 and "codigos-restantes=8" in page.headers["location"]


async def test_unknown_disabled_and_pending_staff_get_the_same_answer(runtime):
    member = await quick_staff(runtime, "agent")
    await staff_service.add_staff(
        runtime,
        email="pendente@example.org",
        name="Pendente",
        role="agent",
        created_by="test",
        context=CTX,
    )
    await staff_service.set_staff_status(runtime, member.id, enabled=False, actor="test", context=CTX)
    answers = []
    for email in ("ninguem@example.org", member.email, "pendente@example.org"):
        with pytest.raises(GuaritaError) as exc:
            await staff_service.sign_in(runtime, email, STAFF_PASSWORD, member.code(), CTX)
        answers.append((exc.value.code, exc.value.message, exc.value.status))
    assert len(set(answers)) == 1


async def test_lockout_after_five_failures(runtime):
    member = await quick_staff(runtime, "agent")
    for _ in range(5):
        with pytest.raises(GuaritaError):
            await staff_service.sign_in(runtime, member.email, "senha errada de novo", "000000", CTX)
    with pytest.raises(GuaritaError) as exc:
        await staff_service.sign_in(runtime, member.email, STAFF_PASSWORD, member.code(), CTX)
    assert exc.value.code is ErrorCode.TOO_MANY_ATTEMPTS


async def test_session_ends_after_15_idle_minutes(app, runtime):
    member = await quick_staff(runtime, "agent")
    start = utcnow()
    with time_machine.travel(start, tick=False):
        client = await session_client(app, runtime, member)
    async with client:
        with time_machine.travel(start + timedelta(minutes=14), tick=False):
            assert (await client.get("/atendimento")).status_code == 200  # touches the idle clock
        with time_machine.travel(start + timedelta(minutes=28), tick=False):
            assert (await client.get("/atendimento")).status_code == 200
        with time_machine.travel(start + timedelta(minutes=43, seconds=1), tick=False):
            gone = await client.get("/atendimento")
            assert gone.status_code == 303
            assert gone.headers["location"].startswith("/atendimento/entrar")
        with time_machine.travel(start + timedelta(minutes=44), tick=False):
            assert (await client.get("/atendimento")).status_code == 303  # ended for good


async def test_csrf_is_required_on_console_forms(app, runtime):
    member = await quick_staff(runtime, "admin")
    async with await session_client(app, runtime, member) as client:
        await client.get("/atendimento")  # the CSRF cookie
        missing = await client.post(
            "/atendimento/tokens", data={"name": "CRM", "scopes": "search", "expires_days": "30"}
        )
        assert missing.status_code == 403
        wrong = await client.post(
            "/atendimento/tokens",
            data={"name": "CRM", "scopes": "search", "expires_days": "30", "csrf_token": "0" * 64},
        )
        assert wrong.status_code == 403
        # A token from the sign-in page (before the session) is not valid inside it.
        async with await session_client(app, runtime, None) as anonymous:
            stale = await console_csrf(anonymous, "/atendimento/entrar")
            client.cookies.set("guarita_csrf", anonymous.cookies.get("guarita_csrf"))
            reused = await client.post(
                "/atendimento/tokens",
                data={"name": "CRM", "scopes": "search", "expires_days": "30", "csrf_token": stale},
            )
            assert reused.status_code == 403
        ok = await client.post(
            "/atendimento/tokens",
            data={
                "name": "CRM",
                "scopes": "search",
                "expires_days": "30",
                "csrf_token": await console_csrf(client, "/atendimento/tokens"),
            },
        )
        assert ok.status_code == 200 and "gst_" in ok.text
    assert len(await staff_service.list_tokens(runtime)) == 1


async def test_sign_out_ends_the_session(app, runtime):
    member = await quick_staff(runtime, "agent")
    async with await session_client(app, runtime, member) as client:
        token = await console_csrf(client)
        out = await client.post("/atendimento/sair", data={"csrf_token": token})
        assert out.status_code == 303
        assert (await client.get("/atendimento")).status_code == 303
    assert len(await events(runtime, AuditTag.STAFF_LOGOUT)) == 1
    async with runtime.db.transaction() as session:
        assert (await verify(session)).ok


async def test_beneficiary_session_does_not_open_the_console(client, runtime):
    from tests.console.helpers import person

    b = await person(runtime)
    from tests.support.factories import STRONG
    from tests.support.html import submit

    await submit(client, "/entrar", {"identifier": b.card_number, "password": STRONG})
    assert "guarita_session" in client.cookies
    response = await client.get("/atendimento")
    assert response.status_code == 303 and "/atendimento/entrar" in response.headers["location"]


async def test_reset_gives_a_new_link_and_ends_sessions(app, runtime):
    member = await quick_staff(runtime, "agent")
    async with await session_client(app, runtime, member) as client:
        assert (await client.get("/atendimento")).status_code == 200
        enrolment = await staff_service.reset_staff(runtime, staff_id=member.id, actor="test", context=CTX)
        assert (await client.get("/atendimento")).status_code == 303
    assert "token=" in enrolment.link
    with pytest.raises(GuaritaError):
        await staff_service.sign_in(runtime, member.email, STAFF_PASSWORD, member.code(), CTX)
