"""Audit tags of the OpenID provider (house style 9), recorded with ``storage.audit.record``.

Stable strings, part of the contract like ``guarita.domain.audit_tags.AuditTag``; kept here so
the provider's events live with the provider (they may move into ``AuditTag`` in one edit).
"""

from enum import StrEnum


class OidcEvent(StrEnum):
    AUTHORIZED = "oidc.authorized"
    CONSENT_GRANTED = "oidc.consent.granted"
    CONSENT_REVOKED = "oidc.consent.revoked"
    CODE_REPLAYED = "oidc.code.replayed"
    REFRESH_TOKEN_REUSED = "oidc.refresh_token.reused"  # noqa: S105 - an audit tag
    LOGOUT = "oidc.logout"
    CLIENT_REGISTERED = "oidc.client.registered"
    CLIENT_UPDATED = "oidc.client.updated"
    KEYS_ROTATED = "oidc.keys.rotated"
