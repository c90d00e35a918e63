"""The OpenID provider's tables, on the shared ``Base`` (one metadata, one migration).

Names follow the specs: a *client* (RFC 6749 §2), an *interaction* (an authorization request
waiting for the person to sign in or consent, as node-oidc-provider calls it), a *grant* (one
authorization of one client by one person: the code and every token issued from it share it, so
revoking the grant revokes them all), *authorization codes* (§4.1.2), *refresh tokens* (§6),
*consents* (OpenID Connect Core §3.1.2.4) and *signing keys*. Every code and token is stored as
its SHA-256, never in clear (SECURITY.md).

Each table has one access style. The token tables (grants, authorization codes, refresh tokens,
revoked access tokens) are read and written only with the plain-SQL statements of the provider
(``storage/plain_sql.py``; ``oidc/grants.py``, ``authorization_code.py``, ``refresh_token.py``,
``revocation.py``, ``housekeeping.py``), since the token endpoint works on them at every request;
the classes below still describe them for the migrations and for tests that read them. Clients,
interactions, consents and signing keys are written through the ORM (the token endpoint only
reads clients, with one plain-SQL query).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from guarita.storage.tables import Base, BigId
from guarita.storage.types import UtcDateTime, utcnow


class OidcClient(Base):
    """A registered relying party or back end (RFC 7591 §2 metadata names)."""

    __tablename__ = "oidc_clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # SHA-256 (hex) of a 256-bit random secret: fast to check, useless to steal (SECURITY.md).
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    application_type: Mapped[str] = mapped_column(String(8), default="web")  # web | native
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    grant_types: Mapped[list] = mapped_column(JSON, default=list)
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    first_party: Mapped[bool] = mapped_column(Boolean, default=True)
    subject_type: Mapped[str] = mapped_column(String(8), default="public")  # public | pairwise
    sector_identifier: Mapped[str | None] = mapped_column(String(255))
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(8), default="RS256")
    jwks: Mapped[dict | None] = mapped_column(JSON)  # public keys for private_key_jwt
    # Which provider face the client talks to: "standard" (/oauth/*) or "govbr" (/govbr/*, the
    # paths, issuer, claims and token shape of gov.br's Login Único; docs/govbr-profile.md).
    profile: Mapped[str] = mapped_column(String(16), default="standard", server_default="standard")
    # OpenID Connect Back-Channel Logout 1.0 §2.2 and Front-Channel Logout 1.0 §2: where the
    # client hears that a session it signed into has ended.
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(254))
    backchannel_logout_session_required: Mapped[bool] = mapped_column(Boolean, default=False)
    frontchannel_logout_uri: Mapped[str | None] = mapped_column(String(254))
    frontchannel_logout_session_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why the client may receive the person's data (LGPD art. 7): "consent" (I) or "legal_duty"
    # (the organisation's legal or contractual duty, II/V), with the law or contract it rests on;
    # shown to the person under "Quem recebeu meus dados" (docs/privacy.md).
    legal_basis: Mapped[str] = mapped_column(String(16), default="consent", server_default="consent")
    legal_basis_text: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OidcInteraction(Base):
    """A validated authorization request parked while the person signs in or consents.

    ``browser_hash`` binds it to the browser that started it (the SHA-256 of a cookie), so a
    link to ``/oauth/authorize/resume`` is useless in anyone else's browser.
    """

    __tablename__ = "oidc_interactions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"))
    params: Mapped[dict] = mapped_column(JSON)
    browser_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OidcGrant(Base):
    """One authorization: what the person allowed one client, and how they had signed in."""

    __tablename__ = "oidc_grants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oidc_clients.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(Text)
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    auth_time: Mapped[datetime] = mapped_column(UtcDateTime)
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class OidcAuthorizationCode(Base):
    """RFC 6749 §4.1.2: single use, short-lived, bound to the client, redirect URI and PKCE."""

    __tablename__ = "oidc_authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(
        ForeignKey("oidc_grants.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    nonce: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OidcRefreshToken(Base):
    """RFC 6749 §6 with rotation (RFC 9700 §4.14.2): each use spends it and issues the next.

    Every token of one grant is one *family*; a spent token presented again revokes the grant.
    """

    __tablename__ = "oidc_refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(
        ForeignKey("oidc_grants.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OidcRevokedAccessToken(Base):
    """JWT access tokens revoked one by one (RFC 7009 §2.1), kept until they would expire."""

    __tablename__ = "oidc_revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class OidcConsent(Base):
    """What a person allowed a third-party client to know (OpenID Connect Core §3.1.2.4)."""

    __tablename__ = "oidc_consents"
    __table_args__ = (Index("ix_oidc_consents_client", "client_id"),)

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oidc_clients.id", ondelete="CASCADE"), primary_key=True
    )
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class OidcSigningKey(Base):
    """A signing key pair; the private half encrypted with a key derived from the secret key.

    A key signs from ``active_from`` until a newer key of its algorithm becomes active, and its
    public half stays in the JWKS until every token it signed has expired (``keys.py``).
    """

    __tablename__ = "oidc_signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(8))
    public_jwk: Mapped[dict] = mapped_column(JSON)
    private_jwk_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    active_from: Mapped[datetime] = mapped_column(UtcDateTime)


class OidcDataRelease(Base):
    """Which claims (names, never values) a client received about a person, how and when.

    One row per account, client, local day, way (``id_token`` or ``userinfo``) and set of claim
    names, with the first moment of that day: the provider inserts with ``ON CONFLICT DO
    NOTHING``, so a portal reading UserInfo on every page adds no rows (docs/privacy.md).
    """

    __tablename__ = "oidc_data_releases"
    __table_args__ = (
        UniqueConstraint("account_id", "client_id", "released_on", "via", "claims"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"))
    released_on: Mapped[date] = mapped_column(Date)
    via: Mapped[str] = mapped_column(String(12))  # id_token | userinfo
    claims: Mapped[str] = mapped_column(String(500))  # names, sorted, space-separated
    first_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
