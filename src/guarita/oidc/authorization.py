"""The authorization endpoint's checks and decision (RFC 6749 §4.1.1, §4.1.2; OpenID Connect
Core 1.0 §3.1.2.1–§3.1.2.6; RFC 7636; RFC 9207; RFC 9700).

As in node-oidc-provider ``lib/actions/authorization/index.js``, validation is an ordered list of
small named checks sharing one context. The first two decide whether an error may be sent to
the ``redirect_uri`` at all: until the client is known and the URI is one it registered, every
failure is shown to the person as a page (an open redirect is impossible by construction).

Then ``decide`` answers what the request needs, again as lists of named checks: a (new) sign-in,
a consent, or nothing — in which case a code is issued. Parameters the server does not know are
ignored (RFC 6749 §3.1).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlencode

from guarita.domain.accounts import AccountStatus
from guarita.edge import i18n
from guarita.oidc import acr, clients, pkce, redirect_uris
from guarita.oidc.claims import Person
from guarita.oidc.clients import Client
from guarita.oidc.errors import OAuthError, OAuthErrorCode, invalid_request
from guarita.oidc.issuer import issuer
from guarita.oidc.keys import keystore
from guarita.oidc.profiles import STANDARD, Profile
from guarita.oidc.tokens import UnreadableToken, read_id_token_hint
from guarita.runtime import Runtime
from guarita.services.sessions import SessionInfo
from guarita.storage.types import utcnow

PROMPTS = ("none", "login", "consent", "select_account")
MAX_VALUE = 2048
MAX_HINT = 8192
MAX_NONCE = 512


@dataclass
class AuthorizationRequest:
    """What was validated; stored as an interaction's ``params`` while the person signs in."""

    client_id: str
    redirect_uri: str
    scopes: list[str]
    state: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    prompt: list[str] = field(default_factory=list)
    max_age: int | None = None
    login_hint: str | None = None
    ui_locale: str | None = None
    acr_levels: list[str] = field(default_factory=list)
    hint_sub: str | None = None
    mfa: bool = False  # acr_values named urn:guarita:mfa
    issuer: str | None = None  # the client's profile's issuer (oidc/profiles.py)

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)

    def to_params(self) -> dict:
        return asdict(self)

    @classmethod
    def from_params(cls, params: dict) -> AuthorizationRequest:
        return cls(**params)


@dataclass
class Validation:
    """The context the checks share (node-oidc-provider's ``ctx.oidc``)."""

    runtime: Runtime
    values: dict[str, str]
    repeated: set[str]
    client: Client | None = None
    redirect_uri: str | None = None
    request: AuthorizationRequest | None = None
    profile: Profile = STANDARD  # the profile whose authorization endpoint was called

    @property
    def state(self) -> str | None:
        return self.values.get("state") if "state" not in self.repeated else None


def parameters(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], set[str]]:
    """§3.1: empty values count as absent; repeated names are remembered to be refused."""
    values: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in pairs:
        if value == "":
            continue
        if name in values:
            repeated.add(name)
        values[name] = value
    return values, repeated


# -- checks before the redirect URI is trusted: failures are pages -----------------------------
def reject_repeated_client_parameters(v: Validation) -> None:
    for name in ("client_id", "redirect_uri"):
        if name in v.repeated:
            raise invalid_request(f"{name} repetido", redirectable=False)


async def check_client(v: Validation) -> None:
    client_id = v.values.get("client_id")
    if not client_id:
        raise invalid_request("client_id ausente", redirectable=False)
    client = await clients.cached(v.runtime, client_id)
    if client is None or not client.active:
        raise OAuthError(OAuthErrorCode.INVALID_REQUEST, "cliente desconhecido", redirectable=False)
    if "authorization_code" not in client.grant_types:
        raise OAuthError(
            OAuthErrorCode.UNAUTHORIZED_CLIENT, "cliente sem authorization_code", redirectable=False
        )
    if client.profile != v.profile.name:
        # A client uses the endpoints of the profile it was registered for (oidc/profiles.py).
        raise OAuthError(
            OAuthErrorCode.UNAUTHORIZED_CLIENT, "cliente de outro perfil", redirectable=False
        )
    v.client = client


def check_redirect_uri(v: Validation) -> None:
    """Core §3.1.2.1: required; RFC 9700 §4.1.3: exact match (loopback: any port)."""
    uri = v.values.get("redirect_uri")
    if not uri:
        raise invalid_request("redirect_uri ausente", redirectable=False)
    if len(uri) > MAX_VALUE or not redirect_uris.matches(
        list(v.client.redirect_uris), uri, native=v.client.application_type == "native"
    ):
        raise invalid_request("redirect_uri nao registrado para este cliente", redirectable=False)
    v.redirect_uri = uri


# -- checks after: failures go back to the client ----------------------------------------------
def reject_repeated_parameters(v: Validation) -> None:
    if v.repeated:
        raise invalid_request(f"parametro repetido: {sorted(v.repeated)[0]}")


def reject_oversized(v: Validation) -> None:
    for name, value in v.values.items():
        limit = MAX_HINT if name == "id_token_hint" else MAX_VALUE
        if len(value) > limit:
            raise invalid_request(f"{name} longo demais")


def reject_request_objects(v: Validation) -> None:
    """Core §6: request objects are not supported; §6.3 names the errors."""
    if "request" in v.values:
        raise OAuthError(OAuthErrorCode.REQUEST_NOT_SUPPORTED, "parametro request nao suportado")
    if "request_uri" in v.values:
        raise OAuthError(OAuthErrorCode.REQUEST_URI_NOT_SUPPORTED, "request_uri nao suportado")
    if "registration" in v.values:
        raise OAuthError(OAuthErrorCode.REGISTRATION_NOT_SUPPORTED, "registration nao suportado")


def check_response_type(v: Validation) -> None:
    """Authorization code flow only (SECURITY.md; RFC 9700 §2.1.2 retires the implicit flow)."""
    response_type = v.values.get("response_type")
    if not response_type:
        raise invalid_request("response_type ausente")
    if response_type != "code":
        raise OAuthError(OAuthErrorCode.UNSUPPORTED_RESPONSE_TYPE, "so response_type=code")


def check_response_mode(v: Validation) -> None:
    mode = v.values.get("response_mode")
    if mode not in (None, "query"):
        raise invalid_request("so response_mode=query")


def check_scope(v: Validation) -> list[str]:
    """Core §3.1.2.1: ``openid`` is required; scopes unknown to the client are dropped
    (RFC 6749 §3.3 lets the server grant less; Core §3.1.2.1 says to ignore unknown ones)."""
    requested = (v.values.get("scope") or "").split()
    if "openid" not in requested:
        raise OAuthError(OAuthErrorCode.INVALID_SCOPE, "o escopo openid e obrigatorio")
    return [s for s in dict.fromkeys(requested) if s in v.client.scopes]


def check_prompt(v: Validation) -> list[str]:
    prompt = list(dict.fromkeys((v.values.get("prompt") or "").split()))
    unknown = [p for p in prompt if p not in PROMPTS]
    if unknown:
        raise invalid_request(f"prompt nao suportado: {unknown[0]}")
    if "none" in prompt and len(prompt) > 1:
        raise invalid_request("prompt=none nao combina com outros valores")
    return prompt


def check_max_age(v: Validation) -> int | None:
    raw = v.values.get("max_age")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 10:
        raise invalid_request("max_age deve ser um inteiro nao negativo")
    return int(raw)


def check_pkce(v: Validation) -> None:
    problem = pkce.challenge_problem(
        v.values.get("code_challenge"), v.values.get("code_challenge_method")
    )
    if problem:
        raise invalid_request(problem)


def check_nonce(v: Validation) -> None:
    if len(v.values.get("nonce", "")) > MAX_NONCE:
        raise invalid_request("nonce longo demais")


async def check_id_token_hint(v: Validation) -> str | None:
    """Core §3.1.2.1: a hint Guarita signed (expired is fine) names who the client expects."""
    hint = v.values.get("id_token_hint")
    if not hint:
        return None
    store = await keystore(v.runtime)
    try:
        claims = read_id_token_hint(store, hint, issuer=v.profile.issuer(v.runtime))
    except UnreadableToken:
        raise invalid_request("id_token_hint invalido") from None
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if v.client.id not in aud:
        raise invalid_request("id_token_hint de outro cliente")
    return str(claims["sub"])


def ui_locale(v: Validation) -> str | None:
    """Core §3.1.2.1 ``ui_locales``: the first of pt-BR, en, es in the list."""
    for tag in (v.values.get("ui_locales") or "").split():
        found = i18n.normalize(tag)
        if found:
            return found
    return None


NON_REDIRECTABLE: list[Callable] = [
    reject_repeated_client_parameters,
    check_client,
    check_redirect_uri,
]
REDIRECTABLE: list[Callable] = [
    reject_repeated_parameters,
    reject_oversized,
    reject_request_objects,
    check_response_type,
    check_response_mode,
    check_scope,
    check_prompt,
    check_max_age,
    check_pkce,
    check_nonce,
    check_id_token_hint,
    ui_locale,
]


def start(
    runtime: Runtime, pairs: list[tuple[str, str]], profile: Profile = STANDARD
) -> Validation:
    values, repeated = parameters(pairs)
    return Validation(runtime, values, repeated, profile=profile)


async def validate(v: Validation) -> AuthorizationRequest:
    """Runs every check; raises ``OAuthError`` or returns the validated request.

    After an error, ``v.redirect_uri`` is set exactly when the error may go to the client
    (``OAuthError.redirectable`` says the same from the other side).
    """
    await _run(v, NON_REDIRECTABLE)
    results = await _run(v, REDIRECTABLE)
    values = v.values
    v.request = AuthorizationRequest(
        client_id=v.client.id,
        redirect_uri=v.redirect_uri,
        scopes=results["check_scope"],
        state=values.get("state"),
        nonce=values.get("nonce"),
        code_challenge=values.get("code_challenge"),
        code_challenge_method=values.get("code_challenge_method"),
        prompt=results["check_prompt"],
        max_age=results["check_max_age"],
        login_hint=(values.get("login_hint") or "")[:254] or None,
        ui_locale=results["ui_locale"],
        acr_levels=acr.requested_levels(values.get("acr_values")),
        hint_sub=results["check_id_token_hint"],
        mfa=acr.wants_mfa(values.get("acr_values")),
        issuer=v.profile.issuer(v.runtime),
    )
    return v.request


async def _run(v: Validation, checks: list[Callable]) -> dict:
    results = {}
    for check in checks:
        result = check(v)
        if inspect.isawaitable(result):
            result = await result
        results[check.__name__] = result
    return results


# -- the decision ------------------------------------------------------------------------------
class Need(StrEnum):
    NOTHING = "nothing"  # issue the code
    LOGIN = "login"
    STEP_UP = "step_up"  # the account's level is below acr_values: confirm the identity first
    CONSENT = "consent"


@dataclass
class Situation:
    """What the decision looks at: the browser's session and the person behind it."""

    session: SessionInfo | None
    person: Person | None
    sub: str | None
    since: datetime | None = None  # when the interaction being resumed started
    consented: bool = False  # the person just answered the consent page of this interaction
    remembered_consent: bool = False


def _fresh(s: Situation) -> bool:
    """A sign-in happened after this authorization request was made."""
    return s.since is not None and s.session is not None and s.session.auth_time >= s.since


def no_session(r: AuthorizationRequest, c: Client, s: Situation) -> str | None:
    return "no_session" if s.session is None or s.person is None else None


def account_unusable(r: AuthorizationRequest, c: Client, s: Situation) -> str | None:
    return "account_disabled" if s.person.status != AccountStatus.ACTIVE else None


def login_prompted(r: AuthorizationRequest, c: Client, s: Situation) -> str | None:
    """Core §3.1.2.1 ``prompt=login``: a new sign-in, even with a live session."""
    return "prompt_login" if "login" in r.prompt and not _fresh(s) else None


def max_age_exceeded(r: AuthorizationRequest, c: Client, s: Situation) -> str | None:
    """Core §3.1.2.1 ``max_age``; ``max_age=0`` behaves as ``prompt=login``, and a sign-in made
    for this very request always satisfies it (else a slow typist could never get past)."""
    if r.max_age is None or _fresh(s):
        return None
    age = (utcnow() - s.session.auth_time).total_seconds()
    return "max_age" if age > r.max_age else None


def other_person(r: AuthorizationRequest, c: Client, s: Situation) -> str | None:
    """Core §3.1.2.1 ``id_token_hint``: the signed-in person is not the one the client expects."""
    return "id_token_hint" if r.hint_sub is not None and r.hint_sub != s.sub else None


def second_factor_missing(r: AuthorizationRequest, c: Client, s: Situation) -> str | None:
    """``acr_values=urn:guarita:mfa`` (docs/two-step.md): the session must carry ``mfa``
    (RFC 8176 §2); otherwise a step-up, or enrolment when the person has no second factor."""
    return "mfa" if r.mfa and "mfa" not in (s.session.amr or ()) else None


LOGIN_CHECKS = [no_session, account_unusable, login_prompted, max_age_exceeded, other_person,
                second_factor_missing]


def level_unmet(r: AuthorizationRequest, c: Client, s: Situation) -> str | None:
    """Core §3.1.2.1 ``acr_values``: the account's trust level is below every level asked. The
    person is taken to confirm their identity (face, bank, an agency) and comes back here; the
    level is read again on return, so nothing is granted on the way out."""
    return None if acr.satisfies(s.person.trust_level, r.acr_levels) else "acr"


def consent_prompted(r: AuthorizationRequest, c: Client, s: Situation) -> str | None:
    return "prompt_consent" if "consent" in r.prompt and not s.consented else None


def consent_missing(r: AuthorizationRequest, c: Client, s: Situation) -> str | None:
    if c.first_party or s.consented or s.remembered_consent:
        return None
    return "no_consent"


CONSENT_CHECKS = [consent_prompted, consent_missing]


@dataclass
class Decision:
    need: Need
    reason: str | None = None


def decide(request: AuthorizationRequest, client: Client, situation: Situation) -> Decision:
    """What the request still needs. Raises the errors that end it under ``prompt=none``
    (Core §3.1.2.6: ``login_required``, ``interaction_required``, ``consent_required``)."""
    for check in LOGIN_CHECKS:
        reason = check(request, client, situation)
        if reason:
            if "none" in request.prompt:
                raise OAuthError(OAuthErrorCode.LOGIN_REQUIRED, "e preciso entrar com a conta")
            return Decision(Need.LOGIN, reason)
    reason = level_unmet(request, client, situation)
    if reason:
        if "none" in request.prompt:
            # Core §3.1.2.6: the person is signed in, but only a page could raise the level.
            raise OAuthError(
                OAuthErrorCode.INTERACTION_REQUIRED,
                "o nivel da conta e menor que o pedido em acr_values",
            )
        return Decision(Need.STEP_UP, reason)
    for check in CONSENT_CHECKS:
        reason = check(request, client, situation)
        if reason:
            if "none" in request.prompt:
                raise OAuthError(OAuthErrorCode.CONSENT_REQUIRED, "e preciso o consentimento")
            return Decision(Need.CONSENT, reason)
    return Decision(Need.NOTHING)


# -- the response ------------------------------------------------------------------------------
def redirect_to(redirect_uri: str, params: dict[str, str | None]) -> str:
    """RFC 6749 §4.1.2: parameters added to the query, keeping the URI's own query."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return redirect_uri + ("&" if "?" in redirect_uri else "?") + query


def error_redirect(
    runtime: Runtime,
    redirect_uri: str,
    error: OAuthError,
    state: str | None,
    iss: str | None = None,
) -> str:
    """§4.1.2.1 error response, with ``iss`` (RFC 9207 §2): the issuer of the client's profile
    (``AuthorizationRequest.issuer``), Guarita's own when not given."""
    body = error.body()
    return redirect_to(
        redirect_uri,
        {
            "error": body["error"],
            "error_description": body.get("error_description"),
            "state": state,
            "iss": iss or issuer(runtime),
        },
    )


def code_redirect(runtime: Runtime, request: AuthorizationRequest, code: str) -> str:
    return redirect_to(
        request.redirect_uri,
        {"code": code, "state": request.state, "iss": request.issuer or issuer(runtime)},
    )
