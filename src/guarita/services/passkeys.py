"""Passkeys of a person (WebAuthn Level 3 §7.1 registration; the single-use challenges that
§13.4.3 asks for): creation options, registration, renaming and removal, under the rules of
:mod:`guarita.services.second_factors` (re-authentication, audit, notice to every contact).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.evidence import EvidenceKind
from guarita.domain.flows import ChallengeState, FlowKind
from guarita.domain.identifiers import IdentifierKind
from guarita.methods import passkey
from guarita.runtime import Runtime
from guarita.services import flows, guard, sessions, trust
from guarita.services.second_factors import (
    ACCOUNT,
    PasskeyView,
    first_codes,
    notify_change,
    principal,
    remove_factor,
    require_recent,
    views,
)
from guarita.storage import accounts as accounts_repo
from guarita.storage import credentials as credentials_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Flow
from guarita.storage.types import utcnow


async def passkey_options(
    runtime: Runtime, current: sessions.SessionInfo, context: RequestContext
) -> dict[str, Any]:
    """Creation options with a fresh single-use challenge bound to this account."""
    require_recent(runtime, current)
    # Held after a recovery or a new device (docs/fraud-guard.md).
    await guard.require_no_hold(runtime, current.account_id, guard.SECOND_FACTOR)
    settings = runtime.settings
    account_id = current.account_id
    challenge = passkey.new_challenge()
    now = utcnow()
    async with runtime.db.transaction() as session:
        account = await accounts_repo.account(session, account_id)
        beneficiary = await accounts_repo.beneficiary_of(session, account)
        identifiers = await accounts_repo.identifiers_of(session, account_id)
        stored = await credentials_repo.get(session, ACCOUNT, account_id, passkey.CREDENTIAL)
        existing = passkey.keys_of(stored.data) if stored is not None else []
        if len(existing) >= settings.mfa.max_passkeys:
            raise GuaritaError(
                ErrorCode.METHOD_UNAVAILABLE,
                message=("Você já tem o número máximo de chaves de acesso. Remova uma antes."),
            )
        await store_challenge(session, runtime, challenge, "register", account_id, now)
    card = next((i.value for i in identifiers if i.kind == IdentifierKind.CARD), None)
    # The name the authenticator shows when choosing a passkey: the nome social when there is one.
    name = (beneficiary.social_name or beneficiary.name) if beneficiary else "Beneficiário"
    return passkey.registration_options(
        base_url=settings.base_url,
        rp_name=settings.mfa.rp_name or settings.organisation_name,
        principal=principal(account_id),
        user_name=card or name,
        display_name=name,
        challenge=challenge,
        existing=existing,
    )


async def store_challenge(
    session: AsyncSession,
    runtime: Runtime,
    challenge: str,
    purpose: str,
    account_id: str | None,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> None:
    """A WebAuthn challenge as a flow row keyed by its hash, so the answer finds it."""
    session.add(
        Flow(
            id_hash=flows.hash_token(challenge),
            kind=FlowKind.PASSKEY_CHALLENGE,
            state=ChallengeState.OPEN,
            account_id=account_id,
            method=purpose,
            created_at=now,
            expires_at=now + timedelta(minutes=runtime.settings.mfa.challenge_minutes),
            data={"challenge": challenge, **(extra or {})},
        )
    )
    await session.flush()


async def take_challenge(runtime: Runtime, credential: dict[str, Any], purpose: str) -> Flow:
    """The open challenge the answer names, used up at once (single use, one winner), or
    ``second_factor_invalid`` for an unknown, expired, used or foreign challenge."""
    challenge = passkey.client_challenge(credential)
    invalid = GuaritaError(ErrorCode.SECOND_FACTOR_INVALID, field="credential")
    if challenge is None:
        raise invalid
    now = utcnow()
    async with runtime.db.transaction() as session:
        try:
            flow = await flows.load(session, challenge, FlowKind.PASSKEY_CHALLENGE)
        except GuaritaError as exc:
            raise invalid from exc
        won = await session.execute(
            update(Flow)
            .where(
                Flow.id_hash == flow.id_hash,
                Flow.state == ChallengeState.OPEN,
                Flow.method == purpose,
            )
            .values(state=ChallengeState.USED, completed_at=now)
        )
        if won.rowcount != 1:
            raise invalid
    return flow


async def register_passkey(
    runtime: Runtime,
    current: sessions.SessionInfo,
    raw_credential: Any,
    name: str | None,
    context: RequestContext,
) -> tuple[PasskeyView, list[str] | None]:
    """§7.1 registration; returns the new passkey and, for a first second factor, the first
    recovery codes."""
    require_recent(runtime, current)
    # Held after a recovery or a new device (docs/fraud-guard.md).
    await guard.require_no_hold(runtime, current.account_id, guard.SECOND_FACTOR)
    account_id = current.account_id
    try:
        credential = passkey.parse(raw_credential)
    except passkey.PasskeyError as exc:
        raise GuaritaError(ErrorCode.SECOND_FACTOR_INVALID, field="credential") from exc
    flow = await take_challenge(runtime, credential, "register")
    if flow.account_id != account_id:
        raise GuaritaError(ErrorCode.SECOND_FACTOR_INVALID, field="credential")
    now = utcnow()
    try:
        key = passkey.verify_registration(
            credential=credential,
            challenge=flow.data["challenge"],
            base_url=runtime.settings.base_url,
            now=now,
            name=passkey.clean_name(name, "Chave de acesso"),
        )
    except passkey.PasskeyError as exc:
        raise GuaritaError(ErrorCode.SECOND_FACTOR_INVALID, field="credential") from exc
    async with runtime.db.transaction() as session:
        stored = await credentials_repo.get(session, ACCOUNT, account_id, passkey.CREDENTIAL)
        keys = passkey.keys_of(stored.data) if stored is not None else []
        if any(k["id"] == key["id"] for k in keys):
            raise GuaritaError(
                ErrorCode.CONTACT_IN_USE, message=("Esta chave de acesso já está cadastrada.")
            )
        if stored is None:
            await credentials_repo.put(
                session,
                ACCOUNT,
                account_id,
                passkey.CREDENTIAL,
                data={"keys": [key]},
                counter=0,
                now=now,
            )
        else:
            stored.data = {**stored.data, "keys": [*keys, key]}
            stored.counter = (stored.counter or 0) + 1
            stored.changed_at = now
        codes = await first_codes(session, runtime, account_id, now)
        # Registration with user verification proved the key just now (WebAuthn §7.1 step 17).
        await sessions.add_amr(session, current.id_hash, [passkey.amr_of(key), "mfa"])
        await record(
            session,
            AuditTag.SECOND_FACTOR_ENROLLED,
            subject=account_id,
            context=context,
            details={"method": passkey.METHOD.id, "name": key["name"]},
        )
        await trust.record_evidence(session, runtime.settings, account_id,
                                    EvidenceKind.SECOND_FACTOR, method=passkey.METHOD.id,
                                    source="passkey", context=context, now=now)
        await notify_change(session, runtime, account_id, "passkey_enrolled", now)
    return views({"keys": [key]})[0], codes


async def rename_passkey(
    runtime: Runtime, current: sessions.SessionInfo, key_id: str, name: str, context: RequestContext
) -> PasskeyView:
    """A new name ("Celular da Maria"); no re-authentication: it changes no factor."""
    account_id = current.account_id
    clean = passkey.clean_name(name, "")
    if not clean:
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR, field="name", message="Dê um nome para a chave de acesso."
        )
    async with runtime.db.transaction() as session:
        stored = await credentials_repo.get(session, ACCOUNT, account_id, passkey.CREDENTIAL)
        keys = passkey.keys_of(stored.data) if stored is not None else []
        key = next((k for k in keys if k["id"] == key_id), None)
        if key is None:
            raise GuaritaError(ErrorCode.NOT_FOUND, message="Chave de acesso não encontrada.")
        key["name"] = clean
        stored.data = {**stored.data, "keys": [key if k["id"] == key_id else k for k in keys]}
        stored.counter = (stored.counter or 0) + 1
        await record(session, AuditTag.PASSKEY_RENAMED, subject=account_id, context=context)
    return views({"keys": [key]})[0]


async def remove_passkey(
    runtime: Runtime,
    current: sessions.SessionInfo,
    key_id: str,
    context: RequestContext,
    *,
    new_password: str | None = None,
    confirmation: str | None = None,
) -> None:
    account_id = current.account_id

    async def apply(session: AsyncSession | None, types: set[str]) -> set[str]:
        reader = session
        if reader is None:
            async with runtime.db.read() as reading:
                stored = await credentials_repo.get(
                    reading, ACCOUNT, account_id, passkey.CREDENTIAL
                )
        else:
            stored = await credentials_repo.get(reader, ACCOUNT, account_id, passkey.CREDENTIAL)
        keys = passkey.keys_of(stored.data) if stored is not None else []
        if not any(k["id"] == key_id for k in keys):
            raise GuaritaError(ErrorCode.NOT_FOUND, message="Chave de acesso não encontrada.")
        rest = [k for k in keys if k["id"] != key_id]
        if session is not None:
            if rest:
                stored.data = {**stored.data, "keys": rest}
                stored.counter = (stored.counter or 0) + 1
            else:
                await credentials_repo.remove(session, ACCOUNT, account_id, passkey.CREDENTIAL)
        return types if rest else types - {passkey.CREDENTIAL}

    await remove_factor(
        runtime,
        current,
        context,
        change="passkey_removed",
        apply=apply,
        new_password=new_password,
        confirmation=confirmation,
        details={"method": passkey.METHOD.id},
    )
