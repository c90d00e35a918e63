"""Evidence recorded by every path that proves who a person is, and ``accounts.trust_level``
recomputed from it in the same transaction (services/trust.py; docs/trust-levels.md), on every
storage backend: registration, the desk's caller and in-person checks, a face captured in
person then validated alive, bank and gov.br evidence, a second factor, expiry, and the caps of
a recovery by code (setting on and off), knowledge-only recovery and a desk contact change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from guarita.config import TrustSettings
from guarita.domain.audit_tags import AuditTag
from guarita.domain.evidence import EvidenceKind
from guarita.services import recovery, support, trust
from guarita.services.support import face_reference
from guarita.storage.tables import Account, IdentityEvidence
from guarita.storage.types import utcnow
from tests.console.helpers import CTX, events, last_code, proof_code
from tests.console.test_actions import account_of, opened
from tests.face.helpers import new_challenge, recovery_for, send
from tests.support import faces
from tests.support.captcha import solve

NEW = "outra frase nova para a conta toda"


@pytest.fixture
def settings_overrides() -> dict:
    return {"recovery": {"methods": ["email", "sms", "face"]}}


def with_trust(runtime, **values) -> None:  # noqa: ANN001, ANN003
    runtime.settings = runtime.settings.model_copy(
        update={"trust": TrustSettings(**{**runtime.settings.trust.model_dump(), **values})})


async def rows(runtime, account_id: str) -> list[tuple]:  # noqa: ANN001
    async with runtime.db.read() as session:
        found = (await session.execute(select(IdentityEvidence).where(
            IdentityEvidence.account_id == account_id).order_by(IdentityEvidence.id))).scalars()
        return [(r.kind, r.source, r.method, r.level, r.liveness, r.recorded_by) for r in found]


async def level_of(runtime, account_id: str) -> str:  # noqa: ANN001
    async with runtime.db.read() as session:
        return (await session.get(Account, account_id)).trust_level


async def add(runtime, account_id: str, kind: EvidenceKind, **kw) -> str:  # noqa: ANN001, ANN003
    async with runtime.db.transaction() as session:
        return (await trust.record_evidence(session, runtime.settings, account_id, kind,
                                            **{"method": "test", **kw})).value


async def test_registration_and_the_desk_caller_check_record_bronze_evidence(runtime):
    b, _, actor = await opened(runtime)
    account = await account_of(runtime, b)
    assert await rows(runtime, account.id) == [
        ("registry_match", "registry", "registration", None, False, "self"),
        ("caller_check", "registry", "desk", None, False, actor.audit_id),
    ]
    assert account.trust_level == "bronze"


async def test_in_person_check_then_face_captured_in_person_and_validated_alive_make_ouro(
        client, runtime):
    b, _, supervisor = await opened(runtime, "supervisor")
    account = await account_of(runtime, b)
    reason = support.parse_reason("presencial", None)
    checked = await support.record_identity_check(
        runtime, supervisor, b.id, document_type="cnh", document_number="0123.456.789-0",
        reason=reason, context=CTX)
    assert (checked.trust_before, checked.trust_after) == ("bronze", "prata")
    await face_reference.capture_reference(runtime, supervisor, b.id,
                                           faces.jpeg(faces.astronaut()), reason, CTX)
    # The capture alone is a reference, not a validation: still prata.
    assert await level_of(runtime, account.id) == "prata"
    rid = await recovery_for(client, runtime, b.card_number)
    challenge = await new_challenge(client, rid)
    ok = await send(client, rid, challenge["challenge_id"],
                    faces.movement_frames("astronaut", challenge["movements"], seed=5))
    assert ok.status_code == 200, ok.text
    assert await level_of(runtime, account.id) == "ouro"
    recorded = await rows(runtime, account.id)
    assert ("in_person_document", "cnh", "desk", None, False, supervisor.audit_id) in recorded
    assert recorded[-1] == ("face", "in_person", "face", None, True, "self")
    changes = [(e.details["before"], e.details["after"], e.details["why"])
               for e in await events(runtime, AuditTag.TRUST_LEVEL_CHANGED)]
    assert changes == [("bronze", "prata", "in_person_document"), ("prata", "ouro", "face")]
    # The face recovery's new password by the face path keeps ouro (not a code recovery).
    done = await client.post(f"/api/v1/recoveries/{ok.json()['recovery_id']}/password",
                             json={"password": NEW, "password_confirmation": NEW})
    assert done.status_code == 204, done.text
    assert await level_of(runtime, account.id) == "ouro"


async def test_a_face_against_the_registry_photo_is_recorded_but_stays_bronze(client, runtime):
    from tests.face.helpers import person_with_face

    b = await person_with_face(client, runtime)
    rid = await recovery_for(client, runtime, b.card_number)
    challenge = await new_challenge(client, rid)
    ok = await send(client, rid, challenge["challenge_id"],
                    faces.movement_frames("astronaut", challenge["movements"], seed=6))
    assert ok.status_code == 200
    async with runtime.db.read() as session:
        account = (await session.execute(select(Account))).scalar_one()
    assert (await rows(runtime, account.id))[-1] == ("face", "registry", "face", None, True, "self")
    assert account.trust_level == "bronze"


async def test_bank_govbr_and_second_factor_evidence_with_a_tightened_table(runtime):
    b, _, _ = await opened(runtime)
    account_id = (await account_of(runtime, b)).id
    long_id = "banco-cooperativo-de-credito-do-centro-oeste-brasileiro"  # 55 characters
    assert await add(runtime, account_id, EvidenceKind.BANK, source=long_id) == "prata"
    assert (await rows(runtime, account_id))[-1][1] == long_id  # not cut at 24 any more
    assert await add(runtime, account_id, EvidenceKind.GOVBR, source="govbr",
                     level="gold") == "ouro"
    assert (await rows(runtime, account_id))[-1][3] == "ouro"  # gov.br's level is kept

    from tests.console.helpers import person

    other = await person(runtime, card="555666777", seed=9)  # a second person, fresh evidence
    other_id = (await account_of(runtime, other)).id
    with_trust(runtime, rules={"prata": [["bank", "second_factor"]]})
    assert await add(runtime, other_id, EvidenceKind.BANK, source="itau") == "bronze"
    assert await add(runtime, other_id, EvidenceKind.SECOND_FACTOR, source="totp") == "prata"


async def test_enrolling_an_authenticator_records_a_second_factor(runtime):
    from tests.two_step.helpers import with_totp

    _, session_info, _, _ = await with_totp(runtime)
    assert (await rows(runtime, session_info.account_id))[-1][:3] == (
        "second_factor", "totp", "totp")


async def test_expired_evidence_stops_counting(runtime):
    b, _, _ = await opened(runtime)
    account_id = (await account_of(runtime, b)).id
    with_trust(runtime, expiry_days={"bank": 30})
    now = utcnow()
    async with runtime.db.transaction() as session:
        assert await trust.record_evidence(session, runtime.settings, account_id,
                                           EvidenceKind.BANK, method="bank", source="itau",
                                           now=now - timedelta(days=29)) == "prata"
    async with runtime.db.transaction() as session:
        account = await session.get(Account, account_id)
        assert account.trust_level_until == now + timedelta(days=1)
        assert await trust.current_level(session, runtime.settings, account_id, now=now) == "prata"
        later = now + timedelta(days=2)
        assert await trust.current_level(session, runtime.settings, account_id,
                                         now=later) == "bronze"
    assert await level_of(runtime, account_id) == "bronze"
    expired = await events(runtime, AuditTag.TRUST_LEVEL_CHANGED)
    assert expired[-1].details["why"] == "expired"


async def _recover_by_email(runtime, b) -> None:  # noqa: ANN001
    flow = await recovery.start(runtime, b.card_number, solve(runtime.settings), CTX)
    await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    verified = await recovery.submit_code(runtime, flow.recovery_id,
                                          await last_code(runtime, b.email), CTX)
    await recovery.set_password(runtime, verified.recovery_id, NEW, NEW, CTX)


@pytest.mark.parametrize("lowers_to", [None, "bronze"])
async def test_a_recovery_by_code_keeps_the_level_unless_set_to_lower_it(runtime, lowers_to):
    b, _, _ = await opened(runtime)
    account_id = (await account_of(runtime, b)).id
    await add(runtime, account_id, EvidenceKind.BANK, source="itau")
    with_trust(runtime, recovery_code_lowers_to=lowers_to)
    await _recover_by_email(runtime, b)
    if lowers_to is None:
        assert await level_of(runtime, account_id) == "prata"
        assert "level_cap" not in [r[0] for r in await rows(runtime, account_id)]
    else:
        assert await level_of(runtime, account_id) == "bronze"
        assert (await rows(runtime, account_id))[-1] == (
            "level_cap", None, "recovery_code", "bronze", False, "self")
        # new strong evidence lifts the cap
        assert await add(runtime, account_id, EvidenceKind.BANK, source="itau") == "prata"


async def test_knowledge_only_recovery_records_the_data_check_and_caps_at_bronze(client, runtime):
    b, _, _ = await opened(runtime)
    account_id = (await account_of(runtime, b)).id
    await add(runtime, account_id, EvidenceKind.GOVBR, source="govbr", level="silver")
    runtime.settings = runtime.settings.model_copy(update={
        "recovery": runtime.settings.recovery.model_copy(update={"kba_only": True})})
    answer = await client.post("/api/v1/recoveries/kba", json={
        "identifier": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.isoformat(),
        "password": NEW, "password_confirmation": NEW, "captcha": solve(runtime.settings)})
    assert answer.status_code in (200, 201, 202), answer.text
    kinds = [(r[0], r[2], r[3]) for r in await rows(runtime, account_id)][-2:]
    assert kinds == [("data_check", "kba", None), ("level_cap", "kba_only", "bronze")]
    assert await level_of(runtime, account_id) == "bronze"


async def _desk_change(runtime, actor, b, *, proven_in_person: bool) -> None:  # noqa: ANN001
    reason = support.parse_reason("contato", None)
    started = await support.start_contact_change(runtime, actor, b.id, kind="email",
                                                 value="novo.email@example.org", reason=reason,
                                                 context=CTX)
    code = await last_code(runtime, "novo.email@example.org")
    proof = None if proven_in_person else await proof_code(runtime)
    await support.confirm_contact_change(runtime, actor, b.id, started.id, code=code,
                                         proof_code=proof, context=CTX)


@pytest.mark.parametrize("lowers_to", ["bronze", None])
async def test_a_desk_contact_change_without_an_in_person_check_caps_the_level(runtime,
                                                                              lowers_to):
    b, _, actor = await opened(runtime)
    account_id = (await account_of(runtime, b)).id
    await add(runtime, account_id, EvidenceKind.GOVBR, source="govbr", level="gold")
    with_trust(runtime, desk_contact_change_lowers_to=lowers_to)
    await _desk_change(runtime, actor, b, proven_in_person=False)
    if lowers_to is None:
        assert await level_of(runtime, account_id) == "ouro"
    else:
        assert await level_of(runtime, account_id) == "bronze"
        assert (await rows(runtime, account_id))[-1] == (
            "level_cap", None, "desk_contact_change", "bronze", False, actor.audit_id)


async def test_a_desk_contact_change_after_an_in_person_check_keeps_the_level(runtime):
    b, _, supervisor = await opened(runtime, "supervisor")
    account_id = (await account_of(runtime, b)).id
    await support.record_identity_check(
        runtime, supervisor, b.id, document_type="rg", document_number="12.345.678-9",
        reason=support.parse_reason("presencial", None), context=CTX)
    await _desk_change(runtime, supervisor, b, proven_in_person=True)
    assert await level_of(runtime, account_id) == "prata"
    assert "level_cap" not in [r[0] for r in await rows(runtime, account_id)]


async def test_two_proofs_recorded_at_once_both_count(runtime):
    """The desk's document check and a face validation committing together: the second to
    commit sees the first's row, so the account ends at ouro, not at prata (races)."""
    import asyncio

    b, _, _ = await opened(runtime)
    account_id = (await account_of(runtime, b)).id
    first_recorded = asyncio.Event()

    async def document() -> None:
        async with runtime.db.transaction() as session:
            await trust.record_evidence(session, runtime.settings, account_id,
                                        EvidenceKind.IN_PERSON_DOCUMENT, method="desk",
                                        source="rg")
            first_recorded.set()
            await asyncio.sleep(0.3)  # still open while the face is recorded

    async def face() -> None:
        await first_recorded.wait()
        async with runtime.db.transaction() as session:
            await trust.record_evidence(session, runtime.settings, account_id, EvidenceKind.FACE,
                                        method="face", source="in_person", liveness=True)

    await asyncio.gather(document(), face())
    assert await level_of(runtime, account_id) == "ouro"


async def test_the_providers_housekeeping_recomputes_expired_levels(runtime):
    from guarita.oidc import housekeeping

    b, _, _ = await opened(runtime)
    account_id = (await account_of(runtime, b)).id
    with_trust(runtime, expiry_days={"bank": 30})
    await add(runtime, account_id, EvidenceKind.BANK, source="itau")
    assert await level_of(runtime, account_id) == "prata"
    assert (await housekeeping.sweep(runtime, utcnow() + timedelta(days=29)))["trust_levels"] == 0
    done = await housekeeping.sweep(runtime, utcnow() + timedelta(days=31))
    assert done["trust_levels"] == 1
    assert await level_of(runtime, account_id) == "bronze"
    async with runtime.db.read() as session:
        assert (await session.get(Account, account_id)).trust_level_until is None
