"""What the staff modules share: how secrets are kept at rest and how staff are named in the
audit log (docs/support-desk.md › Enrolling staff)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

# Writing last_seen_at at every request would make every page view a write.
TOUCH_EVERY = timedelta(seconds=60)


def sha256(value: str) -> str:
    """Enrolment links, session ids and API tokens are 256-bit random values: stored as SHA-256
    (SECURITY.md › Sessions and cookies: "stored hashed server-side")."""
    return hashlib.sha256(value.encode()).hexdigest()


def staff_subject(staff_id: int) -> str:
    return f"staff:{staff_id}"
