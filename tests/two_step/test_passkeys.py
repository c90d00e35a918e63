"""Passkeys at the service layer with a software authenticator (WebAuthn Level 3 §7.1, §7.2):
registration, assertion, wrong challenge, wrong origin, cloned counter, passwordless sign-in."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.services import passkey_sign_in, passkeys, second_factors, second_step
from guarita.storage.tables import AuditEvent
from tests.two_step.helpers import CTX, password_step, person
from tests.two_step.soft_authenticator import SoftAuthenticator


async def enrolled(runtime, **authenticator):  # noqa: ANN001, ANN003
    b, result = await person(runtime)
    device = SoftAuthenticator(**authenticator)
    options = await passkeys.passkey_options(runtime, result.session, CTX)
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["rp"]["id"] == "testserver"
    view, codes = await passkeys.register_passkey(
        runtime, result.session, device.create(options), "Celular da Maria", CTX
    )
    return b, result.session, device, view, codes


async def test_register_then_sign_in_without_typing_anything(runtime):
    _, _, device, view, codes = await enrolled(runtime)
    assert view.name == "Celular da Maria" and codes is not None and len(codes) == 10
    options = await passkey_sign_in.options(runtime, CTX)
    assert options["allowCredentials"] == []  # discoverable: no identifier was typed
    done = await passkey_sign_in.sign_in(runtime, device.get(options), CTX)
    assert done.session_token and done.amr == ["hwk", "mfa"]


async def test_a_synced_passkey_says_swk(runtime):
    _, _, device, view, _ = await enrolled(runtime, synced=True)
    assert view.synced
    done = await passkey_sign_in.sign_in(
        runtime, device.get(await passkey_sign_in.options(runtime, CTX)), CTX
    )
    assert done.amr == ["swk", "mfa"]


async def test_wrong_challenge_is_refused(runtime):
    _, _, device, _, _ = await enrolled(runtime)
    await passkey_sign_in.options(runtime, CTX)
    forged = device.get({"rpId": "testserver"}, challenge="bm90LWlzc3VlZC1ieS10aGUtc2VydmVy")
    with pytest.raises(GuaritaError) as refused:
        await passkey_sign_in.sign_in(runtime, forged, CTX)
    assert refused.value.code == ErrorCode.SECOND_FACTOR_INVALID


async def test_a_challenge_is_used_once(runtime):
    _, _, device, _, _ = await enrolled(runtime)
    options = await passkey_sign_in.options(runtime, CTX)
    await passkey_sign_in.sign_in(runtime, device.get(options), CTX)
    with pytest.raises(GuaritaError):
        await passkey_sign_in.sign_in(runtime, device.get(options), CTX)


async def test_wrong_origin_is_refused(runtime):
    _, _, device, _, _ = await enrolled(runtime)
    options = await passkey_sign_in.options(runtime, CTX)
    with pytest.raises(GuaritaError):
        await passkey_sign_in.sign_in(
            runtime, device.get(options, origin="https://evil.example"), CTX
        )


async def test_registration_from_another_origin_is_refused(runtime):
    _, result = await person(runtime)
    options = await passkeys.passkey_options(runtime, result.session, CTX)
    with pytest.raises(GuaritaError) as refused:
        await passkeys.register_passkey(
            runtime,
            result.session,
            SoftAuthenticator().create(options, origin="https://evil.example"),
            "x",
            CTX,
        )
    assert refused.value.code == ErrorCode.SECOND_FACTOR_INVALID


async def test_without_user_verification_is_refused(runtime):
    _, result = await person(runtime)
    options = await passkeys.passkey_options(runtime, result.session, CTX)
    with pytest.raises(GuaritaError):
        await passkeys.register_passkey(
            runtime,
            result.session,
            SoftAuthenticator(user_verified=False).create(options),
            "x",
            CTX,
        )


async def test_a_cloned_authenticator_is_refused_and_audited(runtime):
    _, _, device, _, _ = await enrolled(runtime)
    await passkey_sign_in.sign_in(
        runtime, device.get(await passkey_sign_in.options(runtime, CTX)), CTX
    )
    await passkey_sign_in.sign_in(
        runtime, device.get(await passkey_sign_in.options(runtime, CTX)), CTX
    )
    # A copy of the key made before the last sign-in answers with an older counter.
    device.sign_count -= 1
    options = await passkey_sign_in.options(runtime, CTX)
    with pytest.raises(GuaritaError):
        await passkey_sign_in.sign_in(runtime, device.get(options, count_up=False), CTX)
    async with runtime.db.read() as s:
        tags = list((await s.execute(select(AuditEvent.tag))).scalars())
    assert AuditTag.PASSKEY_CLONE_SUSPECTED.value in tags


async def test_passkey_as_second_factor_after_the_password(runtime):
    b, _, device, _, _ = await enrolled(runtime)
    pending = (await password_step(runtime, b)).pending
    assert pending.methods[0].id == "passkey"  # the most usable first
    step = await second_step.start_method(runtime, pending.pending_id, "passkey", CTX)
    assert step.kind == "webauthn_challenge" and step.challenge["allowCredentials"]
    done = await second_step.verify(
        runtime,
        pending.pending_id,
        "passkey",
        {"credential": device.get(dict(step.challenge))},
        CTX,
    )
    assert set(done.amr) == {"pwd", "hwk", "mfa"}


async def test_several_named_passkeys_rename_and_remove(runtime):
    _, session, _, first, _ = await enrolled(runtime)
    options = await passkeys.passkey_options(runtime, session, CTX)
    assert len(options["excludeCredentials"]) == 1
    second, codes = await passkeys.register_passkey(
        runtime, session, SoftAuthenticator().create(options), "Computador", CTX
    )
    assert codes is None  # the first set stays
    await passkeys.rename_passkey(runtime, session, first.id, "Celular novo", CTX)
    await passkeys.remove_passkey(runtime, session, second.id, CTX)
    found = await second_factors.summary(runtime, session.account_id, session)
    assert [p.name for p in found.passkeys] == ["Celular novo"]
