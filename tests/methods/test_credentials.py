"""The credentials table: one row per (principal, type) for accounts and desk members alike, on
SQLite and PostgreSQL (the ``runtime`` fixture runs each test on both), with the TOTP and
recovery-code methods verifying against it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from guarita.domain.accounts import PrincipalKind
from guarita.methods import recovery_codes, totp
from guarita.methods.base import Principal
from guarita.services.method_context import CredentialStore, ServiceContext
from guarita.storage import credentials as repo
from guarita.storage.audit import RequestContext
from guarita.storage.support_tables import StaffAccount
from guarita.storage.tables import Account, Credential
from guarita.storage.types import utcnow
from tests.console.helpers import person


async def _account_id(runtime) -> str:  # noqa: ANN001
    await person(runtime)
    async with runtime.db.read() as session:
        return (await session.execute(select(Account.id))).scalar_one()


async def _staff_id(runtime) -> int:  # noqa: ANN001
    async with runtime.db.transaction() as session:
        row = StaffAccount(email="ana@atendimento.example.org", name="Ana", role="agent",
                           status="active")
        session.add(row)
        await session.flush()
        return row.id


def _ctx(runtime, principal: Principal, now=None) -> ServiceContext:  # noqa: ANN001
    now = now or utcnow()
    return ServiceContext(runtime=runtime, request=RequestContext(), principal=principal, now=now,
                          credentials=CredentialStore(runtime, principal, now))


async def _enrol_totp(runtime, principal: Principal) -> str:  # noqa: ANN001
    secret = totp.new_secret()
    async with runtime.db.transaction() as session:
        await repo.put(session, principal.kind, principal.id, totp.CREDENTIAL,
                       data={"sealed": totp.seal(runtime.settings.secret(), secret,
                                                 bound_to=totp.binding(principal))})
    return secret


async def test_one_row_per_principal_and_type_for_accounts_and_staff(runtime):
    account = await _account_id(runtime)
    staff = await _staff_id(runtime)
    async with runtime.db.transaction() as session:
        await repo.put(session, PrincipalKind.ACCOUNT, account, "totp", data={"sealed": "a"})
        await repo.put(session, PrincipalKind.STAFF, staff, "totp", data={"sealed": "b"})
        # Replacing keeps one row: a new secret, the old one gone in the same transaction.
        await repo.put(session, PrincipalKind.STAFF, staff, "totp", data={"sealed": "c"})
    async with runtime.db.read() as session:
        assert await repo.types_of(session, PrincipalKind.ACCOUNT, account) == ["password", "totp"]
        assert await repo.types_of(session, PrincipalKind.STAFF, staff) == ["totp"]
        row = await repo.get(session, PrincipalKind.STAFF, staff, "totp")
        assert row.data == {"sealed": "c"} and row.principal_kind == "staff"
    with pytest.raises(IntegrityError):
        async with runtime.db.transaction() as session:
            session.add(Credential(principal_kind="staff", staff_id=staff, kind="totp", data={}))
    with pytest.raises(IntegrityError):  # a row names exactly one owner, of its kind
        async with runtime.db.transaction() as session:
            session.add(Credential(principal_kind="account", staff_id=staff, kind="x", data={}))


async def test_rows_go_with_their_owner(runtime):
    staff = await _staff_id(runtime)
    async with runtime.db.transaction() as session:
        await repo.put(session, PrincipalKind.STAFF, staff, "recovery_codes", data={"hashes": []})
    async with runtime.db.transaction() as session:
        await session.delete(await session.get(StaffAccount, staff))
    async with runtime.db.read() as session:
        assert await repo.types_of(session, PrincipalKind.STAFF, staff) == []


async def test_totp_accepts_a_code_once_and_only_for_its_owner(runtime):
    account = await _account_id(runtime)
    principal = Principal(kind=PrincipalKind.ACCOUNT, id=account)
    secret = await _enrol_totp(runtime, principal)
    now = utcnow()
    code = pyotp.TOTP(secret).at(now)
    outcome = await totp.METHOD.verify(_ctx(runtime, principal, now), None, {"code": code})
    assert outcome.ok and outcome.amr == "otp" and outcome.evidence == "second_factor"
    again = await totp.METHOD.verify(_ctx(runtime, principal, now), None, {"code": code})
    assert not again.ok  # RFC 6238 §5.2: never the same code twice
    later = now + timedelta(seconds=30)
    nxt = pyotp.TOTP(secret).at(later)
    assert (await totp.METHOD.verify(_ctx(runtime, principal, later), None, {"code": nxt})).ok
    # The sealed secret is bound to its owner: copied to someone else it opens nothing.
    staff = Principal(kind=PrincipalKind.STAFF, id=str(await _staff_id(runtime)))
    async with runtime.db.transaction() as session:
        row = await repo.get(session, PrincipalKind.ACCOUNT, account, "totp")
        await repo.put(session, staff.kind, staff.id, "totp", data=dict(row.data))
    later = later + timedelta(seconds=30)
    stolen = pyotp.TOTP(secret).at(later)
    assert not (await totp.METHOD.verify(_ctx(runtime, staff, later), None, {"code": stolen})).ok


async def test_two_requests_with_one_totp_code_have_one_winner(runtime):
    staff = Principal(kind=PrincipalKind.STAFF, id=str(await _staff_id(runtime)))
    secret = await _enrol_totp(runtime, staff)
    now = utcnow()
    code = pyotp.TOTP(secret).at(now)
    results = await asyncio.gather(*(
        totp.METHOD.verify(_ctx(runtime, staff, now), None, {"code": code}) for _ in range(6)))
    assert sum(r.ok for r in results) == 1


async def test_recovery_codes_are_single_use_and_a_new_set_replaces_the_old(runtime):
    account = await _account_id(runtime)
    principal = Principal(kind=PrincipalKind.ACCOUNT, id=account)
    master = runtime.settings.secret()
    codes, data = recovery_codes.new_set(master, principal)
    assert len(codes) == 10 and len(set(codes)) == 10
    async with runtime.db.transaction() as session:
        await repo.put(session, principal.kind, principal.id, recovery_codes.CREDENTIAL, data=data)
        stored = await repo.get(session, principal.kind, principal.id, recovery_codes.CREDENTIAL)
        assert all(c not in str(stored.data) for c in codes)  # only HMACs are kept
    method = recovery_codes.METHOD
    first = await method.verify(_ctx(runtime, principal), None, {"code": codes[3].upper()})
    assert first.ok and first.details["left"] == 9
    assert not (await method.verify(_ctx(runtime, principal), None, {"code": codes[3]})).ok
    assert not (await method.verify(_ctx(runtime, principal), None, {"code": "abcd-efgh-jkmn"})).ok
    # The same code sent six times at once: one winner.
    results = await asyncio.gather(*(
        method.verify(_ctx(runtime, principal), None, {"code": codes[5]}) for _ in range(6)))
    assert sum(r.ok for r in results) == 1
    # Different codes at once all count (a lost compare-and-set reads again).
    results = await asyncio.gather(*(
        method.verify(_ctx(runtime, principal), None, {"code": c}) for c in codes[6:9]))
    assert all(r.ok for r in results)
    new_codes, new_data = recovery_codes.new_set(master, principal)
    async with runtime.db.transaction() as session:
        await repo.put(session, principal.kind, principal.id, recovery_codes.CREDENTIAL,
                       data=new_data)
    assert not (await method.verify(_ctx(runtime, principal), None, {"code": codes[0]})).ok
    assert (await method.verify(_ctx(runtime, principal), None, {"code": new_codes[0]})).ok


def test_recovery_codes_carry_at_least_64_bits() -> None:
    """NIST SP 800-63B-4 §3.1.2: a look-up secret has at least 64 bits of entropy."""
    import math

    code = recovery_codes.new_code()
    symbols = len(recovery_codes.clean(code))
    assert symbols * math.log2(len(set(recovery_codes.ALPHABET))) >= 64
    assert len(code) <= 20  # the staff sign-in field takes 20 characters
