"""Camera uploads at the edge: the body capped while it is read, before any multipart parsing
(SECURITY.md › Data: every request body is capped before it is parsed), then the frames.

Shared by the app's API and the recovery pages. ``GUARITA_FACE__MAX_UPLOAD_BYTES`` is the cap.
"""

from __future__ import annotations

from fastapi import Request

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.edge.auth import runtime_of


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


async def read_frames(request: Request) -> tuple[str, list[bytes], dict[str, str]]:
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
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return challenge_id[:128], frames, fields


async def read_photo(request: Request) -> tuple[bytes, dict[str, str]]:
    """One ``photo`` file and the text fields of a capped multipart body (the desk's capture)."""
    settings = runtime_of(request).settings
    await capped_body(request, settings.face.max_upload_bytes)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise GuaritaError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, message=(
            "Envie a foto como multipart/form-data (photo)."))
    try:
        form = await request.form(max_files=1, max_fields=8,
                                  max_part_size=settings.face.max_upload_bytes)
    except Exception as error:  # noqa: BLE001 - any malformed multipart body is a bad request
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, message=(
            "Não conseguimos ler a foto enviada.")) from error
    photo = form.get("photo")
    if photo is None or isinstance(photo, str):
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="photo",
                           message="Envie a foto (JPEG ou PNG) no campo photo.")
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return await photo.read(), fields
