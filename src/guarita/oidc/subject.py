"""Subject identifiers (OpenID Connect Core 1.0 §8).

``public``: the account id, 128 random bits made at account creation (never the CPF, never
anything a person could be found by). ``pairwise`` (§8.1): a different ``sub`` per sector, so
two unrelated clients cannot join what they know about one person:
``BASE64URL(HMAC-SHA256(k, sector ‖ 0x00 ‖ account id))``, where ``k`` is derived from the
secret key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


@lru_cache(maxsize=8)
def _pairwise_key(secret: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"guarita/oidc/pairwise-sub/v1"
    ).derive(secret)


def sector_of(redirect_uris: list[str]) -> str | None:
    """§8.1: without a sector identifier, the host of the (single) redirect URI host."""
    hosts = {urlsplit(uri).hostname for uri in redirect_uris if urlsplit(uri).hostname}
    return next(iter(hosts)) if len(hosts) == 1 else None


def subject(account_id: str, subject_type: str, sector: str | None, secret: bytes) -> str:
    if subject_type != "pairwise":
        return account_id
    mac = hmac.new(
        _pairwise_key(secret),
        (sector or "").encode() + b"\x00" + account_id.encode(),
        hashlib.sha256,
    ).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
