"""Portal do Beneficiário — a demonstration relying party of Guarita.

A small Starlette app that signs people in with Guarita through authlib's Starlette client
(authorization code + PKCE S256, ID token and nonce checked by authlib), shows the person's
name, card number and trust level from the UserInfo endpoint, and signs out through Guarita's
end-session endpoint (RP-Initiated Logout 1.0), so that leaving the portal also leaves Guarita.

"Autorizar consignado" (``/consignado``) is a service that needs a stronger account: it asks for
``acr_values=urn:guarita:loa:prata``. A bronze person is led by Guarita through "Para
continuar, confirme sua identidade" (a bank, the face, an agency) and comes back; the portal
then checks the ID token's ``acr`` itself (OpenID Connect Core 1.0 §2, §3.1.2.1: a relying
party must not trust a level it did not check) and shows it.

Signing out works the other way round too: it receives Back-Channel Logout 1.0 logout tokens at
``POST /backchannel-logout`` (registered as its ``backchannel_logout_uri``), so signing out of
Guarita — in Minha conta, or by ending this device's session there — signs the person out of
the portal. Its sessions live in a signed cookie the server cannot reach, so it remembers the
Guarita sessions (``sid``) that ended and forgets a cookie that names one of them.

Configuration (``make run`` sets all of it; see scripts/run-dev.sh):

* ``PORTAL_URL`` — where this portal is served (``http://127.0.0.1:8001``);
* ``PORTAL_GUARITA_URL`` — Guarita's issuer (``http://127.0.0.1:8000``);
* ``PORTAL_ORGANISATION`` — the organisation whose account people use (``GUARITA_ORGANISATION_NAME``
  by default): people know the institute, not Guarita's address;
* ``PORTAL_CLIENT_FILE`` — the JSON printed by ``guarita clients ensure-demo-portal --json``,
  or ``PORTAL_CLIENT_ID`` and ``PORTAL_CLIENT_SECRET``.

Run: ``uvicorn --app-dir examples/portal --factory app:create_app --port 8001``.
"""

from __future__ import annotations

import html
import json
import os
import secrets
from pathlib import Path

from authlib.integrations.starlette_client import OAuth, OAuthError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

SCOPES = "openid profile beneficiary trust"
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LEVELS = {"bronze": "Bronze", "prata": "Prata", "ouro": "Ouro"}
# Guarita's levels as acr values, weakest first (docs/oidc.md › Trust levels).
ACR = "urn:guarita:loa:"
ORDER = ["bronze", "prata", "ouro"]
LOAN_LEVEL = "prata"


def _level_of(acr: str | None) -> str | None:
    value = (acr or "").removeprefix(ACR)
    return value if (acr or "").startswith(ACR) and value in ORDER else None


def _client_credentials() -> tuple[str, str]:
    file = os.environ.get("PORTAL_CLIENT_FILE")
    if file:
        data = json.loads(Path(file).read_text())
        return data["client_id"], data["client_secret"]
    return os.environ["PORTAL_CLIENT_ID"], os.environ["PORTAL_CLIENT_SECRET"]


def create_app() -> Starlette:
    portal_url = os.environ.get("PORTAL_URL", "http://127.0.0.1:8001").rstrip("/")
    guarita_url = os.environ.get("PORTAL_GUARITA_URL", "http://127.0.0.1:8000").rstrip("/")
    organisation = (os.environ.get("PORTAL_ORGANISATION")
                    or os.environ.get("GUARITA_ORGANISATION_NAME")
                    or "Instituto de Previdência Demonstração")
    client_id, client_secret = _client_credentials()

    oauth = OAuth()
    oauth.register(
        "guarita",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=guarita_url + "/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPES, "code_challenge_method": "S256"},
    )
    guarita = oauth.guarita
    # Guarita sessions that ended (Back-Channel Logout): a portal cookie naming one is void.
    # In memory, as this demo's sessions are: a real portal keeps them where its sessions live.
    ended_sids: set[str] = set()
    ended_subs: set[str] = set()

    def signed_in(request: Request) -> dict | None:
        person = request.session.get("person")
        if person and (person.get("sid") in ended_sids or person.get("sub") in ended_subs):
            request.session.clear()
            return None
        return person

    async def backchannel_logout(request: Request) -> Response:
        """Back-Channel Logout 1.0 §2.6–§2.8: validate the logout token, end that session."""
        form = await request.form()
        token = form.get("logout_token")
        headers = {"Cache-Control": "no-store"}
        try:
            metadata = await guarita.load_server_metadata()
            keys = KeySet.import_key_set(await guarita.fetch_jwk_set(force=True))
            decoded = jwt.decode(str(token or ""), keys, algorithms=["RS256", "ES256"])
            if decoded.header.get("typ") != "logout+jwt":
                raise ValueError("typ")
            jwt.JWTClaimsRegistry(
                leeway=30, iss={"essential": True, "value": metadata["issuer"]},
                aud={"essential": True, "value": client_id}, iat={"essential": True},
                exp={"essential": True}, jti={"essential": True},
            ).validate(decoded.claims)
            claims = decoded.claims
            if LOGOUT_EVENT not in (claims.get("events") or {}) or "nonce" in claims:
                raise ValueError("events/nonce")
            if not (claims.get("sid") or claims.get("sub")):
                raise ValueError("sid/sub")
        except (JoseError, ValueError, KeyError, TypeError):
            return Response("invalid logout token", status_code=400, headers=headers)
        if claims.get("sid"):
            ended_sids.add(claims["sid"])
        else:
            ended_subs.add(claims["sub"])
        return Response(status_code=200, headers=headers)

    async def home(request: Request) -> Response:
        person = signed_in(request)
        if not person:
            return _page(
                "Portal do Beneficiário",
                f"""
<p>Consulte seus dados de beneficiário com a mesma conta do {html.escape(organisation)}.</p>
<p><a class="button" href="/entrar">Entrar com a conta do Instituto</a></p>
<p class="hint">Para experimentar: carteirinha <strong>200100033</strong> e a senha
<strong>senha antiga do portal 2019</strong> (dados fictícios).</p>""",
            )
        level = LEVELS.get(person.get("trust_level", ""), "—")
        return _page(
            f"Olá, {person['name'].split(' ')[0]}",
            f"""
<dl>
  <dt>Nome</dt><dd id="name">{html.escape(person["name"])}</dd>
  <dt>Carteirinha</dt><dd id="card">{html.escape(person.get("card_number") or "—")}</dd>
  <dt>Nível da conta</dt><dd id="trust">{html.escape(level)}</dd>
</dl>
<p><a class="button" href="/consignado">Autorizar consignado</a></p>
<form method="post" action="/sair"><button type="submit">Sair</button></form>""",
        )

    async def sign_in(request: Request) -> Response:
        request.session.pop("purpose", None)
        return await guarita.authorize_redirect(request, portal_url + "/callback")

    async def loan(request: Request) -> Response:
        """"Autorizar consignado": a payroll-loan authorisation needs a prata account."""
        done = request.session.get("loan") if signed_in(request) else None
        if done:
            level = LEVELS.get(done["level"], "—")
            return _page(
                "Consignado autorizado",
                f"""
<p role="status">A autorização de consignado foi registrada com a sua conta no nível
<strong id="loan-level">{html.escape(level)}</strong>.</p>
<dl>
  <dt>Nível confirmado pelo {html.escape(organisation)} (acr)</dt>
  <dd id="acr"><code>{html.escape(done["acr"])}</code></dd>
</dl>
<p><a href="/">Voltar ao início</a></p>""",
            )
        return _page(
            "Autorizar consignado",
            f"""
<p>Para autorizar um empréstimo consignado, o {html.escape(organisation)} pede que a sua
identidade esteja confirmada no nível <strong>Prata</strong> ou acima (por um banco, pelo
rosto ou numa agência).</p>
<p>Se a sua conta ainda não estiver nesse nível, vamos pedir que você confirme a identidade
antes de continuar.</p>
<form method="post" action="/consignado"><button type="submit">Autorizar consignado</button></form>
<p><a href="/">Voltar</a></p>""",
        )

    async def loan_start(request: Request) -> Response:
        request.session["purpose"] = "loan"
        request.session.pop("loan", None)
        return await guarita.authorize_redirect(
            request, portal_url + "/callback", acr_values=ACR + LOAN_LEVEL
        )

    async def callback(request: Request) -> Response:
        purpose = request.session.pop("purpose", None)
        try:
            token = await guarita.authorize_access_token(request)
            info = await guarita.userinfo(token=token)
        except OAuthError as error:
            if error.error == "access_denied":
                message = "Você não autorizou o acesso."
            elif error.error == "unmet_authentication_requirements":
                message = (
                    "O consignado não foi autorizado: a sua identidade não foi confirmada no "
                    "nível Prata. Você pode tentar de novo quando quiser."
                )
            else:
                message = "Não foi possível entrar agora. Tente de novo."
            return _page(
                "Não foi possível continuar",
                f'<p>{html.escape(message)}</p><p><a href="/">Voltar</a></p>',
                status=400,
            )
        request.session["person"] = {
            "name": info.get("name", ""),
            "card_number": info.get("card_number"),
            "trust_level": info.get("trust_level"),
            "sub": info["sub"],
            # The Guarita session this sign-in belongs to (Back-Channel Logout 1.0 §2.1).
            "sid": (token.get("userinfo") or {}).get("sid"),
        }
        request.session["id_token"] = token["id_token"]
        if purpose == "loan":
            # The ID token's acr (checked by authlib with its signature) says the level met.
            acr = str(token.get("userinfo", {}).get("acr") or "")
            level = _level_of(acr)
            if level is None or ORDER.index(level) < ORDER.index(LOAN_LEVEL):
                return _page(
                    "Não foi possível continuar",
                    "<p>O nível da conta não basta para autorizar o consignado.</p>"
                    '<p><a href="/consignado">Tentar de novo</a></p>',
                    status=403,
                )
            request.session["loan"] = {"acr": acr, "level": level}
            return RedirectResponse("/consignado", status_code=303)
        return RedirectResponse("/", status_code=303)

    async def sign_out(request: Request) -> Response:
        id_token = request.session.get("id_token")
        request.session.pop("person", None)
        request.session.pop("id_token", None)
        return await guarita.logout_redirect(
            request, post_logout_redirect_uri=portal_url + "/saiu", id_token_hint=id_token
        )

    async def signed_out(request: Request) -> Response:
        try:
            await guarita.validate_logout_response(request)
        except OAuthError:
            return RedirectResponse("/", status_code=303)
        return _page(
            "Você saiu",
            "<p>Você saiu do portal e da sua conta.</p>"
            '<p><a class="button" href="/">Voltar ao início</a></p>',
        )

    return Starlette(
        routes=[
            Route("/", home),
            Route("/entrar", sign_in),
            Route("/consignado", loan),
            Route("/consignado", loan_start, methods=["POST"]),
            Route("/callback", callback),
            Route("/sair", sign_out, methods=["POST"]),
            Route("/saiu", signed_out),
            Route("/backchannel-logout", backchannel_logout, methods=["POST"]),
        ],
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=secrets.token_urlsafe(32),
                session_cookie="portal_session",
                same_site="lax",
                https_only=portal_url.startswith("https://"),
            )
        ],
    )


STYLE = """
body{font-family:Raleway,Arial,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;
  font-size:1.15rem;line-height:1.5;color:#1b1b1b}
header{border-bottom:4px solid #1351b4;margin-bottom:1.5rem}
h1{color:#1351b4}
.button,button{display:inline-block;background:#1351b4;color:#fff;border:0;border-radius:2rem;
  padding:.7rem 1.6rem;font-size:1.1rem;text-decoration:none;cursor:pointer}
dt{font-weight:700;margin-top:.6rem}
dd{margin:0}
code{font-size:1rem}
.hint{color:#555;font-size:1rem}
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html><html lang="pt-BR"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · Portal do Beneficiário</title>
<style>{STYLE}</style></head><body><header><p>Portal do Beneficiário (demonstração)</p></header>
<main><h1>{html.escape(title)}</h1>{body}</main></body></html>""",
        status_code=status,
    )
