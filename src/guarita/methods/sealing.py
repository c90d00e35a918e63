"""Secrets at rest: AES-256-GCM with a random 96-bit nonce (NIST SP 800-38D §8.2.2) under a key
each caller derives from ``GUARITA_SECRET_KEY`` for its own purpose (HKDF, RFC 5869).

``bound_to`` is the associated data (the row the value belongs to), so a sealed value copied to
another row does not open. The text form is ``<version>:<base64url(nonce ‖ ciphertext ‖ tag)>``.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def seal(key: bytes, text: str, *, bound_to: str, version: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, text.encode(), bound_to.encode())
    return f"{version}:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(key: bytes, sealed: str, *, bound_to: str, version: str) -> str:
    """The text sealed by :func:`seal`; ``ValueError`` when it does not open."""
    found, _, body = sealed.partition(":")
    if found != version:
        raise ValueError("formato de segredo desconhecido")
    raw = base64.urlsafe_b64decode(body.encode())
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], bound_to.encode()).decode()
    except Exception as exc:  # InvalidTag: another key, another row, or an altered value
        raise ValueError("o segredo não abre com esta chave") from exc
