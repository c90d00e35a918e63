"""Passkeys: WebAuthn Level 3 registration (§7.1) and authentication (§7.2) ceremonies with
py_webauthn, as a second factor and as passwordless sign-in.

The ``passkey`` method of the port (``METHOD``). Choices, each from the spec or NIST:

- **user verification required** (WebAuthn §5.8.6 ``required``): the authenticator checked a PIN
  or a fingerprint, so one passkey is two factors (NIST SP 800-63B-4 §3.1.7, multi-factor
  cryptographic authenticator) and sign-in with it alone yields ``mfa``;
- **discoverable credentials** (resident keys, §6.2.2): passwordless sign-in asks the browser for
  any passkey of this site, no identifier typed; the user handle (§5.4.3) is the account id, a
  random value that says nothing about the person;
- **RP id** = the host of ``GUARITA_BASE_URL``, **origin** = its scheme, host and port;
- **attestation "none"** (§5.4.7): the model of a person's phone is none of our business;
- **sign count** (§6.1.1): a count that does not go up means a cloned authenticator and the
  assertion is refused (py_webauthn raises); stored with a compare-and-set on the credential;
- **``amr``**: ``hwk`` for a key bound to one device, ``swk`` for a synced passkey
  (RFC 8176 §2; backup eligibility, WebAuthn §6.1 flag BE).

Every passkey of a principal lives in its one ``passkeys`` credential (house rule 2):
``data["keys"]`` is a list of ``{id, public_key, sign_count, name, device_type, backed_up,
created_at, last_used_at}``. Challenges are flow rows kept by the service
(``services/passkeys.py``); this module only builds options and checks answers.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidCBORData,
    InvalidJSONStructure,
    InvalidRegistrationResponse,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from guarita.domain.evidence import EvidenceKind
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

CREDENTIAL = "passkeys"
CHALLENGE_BYTES = 32
TIMEOUT_MS = 120_000  # older people take their time finding the fingerprint reader
MAX_NAME = 60
_RACE_RETRIES = 3


class PasskeyError(ValueError):
    """An answer that is not a valid ceremony: wrong challenge, origin, signature or counter."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --- encodings --------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_challenge() -> str:
    return b64url(secrets.token_bytes(CHALLENGE_BYTES))


def rp_id(base_url: str) -> str:
    """The host of the base URL (WebAuthn §5.1.3: an RP id is a registrable domain or host)."""
    return urlsplit(base_url).hostname or "localhost"


def origin(base_url: str) -> str:
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"


def parse(raw: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """The browser's ``PublicKeyCredential`` as JSON (WebAuthn §5.1 ``toJSON``)."""
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        value = json.loads(raw or "")
    except (TypeError, ValueError) as exc:
        raise PasskeyError("credencial ilegível") from exc
    if not isinstance(value, dict):
        raise PasskeyError("credencial ilegível")
    return value


def client_challenge(credential: Mapping[str, Any]) -> str | None:
    """The challenge inside ``clientDataJSON`` (§5.8.1), used only to find its flow row; the
    signature check compares it again against the stored one."""
    try:
        client_data = json.loads(unb64url(credential["response"]["clientDataJSON"]))
        value = client_data.get("challenge")
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and 0 < len(value) <= 128 else None


def user_handle(credential: Mapping[str, Any]) -> str | None:
    """The account id a discoverable credential carries (§5.4.3 ``user.id``)."""
    try:
        raw = credential["response"].get("userHandle")
        return unb64url(raw).decode() if raw else None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def clean_name(raw: str | None, fallback: str) -> str:
    name = " ".join((raw or "").split())[:MAX_NAME]
    return name or fallback


# --- options ----------------------------------------------------------------------------------


def registration_options(
    *,
    base_url: str,
    rp_name: str,
    principal: Principal,
    user_name: str,
    display_name: str,
    challenge: str,
    existing: list[Mapping[str, Any]],
) -> dict[str, Any]:
    """``PublicKeyCredentialCreationOptions`` as JSON (§5.4): resident key and user verification
    required, "none" attestation, the keys already held excluded (§5.4 excludeCredentials)."""
    options = generate_registration_options(
        rp_id=rp_id(base_url),
        rp_name=rp_name,
        user_id=str(principal.id).encode(),
        user_name=user_name,
        user_display_name=display_name,
        challenge=unb64url(challenge),
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=unb64url(k["id"])) for k in existing],
    )
    return json.loads(options_to_json(options))


def authentication_options(
    *, base_url: str, challenge: str, allow: list[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """``PublicKeyCredentialRequestOptions`` (§5.5); ``allow`` empty for discoverable sign-in."""
    options = generate_authentication_options(
        rp_id=rp_id(base_url),
        challenge=unb64url(challenge),
        timeout=TIMEOUT_MS,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=unb64url(k["id"])) for k in (allow or [])
        ],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return json.loads(options_to_json(options))


# --- ceremonies -------------------------------------------------------------------------------


def verify_registration(
    *, credential: Mapping[str, Any], challenge: str, base_url: str, name: str, now: datetime
) -> dict[str, Any]:
    """§7.1 registration; returns the stored form of the new key or raises :class:`PasskeyError`."""
    try:
        verified = verify_registration_response(
            credential=dict(credential),
            expected_challenge=unb64url(challenge),
            expected_rp_id=rp_id(base_url),
            expected_origin=origin(base_url),
            require_user_verification=True,
        )
    except (
        InvalidRegistrationResponse,
        InvalidJSONStructure,
        InvalidCBORData,
        KeyError,
        TypeError,
        ValueError,
    ) as exc:
        raise PasskeyError(str(exc)[:200]) from exc
    return {
        "id": b64url(verified.credential_id),
        "public_key": b64url(verified.credential_public_key),
        "sign_count": verified.sign_count,
        "name": name,
        "device_type": str(
            getattr(verified.credential_device_type, "value", verified.credential_device_type)
        ),
        "backed_up": bool(verified.credential_backed_up),
        "created_at": now.isoformat(),
        "last_used_at": None,
    }


def amr_of(key: Mapping[str, Any]) -> str:
    """``swk`` for a passkey that syncs between devices, ``hwk`` for one bound to its device."""
    return "swk" if key.get("device_type") == "multi_device" else "hwk"


def keys_of(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [dict(k) for k in data.get("keys", [])]


class PasskeyMethod:
    id = "passkey"
    amr = "hwk"
    proves = Proof.POSSESSION
    evidence = EvidenceKind.SECOND_FACTOR
    purposes = frozenset({Purpose.SIGN_IN, Purpose.SECOND_FACTOR})
    label = N_("Chave de acesso")
    short_label = N_("Chave de acesso")

    def hint(self, principal: Principal) -> str | None:
        return None

    async def start(self, ctx: MethodContext, flow: Any, principal: Principal) -> Step:
        """The request options for the flow's challenge (a new one is put on ``flow.data`` when
        it has none, for the caller to keep), limited to the principal's keys when it is known
        (second factor)."""
        if flow.data is None:
            flow.data = {}
        if not flow.data.get("challenge"):
            flow.data = {**flow.data, "challenge": new_challenge()}
        stored = await ctx.credentials.get(CREDENTIAL) if principal.id else None
        options = authentication_options(
            base_url=ctx.settings.base_url,
            challenge=flow.data["challenge"],
            allow=keys_of(stored.data) if stored is not None else None,
        )
        return Step(
            method=self.id,
            kind=StepKind.WEBAUTHN,
            title=N_("Confirme que é você"),
            text=N_(
                "Use a chave de acesso guardada no seu celular ou computador: o aparelho vai "
                "pedir sua digital, seu rosto ou o bloqueio de tela."
            ),
            # Filled by static/js/passkeys.js with the authenticator's answer.
            fields=(StepField("credential", N_("Usar chave de acesso"), type="hidden"),),
            submit=N_("Usar chave de acesso"),
            challenge=options,
        )

    async def verify(self, ctx: MethodContext, flow: Any, answer: Mapping[str, str]) -> Outcome:
        """§7.2 authentication against ``flow``'s challenge; the new sign count is stored with a
        compare-and-set, so one assertion counts once and a count that does not rise is refused."""
        failed = Outcome(ok=False, method=self.id, amr=self.amr, proof=self.proves)
        try:
            credential = parse(answer.get("credential"))
        except PasskeyError:
            return failed
        raw_id = credential.get("rawId") or credential.get("id")
        if not isinstance(raw_id, str):
            return failed
        for _ in range(_RACE_RETRIES):
            stored = await ctx.credentials.get(CREDENTIAL)
            if stored is None:
                return failed
            keys = keys_of(stored.data)
            key = next((k for k in keys if k["id"] == raw_id), None)
            if key is None:
                return failed
            try:
                verified = verify_authentication_response(
                    credential=credential,
                    expected_challenge=unb64url(flow.data["challenge"]),
                    expected_rp_id=rp_id(ctx.settings.base_url),
                    expected_origin=origin(ctx.settings.base_url),
                    credential_public_key=unb64url(key["public_key"]),
                    credential_current_sign_count=int(key.get("sign_count") or 0),
                    require_user_verification=True,
                )
            except (
                InvalidAuthenticationResponse,
                InvalidJSONStructure,
                InvalidCBORData,
                KeyError,
                TypeError,
                ValueError,
            ) as exc:
                cloned = "sign count" in str(exc)
                return Outcome(
                    ok=False,
                    method=self.id,
                    amr=amr_of(key),
                    proof=self.proves,
                    details={"cloned": cloned, "key": key["id"]},
                )
            key["sign_count"] = verified.new_sign_count
            key["last_used_at"] = ctx.now.isoformat()
            updated = [key if k["id"] == key["id"] else k for k in keys]
            if await ctx.credentials.replace_data(stored, {**stored.data, "keys": updated}):
                return Outcome(
                    ok=True,
                    method=self.id,
                    amr=amr_of(key),
                    proof=self.proves,
                    evidence=self.evidence,
                    details={
                        "key": key["id"],
                        "name": key.get("name"),
                        "user_verified": verified.user_verified,
                    },
                )
            # Another assertion of this person updated the keys meanwhile: read them again.
        return failed


METHOD = PasskeyMethod()
