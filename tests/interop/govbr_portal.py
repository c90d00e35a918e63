"""A portal written for gov.br's Login Único with the ``govbr-auth`` library (its FastAPI
adapter), exactly as its README shows, with every provider URL a ``GOVBR_*`` setting. The test
points those settings at ``{GUARITA}/govbr/`` and changes nothing else.

``/`` shows what the library validated (the ID token's claims and UserInfo); ``/consignado``
("Autorizar consignado") needs prata and sends a person below it through gov.br's catalogue of
reliabilities; ``/sair`` leaves the portal and then gov.br's session.
"""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from govbr_auth.fastapi import AuthContext, GovBrAuth
from govbr_auth.runtime import GovBrRuntimeSettings

PORTAL = os.environ["PORTAL_URL"]
CATALOGUE = os.environ["PORTAL_CATALOGUE_URL"]  # gov.br: https://confiabilidades.acesso.gov.br/


def create_app() -> FastAPI:
    settings = GovBrRuntimeSettings.from_environment()
    signed_in: dict[str, dict] = {}
    app = FastAPI()

    async def on_success(context: AuthContext) -> Response:
        sid = secrets.token_urlsafe(16)
        signed_in[sid] = {
            "claims": dict(context.claims),
            "user": context.user.model_dump(exclude_none=True),
        }
        response = RedirectResponse("/", status_code=303)
        response.set_cookie("portal", sid, httponly=True, samesite="lax")
        return response

    auth = GovBrAuth(settings=settings, on_success=on_success)
    app.include_router(auth.router)

    def session_of(request: Request) -> dict | None:
        return signed_in.get(request.cookies.get("portal", ""))

    @app.get("/")
    async def home(request: Request) -> JSONResponse:
        found = session_of(request)
        return JSONResponse({"signed_in": found is not None, **(found or {})})

    @app.get("/consignado")
    async def payroll_loan(request: Request) -> Response:
        found = session_of(request)
        if found is None:
            return RedirectResponse("/auth/govbr/login", status_code=302)
        level = (found["claims"].get("reliability_info") or {}).get("level")
        if level in ("silver", "gold"):
            return JSONResponse({"autorizado": True, "level": level})
        # gov.br's manual, Passo 12: prata or ouro, either one.
        query = urlencode(
            {
                "client_id": os.environ["GOVBR_CLIENT_ID"],
                "niveis": "(2/3)",
                "redirect_uri": PORTAL + "/consignado/volta",
            }
        )
        return RedirectResponse(CATALOGUE + "?" + query, status_code=302)

    @app.get("/consignado/volta")
    async def back_from_catalogue(request: Request) -> Response:
        # New tokens carry the new level: sign in again (single sign-on, no form).
        signed_in.pop(request.cookies.get("portal", ""), None)
        return RedirectResponse("/auth/govbr/login", status_code=302)

    @app.get("/sair")
    async def leave(request: Request) -> Response:
        signed_in.pop(request.cookies.get("portal", ""), None)
        response = RedirectResponse("/auth/govbr/logout", status_code=302)
        response.delete_cookie("portal")
        return response

    @app.get("/saiu")
    async def left() -> JSONResponse:
        return JSONResponse({"signed_out": True})

    return app
