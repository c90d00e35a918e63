"""Entrar: sign-in by card number, CPF or e-mail plus password (docs/recovery.md › Entrar; SECURITY.md).

Known and unknown identifiers take the same path: one argon2id verification (a dummy hash when
there is no account), one throttle key, one answer ``invalid_credentials`` — which says how many
tries are left once two remain, for unknown identifiers alike (they are counted alike). A legacy
account's CPF or e-mail is refused with ``identifier_not_verified``, and a disabled account or
password with ``account_locked`` (and what to do), only once the password was verified, so
those answers reveal nothing to someone who does not know the password; both are recorded as
what they were, not as a wrong password.

The password is verified outside any database transaction: on SQLite a transaction holds the
write lock, and 30 ms of argon2id under it would serialise every sign-in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from guarita.domain import identifiers as ids
from guarita.domain.accounts import AccountStatus, PrincipalKind
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.domain.hashing import algorithm_of
from guarita.domain.passwords import normalize
from guarita.methods import password as password_method
from guarita.methods.base import Principal, StoredCredential
from guarita.runtime import Runtime
from guarita.services import attempts, guard, second_factors, second_step, sessions, throttling
from guarita.services.method_context import LoadedCredentials, ServiceContext
from guarita.storage import accounts as accounts_repo
from guarita.storage import plain_sql, sign_in_sql
from guarita.storage.audit import RequestContext, append_in, record
from guarita.storage.types import utcnow

ACTION = "login"


@dataclass
class SignInResult:
    account_id: str
    session_token: str
    session: sessions.SessionInfo | None
    # Set instead of a session when the account has a second factor: "Confirme que é você".
    pending: second_step.Pending | None = None
    # What the answer shows of the account, when the sign-in's transaction read it.
    account: sign_in_sql.AccountRows | None = None


@dataclass
class _Prepared:
    attempt: attempts.Attempt
    record: sign_in_sql.SignInRecord | None

    @property
    def account_id(self) -> str | None:
        return self.record.account_id if self.record else None

    @property
    def identifier_kind(self) -> str | None:
        return self.record.identifier_kind if self.record else None

    @property
    def login_enabled(self) -> bool:
        return bool(self.record and self.record.login_enabled)

    @property
    def stored_hash(self) -> str | None:
        return self.record.password_hash if self.record else None

    @property
    def blocked(self) -> str | None:
        """"disabled" (the account) or "password_disabled"; None when the password may sign in."""
        if self.record is None:
            return None
        if self.record.status != AccountStatus.ACTIVE:
            return "disabled"
        return "password_disabled" if self.record.password_disabled_at is not None else None

    @property
    def usable(self) -> bool:  # account active and password not disabled
        return self.record is not None and self.blocked is None


async def _prepare(runtime: Runtime, raw_identifier: str, context: RequestContext) -> _Prepared:
    """The transaction before the hash, as one plain-SQL body (``storage/sign_in_sql.py``; on
    PostgreSQL one statement, :func:`_prepare_in_one`):
    the request counted per address, the account read with its password, the attempt counted
    (``throttling.begin_attempt_in``) — committed before the password is verified."""
    settings = runtime.settings
    try:
        candidates = ids.candidates(raw_identifier, settings.card_min_length, settings.card_max_length)
    except GuaritaError:
        candidates = []
    typed = (f"{candidates[0].kind}:{candidates[0].value}" if candidates
             else f"raw:{raw_identifier.strip().lower()}")

    if not runtime.db.is_sqlite and context.ip and candidates:
        return await _prepare_in_one(runtime, candidates, typed, context)

    async def body(tx: plain_sql.Tx) -> tuple:
        over_limit = await throttling.count_request_in(tx, settings, ACTION, context.ip)
        found = await sign_in_sql.sign_in_record(tx, candidates) if candidates else None
        if over_limit is not None:
            return over_limit, found, None
        key = throttling.throttle_key(throttling.Scope.SIGN_IN,
                                      found.account_id if found else None, typed)
        return None, found, (key, *await throttling.begin_attempt_in(tx, key, settings.lockout))

    over_limit, found, counted = await plain_sql.write(runtime.db, body)
    if over_limit is not None:
        raise over_limit
    key, failures, wait = counted
    attempt = attempts.Attempt(key=key, subject=found.account_id if found else None,
                               failures=failures, wait=wait)
    attempt.refuse_if_waiting(RULES)
    return _Prepared(attempt=attempt, record=found)


_COUNTING_TRIES = 3


async def _prepare_in_one(runtime: Runtime, candidates: list, typed: str,
                          context: RequestContext) -> _Prepared:
    """:func:`_prepare` on PostgreSQL: the same counting, lookup and wait in one statement
    (``sign_in_sql.begin_sign_in``), committed before the password is verified."""
    settings = runtime.settings
    limit, window = settings.rate_limits.parse(ACTION)
    policy = settings.lockout
    now = utcnow()

    async def body(tx: plain_sql.Tx) -> sign_in_sql.Begun:
        return await sign_in_sql.begin_sign_in(
            tx, candidates, window_key=throttling.ip_key(ACTION, context.ip), window=window,
            limit=limit, now=now,
            known_prefix=throttling.principal_key_prefix(throttling.Scope.SIGN_IN),
            unknown_key=throttling.throttle_key(throttling.Scope.SIGN_IN, None, typed),
            free=policy.free_failures, first_wait=policy.first_wait_seconds,
            max_wait=policy.max_wait_seconds)

    # Nothing counted and no wait in the statement's snapshot means the attempt row changed
    # under it: a wait set since (read it), or the row deleted since by a success or a desk
    # unlock — then the statement runs again, because an attempt is never verified uncounted.
    # The rare repeat counts the address's window twice; a third miss refuses for a second.
    for _ in range(_COUNTING_TRIES):
        begun = await plain_sql.alone(runtime.db, body)
        over_limit = throttling.over_limit(begun.window_count, begun.window_started, limit,
                                           window, now)
        if over_limit is not None:
            raise over_limit
        if begun.counted is not None:
            failures, wait = begun.counted, 0
            break
        if begun.locked_until is not None and begun.locked_until > now:
            failures = begun.failures or 0
            wait = math.ceil((begun.locked_until - now).total_seconds())
            break
        failures, wait = await plain_sql.alone(
            runtime.db, lambda tx, key=begun.key: throttling.attempt_state_in(tx, key, now))
        if wait > 0:
            break
    else:
        wait = max(wait, 1)
    found = begun.record
    attempt = attempts.Attempt(key=begun.key, subject=found.account_id if found else None,
                               failures=failures, wait=wait)
    attempt.refuse_if_waiting(RULES)
    return _Prepared(attempt=attempt, record=found)


async def sign_in(
    runtime: Runtime, raw_identifier: str, password: str, context: RequestContext,
    *, with_session: bool = True, next_url: str | None = None,
) -> SignInResult:
    if not raw_identifier or not raw_identifier.strip():
        raise GuaritaError(ErrorCode.INVALID_IDENTIFIER, field="identifier")
    if not password:
        raise GuaritaError(ErrorCode.INVALID_CREDENTIALS)
    prepared = await _prepare(runtime, raw_identifier, context)
    # A disabled account's password is verified too (the same cost as any other): only the one
    # who knows it is told the account is locked (SECURITY.md › Account enumeration).
    outcome = await password_method.METHOD.verify(
        password_context(runtime, context, prepared.account_id, prepared.stored_hash), None,
        {"password": password})
    if not outcome.ok:
        raise await attempts.failed(runtime, prepared.attempt, RULES, context,
                                    _wrong_password(runtime, prepared.attempt),
                                    details={"reason": "invalid_credentials"})
    if not prepared.usable:
        async with runtime.db.transaction() as session:
            await record(session, AuditTag.LOGIN_FAILED, subject=prepared.account_id,
                         context=context, details={"reason": "account_locked",
                                                   "kind": prepared.identifier_kind,
                                                   "blocked": prepared.blocked})
        raise GuaritaError(ErrorCode.ACCOUNT_LOCKED, details={"blocked": prepared.blocked},
                           message=Message.PASSWORD_DISABLED_AFTER_FAILURES
                           if prepared.blocked == "password_disabled" else None)
    if not prepared.login_enabled:
        async with runtime.db.transaction() as session:
            await attempts.succeeded(session, prepared.attempt)
            await record(session, AuditTag.LOGIN_FAILED, subject=prepared.account_id,
                         context=context, details={"reason": "identifier_not_verified",
                                                   "kind": prepared.identifier_kind})
        raise GuaritaError(ErrorCode.IDENTIFIER_NOT_VERIFIED, field="identifier")
    rehash = outcome.details["rehash"]
    if with_session and not rehash:
        done = await _succeeded_plain(runtime, prepared, context)
        if done is not None:
            return done
    return await _succeeded(runtime, prepared, normalize(password), rehash,
                            context, with_session, next_url)


def password_context(runtime: Runtime, context: RequestContext, account_id: str | None,
                     stored_hash: str | None) -> ServiceContext:
    """What the password method needs: the hasher and the hash read with the account."""
    credentials = LoadedCredentials()
    if stored_hash is not None:
        credentials.found[password_method.CREDENTIAL] = StoredCredential(
            type=password_method.CREDENTIAL, secret=stored_hash)
    principal = Principal(kind=PrincipalKind.ACCOUNT, id=account_id)
    return ServiceContext(runtime=runtime, request=context, principal=principal,
                          credentials=credentials)


# SECURITY.md › Throttling and lockout: the wait comes after free_failures; from two tries left
# the answer says so, in words an elderly person can act on.
_TRIES_LEFT = {2: Message.TWO_TRIES_LEFT, 1: Message.ONE_TRY_LEFT, 0: Message.NO_TRIES_LEFT}


def _wrong_password(runtime: Runtime, attempt: attempts.Attempt) -> GuaritaError:
    """``invalid_credentials``; from two tries left before the wait, how many remain."""
    left = runtime.settings.lockout.free_failures - attempt.failures
    if left > 2:
        return GuaritaError(ErrorCode.INVALID_CREDENTIALS)
    left = max(left, 0)
    return GuaritaError(ErrorCode.INVALID_CREDENTIALS, message=_TRIES_LEFT[left],
                        details={"attempts_left": left})


async def disable_password(session, account_id: str) -> bool:  # noqa: ANN001
    """The 100th consecutive failure disables the password until a recovery or the desk."""
    account = await accounts_repo.account(session, account_id)
    if account is None or account.password_disabled_at is not None:
        return False
    account.password_disabled_at = utcnow()
    return True


RULES = attempts.Rules(failed=AuditTag.LOGIN_FAILED, locked=AuditTag.LOGIN_LOCKED,
                       disabled=AuditTag.PASSWORD_DISABLED, disable=disable_password)


async def _succeeded_plain(
    runtime: Runtime, prepared: _Prepared, context: RequestContext,
) -> SignInResult | None:
    """The usual success — no second factor, no rehash — as one plain-SQL body: the counter
    cleared, the address refunded, the session opened, ``login_succeeded`` appended to the
    audit chain, and the rows the answer shows read. None (nothing written) when the account
    holds a second factor: :func:`_succeeded` then begins the second step."""
    record_ = prepared.record
    db = runtime.db
    audit_key = db.info.get("audit_key")
    guard_on = runtime.settings.guard.hours_for(guard.NEW_DEVICE) > 0

    async def body(tx: plain_sql.Tx) -> tuple | None:
        # Read first, before any lock is taken: the rows the answer shows, and whether the
        # account holds a second factor (then None).
        rows = await sign_in_sql.answer_rows(tx, record_, second_factors.FACTORS)
        if rows is None:
            return None
        # The fraud guard: a new device on a new network holds risky changes; the hold is
        # placed by the ORM path (``guard.after_sign_in``), which then runs instead.
        if guard_on and guard.new_device(
                runtime, await sign_in_sql.recent_sessions(tx, record_.account_id,
                                                           guard.RECENT_SESSIONS),
                context, utcnow()):
            return None
        # The per-IP limit counts failures only (SECURITY.md › Throttling). The address's row
        # before the principal's, the order ``_prepare`` locks them in (no deadlock between a
        # sign-in that begins and one that ends, on PostgreSQL).
        await throttling.refund_request_in(tx, ACTION, context.ip)
        token, values, info = sessions.new_session(
            record_.account_id, runtime.settings.session, context,
            amr=[password_method.METHOD.amr])
        # The principal's counter cleared, the session opened (and, on PostgreSQL, the audit
        # chain's lock taken in the same statement).
        locked = await sign_in_sql.open_session(tx, prepared.attempt.key, values)
        appended = await append_in(tx, audit_key, postgres=not db.is_sqlite, locked=locked,
                                   tag=AuditTag.LOGIN_SUCCEEDED, subject=record_.account_id,
                                   context=context, details={"kind": record_.identifier_kind})
        return token, info, appended, rows

    done = await plain_sql.write(db, body)
    if done is None:
        return None
    token, info, appended, rows = done
    appended.anchor(db.info.get("audit_anchor_every", 0))
    return SignInResult(account_id=record_.account_id, session_token=token, session=info,
                        account=rows)


async def _succeeded(
    runtime: Runtime, prepared: _Prepared, password: str, rehash: bool, context: RequestContext,
    with_session: bool, next_url: str | None = None,
) -> SignInResult:
    new_hash = await runtime.hasher.hash(password) if rehash else None
    async with runtime.db.transaction() as session:
        # The per-IP limit counts failures only (SECURITY.md › Throttling): many people sign
        # in from one carrier address. The address's row first, as ``_prepare`` locks them.
        await throttling.refund_request(session, ACTION, context.ip)
        await attempts.succeeded(session, prepared.attempt)
        if new_hash:
            old = algorithm_of(prepared.stored_hash).value
            await accounts_repo.set_password(session, prepared.account_id, new_hash)
            await record(session, AuditTag.PASSWORD_REHASHED, subject=prepared.account_id,
                         context=context, details={"from": old, "to": "argon2id"})
        token, info, pending = ("", None, None)
        if with_session and await second_factors.has_second_factor(session,
                                                                    prepared.account_id):
            # The password was right; the session waits for the second factor.
            pending = await second_step.begin(session, runtime, prepared.account_id,
                                              [password_method.METHOD.amr], context,
                                              next_url=next_url)
            return SignInResult(account_id=prepared.account_id, session_token="",
                                session=None, pending=pending)
        if with_session:
            # The fraud guard: a new device on a new network holds risky changes.
            await guard.after_sign_in(session, runtime, prepared.account_id, context)
            token, info = await sessions.create(session, prepared.account_id,
                                                runtime.settings.session, context,
                                                amr=[password_method.METHOD.amr])
        await record(session, AuditTag.LOGIN_SUCCEEDED, subject=prepared.account_id,
                     context=context, details={"kind": prepared.identifier_kind})
    return SignInResult(account_id=prepared.account_id, session_token=token, session=info)
