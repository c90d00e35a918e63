"""Captcha: ALTCHA proof of work by default, hCaptcha / reCAPTCHA / Turnstile as alternatives.

ALTCHA (https://altcha.org, PyPI ``altcha`` v2 challenges): Guarita creates a challenge signed
with an HMAC key derived from the secret key and expiring in 10 minutes; the browser widget
solves it (PBKDF2/SHA-256, a fraction of a second); Guarita verifies the signature, the expiry
and the solution, and accepts each solution once — used challenges are kept in the database
until they expire, since the library has no replay protection of its own.

The third-party providers are verified server-side through their ``siteverify`` endpoints
(hCaptcha: https://docs.hcaptcha.com/#verify-the-user-response-server-side ; reCAPTCHA:
https://developers.google.com/recaptcha/docs/verify ; Turnstile:
https://developers.cloudflare.com/turnstile/get-started/server-side-validation/), all three a
form POST of ``secret`` and ``response`` answered by JSON with ``success``. A provider that
fails or hangs fails closed: the captcha is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import altcha
import httpx
import structlog
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from guarita.config import Settings
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.runtime import Runtime
from guarita.storage.tables import KeyValue
from guarita.storage.types import utcnow

log = structlog.get_logger("guarita.captcha")

CHALLENGE_LIFETIME = timedelta(minutes=10)
NAMESPACE = "altcha"
SITEVERIFY = {
    "hcaptcha": "https://api.hcaptcha.com/siteverify",
    "recaptcha": "https://www.google.com/recaptcha/api/siteverify",
    "turnstile": "https://challenges.cloudflare.com/turnstile/v0/siteverify",
}
TIMEOUT = httpx.Timeout(5.0)

# The browser side of each provider: its script, the origins the CSP must allow, the widget's
# class, and the form field its widget fills in.
WIDGETS = {
    "hcaptcha": {"script": "https://js.hcaptcha.com/1/api.js",
                 "origins": ("https://hcaptcha.com", "https://*.hcaptcha.com"),
                 "css_class": "h-captcha", "field": "h-captcha-response"},
    "recaptcha": {"script": "https://www.google.com/recaptcha/api.js",
                  "origins": ("https://www.google.com", "https://www.gstatic.com"),
                  "css_class": "g-recaptcha", "field": "g-recaptcha-response"},
    "turnstile": {"script": "https://challenges.cloudflare.com/turnstile/v0/api.js",
                  "origins": ("https://challenges.cloudflare.com",),
                  "css_class": "cf-turnstile", "field": "cf-turnstile-response"},
}


def response_from_form(settings: Settings, values: dict[str, str]) -> str | None:
    """The captcha answer a page's form carried, whichever widget filled it in."""
    widget = WIDGETS.get(settings.captcha)
    if widget is not None:
        return values.get(widget["field"]) or values.get("captcha")
    return values.get("captcha")


def csp_origins(settings: Settings) -> tuple[str, ...]:
    widget = WIDGETS.get(settings.captcha)
    return widget["origins"] if widget else ()


def _altcha_key(settings: Settings) -> bytes:
    # A key of its own, so a leaked challenge signature says nothing about other HMACs.
    return hmac.new(settings.secret(), b"guarita/altcha", hashlib.sha256).digest()


def create_challenge(settings: Settings) -> dict:
    """A fresh ALTCHA challenge, as the widget's ``challengeurl`` expects it."""
    challenge = altcha.create_challenge(
        algorithm="PBKDF2/SHA-256",
        cost=settings.captcha_cost,
        hmac_secret=_altcha_key(settings),
        expires_at=datetime.now(UTC) + CHALLENGE_LIFETIME,
    )
    return challenge.to_dict()


async def verify(runtime: Runtime, response: str | None, ip: str | None = None) -> None:
    """Raises ``captcha_invalid`` unless ``response`` is a fresh, valid, unused solution."""
    settings = runtime.settings
    if settings.captcha == "off":
        return
    if not response or len(response) > 8192:
        raise GuaritaError(ErrorCode.CAPTCHA_INVALID, field="captcha")
    if settings.captcha == "altcha":
        await _verify_altcha(runtime, response)
    else:
        await _verify_siteverify(settings, response, ip)


async def _verify_altcha(runtime: Runtime, response: str) -> None:
    try:
        payload = altcha.Payload.from_base64(response)
        result = altcha.verify_solution(payload, _altcha_key(runtime.settings))
    except Exception as exc:  # noqa: BLE001 - any malformed payload is simply invalid
        raise GuaritaError(ErrorCode.CAPTCHA_INVALID, field="captcha") from exc
    if not result.verified:
        raise GuaritaError(ErrorCode.CAPTCHA_INVALID, field="captcha")
    signature = payload.challenge.signature
    now = utcnow()
    try:
        async with runtime.db.transaction() as session:
            await session.execute(
                delete(KeyValue).where(KeyValue.namespace == NAMESPACE, KeyValue.expires_at < now)
            )
            session.add(KeyValue(namespace=NAMESPACE, key=signature[:128], value=b"used",
                                 expires_at=now + CHALLENGE_LIFETIME))
    except IntegrityError as exc:  # already used: a replay
        raise GuaritaError(ErrorCode.CAPTCHA_INVALID, field="captcha") from exc


async def _verify_siteverify(settings: Settings, response: str, ip: str | None) -> None:
    url = settings.captcha_verify_url or SITEVERIFY[settings.captcha]
    form = {"secret": settings.captcha_secret.get_secret_value() if settings.captcha_secret else "",
            "response": response}
    if ip:
        form["remoteip"] = ip
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            answer = await client.post(url, data=form)
        success = answer.status_code == 200 and answer.json().get("success") is True
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("captcha_provider_failed", provider=settings.captcha, error=type(exc).__name__)
        raise GuaritaError(ErrorCode.CAPTCHA_INVALID, field="captcha",
                           message=Message.CAPTCHA_UNAVAILABLE) from exc
    if not success:
        raise GuaritaError(ErrorCode.CAPTCHA_INVALID, field="captcha")
