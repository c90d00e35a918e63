"""Lifetimes and algorithms of the OpenID provider (``GUARITA_OIDC_*`` environment variables).

Defaults are the safe ones of SECURITY.md › OpenID provider. Kept next to the provider rather
than in ``guarita.config`` so the provider owns its policy in one place (house style 6); the
runtime carries one instance (``for_runtime``), which tests replace.
"""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from guarita.runtime import Runtime

_KEY = "oidc.settings"


class OidcSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GUARITA_OIDC_", extra="ignore")

    # RFC 6749 §4.1.2 says at most 10 minutes; SECURITY.md says at most 60 seconds.
    code_ttl_seconds: int = 60
    # RFC 9068 access tokens cannot be recalled once copied, so they live briefly.
    access_token_ttl_seconds: int = 300
    id_token_ttl_seconds: int = 3600
    # A refresh token unused for this long dies; the whole family dies at the absolute limit.
    refresh_token_idle_seconds: int = 14 * 24 * 3600
    refresh_token_absolute_seconds: int = 30 * 24 * 3600
    # Long enough for an elderly person to find the card and type a long password phrase.
    interaction_ttl_seconds: int = 30 * 60
    id_token_alg: Literal["RS256", "ES256"] = "RS256"  # noqa: S105 - an algorithm name
    access_token_alg: Literal["ES256", "RS256"] = "ES256"  # noqa: S105 - an algorithm name
    # Access tokens name Guarita as their audience unless the organisation's APIs want another.
    access_token_audience: str | None = None
    # A new key is published this long before it signs, so that relying parties that cached the
    # JWKS see it before the first token it signs; it is also the JWKS Cache-Control max-age.
    jwks_max_age_seconds: int = 300
    discovery_max_age_seconds: int = 3600
    # A client assertion (private_key_jwt) may not live longer than this (RFC 7523 §3).
    client_assertion_max_age_seconds: int = 300
    clock_skew_seconds: int = 30


def for_runtime(runtime: Runtime) -> OidcSettings:
    found = runtime.extras.get(_KEY)
    if found is None:
        found = runtime.extras[_KEY] = OidcSettings()
    return found


def issuer(runtime: Runtime) -> str:
    """OpenID Connect Discovery 1.0 §3: the issuer is ``GUARITA_BASE_URL`` without a trailing /."""
    return runtime.settings.base_url.rstrip("/")
