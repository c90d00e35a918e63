"""Which contacts may receive recovery codes, and how a new contact must be proven
(SECURITY.md › Recovery: knowledge that leaks — CPF, birth date, card — never suffices alone to
change how an account is reached).

- A contact added to an account that already has a verified contact needs proof from one of
  them (``EXISTING_CONTACT``) or a supervisor's in-person document check (``IN_PERSON``).
- Only an account without any verified contact gets its first one on the caller check alone
  (``CALLER_CHECK``); the person adding one on their own page proved the password (``PASSWORD``).
- Unless an existing contact proved it, a contact added by the desk or by the person cannot
  receive recovery codes during a cooling-off period (72 h by default): a takeover has to get
  past the older contacts, which are all told at once, before the new one can be used.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class ContactProof(StrEnum):
    EXISTING_CONTACT = "existing_contact"
    IN_PERSON = "in_person"
    CALLER_CHECK = "caller_check"
    PASSWORD = "password"  # noqa: S105 - the person's own page, after re-entering it


def cooling_off_until(
    source: str, proof: str | None, now: datetime, hours: int
) -> datetime | None:
    """When a newly saved contact may start receiving recovery codes (None: at once)."""
    if source not in ("support", "self") or proof == ContactProof.EXISTING_CONTACT:
        return None
    if hours <= 0:
        return None
    return now + timedelta(hours=hours)


def may_receive_recovery_codes(
    verified_at: datetime | None, recovery_allowed_after: datetime | None, now: datetime
) -> bool:
    return verified_at is not None and (
        recovery_allowed_after is None or recovery_allowed_after <= now
    )
