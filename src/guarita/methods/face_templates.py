"""Face templates at rest: AES-256-GCM, bound to their owner (SECURITY.md › Data (LGPD); LGPD
art. 5 II and 11: biometric data is sensitive personal data).

A template is the 128 numbers of dlib's descriptor. It is sealed with a key given in
``GUARITA_FACE__KEY`` (32 bytes, base64) or, when none is given, derived with HKDF-SHA256 from
the server secret under a label of its own, so a database copy alone opens nothing. The
beneficiary it belongs to is bound in as associated data: a sealed template copied to another
row does not open. Reference photos are sealed the same way when they are kept at all
(``GUARITA_FACE__KEEP_PHOTOS``).
"""

from __future__ import annotations

import base64
import binascii
import os

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"f1"


def key_from(master: bytes, configured: str | None) -> bytes:
    """The configured 32-byte key, or one derived from the server secret."""
    if configured:
        try:
            raw = base64.b64decode(configured, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValueError("GUARITA_FACE__KEY deve ser base64 de 32 bytes.") from error
        if len(raw) != 32:
            raise ValueError("GUARITA_FACE__KEY deve ser base64 de 32 bytes.")
        return raw
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"guarita-face",
                info=b"face templates at rest v1").derive(master)


def _aad(owner: str, what: bytes) -> bytes:
    return what + b":" + owner.encode()


def seal_bytes(key: bytes, data: bytes, *, owner: str, what: bytes = b"template") -> bytes:
    nonce = os.urandom(12)
    return VERSION + nonce + AESGCM(key).encrypt(nonce, data, _aad(owner, what))


def unseal_bytes(key: bytes, sealed: bytes, *, owner: str, what: bytes = b"template") -> bytes | None:
    """The plain bytes, or None when the key, the owner or the bytes do not match."""
    if not sealed.startswith(VERSION):
        return None
    body = sealed[len(VERSION):]
    try:
        return AESGCM(key).decrypt(body[:12], body[12:], _aad(owner, what))
    except (InvalidTag, ValueError):
        return None


def seal_template(key: bytes, descriptor: np.ndarray, *, owner: str) -> bytes:
    return seal_bytes(key, np.asarray(descriptor, dtype="<f4").tobytes(), owner=owner)


def unseal_template(key: bytes, sealed: bytes, *, owner: str) -> np.ndarray | None:
    raw = unseal_bytes(key, sealed, owner=owner)
    if raw is None or len(raw) != 128 * 4:
        return None
    return np.frombuffer(raw, dtype="<f4").astype(np.float64)
