"""Validação facial of the signed-in person: a proof of identity, not a recovery
(``docs/trust-levels.md`` › Step-up; ``docs/face.md``).

The same method as the recovery's (``methods/face.py``: quality, liveness, match) with the same
limits, bound to the account of the session instead of a recovery flow: ``challenge`` gives a
single-use challenge of that account (two random movements, valid
``GUARITA_FACE__CHALLENGE_SECONDS``), ``verify`` takes the filmed frames and, when the face
matches, records face evidence (with its source: the registry photo, a capture in person,
Datavalid), from which the level is computed. Attempts count per account per day with the
recovery's (``GUARITA_FACE__ATTEMPTS_PER_DAY``); frames already seen are refused as a replay.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta

from sqlalchemy import delete

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.methods import face as face_method
from guarita.methods.base import Principal
from guarita.runtime import Runtime
from guarita.services import throttling, trust
from guarita.services.face_recovery import (
    DAY,
    SCOPE,
    FaceChallenge,
    _remember_frames,
)
from guarita.services.face_references import AccountFaces
from guarita.services.method_context import ServiceContext, account_principal
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import KeyValue
from guarita.storage.types import utcnow

CHALLENGES = "face_proof_challenge"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def offered(runtime: Runtime) -> bool:
    return face_method.METHOD.id in runtime.settings.recovery.methods


async def challenge(runtime: Runtime, account_id: str, context: RequestContext) -> FaceChallenge:
    """A new challenge for the signed-in ``account_id``."""
    if not offered(runtime):
        raise GuaritaError(ErrorCode.METHOD_UNAVAILABLE)
    settings = runtime.settings
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, settings, "code", context.ip)
    now = utcnow()
    async with runtime.db.transaction() as session:
        principal = await account_principal(session, account_id)
        step = await face_method.METHOD.start(
            ServiceContext(runtime=runtime, request=context, principal=principal,
                           session=session, now=now), None, principal)
        assert step.challenge is not None
        challenge_id = secrets.token_urlsafe(24)
        expires = now + timedelta(seconds=settings.face.challenge_seconds)
        await session.execute(delete(KeyValue).where(KeyValue.namespace == CHALLENGES,
                                                     KeyValue.expires_at < now))
        session.add(KeyValue(
            namespace=CHALLENGES, key=_digest(challenge_id), expires_at=expires,
            value=json.dumps({"account": account_id,
                              "movements": list(step.challenge["movements"])}).encode()))
    return FaceChallenge(challenge_id=challenge_id, movements=list(step.challenge["movements"]),
                         instructions=list(step.challenge["instructions"]), expires_at=expires,
                         seconds_per_movement=float(step.challenge["seconds_per_movement"]))


async def verify(runtime: Runtime, account_id: str, challenge_id: str, frames: list[bytes],
                 context: RequestContext) -> str:
    """Checks the frames against the account's trusted face; answers the face's source. Raises
    ``face_quality``, ``liveness_failed``, ``face_not_matched`` or ``too_many_attempts``."""
    if not offered(runtime):
        raise GuaritaError(ErrorCode.METHOD_UNAVAILABLE)
    settings = runtime.settings
    if len(frames) > settings.face.max_frames:
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="frames", message=(
            f"Envie no máximo {settings.face.max_frames} imagens."))
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, settings, "code", context.ip)
    now = utcnow()
    # One short transaction that always commits: the attempt counted, the challenge spent.
    async with runtime.db.transaction() as session:
        day_key = throttling.throttle_key(SCOPE, account_id, "")
        today, _ = await throttling.count_in_window(session, day_key, DAY, now)
        spent = None
        if today <= settings.face.attempts_per_day:
            spent = (await session.execute(
                delete(KeyValue).where(KeyValue.namespace == CHALLENGES,
                                       KeyValue.key == _digest(challenge_id[:128]),
                                       KeyValue.expires_at > now)
                .returning(KeyValue.value))).scalar_one_or_none()
        movements = None
        if spent is not None:
            stored = json.loads(spent)
            if stored.get("account") == account_id:
                movements = list(stored.get("movements") or [])
        replayed = movements is not None and await _remember_frames(session, frames, now)
    if today > settings.face.attempts_per_day:
        raise GuaritaError(ErrorCode.TOO_MANY_ATTEMPTS, message=Message.FACE_PROOF_DAILY_LIMIT,
                           details={"retry_after": DAY})
    if movements is None:
        await _audit_failure(runtime, account_id, context, "challenge_invalid")
        raise GuaritaError(ErrorCode.LIVENESS_FAILED, details={"reason": "challenge_invalid"},
                           message=("O desafio venceu ou já foi usado. Toque em “Tentar de novo” "
                                    "para receber novos movimentos."))
    if replayed:
        await _audit_failure(runtime, account_id, context, "frames_replayed")
        raise GuaritaError(ErrorCode.LIVENESS_FAILED, details={"reason": "frames_replayed"})
    ctx = ServiceContext(runtime=runtime, request=context, principal=Principal.unknown())
    try:
        outcome = await face_method.METHOD.verify(
            ctx, None, {"frames": frames, "movements": movements,
                        "faces": AccountFaces(runtime, account_id)})
    except GuaritaError as error:
        reason = (error.details or {}).get("reason", error.code.value)
        await _audit_failure(runtime, account_id, context, f"{error.code.value}:{reason}")
        raise
    source = str(outcome.details.get("source") or "")
    if not outcome.ok:
        await _audit_failure(runtime, account_id, context, "not_matched", source=source)
        raise GuaritaError(ErrorCode.FACE_NOT_MATCHED, message=Message.FACE_PROOF_NOT_MATCHED)
    async with runtime.db.transaction() as session:
        await trust.record_evidence(session, runtime.settings, account_id, outcome.evidence,
                                    method=outcome.method, source=source,
                                    liveness=bool(outcome.details.get("liveness")),
                                    context=context)
        await record(session, AuditTag.FACE_VERIFIED, subject=account_id, context=context,
                     details={"during": "proofing", "source": source, "outcome": "verified",
                              "matcher": outcome.details.get("matcher")})
    return source


async def _audit_failure(runtime: Runtime, account_id: str, context: RequestContext,
                         outcome: str, *, source: str | None = None) -> None:
    async with runtime.db.transaction() as session:
        await record(session, AuditTag.FACE_FAILED, subject=account_id, context=context,
                     details={"during": "proofing", "outcome": outcome, "source": source})
