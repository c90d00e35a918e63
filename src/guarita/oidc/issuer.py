"""The provider's own name: its issuer identifier.

The provider's lifetimes and algorithms are the ``oidc`` group of the settings tree
(``guarita.config.OidcSettings``, ``GUARITA_OIDC__<NAME>``), read as ``runtime.settings.oidc``.
"""

from __future__ import annotations

from guarita.runtime import Runtime


def issuer(runtime: Runtime) -> str:
    """OpenID Connect Discovery 1.0 §3: the issuer is ``GUARITA_BASE_URL`` without a trailing /."""
    return runtime.settings.base_url.rstrip("/")
