"""Cadastro, Entrar, Minha conta and Sair as pages (docs/recovery.md). Thin: the services decide."""

from __future__ import annotations

from urllib.parse import quote, unquote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from guarita.domain.errors import GuaritaError
from guarita.domain.upstreams import UpstreamKind
from guarita.edge import form_action, forms, frame_src, sign_in_context
from guarita.edge.auth import (
    clear_session_cookie,
    load_session,
    request_context,
    runtime_of,
    safe_next,
    set_session_cookie,
)
from guarita.edge.render import finish, render
from guarita.methods import captcha
from guarita.services import account as account_service
from guarita.services import (
    account_level,
    face_references,
    registration,
    sessions,
    step_up,
    upstream_account,
    upstream_sign_in,
    upstreams,
)
from guarita.services import login as login_service
from guarita.web.second_step_pages import set_pending

router = APIRouter(include_in_schema=False)


def _redirect(request: Request, target: str) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    finish(request, response)
    return response


async def _govbr(request: Request) -> list[dict]:
    """The "Entrar com gov.br" buttons of Entrar and Cadastro; their form's answer redirects to
    gov.br, so the page's ``form-action`` allows it."""
    runtime = runtime_of(request)
    form_action.allow(request, await upstreams.origins(runtime, UpstreamKind.GOVBR))
    return await upstream_sign_in.providers(runtime)


# -- Cadastro ---------------------------------------------------------------------------------
@router.get("/cadastro", response_class=HTMLResponse)
async def registration_form(request: Request) -> Response:
    await load_session(request)
    return render(request, "cadastro.html", values={}, errors={},
                  govbr=await _govbr(request))


@router.post("/cadastro", response_class=HTMLResponse)
async def registration_submit(request: Request) -> Response:
    await load_session(request)
    values = await forms.read(request)
    runtime = runtime_of(request)
    data = registration.RegistrationInput(
        card_number=values.get("card_number", ""),
        cpf=values.get("cpf", ""),
        no_cpf=values.get("no_cpf") in ("on", "true", "1"),
        birth_date=values.get("birth_date", ""),
        password=values.get("password", ""),
        password_confirmation=values.get("password_confirmation", ""),
        captcha=captcha.response_from_form(runtime.settings, values),
    )
    try:
        result = await registration.register(runtime, data, request_context(request))
    except GuaritaError as error:
        kept = {k: values.get(k, "") for k in ("card_number", "cpf", "birth_date", "no_cpf")}
        return render(request, "cadastro.html", status_code=error.status, values=kept,
                      govbr=await _govbr(request),
                      errors=forms.field_errors(error), error=error)
    response = _redirect(request, "/conta?bem-vindo=1")
    set_session_cookie(response, runtime.settings, result.session_token)
    return response


# -- Entrar -----------------------------------------------------------------------------------
# After a recovery, the identifier this browser typed at its start (web/recovery_pages.py),
# read once by the sign-in page: "Sua nova senha está pronta", the field already filled.
RECOVERED_COOKIE = "guarita_recovered"


def remember_recovered(response: Response, request: Request, identifier: str) -> None:
    settings = runtime_of(request).settings
    response.set_cookie(RECOVERED_COOKIE, quote(identifier[:254], safe=""), max_age=600,
                        httponly=True, samesite="lax", secure=settings.secure_cookies,
                        path="/entrar")


async def _app_name(request: Request, next_path: str) -> str | None:
    runtime = runtime_of(request)
    browser = request.cookies.get(sign_in_context.browser_cookie(runtime))
    return await sign_in_context.requesting_app(runtime, next_path, browser)


async def _login_page(request: Request, *, values: dict, next_path: str, status_code: int = 200,
                      errors: dict | None = None, error: GuaritaError | None = None,
                      recovered: bool = False) -> Response:
    await form_action.allow_flow_redirect(request, next_path)
    return render(
        request, "entrar.html", status_code=status_code, values=values, next=next_path,
        errors=errors or {}, error=error, recovered=recovered,
        app_name=await _app_name(request, next_path),
        govbr=await _govbr(request),
    )


@router.get("/entrar", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    await load_session(request)
    identifier = request.query_params.get("identifier", "")[:254]
    recovered = "senha-nova" in request.query_params
    if recovered and not identifier:
        identifier = unquote(request.cookies.get(RECOVERED_COOKIE, ""))[:254]
    response = await _login_page(
        request, values={"identifier": identifier},
        next_path=safe_next(request.query_params.get("next"), ""), recovered=recovered,
    )
    if recovered:
        response.delete_cookie(RECOVERED_COOKIE, path="/entrar", httponly=True, samesite="lax",
                               secure=runtime_of(request).settings.secure_cookies)
    return response


@router.post("/entrar", response_class=HTMLResponse)
async def login_submit(request: Request) -> Response:
    await load_session(request)
    values = await forms.read(request)
    runtime = runtime_of(request)
    target = safe_next(values.get("next"))
    try:
        result = await login_service.sign_in(
            runtime, values.get("identifier", ""), values.get("password", ""),
            request_context(request), next_url=target,
        )
    except GuaritaError as error:
        return await _login_page(
            request, status_code=error.status, values={"identifier": values.get("identifier", "")},
            next_path=safe_next(values.get("next"), ""), errors=forms.field_errors(error),
            error=error,
        )
    if result.pending is not None:
        # Right password, second factor due: "Confirme que é você".
        response = _redirect(request, "/entrar/confirmar")
        set_pending(request, response, result.pending.pending_id)
        return response
    response = _redirect(request, target)
    set_session_cookie(response, runtime.settings, result.session_token)
    return response


# -- Minha conta ------------------------------------------------------------------------------
@router.get("/conta", response_class=HTMLResponse)
async def account_page(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _redirect(request, "/entrar?next=/conta")
    view = await account_service.view(runtime_of(request), current.account_id)
    return render(request, "conta.html", account=view, errors={},
                  devices=await account_service.devices(runtime_of(request), current),
                  welcome="bem-vindo" in request.query_params,
                  changed="senha-alterada" in request.query_params,
                  face_deleted="rosto-apagado" in request.query_params,
                  has_face=await face_references.account_has_reference(runtime_of(request),
                                                                      current.account_id),
                  upstream_section=await upstream_account.offered(runtime_of(request),
                                                                  current.account_id),
                  level=await account_level.section(runtime_of(request), current.account_id),
                  local_time=runtime_of(request).settings.local_time)


@router.post("/conta/nivel", response_class=HTMLResponse)
async def raise_level(request: Request) -> Response:
    """Minha conta › Nível da conta: "Confirmar minha identidade" leads to the step-up page for
    the next level (docs/trust-levels.md › Step-up), which comes back here once it is met."""
    current = await load_session(request)
    if current is None:
        return _redirect(request, "/entrar?next=/conta")
    await forms.read(request)
    runtime = runtime_of(request)
    found = await account_level.section(runtime, current.account_id)
    if found.next is None:
        return _redirect(request, "/conta#nivel")
    ticket = await step_up.begin(runtime, current.account_id, found.next,
                                 "/conta?nivel-confirmado=1#nivel", cancel_to="/conta#nivel")
    return _redirect(request, step_up.page_url(ticket))


@router.post("/conta/liberar", response_class=HTMLResponse)
async def release_hold(request: Request) -> Response:
    """Minha conta › the fraud guard's hold: "Confirmar minha identidade" leads to the step-up
    page for a fresh strong proof (bank, face, agency); recording it lifts the hold
    (docs/fraud-guard.md)."""
    current = await load_session(request)
    if current is None:
        return _redirect(request, "/entrar?next=/conta")
    await forms.read(request)
    runtime = runtime_of(request)
    ticket = await step_up.begin_for_action(runtime, current.account_id, "fraud_guard_release",
                                            "/conta?liberado=1", cancel_to="/conta")
    return _redirect(request, step_up.page_url(ticket))


@router.post("/conta/rosto/apagar", response_class=HTMLResponse)
async def delete_face(request: Request) -> Response:
    """LGPD art. 18 VI: the person deletes the reference face kept for the validação facial."""
    current = await load_session(request)
    if current is None:
        return _redirect(request, "/entrar?next=/conta")
    await forms.read(request)
    await face_references.delete_own(runtime_of(request), current.account_id,
                                     request_context(request))
    return _redirect(request, "/conta?rosto-apagado=1")


@router.post("/conta/senha", response_class=HTMLResponse)
async def change_password(request: Request) -> Response:
    current = await load_session(request)
    if current is None:
        return _redirect(request, "/entrar?next=/conta")
    values = await forms.read(request)
    runtime = runtime_of(request)
    try:
        await account_service.change_password(
            runtime, current, values.get("current_password", ""), values.get("password", ""),
            values.get("password_confirmation", ""), request_context(request),
        )
    except GuaritaError as error:
        view = await account_service.view(runtime, current.account_id)
        return render(request, "conta.html", status_code=error.status, account=view,
                      devices=await account_service.devices(runtime, current),
                      level=await account_level.section(runtime, current.account_id),
                      errors=forms.field_errors(error), error=error, welcome=False, changed=False)
    return _redirect(request, "/conta?senha-alterada=1")


# -- Minha conta › Segurança: the devices where the person is signed in ------------------------
@router.post("/conta/aparelhos/encerrar")
async def end_device(request: Request) -> Response:
    current = await load_session(request)
    values = await forms.read(request)
    if current is None:
        return _redirect(request, "/entrar?next=/conta")
    ended = await account_service.end_device(runtime_of(request), current, values.get("device", ""),
                                             request_context(request))
    return _redirect(request, "/conta?aparelho-encerrado=1#aparelhos" if ended else "/conta#aparelhos")


@router.post("/conta/aparelhos/sair-dos-outros")
async def end_other_devices(request: Request) -> Response:
    current = await load_session(request)
    await forms.read(request)
    if current is None:
        return _redirect(request, "/entrar?next=/conta")
    await account_service.end_other_devices(runtime_of(request), current, request_context(request))
    return _redirect(request, "/conta?outros-encerrados=1#aparelhos")


# -- Sair -------------------------------------------------------------------------------------
@router.post("/sair")
async def logout(request: Request) -> Response:
    current = await load_session(request)
    await forms.read(request)
    runtime = runtime_of(request)
    signed_out = await sessions.sign_out(runtime, current, request_context(request))
    frames = frame_src.allow(request, signed_out.frontchannel)
    if frames:
        # Front-Channel Logout 1.0 §4: the apps that clear their cookie in the browser do it in
        # hidden frames of this page.
        response = render(request, "oidc/logged_out.html", frames=frames, next_url=None)
    else:
        response = _redirect(request, "/entrar?saiu=1")
    clear_session_cookie(response, runtime.settings)
    return response


@router.get("/sair")
async def logout_get(request: Request) -> Response:
    """Sign-out changes state, so it is a POST; a GET shows the button instead."""
    await load_session(request)
    return render(request, "sair.html")

