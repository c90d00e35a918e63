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

from guarita.api.schemas import RecoveryStatusOut, error_responses
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.flows import RecoveryState
from guarita.services import face_recovery
from guarita.web.auth import request_context, runtime_of

router = APIRouter(prefix="/api/v1", tags=["validação facial"])


class FaceChallengeOut(BaseModel):
    challenge_id: str
    movements: list[str]
    instructions: list[str]
    expires_at: datetime
    seconds_per_movement: float


async def capped_body(request: Request, limit: int) -> None:
    """Reads the body up to ``limit`` bytes and keeps it for the form parser; 413 beyond."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise GuaritaError(ErrorCode.PAYLOAD_TOO_LARGE, message=(
            f"As imagens enviadas passam de {limit // (1024 * 1024)} MB. Envie menos quadros "
            "ou quadros menores."))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise GuaritaError(ErrorCode.PAYLOAD_TOO_LARGE, message=(
                f"As imagens enviadas passam de {limit // (1024 * 1024)} MB."))
        chunks.append(chunk)
    request._body = b"".join(chunks)  # Starlette's form parser reads a cached body first


async def read_frames(request: Request) -> tuple[str, list[bytes]]:
    """``challenge_id`` and the ``frames`` files of a capped multipart body."""
    settings = runtime_of(request).settings
    await capped_body(request, settings.face.max_upload_bytes)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise GuaritaError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, message=(
            "Envie as imagens como multipart/form-data (challenge_id e frames)."))
    try:
        form = await request.form(max_files=settings.face.max_frames + 1, max_fields=8,
                                  max_part_size=settings.face.max_upload_bytes)
    except Exception as error:  # noqa: BLE001 - any malformed multipart body is a bad request
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, message=(
            "Não conseguimos ler as imagens enviadas.")) from error
    challenge_id = form.get("challenge_id")
    if not isinstance(challenge_id, str) or not challenge_id:
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="challenge_id",
                           message="Informe o challenge_id recebido ao pedir os movimentos.")
    frames = []
    for item in form.getlist("frames") + form.getlist("frames[]"):
        if isinstance(item, str):
            raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="frames",
                               message="Cada quadro deve ser um arquivo JPEG.")
        frames.append(await item.read())
    if len(frames) > settings.face.max_frames:
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="frames",
                           message=f"Envie no máximo {settings.face.max_frames} imagens.")
    if not frames:
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="frames",
                           message="Envie os quadros filmados (frames).")
    return challenge_id[:128], frames


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
    challenge_id, frames = await read_frames(request)
    token, expires = await face_recovery.verify(runtime_of(request), recovery_id, challenge_id,
                                                frames, request_context(request))
    return RecoveryStatusOut(state=RecoveryState.VERIFIED, expires_at=expires, attempts_left=0,
                             recovery_id=token)


@router.post("/recoveries/{recovery_id}/face/review", status_code=202,
             summary="Pedir revisão humana de uma recusa (LGPD art. 20)",
             responses=error_responses(409, 410, 429))
async def ask_review(recovery_id: str, request: Request) -> dict:
    await face_recovery.request_review(runtime_of(request), recovery_id, request_context(request))
    return {"status": "accepted", "message": (
        "Pedido de revisão registrado. A central de atendimento vai analisar e entrar em contato "
        "pelos seus contatos cadastrados.")}
