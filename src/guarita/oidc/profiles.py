"""Provider profiles: the faces one OpenID provider shows to different kinds of clients.

A client is registered for one profile (``guarita clients add --profile``). The profile decides
what differs between them and nothing else — the issuer and the paths under it, the ``sub``,
the ID token's extra claims, the UserInfo claims and the access token's algorithm — while the
protocol itself (authorization, codes, PKCE, grants, sessions, logout) is the same code in
``oidc/*``.

* ``standard``: Guarita's own (``/oauth/*``, issuer ``GUARITA_BASE_URL``; ``docs/oidc.md``).
* ``govbr``: gov.br's Login Único, so that a portal built for it changes only the host it talks
  to (``oidc/govbr.py``; ``docs/govbr-profile.md``).

A client may use only the endpoints of its own profile: the tokens of one profile carry its
issuer and are refused by the other's endpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from guarita.oidc.claims import Person, claims_for
from guarita.oidc.issuer import issuer as base_issuer
from guarita.runtime import Runtime

if TYPE_CHECKING:
    from guarita.oidc.clients import Client
    from guarita.oidc.grants import GrantRow

STANDARD_NAME = "standard"
GOVBR_NAME = "govbr"


@dataclass(frozen=True)
class Authenticated:
    """What the profile adds to the tokens of a grant: the ``sub`` and the ID token's extras."""

    sub: str
    id_token_claims: dict = field(default_factory=dict)
    amr: tuple[str, ...] | None = None  # the profile's words for both tokens; None: the grant's


@dataclass(frozen=True)
class Profile:
    """Guarita's own profile; ``oidc/govbr.py`` derives gov.br's from it."""

    name: str = STANDARD_NAME
    # Appended to GUARITA_BASE_URL (without its trailing slash) to make the issuer.
    issuer_path: str = ""
    paths: Mapping[str, str] = field(
        default_factory=lambda: {
            "authorization_endpoint": "/oauth/authorize",
            "token_endpoint": "/oauth/token",
            "userinfo_endpoint": "/oauth/userinfo",
            "jwks_uri": "/oauth/jwks",
            "end_session_endpoint": "/oauth/logout",
        }
    )

    def issuer(self, runtime: Runtime) -> str:
        return base_issuer(runtime) + self.issuer_path

    def url(self, runtime: Runtime, name: str) -> str:
        return base_issuer(runtime) + self.paths[name]

    def access_token_alg(self, runtime: Runtime) -> str:
        return runtime.settings.oidc.access_token_alg

    def audience(self, runtime: Runtime) -> str:
        return runtime.settings.oidc.access_token_audience or self.issuer(runtime)

    async def subject(self, runtime: Runtime, client: Client, account_id: str) -> str | None:
        from guarita.oidc.token_response import sub_for

        return sub_for(runtime, client, account_id)

    async def authenticated(
        self, runtime: Runtime, client: Client, grant: GrantRow, scope: str
    ) -> Authenticated:
        from guarita.oidc.token_response import sub_for

        return Authenticated(sub_for(runtime, client, grant.account_id))

    def userinfo_claims(self, person: Person, scopes: list[str], sub: str) -> dict:
        return claims_for(person, scopes, sub)


STANDARD = Profile()


def of(client: Client) -> Profile:
    """The profile a client was registered for."""
    if client.profile == GOVBR_NAME:
        from guarita.oidc.govbr import GOVBR

        return GOVBR
    return STANDARD
