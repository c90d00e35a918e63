"""Bearer session tokens for the app (``Authorization: Bearer <session_token>``)."""

from __future__ import annotations

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.services import sessions

bearer = HTTPBearer(auto_error=False, description="O `session_token` devolvido por `POST /api/v1/sessions`.")


async def current_session(request: Request) -> sessions.SessionInfo:
    credentials: HTTPAuthorizationCredentials | None = await bearer(request)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise GuaritaError(ErrorCode.UNAUTHENTICATED)
    runtime = request.app.state.runtime
    async with runtime.db.transaction() as session:
        info = await sessions.load(session, credentials.credentials, runtime.settings.session)
    if info is None:
        raise GuaritaError(ErrorCode.SESSION_EXPIRED)
    request.state.session = info
    return info
