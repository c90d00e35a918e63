"""Validação facial for the mobile app (``docs/face.md`` › API).

``POST /api/v1/recoveries/{id}/face/challenges`` gives the movements to film;
``POST /api/v1/recoveries/{id}/face`` (multipart: ``challenge_id``, ``frames``) checks them and
answers like an accepted code, or ``face_quality`` (with ``reason``), ``liveness_failed`` or
``face_not_matched``. The body is capped (``GUARITA_FACE__MAX_UPLOAD_BYTES``) while it is read,
before any multipart parsing (SECURITY.md › Data: every request body is capped before it is
parsed).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from guarita.api.schemas import RecoveryStatusOut
from guarita.edge.auth import request_context, runtime_of
from guarita.edge.envelope import error_responses
from guarita.edge.uploads import read_frames
from guarita.services import face_recovery

router = APIRouter(prefix="/api/v1", tags=["validação facial"])


class FaceChallengeOut(BaseModel):
    challenge_id: str
    movements: list[str]
    instructions: list[str]
    expires_at: datetime
    seconds_per_movement: float


@router.post("/recoveries/{recovery_id}/face/challenges", status_code=201,
             response_model=FaceChallengeOut, summary="Pedir os movimentos da validação facial",
             responses=error_responses(409, 410, 422, 429))
async def new_challenge(recovery_id: str, request: Request, response: Response) -> FaceChallengeOut:
    response.headers["Cache-Control"] = "no-store"
    found = await face_recovery.challenge(runtime_of(request), recovery_id,
                                          request_context(request))
    return FaceChallengeOut(**found.__dict__)


@router.post("/recoveries/{recovery_id}/face", response_model=RecoveryStatusOut,
             summary="Enviar os quadros filmados (multipart: challenge_id, frames)",
             responses=error_responses(400, 409, 410, 413, 415, 422, 429, 503),
             openapi_extra={"requestBody": {"required": True, "content": {
                 "multipart/form-data": {"schema": {
                     "type": "object", "required": ["challenge_id", "frames"],
                     "properties": {
                         "challenge_id": {"type": "string"},
                         "frames": {"type": "array",
                                    "items": {"type": "string", "format": "binary"}}}}}}}})
async def submit_frames(recovery_id: str, request: Request) -> RecoveryStatusOut:
    challenge_id, frames, _ = await read_frames(request)
    token, expires, state = await face_recovery.verify(runtime_of(request), recovery_id,
                                                       challenge_id, frames, request_context(request))
    return RecoveryStatusOut(state=state, expires_at=expires, attempts_left=0, recovery_id=token)


@router.post("/recoveries/{recovery_id}/face/review", status_code=202,
             summary="Pedir revisão humana de uma recusa (LGPD art. 20)",
             responses=error_responses(409, 410, 429))
async def ask_review(recovery_id: str, request: Request) -> dict:
    await face_recovery.request_review(runtime_of(request), recovery_id, request_context(request))
    return {"status": "accepted", "message": (
        "Pedido de revisão registrado. A central de atendimento vai analisar e entrar em contato "
        "pelos seus contatos cadastrados.")}
