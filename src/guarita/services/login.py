"""Entrar: sign-in by card number, CPF or e-mail plus password (issue 3; SECURITY.md).

Known and unknown identifiers take the same path: one argon2id verification (a dummy hash when
there is no account), one throttle key, one answer ``invalid_credentials``. A legacy account's
CPF or e-mail is refused with ``identifier_not_verified`` only once the password was verified,
so that answer reveals nothing to someone who does not know the password.

The password is verified outside any database transaction: on SQLite a transaction holds the
write lock, and 30 ms of argon2id under it would serialise every sign-in.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from guarita.domain import identifiers as ids
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.hashing import algorithm_of
from guarita.domain.passwords import normalize
from guarita.runtime import Runtime
from guarita.services import sessions, throttling
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.types import utcnow

ACTION = "login"


@dataclass
class SignInResult:
    account_id: str
    session_token: str
    session: sessions.SessionInfo


@dataclass
class _Attempt:
    key: str
    account_id: str | None
    identifier_id: int | None
    identifier_kind: str | None
    login_enabled: bool
    stored_hash: str | None
    usable: bool  # account active and password not disabled
    failures: int = 0  # consecutive failures counting this attempt (begin_attempt)


async def _prepare(runtime: Runtime, raw_identifier: str, context: RequestContext) -> _Attempt:
    settings = runtime.settings
    try:
        candidates = ids.candidates(raw_identifier, settings.card_min_length, settings.card_max_length)
    except GuaritaError:
        candidates = []
    typed = f"{candidates[0].kind}:{candidates[0].value}" if candidates else f"raw:{raw_identifier.strip().lower()}"
    async with runtime.db.transaction() as session:
        over_limit = await throttling.count_request(session, settings, ACTION, context.ip)
        record_ = await accounts_repo.sign_in_record(session, candidates) if candidates else None
        found, account, credential = record_ or (None, None, None)
        key = throttling.subject_key(ACTION, account.id if account else None, typed)
        if over_limit is None:
            failures, wait = await throttling.begin_attempt(session, key, settings.lockout)
    if over_limit is not None:
        raise over_limit
    if wait:
        raise throttling.too_many(wait)
    return _Attempt(
        key=key,
        account_id=account.id if account else None,
        identifier_id=found.id if found else None,
        identifier_kind=found.kind if found else None,
        login_enabled=bool(found and found.login_enabled),
        stored_hash=credential.hash if credential else None,
        usable=bool(account and account.status == "active" and account.password_disabled_at is None),
        failures=failures,
    )


async def sign_in(
    runtime: Runtime, raw_identifier: str, password: str, context: RequestContext,
    *, with_session: bool = True,
) -> SignInResult:
    if not raw_identifier or not raw_identifier.strip():
        raise GuaritaError(ErrorCode.INVALID_IDENTIFIER, field="identifier")
    if not password:
        raise GuaritaError(ErrorCode.INVALID_CREDENTIALS)
    attempt = await _prepare(runtime, raw_identifier, context)
    password = normalize(password)
    # Disabled accounts still pay for a verification: the timing must not tell them apart.
    stored = attempt.stored_hash if attempt.usable else None
    started = time.monotonic()
    correct = await runtime.hasher.verify(stored, password)
    if not correct:
        await _failed(runtime, attempt, context)
        await _pad(started, runtime.settings.password.failure_floor_ms)
        raise GuaritaError(ErrorCode.INVALID_CREDENTIALS)
    if not attempt.login_enabled:
        async with runtime.db.transaction() as session:
            await throttling.reset(session, attempt.key)
            await record(session, AuditTag.LOGIN_FAILED, subject=attempt.account_id, context=context,
                         details={"reason": "identifier_not_verified", "kind": attempt.identifier_kind})
        raise GuaritaError(ErrorCode.IDENTIFIER_NOT_VERIFIED, field="identifier")
    return await _succeeded(runtime, attempt, password, context, with_session)


async def _pad(started: float, floor_ms: int) -> None:
    """Sleeps (no CPU) until ``floor_ms`` have passed since ``started``."""
    left = floor_ms / 1000 - (time.monotonic() - started)
    if left > 0:
        await asyncio.sleep(left)


async def _failed(runtime: Runtime, attempt: _Attempt, context: RequestContext) -> None:
    """The attempt was already counted (``begin_attempt``); here it is audited, and the 100th
    consecutive failure disables the password."""
    policy = runtime.settings.lockout
    count = attempt.failures
    async with runtime.db.transaction() as session:
        if attempt.account_id:
            await record(session, AuditTag.LOGIN_FAILED, subject=attempt.account_id, context=context,
                         details={"reason": "invalid_credentials", "consecutive": count})
            if count == policy.free_failures:
                await record(session, AuditTag.LOGIN_LOCKED, subject=attempt.account_id,
                             context=context, details={"consecutive": count})
            if count >= policy.disable_after_failures:
                account = await accounts_repo.account(session, attempt.account_id)
                if account.password_disabled_at is None:
                    account.password_disabled_at = utcnow()
                    await record(session, AuditTag.PASSWORD_DISABLED, subject=account.id,
                                 context=context, details={"consecutive": count})


async def _succeeded(
    runtime: Runtime, attempt: _Attempt, password: str, context: RequestContext, with_session: bool
) -> SignInResult:
    new_hash = None
    if runtime.hasher.needs_rehash(attempt.stored_hash):
        new_hash = await runtime.hasher.hash(password)
    async with runtime.db.transaction() as session:
        await throttling.reset(session, attempt.key)
        if new_hash:
            old = algorithm_of(attempt.stored_hash).value
            await accounts_repo.set_password(session, attempt.account_id, new_hash)
            await record(session, AuditTag.PASSWORD_REHASHED, subject=attempt.account_id,
                         context=context, details={"from": old, "to": "argon2id"})
        token, info = ("", None)
        if with_session:
            token, info = await sessions.create(session, attempt.account_id, runtime.settings.session,
                                                context, amr=["pwd"])
        await record(session, AuditTag.LOGIN_SUCCEEDED, subject=attempt.account_id, context=context,
                     details={"kind": attempt.identifier_kind})
    return SignInResult(account_id=attempt.account_id, session_token=token, session=info)
