"""Time-based one-time passwords: RFC 6238 (TOTP) over RFC 4226 (HOTP), with pyotp.

The ``totp`` method of the port (``METHOD``, RFC 8176 ``otp``): the secret lives sealed in the
principal's ``totp`` credential, so desk members and beneficiaries enrol it alike. The rules
follow NIST SP 800-63B-4 §3.1.4 (single-factor OTP devices) and RFC 6238 §5:

- 160-bit random secrets (RFC 4226 §4 R6 recommends 160 bits), base32 for authenticator apps;
- 30-second steps, 6 digits, SHA-1: the only parameters every authenticator app understands;
- one step of clock drift either way (RFC 6238 §5.2);
- a code is accepted once: the caller keeps the last step accepted and passes it back, and only a
  later step is accepted (RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of the
  same OTP after the successful validation has been issued");
- secrets are encrypted at rest (:func:`seal`) with AES-256-GCM under a key derived (HKDF-SHA256)
  from the server secret, the row it belongs to bound in as associated data, so a database copy
  alone yields no secret and a sealed secret moved to another row does not open.

The QR code is an SVG made with segno, with classes and presentation attributes only: the CSP
(``style-src 'self'``) forbids ``style`` attributes and inline scripts.
"""

from __future__ import annotations

import hmac
import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pyotp
import segno
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from guarita.domain.evidence import EvidenceKind
from guarita.methods import sealing
from guarita.methods.base import (
    N_,
    MethodContext,
    Outcome,
    Principal,
    Proof,
    Purpose,
    Step,
    StepField,
    StepKind,
)

DIGITS = 6
PERIOD = 30
DRIFT_STEPS = 1
_SEAL_VERSION = "v1"


def new_secret() -> str:
    """A 160-bit random secret in base32 (32 characters, no padding)."""
    return pyotp.random_base32(length=32)


def step_at(moment: datetime) -> int:
    """The RFC 6238 time step (T) of ``moment``: whole periods since the Unix epoch."""
    return int(moment.timestamp()) // PERIOD


def code_at_step(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).at(step * PERIOD)


def clean(raw: str | None) -> str:
    """People type "123 456" or "123-456"; only the digits count."""
    return "".join(ch for ch in (raw or "") if ch.isdigit())


def looks_like_totp(raw: str | None) -> bool:
    text = (raw or "").replace(" ", "").replace("-", "")
    return len(text) == DIGITS and text.isdigit()


def matching_step(
    secret: str, raw_code: str | None, *, now: datetime | None = None, last_step: int | None = None
) -> int | None:
    """The time step whose code is ``raw_code``, if it is within the drift window and later than
    ``last_step``; otherwise None. The caller must then store the step *atomically* (``UPDATE …
    WHERE last_step < :step``) so that two requests with one code have one winner.
    """
    code = clean(raw_code)
    if len(code) != DIGITS:
        return None
    current = step_at(now or datetime.now(UTC))
    found = None
    # Every candidate is computed and compared, so the time taken says nothing about which
    # step matched.
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at_step(secret, step), code) and (
            last_step is None or step > last_step
        ):
            found = step
    return found


def provisioning_uri(secret: str, account_name: str, issuer: str) -> str:
    """The ``otpauth://totp/…`` URI of the Key Uri Format that authenticator apps scan."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
        name=account_name, issuer_name=issuer
    )


def qr_svg(uri: str, *, label: str) -> str:
    """The QR code of ``uri`` as an inline ``<svg>``: no ``style`` attribute, no script.

    ``label`` becomes its accessible name (``role="img"``); the page shows the secret as text
    next to it for people who type it instead of scanning.
    """
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(
        buffer,
        kind="svg",
        xmldecl=False,
        svgns=True,
        svgclass="totp-qr",
        lineclass="totp-qr-line",
        omitsize=True,
        border=4,
    )
    svg = buffer.getvalue().decode()
    safe_label = (
        label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )
    return svg.replace("<svg ", f'<svg role="img" aria-label="{safe_label}" ', 1)


def grouped(secret: str) -> str:
    """``ABCD EFGH …``: easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# --- encryption at rest ------------------------------------------------------------------------


def _key(master: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"guarita-totp", info=b"totp secret at rest v1"
    ).derive(master)


def seal(master: bytes, secret: str, *, bound_to: str) -> str:
    """``secret`` sealed at rest (``methods/sealing.py``); ``bound_to`` names its row."""
    return sealing.seal(_key(master), secret, bound_to=bound_to, version=_SEAL_VERSION)


def unseal(master: bytes, sealed: str, *, bound_to: str) -> str:
    """What :func:`seal` sealed; raises ``ValueError`` when it does not open."""
    return sealing.unseal(_key(master), sealed, bound_to=bound_to, version=_SEAL_VERSION)


def issuer_label(name: str) -> str:
    """Authenticator apps split the label at ``:``; keep the issuer free of it (pyotp quotes)."""
    return name.replace(":", " ").strip()


# --- the method --------------------------------------------------------------------------------

CREDENTIAL = "totp"


def binding(principal: Principal) -> str:
    """What a sealed secret is bound to: its owner (``staff:3``, ``account:ab12…``)."""
    return f"{principal.kind}:{principal.id}"


class TotpMethod:
    id = "totp"
    amr = "otp"
    proves = Proof.POSSESSION
    evidence = EvidenceKind.SECOND_FACTOR
    purposes = frozenset({Purpose.SECOND_FACTOR})
    label = N_("Aplicativo autenticador")
    short_label = N_("Autenticador")

    def hint(self, principal: Principal) -> str | None:
        return None

    async def start(self, ctx: MethodContext, flow: Any, principal: Principal) -> Step:
        return Step(
            method=self.id, kind=StepKind.CODE_FORM, title=N_("Confirme que é você"),
            text=N_("Abra o aplicativo autenticador e digite o código de 6 números que ele "
                    "mostra."),
            fields=(StepField("code", N_("Código do aplicativo"), inputmode="numeric",
                              autocomplete="one-time-code"),),
            submit=N_("Confirmar"),
        )

    async def verify(self, ctx: MethodContext, flow: Any, answer: Mapping[str, str]) -> Outcome:
        """The code of a time step within the drift window and later than the last one accepted;
        the step is then stored with a conditional update, so one code wins once."""
        failed = Outcome(ok=False, method=self.id, amr=self.amr, proof=self.proves)
        stored = await ctx.credentials.get(CREDENTIAL)
        if stored is None or not stored.data.get("sealed"):
            return failed
        try:
            secret = unseal(ctx.secret(), stored.data["sealed"], bound_to=binding(ctx.principal))
        except ValueError:
            return failed
        step = matching_step(secret, answer.get("code"), now=ctx.now, last_step=stored.counter)
        if step is None or not await ctx.credentials.advance(stored, step):
            return failed
        return Outcome(ok=True, method=self.id, amr=self.amr, proof=self.proves,
                       evidence=self.evidence, details={"step": step})


METHOD = TotpMethod()
