"""Persisted flows and their one-time codes, shared by recovery and contact verification.

Every transition is a single conditional ``UPDATE … WHERE state = <expected>`` so that two
requests racing on one flow (the same code sent 20 times at once) have exactly one winner.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.config import Settings
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.domain.flows import FlowKind
from guarita.methods import codes
from guarita.storage.tables import Flow
from guarita.storage.types import utcnow


def new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(24)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# What an unknown or expired token answers: a password recovery keeps its own code (part of the
# recovery API, docs/recovery.md), every other flow the general one.
_EXPIRED = {
    FlowKind.RECOVERY: ErrorCode.RECOVERY_EXPIRED,
    FlowKind.LOCK_LINK: ErrorCode.RECOVERY_EXPIRED,  # the "Não foi você?" link of a recovery
}


def expired(kind: str) -> GuaritaError:
    return GuaritaError(_EXPIRED.get(kind, ErrorCode.FLOW_EXPIRED))


async def load(session: AsyncSession, token: str | None, kind: str, *, for_update: bool = False) -> Flow:
    """The live flow for ``token``, or ``expired(kind)`` (unknown, expired and foreign alike)."""
    if not token or len(token) > 128:
        raise expired(kind)
    flow = await session.get(Flow, hash_token(token), populate_existing=True,
                             with_for_update=for_update or None)
    if flow is None or flow.kind != kind or flow.expires_at <= utcnow():
        raise expired(kind)
    return flow


async def rotate(session: AsyncSession, flow: Flow) -> str:
    """Gives the flow a new token (the old one stops working) and returns it."""
    token, id_hash = new_token()
    await session.execute(update(Flow).where(Flow.id_hash == flow.id_hash).values(id_hash=id_hash))
    flow.id_hash = id_hash
    return token


def check_resend(flow: Flow, settings: Settings, now: datetime) -> None:
    """At most 3 codes per flow, 60 s apart (SECURITY.md); the same for every flow."""
    policy = settings.codes
    if flow.codes_sent >= policy.max_codes:
        raise GuaritaError(
            ErrorCode.TOO_MANY_ATTEMPTS,
            message=Message.CODE_LIMIT_REACHED,
            details={"retry_after": max(1, math.ceil((flow.expires_at - now).total_seconds()))},
        )
    if flow.last_code_at and now - flow.last_code_at < timedelta(seconds=policy.resend_after_seconds):
        wait = policy.resend_after_seconds - (now - flow.last_code_at).total_seconds()
        raise GuaritaError(ErrorCode.CODE_RESEND_TOO_SOON, details={"retry_after": max(1, math.ceil(wait))})


def issue_code(flow: Flow, settings: Settings, purpose: str, now: datetime, *, real: bool) -> str | None:
    """Sets a new code on the flow. For flows of unknown people (``real=False``) the code is
    generated and counted the same way, but only its HMAC of nothing is kept: it never matches.
    """
    code = codes.generate(settings.codes.digits)
    flow.code_hmac = codes.digest(settings.secret(), flow.id_hash, purpose, code) if real else None
    flow.code_expires_at = now + timedelta(seconds=settings.codes.lifetime_seconds)
    flow.codes_sent = (flow.codes_sent or 0) + 1
    flow.last_code_at = now
    return code if real else None


async def redeem_code(
    session: AsyncSession, flow: Flow, settings: Settings, purpose: str, raw_code: str,
    *, expected_state: str, next_state: str,
) -> bool:
    """Checks a code and moves the flow on. Returns False on a wrong code (attempt counted).

    Raises ``too_many_attempts`` once the attempts are used up (the flow fails for good).
    """
    policy = settings.codes
    now = utcnow()
    code = codes.clean(raw_code)
    # Count the attempt first, atomically, so parallel guesses cannot exceed the limit.
    counted = await session.execute(
        update(Flow).where(Flow.id_hash == flow.id_hash, Flow.state == expected_state,
                           Flow.attempts < policy.max_attempts)
        .values(attempts=Flow.attempts + 1)
    )
    if counted.rowcount != 1:
        if not await _reload(session, flow):
            # Another request proved the code meanwhile and the flow moved to a new token.
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        if flow.state == expected_state or flow.attempts >= policy.max_attempts:
            raise GuaritaError(ErrorCode.TOO_MANY_ATTEMPTS, message=Message.CODE_ATTEMPTS_EXHAUSTED,
                details={"retry_after": 60})
        raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
    fresh = flow.code_expires_at is not None and flow.code_expires_at > now
    if fresh and len(code) == policy.digits and codes.matches(
        settings.secret(), flow.id_hash, purpose, code, flow.code_hmac
    ):
        won = await session.execute(
            update(Flow).where(Flow.id_hash == flow.id_hash, Flow.state == expected_state,
                               Flow.code_hmac == flow.code_hmac)
            .values(state=next_state, code_hmac=None)
        )
        if won.rowcount == 1:
            await session.refresh(flow)
            return True
        raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
    await session.refresh(flow)
    if flow.attempts >= policy.max_attempts:
        await session.execute(update(Flow).where(Flow.id_hash == flow.id_hash).values(state="failed"))
    return False


async def _reload(session: AsyncSession, flow: Flow) -> bool:
    """Re-reads the flow; False when its row is gone under this token (rotated or removed)."""
    found = (await session.execute(select(Flow.id_hash).where(Flow.id_hash == flow.id_hash))).first()
    if found is None:
        return False
    await session.refresh(flow)
    return True


def attempts_left(flow: Flow, settings: Settings) -> int:
    return max(0, settings.codes.max_attempts - flow.attempts)


def invalid_code(flow: Flow, settings: Settings, *, expired: bool = False) -> GuaritaError:
    left = attempts_left(flow, settings)
    if left == 0:
        return GuaritaError(ErrorCode.TOO_MANY_ATTEMPTS, message=Message.CODE_ATTEMPTS_EXHAUSTED,
            details={"retry_after": 60})
    plural = "tentativa" if left == 1 else "tentativas"
    return GuaritaError(
        ErrorCode.INVALID_CODE, field="code",
        message=f"Código incorreto ou vencido. Confira o código recebido. Restam {left} {plural}.",
        details={"attempts_left": left},
    )
