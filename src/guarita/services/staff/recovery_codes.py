"""Staff recovery codes: ten single-use codes given at enrolment, for when the phone with the
authenticator is lost (docs/support-desk.md › Enrolling staff). Stored as HMACs keyed by the
server's secret and bound to the staff member, never in clear (SECURITY.md › One-time codes)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def clean_recovery_code(raw: str | None) -> str:
    return "".join(ch for ch in (raw or "").lower() if ch.isalnum())[:32]


def recovery_code_hash(master: bytes, staff_id: int, raw: str) -> str:
    message = f"staff-recovery|{staff_id}|{clean_recovery_code(raw)}".encode()
    return hmac.new(master, message, hashlib.sha256).hexdigest()
