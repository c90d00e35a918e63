"""Esqueci minha senha by validação facial (``docs/face.md`` › Recovery).

``challenge`` gives a flow a fresh, single-use challenge (two random movements, valid a few
minutes); ``verify`` takes the filmed frames and, when the face method passes, moves the flow to
``verified`` exactly as an accepted code does — with a new token for this request alone.

Attempts (``docs/face.md`` › Attempts): each verification counts before any work, 5 per flow
(``GUARITA_FACE__ATTEMPTS_PER_FLOW``) and 10 per account per day
(``GUARITA_FACE__ATTEMPTS_PER_DAY``; unknown identifiers per identifier, alike), through the
shared throttle rows. A refusal says plainly what to do next and that a person may ask for a
human review (LGPD art. 20), which lands on the support desk's list.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.flows import FlowKind, RecoveryState
from guarita.methods import face as face_method
from guarita.methods import face_liveness
from guarita.methods.base import Principal
from guarita.runtime import Runtime
from guarita.services import flows, second_factors, throttling, trust
from guarita.services.face_references import AccountFaces
from guarita.services.method_context import ServiceContext, account_principal
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Flow, KeyValue
from guarita.storage.types import utcnow

CHALLENGES = "face_challenge"
FRAMES = "face_frame"
DAY = 86_400
SCOPE = "face"
# References checked against a document by someone (a supervisor, SERPRO): strong enough to
# replace a lost second factor.
STRONG_SOURCES = frozenset({face_method.Source.IN_PERSON, face_method.Source.DATAVALID})


@dataclass
class FaceChallenge:
    challenge_id: str
    movements: list[str]
    instructions: list[str]
    expires_at: datetime
    seconds_per_movement: float


def _offered(runtime: Runtime) -> None:
    if face_method.METHOD.id not in runtime.settings.recovery.methods:
        raise GuaritaError(ErrorCode.METHOD_UNAVAILABLE, field="method")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def refused(flow_attempts: int, limit: int) -> GuaritaError:
    return GuaritaError(ErrorCode.TOO_MANY_ATTEMPTS, message=(
        "Você já tentou a validação facial o número máximo de vezes. Use outra forma de "
        "recuperação, peça uma revisão por uma pessoa ou ligue para a central de atendimento."),
        details={"retry_after": 60, "attempts": flow_attempts, "limit": limit})


async def challenge(runtime: Runtime, token: str, context: RequestContext) -> FaceChallenge:
    """A new challenge for the recovery ``token`` (any earlier one of the flow stops working)."""
    _offered(runtime)
    settings = runtime.settings
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, settings, "code", context.ip)
    now = utcnow()
    async with runtime.db.transaction() as session:
        flow = await flows.load(session, token, FlowKind.RECOVERY, for_update=True)
        if flow.state == RecoveryState.FAILED:
            raise refused(flow.attempts, settings.face.attempts_per_flow)
        if flow.state not in (RecoveryState.CHOOSE_METHOD, RecoveryState.CODE_SENT):
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        principal = await account_principal(session, flow.account_id)
        step = await face_method.METHOD.start(
            ServiceContext(runtime=runtime, request=context, principal=principal,
                           session=session, now=now), flow, principal)
        assert step.challenge is not None
        challenge_id = secrets.token_urlsafe(24)
        expires = now + timedelta(seconds=settings.face.challenge_seconds)
        await session.execute(delete(KeyValue).where(KeyValue.namespace == CHALLENGES,
                                                     KeyValue.expires_at < now))
        previous = (flow.data or {}).get("face_challenge")
        if previous:
            await session.execute(delete(KeyValue).where(KeyValue.namespace == CHALLENGES,
                                                         KeyValue.key == previous))
        session.add(KeyValue(
            namespace=CHALLENGES, key=_digest(challenge_id), expires_at=expires,
            value=json.dumps({"flow": flow.id_hash,
                              "movements": list(step.challenge["movements"])}).encode()))
        flow.data = {**(flow.data or {}), "face_challenge": _digest(challenge_id)}
        flow.state = RecoveryState.CODE_SENT
        flow.method = face_method.METHOD.id
        flow.channel_identifier_id = None
    return FaceChallenge(challenge_id=challenge_id, movements=list(step.challenge["movements"]),
                         instructions=list(step.challenge["instructions"]), expires_at=expires,
                         seconds_per_movement=float(step.challenge["seconds_per_movement"]))


@dataclass
class _Counted:
    account_id: str | None
    movements: list[str] | None
    replayed: bool
    refusal: GuaritaError | None
    flow_hash: str


async def _count_and_consume(runtime: Runtime, token: str, challenge_id: str,
                             frames: list[bytes], context: RequestContext) -> _Counted:
    """One short transaction: the attempt counted (flow and day), the challenge spent, the
    frames remembered. Nothing here raises after a count, so the counts always commit."""
    settings = runtime.settings
    now = utcnow()
    async with runtime.db.transaction() as session:
        flow = await flows.load(session, token, FlowKind.RECOVERY)
        if flow.state == RecoveryState.FAILED:
            return _Counted(flow.account_id, None, False,
                            refused(flow.attempts, settings.face.attempts_per_flow), flow.id_hash)
        if flow.state != RecoveryState.CODE_SENT or flow.method != face_method.METHOD.id:
            return _Counted(flow.account_id, None, False,
                            GuaritaError(ErrorCode.FLOW_STATE_INVALID), flow.id_hash)
        limit = settings.face.attempts_per_flow
        counted = await session.execute(
            update(Flow).where(Flow.id_hash == flow.id_hash, Flow.state == RecoveryState.CODE_SENT,
                               Flow.attempts < limit).values(attempts=Flow.attempts + 1))
        if counted.rowcount != 1:
            await session.execute(update(Flow).where(Flow.id_hash == flow.id_hash)
                                  .values(state=RecoveryState.FAILED))
            return _Counted(flow.account_id, None, False, refused(flow.attempts, limit),
                            flow.id_hash)
        day_key = throttling.throttle_key(SCOPE, flow.account_id, flow.identifier_value or "")
        today, _ = await throttling.count_in_window(session, day_key, DAY, now)
        if today > settings.face.attempts_per_day:
            return _Counted(flow.account_id, None, False, GuaritaError(
                ErrorCode.TOO_MANY_ATTEMPTS, message=(
                    "Hoje já foram feitas muitas tentativas de validação facial para esta conta. "
                    "Tente amanhã, use outra forma de recuperação ou ligue para a central de "
                    "atendimento."), details={"retry_after": DAY}), flow.id_hash)
        spent = (await session.execute(
            delete(KeyValue).where(KeyValue.namespace == CHALLENGES,
                                   KeyValue.key == _digest(challenge_id[:128]),
                                   KeyValue.expires_at > now)
            .returning(KeyValue.value))).scalar_one_or_none()
        movements = None
        if spent is not None:
            stored = json.loads(spent)
            if stored.get("flow") == flow.id_hash:
                movements = list(stored.get("movements") or [])
        replayed = False
        if movements is not None:
            replayed = await _remember_frames(session, frames, now)
    return _Counted(flow.account_id, movements, replayed, None, flow.id_hash)


async def _remember_frames(session: Any, frames: list[bytes], now: datetime) -> bool:
    """Keeps a digest of every frame for a day; True when one was seen before (a replay)."""
    await session.execute(delete(KeyValue).where(KeyValue.namespace == FRAMES,
                                                 KeyValue.expires_at < now))
    digests = [face_liveness.digest(f) for f in frames]
    seen = (await session.execute(select(KeyValue.key).where(
        KeyValue.namespace == FRAMES, KeyValue.key.in_(digests)))).first()
    if seen is not None:
        return True
    try:
        async with session.begin_nested():
            for digest in set(digests):
                session.add(KeyValue(namespace=FRAMES, key=digest, value=b"",
                                     expires_at=now + timedelta(seconds=DAY)))
            await session.flush()
    except IntegrityError:
        return True
    return False


async def verify(runtime: Runtime, token: str, challenge_id: str, frames: list[bytes],
                 context: RequestContext) -> tuple[str, datetime, str]:
    """Checks the frames; returns the flow's new token, expiry and state (``verified``, or
    ``second_factor`` when the account's second factor is still to be proven)."""
    _offered(runtime)
    settings = runtime.settings
    if len(frames) > settings.face.max_frames:
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="frames", message=(
            f"Envie no máximo {settings.face.max_frames} imagens."))
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, settings, "code", context.ip)
    counted = await _count_and_consume(runtime, token, challenge_id, frames, context)
    if counted.refusal is not None:
        raise counted.refusal
    if counted.movements is None:
        await _audit_failure(runtime, counted, context, "challenge_invalid")
        raise GuaritaError(ErrorCode.LIVENESS_FAILED, details={"reason": "challenge_invalid"},
                           message=("O desafio venceu ou já foi usado. Toque em “Tentar de novo” "
                                    "para receber novos movimentos."))
    if counted.replayed:
        await _audit_failure(runtime, counted, context, "frames_replayed")
        raise GuaritaError(ErrorCode.LIVENESS_FAILED, details={"reason": "frames_replayed"})
    faces = AccountFaces(runtime, counted.account_id)
    ctx = ServiceContext(runtime=runtime, request=context, principal=Principal.unknown())
    try:
        outcome = await face_method.METHOD.verify(
            ctx, None, {"frames": frames, "movements": counted.movements, "faces": faces})
    except GuaritaError as error:
        reason = (error.details or {}).get("reason", error.code.value)
        await _audit_failure(runtime, counted, context, f"{error.code.value}:{reason}")
        raise
    if not outcome.ok:
        await _audit_failure(runtime, counted, context, "not_matched",
                             source=outcome.details.get("source"))
        raise GuaritaError(ErrorCode.FACE_NOT_MATCHED)
    async with runtime.db.transaction() as session:
        flow = await session.get(Flow, counted.flow_hash, populate_existing=True)
        won = await session.execute(
            update(Flow).where(Flow.id_hash == counted.flow_hash,
                               Flow.state == RecoveryState.CODE_SENT)
            .values(state=RecoveryState.VERIFIED))
        if flow is None or won.rowcount != 1 or not flow.account_id:
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        await session.refresh(flow)
        new_token = await flows.rotate(session, flow)
        source = str(outcome.details.get("source") or "")
        await trust.record_evidence(session, runtime.settings, flow.account_id, outcome.evidence,
                                    method=outcome.method, source=source,
                                    liveness=bool(outcome.details.get("liveness")),
                                    context=context)
        await record(session, AuditTag.FACE_VERIFIED, subject=flow.account_id, context=context,
                     details={"during": "recovery", "source": source, "outcome": "verified",
                              "matcher": outcome.details.get("matcher")})
        if await second_factors.has_second_factor(session, flow.account_id):
            if source in STRONG_SOURCES and outcome.evidence in second_factors.STRONG_EVIDENCE:
                # SECURITY.md › Recovery: losing the second factor too needs facial validation;
                # a face trusted as much as a document replaces it (docs/two-step.md › Seam),
                # once the new password is set (recovery.complete).
                flow.data = second_factors.replace_on_completion(flow.data, by="face",
                                                                source=source)
            else:
                # A registry photo was never checked against a document by anyone: it opens the
                # recovery like a code would, and the second factor is still asked.
                await session.execute(
                    update(Flow).where(Flow.id_hash == flow.id_hash)
                    .values(state=RecoveryState.SECOND_FACTOR, attempts=0))
                flow.state = RecoveryState.SECOND_FACTOR
        return new_token, flow.expires_at, str(flow.state)


async def _audit_failure(runtime: Runtime, counted: _Counted, context: RequestContext,
                         outcome: str, *, source: str | None = None) -> None:
    async with runtime.db.transaction() as session:
        flow = await session.get(Flow, counted.flow_hash, populate_existing=True)
        if flow is not None:
            flow.data = {**(flow.data or {}), "face_refused": True}
        if counted.account_id:
            await record(session, AuditTag.FACE_FAILED, subject=counted.account_id,
                         context=context, details={"during": "recovery", "outcome": outcome,
                                                   "source": source})


async def request_review(runtime: Runtime, token: str, context: RequestContext) -> None:
    """LGPD art. 20: a person refused by the automated check asks a person to review it. The
    request lands on the support desk's list (an audit event the desk lists); the answer is the
    same whether or not the flow belongs to an account."""
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, runtime.settings, "code", context.ip)
    async with runtime.db.transaction() as session:
        flow = await flows.load(session, token, FlowKind.RECOVERY)
        if not (flow.data or {}).get("face_refused"):
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        if (flow.data or {}).get("face_review"):
            return
        flow.data = {**(flow.data or {}), "face_review": True}
        if flow.account_id:
            await record(session, AuditTag.FACE_REVIEW_REQUESTED, subject=flow.account_id,
                         context=context, details={"during": "recovery",
                                                   "attempts": flow.attempts})
