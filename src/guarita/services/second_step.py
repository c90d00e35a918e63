"""Confirme que é você: the second step of a sign-in, a step-up of a live session, and the
second factor a recovery must pass before a new password is set (docs/two-step.md;
NIST SP 800-63B-4 §2.2 AAL2; SECURITY.md › Recovery).

A pending sign-in is a ``flows`` row (kind ``sign_in``, state ``second_factor``, 5-minute
expiry) holding what the first factor proved (``data["amr"]``). Each answer goes through the
attempt protocol (``services/attempts.py``) under the account's second-factor counter: counted
before it is checked, 5 failures earn the same doubling wait as passwords, and a right password
does not reset it. The flow itself allows 5 answers, then fails. Completing it is a conditional
``UPDATE … WHERE state = 'second_factor'``: one winner, one session.

The methods offered are the person's, the most usable first (passkey, app, a code to a contact
when the deployment allows it, recovery code); a code by e-mail or SMS is never offered on the
channel a recovery just used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.flows import FlowKind, SignInState
from guarita.messaging.outbox import enqueue
from guarita.methods import passkey, recovery_codes, registry, totp
from guarita.methods.base import Contact, Method, Outcome, Step
from guarita.methods.contact_code import ContactCodeMethod
from guarita.runtime import Runtime
from guarita.services import attempts, code_caps, flows, passkeys, second_factors, sessions, throttling
from guarita.services.method_context import (
    CredentialStore,
    FlowCodes,
    ServiceContext,
    account_principal,
)
from guarita.services.notifications import message_context
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Flow
from guarita.storage.types import utcnow

PURPOSE = "second_factor"
RULES = attempts.Rules(failed=AuditTag.SECOND_FACTOR_FAILED, locked=AuditTag.SECOND_FACTOR_LOCKED)
# Multi-factor per RFC 8176 §2: two factors of different kinds were proven.
MFA = "mfa"


@dataclass
class MethodOption:
    id: str
    label: str
    hint: str | None = None


@dataclass
class Pending:
    pending_id: str
    methods: list[MethodOption]
    expires_at: datetime


@dataclass
class Completed:
    account_id: str
    session_token: str
    session: sessions.SessionInfo
    amr: list[str] = field(default_factory=list)
    next: str | None = None


def key(account_id: str) -> str:
    return throttling.throttle_key(throttling.Scope.SECOND_FACTOR, account_id)


def amr_with(first: list[str], second: str) -> list[str]:
    found = list(dict.fromkeys([*first, second]))
    return [*found, MFA] if MFA not in found else found


async def options_for(
    session: AsyncSession, runtime: Runtime, account_id: str, exclude: tuple[str, ...] = ()
) -> list[MethodOption]:
    """The person's second-factor methods, the most usable first."""
    types = await second_factors.held(session, account_id)
    found: list[Method] = []
    if passkey.CREDENTIAL in types:
        found.append(passkey.METHOD)
    if totp.CREDENTIAL in types:
        found.append(totp.METHOD)
    if runtime.settings.mfa.allow_code_factor and types & set(second_factors.FACTORS):
        principal = await account_principal(session, account_id)
        for method in registry.METHODS.values():
            if (
                isinstance(method, ContactCodeMethod)
                and method.channel in principal.contacts
                and method.id not in exclude
            ):
                found.append(method)
    if recovery_codes.CREDENTIAL in types:
        found.append(recovery_codes.METHOD)
    principal = await account_principal(session, account_id)
    return [MethodOption(id=m.id, label=m.label, hint=m.hint(principal)) for m in found]


async def begin(
    session: AsyncSession,
    runtime: Runtime,
    account_id: str,
    first_amr: list[str],
    context: RequestContext,
    *,
    replaces: str | None = None,
    auth_time: datetime | None = None,
    next_url: str | None = None,
) -> Pending:
    """Creates the pending sign-in in the caller's transaction. ``replaces``: the session a
    step-up upgrades (ended when the second factor is proven); ``auth_time``: kept from it."""
    token, id_hash = flows.new_token()
    now = utcnow()
    expires = now + timedelta(minutes=runtime.settings.mfa.pending_minutes)
    data: dict[str, Any] = {"amr": list(first_amr)}
    if replaces:
        data["replaces"] = replaces
    if auth_time is not None:
        data["auth_time"] = auth_time.isoformat()
    if next_url:
        data["next"] = next_url
    session.add(
        Flow(
            id_hash=id_hash,
            kind=FlowKind.SIGN_IN,
            state=SignInState.SECOND_FACTOR,
            account_id=account_id,
            created_at=now,
            expires_at=expires,
            data=data,
        )
    )
    await session.flush()
    return Pending(
        pending_id=token,
        methods=await options_for(session, runtime, account_id),
        expires_at=expires,
    )


async def step_up(
    runtime: Runtime,
    current: sessions.SessionInfo,
    context: RequestContext,
    next_url: str | None = None,
) -> Pending | None:
    """A second step for a live session that lacks one (``acr_values=urn:guarita:mfa``); None
    when the person has no second factor (the page then offers enrolment)."""
    async with runtime.db.transaction() as session:
        if not await second_factors.has_second_factor(session, current.account_id):
            return None
        return await begin(
            session,
            runtime,
            current.account_id,
            list(current.amr),
            context,
            replaces=current.id_hash,
            auth_time=current.auth_time,
            next_url=next_url,
        )


async def load(runtime: Runtime, pending_id: str) -> tuple[Flow, list[MethodOption]]:
    async with runtime.db.read() as session:
        flow = await _load(session, pending_id)
        return flow, await options_for(
            session, runtime, flow.account_id, tuple(flow.data.get("exclude", ()))
        )


async def _load(session: AsyncSession, pending_id: str) -> Flow:
    try:
        flow = await flows.load(session, pending_id, FlowKind.SIGN_IN)
    except GuaritaError as exc:
        raise GuaritaError(ErrorCode.SECOND_STEP_EXPIRED) from exc
    if flow.state != SignInState.SECOND_FACTOR:
        raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
    return flow


def _offered(options: list[MethodOption], method_id: str) -> Method:
    if method_id not in {o.id for o in options}:
        raise GuaritaError(
            ErrorCode.METHOD_UNAVAILABLE,
            field="method",
            message=("Esta forma de confirmação não está disponível para a sua conta."),
        )
    return registry.METHODS[method_id]


async def start_method(
    runtime: Runtime, pending_id: str, method_id: str, context: RequestContext
) -> Step:
    """What the chosen method asks: a code form, or WebAuthn request options with a fresh
    challenge bound to this pending sign-in; a code to a contact is sent now."""
    flow, options = await load(runtime, pending_id)
    method = _offered(options, method_id)
    return await start_for(runtime, flow, method, context, bound_to=flow.id_hash)


async def start_for(
    runtime: Runtime,
    flow: Flow,
    method: Method,
    context: RequestContext,
    *,
    bound_to: str,
    kind: FlowKind = FlowKind.SIGN_IN,
    state: str = SignInState.SECOND_FACTOR,
) -> Step:
    principal = second_factors.principal(flow.account_id)
    ctx = ServiceContext(
        runtime=runtime,
        request=context,
        principal=principal,
        credentials=CredentialStore(runtime, principal),
    )
    if isinstance(method, passkey.PasskeyMethod):
        challenge = passkey.new_challenge()
        async with runtime.db.transaction() as session:
            await passkeys.store_challenge(
                session,
                runtime,
                challenge,
                PURPOSE,
                flow.account_id,
                utcnow(),
                {"bound_to": bound_to},
            )
        holder = Flow(data={"challenge": challenge})
        return await method.start(ctx, holder, principal)
    if isinstance(method, ContactCodeMethod):
        now = utcnow()
        async with runtime.db.transaction() as session:
            await throttling.hit_rate_limit(session, runtime.settings, "code", context.ip)
        async with runtime.db.transaction() as session:
            row = await session.get(
                Flow, flow.id_hash, with_for_update=True, populate_existing=True
            )
            if row is None or row.state != state:
                raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
            flows.check_resend(row, runtime.settings, now)
            contacts = await account_principal(session, flow.account_id)
            contact = contacts.contacts.get(method.channel)
            # The person proved the password: a cap passed is said plainly, not hidden.
            if contact is not None and not await code_caps.code_allowed(
                session, runtime.settings, flow.account_id, contact.value
            ):
                raise code_caps.refused()
            ctx.session = session
            ctx.codes = _code_port(runtime, session, kind, state)
            step = await method.start(ctx, row, contacts)
            row.method = method.id
        return step
    return await method.start(ctx, flow, principal)


def _code_port(runtime: Runtime, session: AsyncSession, kind: FlowKind, state: str) -> FlowCodes:
    async def send(flow: Flow, contact: Contact, code: str) -> None:
        await enqueue(
            session,
            channel=contact.channel.value,
            to=contact.value,
            template="recovery_code",
            account_id=flow.account_id,
            discard_after=flow.code_expires_at,
            context=message_context(
                runtime.settings,
                code=code,
                minutes=runtime.settings.codes.lifetime_seconds // 60,
                continue_url=runtime.settings.base_url.rstrip("/"),
            ),
        )

    # The code is single use (its HMAC is cleared) and leaves the flow in its state: the
    # service completes it once the attempt is settled.
    return FlowCodes(
        runtime=runtime,
        session=session,
        purpose=f"{kind}:{PURPOSE}",
        expected_state=state,
        next_state=state,
        send=send,
    )


async def prove(
    runtime: Runtime,
    flow: Flow,
    method: Method,
    answer: Mapping[str, Any],
    context: RequestContext,
    *,
    kind: FlowKind = FlowKind.SIGN_IN,
    state: str = SignInState.SECOND_FACTOR,
) -> Outcome:
    """Checks one answer through the attempt protocol; raises on failure (``invalid_code``,
    ``second_factor_invalid``, ``too_many_attempts``), returns the outcome on success."""
    account_id = flow.account_id
    async with runtime.db.transaction() as session:
        attempt = await attempts.begin(session, runtime, key(account_id), account_id)
        used_up = False
        if not isinstance(method, ContactCodeMethod):  # a code's flow counts its own attempts
            counted = await session.execute(
                update(Flow)
                .where(
                    Flow.id_hash == flow.id_hash,
                    Flow.state == state,
                    Flow.attempts < runtime.settings.codes.max_attempts,
                )
                .values(attempts=Flow.attempts + 1)
            )
            used_up = counted.rowcount != 1
    attempt.refuse_if_waiting(RULES)
    if used_up:
        raise GuaritaError(
            ErrorCode.TOO_MANY_ATTEMPTS,
            message=(
                "Você errou muitas vezes. Entre de novo ou ligue para a central de atendimento."
            ),
        )
    principal = second_factors.principal(account_id)
    ctx = ServiceContext(
        runtime=runtime,
        request=context,
        principal=principal,
        credentials=CredentialStore(runtime, principal),
    )
    target: Any = flow
    if isinstance(method, passkey.PasskeyMethod):
        target = await _challenge_for(runtime, answer, flow.id_hash, account_id)
        outcome = await method.verify(ctx, target, answer) if target is not None else None
    elif isinstance(method, ContactCodeMethod):
        async with runtime.db.transaction() as session:
            row = await session.get(Flow, flow.id_hash, populate_existing=True)
            ctx.session = session
            ctx.codes = _code_port(runtime, session, kind, state)
            outcome = (
                await method.verify(ctx, row, answer)
                if row is not None and row.method == method.id
                else None
            )
    else:
        outcome = await method.verify(ctx, target, answer)
    if outcome is None or not outcome.ok:
        if outcome is not None and outcome.details.get("cloned"):
            async with runtime.db.transaction() as session:
                await record(
                    session,
                    AuditTag.PASSKEY_CLONE_SUSPECTED,
                    subject=account_id,
                    context=context,
                    details={"key": outcome.details.get("key")},
                )
        error = (
            GuaritaError(ErrorCode.SECOND_FACTOR_INVALID, field="credential")
            if isinstance(method, passkey.PasskeyMethod)
            else GuaritaError(
                ErrorCode.INVALID_CODE,
                field="code",
                message=("Código incorreto ou já usado. Confira e tente de novo."),
            )
        )
        raise await attempts.failed(
            runtime, attempt, RULES, context, error, details={"method": method.id}
        )
    async with runtime.db.transaction() as session:
        await attempts.succeeded(session, attempt)
        await record(
            session,
            AuditTag.SECOND_FACTOR_SUCCEEDED,
            subject=account_id,
            context=context,
            details={
                "method": method.id,
                "during": str(kind),
                **({"left": outcome.details["left"]} if "left" in outcome.details else {}),
            },
        )
    return outcome


async def _challenge_for(
    runtime: Runtime, answer: Mapping[str, Any], bound_to: str, account_id: str
) -> Flow | None:
    try:
        credential = passkey.parse(answer.get("credential"))
        challenge = await passkeys.take_challenge(runtime, credential, PURPOSE)
    except (passkey.PasskeyError, GuaritaError):
        return None
    if challenge.account_id != account_id or challenge.data.get("bound_to") != bound_to:
        return None
    return challenge


async def verify(
    runtime: Runtime,
    pending_id: str,
    method_id: str,
    answer: Mapping[str, Any],
    context: RequestContext,
) -> Completed:
    """The answer to "Confirme que é você"; on success the session, with ``amr`` of both."""
    flow, options = await load(runtime, pending_id)
    method = _offered(options, method_id)
    outcome = await prove(runtime, flow, method, answer, context)
    return await _complete(runtime, flow, outcome, context)


async def _complete(
    runtime: Runtime, flow: Flow, outcome: Outcome, context: RequestContext
) -> Completed:
    now = utcnow()
    amr = amr_with(list(flow.data.get("amr", ["pwd"])), outcome.amr)
    async with runtime.db.transaction() as session:
        won = await session.execute(
            update(Flow)
            .where(Flow.id_hash == flow.id_hash, Flow.state == SignInState.SECOND_FACTOR)
            .values(state=SignInState.COMPLETED, completed_at=now)
        )
        if won.rowcount != 1:
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        replaces = flow.data.get("replaces")
        if replaces:
            await sessions.end(session, replaces, now)
        token, info = await sessions.create(
            session, flow.account_id, runtime.settings.session, context, amr=amr, now=now
        )
        kept = flow.data.get("auth_time")
        if kept:
            # A step-up proves a second factor now; the first one was proven when it was.
            info = await sessions.keep_auth_time(
                session, info, datetime.fromisoformat(kept), runtime.settings.session
            )
        await record(
            session,
            AuditTag.LOGIN_SUCCEEDED,
            subject=flow.account_id,
            context=context,
            details={"second_factor": outcome.method, "step_up": bool(replaces)},
        )
    return Completed(
        account_id=flow.account_id,
        session_token=token,
        session=info,
        amr=amr,
        next=flow.data.get("next"),
    )


def channel_of(method_id: str | None) -> str | None:
    """The code method that delivers on the channel a recovery used (``email``, ``sms``)."""
    for method in registry.METHODS.values():
        if isinstance(method, ContactCodeMethod) and method.id == method_id:
            return method.id
    return None
