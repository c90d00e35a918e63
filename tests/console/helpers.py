"""Staff, sessions, tokens and registered beneficiaries for the support-desk tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import pyotp
from sqlalchemy import select

from guarita.domain.accounts import PrincipalKind
from guarita.domain.actors import Actor
from guarita.methods import totp
from guarita.runtime import Runtime
from guarita.services import staff as staff_service
from guarita.services.registration import RegistrationInput, register
from guarita.services.registry_rows import name_search_key
from guarita.services.staff.sessions import create_session
from guarita.storage import credentials as credentials_repo
from guarita.storage.audit import RequestContext
from guarita.storage.support_tables import StaffAccount
from guarita.storage.tables import AuditEvent, Beneficiary, OutboxMessage
from guarita.storage.types import utcnow
from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary
from tests.support.html import csrf_of

CTX = RequestContext(ip="198.51.100.20", user_agent="pytest-console")
STAFF_PASSWORD = "frase longa da equipe de atendimento"  # noqa: S105 - test data
ROLES = ("agent", "supervisor", "admin")


@dataclass
class StaffMember:
    id: int
    email: str
    role: str
    secret: str
    codes: list[str] = field(default_factory=list)

    def code(self, at: datetime | None = None) -> str:
        return pyotp.TOTP(self.secret).at(at or utcnow())

    def actor(self, via: str = "console") -> Actor:
        return Actor(kind="staff", id=self.id, name=self.email, email=self.email, role=self.role, via=via)


async def enrol(runtime: Runtime, role: str = "agent", email: str | None = None) -> StaffMember:
    """Through the real enrolment: add, show the page (secret made), submit with a TOTP code."""
    email = email or f"{role}@atendimento.example.org"
    enrolment = await staff_service.add_staff(
        runtime,
        email=email,
        name=f"Pessoa {role.title()}",
        role=role,
        created_by="test",
        context=CTX,
    )
    token = enrolment.link.split("token=", 1)[1]
    page = await staff_service.enrolment_page(runtime, token)
    done = await staff_service.complete_enrolment(
        runtime,
        token,
        password=STAFF_PASSWORD,
        confirmation=STAFF_PASSWORD,
        code=pyotp.TOTP(page.secret).now(),
        context=CTX,
    )
    return StaffMember(enrolment.staff.id, email, role, page.secret, done.codes)


async def quick_staff(runtime: Runtime, role: str, email: str | None = None) -> StaffMember:
    """An active staff member written straight to the table (for tests about other things)."""
    email = email or f"{role}@atendimento.example.org"
    secret = totp.new_secret()
    hashed = await runtime.hasher.hash(STAFF_PASSWORD)
    async with runtime.db.transaction() as session:
        row = StaffAccount(
            email=email,
            name=f"Pessoa {role.title()}",
            role=role,
            status="active",
            enrolled_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        await credentials_repo.put(session, PrincipalKind.STAFF, row.id, "password", hash=hashed,
                                   algorithm="argon2id")
        await credentials_repo.put(session, PrincipalKind.STAFF, row.id, "totp", data={
            "sealed": totp.seal(runtime.settings.secret(), secret, bound_to=f"staff:{row.id}")})
    return StaffMember(row.id, email, role, secret)


async def session_client(app, runtime: Runtime, member: StaffMember | None) -> httpx.AsyncClient:  # noqa: ANN001
    """A browser for ``member`` (None: anonymous) with a live staff session cookie."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.20", 50001))
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    if member is not None:
        async with runtime.db.transaction() as session:
            token = await create_session(
                session,
                member.id,
                CTX,
                utcnow(),
                amr=["pwd", "otp"],
                absolute_hours=runtime.settings.support.staff_absolute_hours,
            )
        client.cookies.set("guarita_staff", token)
    return client


async def console_csrf(client: httpx.AsyncClient, page: str = "/atendimento") -> str:
    response = await client.get(page)
    assert response.status_code == 200, (page, response.status_code)
    return csrf_of(response.text)


async def post(client: httpx.AsyncClient, path: str, data: dict, page: str = "/atendimento") -> httpx.Response:
    return await client.post(path, data={**data, "csrf_token": await console_csrf(client, page)})


async def api_token(runtime: Runtime, scopes: str | list[str], name: str = "CRM") -> str:
    created = await staff_service.create_token(
        runtime, name=name, scopes=scopes, expires_days=30, created_by="test", context=CTX
    )
    return created.token


def bearer(token: str, agent: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if agent:
        headers["X-Support-Agent"] = agent
    return headers


async def person(runtime: Runtime, *, registered: bool = True, **kw) -> Beneficiary:  # noqa: ANN003
    """A registry record (name_search as the import writes it), with an account by default."""
    beneficiary = await add_beneficiary(runtime, **kw)
    async with runtime.db.transaction() as session:
        row = await session.get(Beneficiary, beneficiary.id)
        row.name_search = name_search_key(row.name)
    if registered:
        await register(
            runtime,
            RegistrationInput(
                beneficiary.card_number,
                beneficiary.cpf,
                beneficiary.cpf is None,
                beneficiary.birth_date.isoformat(),
                STRONG,
                STRONG,
                captcha=solve(runtime.settings),
            ),
            CTX,
        )
    return beneficiary


async def events(runtime: Runtime, tag: str) -> list[AuditEvent]:
    async with runtime.db.transaction() as session:
        return list(
            (
                await session.execute(select(AuditEvent).where(AuditEvent.tag == str(tag)).order_by(AuditEvent.id))
            ).scalars()
        )


async def last_code(runtime: Runtime, to: str) -> str:
    """The code in the newest message to ``to``, read from the outbox as the person would."""
    async with runtime.db.transaction() as session:
        message = (
            (
                await session.execute(
                    select(OutboxMessage).where(OutboxMessage.to == to).order_by(OutboxMessage.id.desc())
                )
            )
            .scalars()
            .first()
        )
    assert message is not None, f"no message to {to}"
    found = re.search(r"\b(\d{6})\b", message.text)
    assert found, message.text
    return found.group(1)


async def proof_code(runtime: Runtime) -> str:
    """The newest code sent to an existing contact to authorise a new one (SECURITY.md ›
    Recovery), read from the outbox as the person holding that contact would."""
    async with runtime.db.read() as session:
        message = (
            await session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.template == "contact_proof")
                .order_by(OutboxMessage.id.desc())
            )
        ).scalars().first()
    assert message is not None, "no contact_proof message"
    return re.search(r"\b(\d{6})\b", message.text).group(1)


def caller_data(b: Beneficiary, **changes) -> dict:  # noqa: ANN003
    data = {
        "reason": "carteirinha",
        "reason_text": "",
        "birth_date": b.birth_date.strftime("%d/%m/%Y"),
        "cpf": b.cpf or "",
        "card_number": "",
    }
    data.update(changes)
    return data
