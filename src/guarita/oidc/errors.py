"""The closed set of OAuth 2.0 / OpenID Connect error codes, as the specifications name them.

Kept apart from ``guarita.domain.errors`` because these codes belong to the protocols: RFC 6749
§4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1, OpenID Connect Core 1.0 §3.1.2.6, and
``unmet_authentication_requirements`` ("OpenID Connect Core Error Code
unmet_authentication_requirements 1.0" §1). Structure after node-oidc-provider
``lib/helpers/errors.js``: one exception type carrying the code, its HTTP status and whether it
may travel to the ``redirect_uri``.

``error_description`` is written in plain pt-BR for the integrators, folded to the character set
RFC 6749 allows in that parameter (``%x20-21 / %x23-5B / %x5D-7E``: no accents, no quotes).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum


class OAuthErrorCode(StrEnum):
    INVALID_REQUEST = "invalid_request"
    UNAUTHORIZED_CLIENT = "unauthorized_client"
    ACCESS_DENIED = "access_denied"
    UNSUPPORTED_RESPONSE_TYPE = "unsupported_response_type"
    INVALID_SCOPE = "invalid_scope"
    SERVER_ERROR = "server_error"
    TEMPORARILY_UNAVAILABLE = "temporarily_unavailable"
    INTERACTION_REQUIRED = "interaction_required"
    LOGIN_REQUIRED = "login_required"
    ACCOUNT_SELECTION_REQUIRED = "account_selection_required"
    CONSENT_REQUIRED = "consent_required"
    REQUEST_NOT_SUPPORTED = "request_not_supported"
    REQUEST_URI_NOT_SUPPORTED = "request_uri_not_supported"
    REGISTRATION_NOT_SUPPORTED = "registration_not_supported"
    UNMET_AUTHENTICATION_REQUIREMENTS = "unmet_authentication_requirements"
    INVALID_CLIENT = "invalid_client"
    INVALID_GRANT = "invalid_grant"
    UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - an error code, not a secret
    INSUFFICIENT_SCOPE = "insufficient_scope"
    UNSUPPORTED_TOKEN_TYPE = "unsupported_token_type"  # noqa: S105 - an error code


_STATUS: dict[OAuthErrorCode, int] = {
    OAuthErrorCode.INVALID_CLIENT: 401,
    OAuthErrorCode.INVALID_TOKEN: 401,
    OAuthErrorCode.INSUFFICIENT_SCOPE: 403,
    OAuthErrorCode.SERVER_ERROR: 500,
    OAuthErrorCode.TEMPORARILY_UNAVAILABLE: 503,
}

_ALLOWED = {chr(c) for c in range(0x20, 0x7F)} - {'"', "\\"}


def spec_charset(text: str) -> str:
    """pt-BR text without accents and without ``"`` or ``\\`` (RFC 6749 §4.1.2.1, §5.2)."""
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if ch in _ALLOWED)


@dataclass
class OAuthError(Exception):
    """A protocol failure.

    ``redirectable`` is False for the errors of OpenID Connect Core §3.1.2.6's first paragraph:
    an unknown client or a redirect URI that does not match must never send the browser to that
    URI (RFC 6749 §4.1.2.1); the person sees a pt-BR page instead.
    """

    code: OAuthErrorCode
    description: str = ""
    redirectable: bool = True
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.code}: {self.description}")

    @property
    def status(self) -> int:
        return _STATUS.get(self.code, 400)

    def body(self) -> dict[str, str]:
        """RFC 6749 §5.2 JSON body."""
        found = {"error": str(self.code)}
        if self.description:
            found["error_description"] = spec_charset(self.description)
        return found


def invalid_request(description: str, *, redirectable: bool = True) -> OAuthError:
    return OAuthError(OAuthErrorCode.INVALID_REQUEST, description, redirectable=redirectable)


def invalid_grant(description: str) -> OAuthError:
    return OAuthError(OAuthErrorCode.INVALID_GRANT, description)


def invalid_client(
    description: str = "autenticacao do cliente falhou", *, basic: bool = False
) -> OAuthError:
    """RFC 6749 §5.2: 401, and ``WWW-Authenticate`` naming the scheme the client tried."""
    headers = {"WWW-Authenticate": 'Basic realm="guarita"'} if basic else {}
    return OAuthError(OAuthErrorCode.INVALID_CLIENT, description, headers=headers)


def invalid_token(description: str = "token invalido ou expirado") -> OAuthError:
    """RFC 6750 §3: 401 with a ``WWW-Authenticate: Bearer`` challenge naming the error."""
    value = (
        'Bearer realm="guarita", error="invalid_token", '
        f'error_description="{spec_charset(description)}"'
    )
    return OAuthError(
        OAuthErrorCode.INVALID_TOKEN, description, headers={"WWW-Authenticate": value}
    )


def insufficient_scope(scope: str) -> OAuthError:
    value = f'Bearer realm="guarita", error="insufficient_scope", scope="{scope}"'
    return OAuthError(
        OAuthErrorCode.INSUFFICIENT_SCOPE,
        f"o token precisa do escopo {scope}",
        headers={"WWW-Authenticate": value},
    )
