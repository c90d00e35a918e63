"""One-time codes sent by e-mail or SMS (SECURITY.md › One-time codes; NIST SP 800-63B-4 §3.1.3).

Six digits from ``secrets``; stored only as an HMAC bound to the flow and its purpose, so a code
copied from one flow is worthless in another and a database dump reveals no code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def generate(digits: int = 6) -> str:
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def digest(secret: bytes, flow_id_hash: str, purpose: str, code: str) -> str:
    message = f"{purpose}|{flow_id_hash}|{code}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def clean(raw: str | None) -> str:
    """People type codes with spaces or dashes ("123 456"); only the digits count."""
    return "".join(ch for ch in (raw or "") if ch.isdigit())[:12]


def matches(secret: bytes, flow_id_hash: str, purpose: str, code: str, stored: str | None) -> bool:
    expected = digest(secret, flow_id_hash, purpose, code)
    # Compare even when nothing is stored, so unknown flows cost the same.
    return hmac.compare_digest(expected, stored or "0" * 64) and stored is not None
