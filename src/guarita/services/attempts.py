"""The attempt protocol: how every guess at a secret is counted, answered and audited
(SECURITY.md › Throttling and lockout, › Account enumeration; NIST SP 800-63B-4 §3.2.2).

One sequence serves beneficiary sign-in, re-authentication and staff sign-in:

1. :func:`begin` — in the caller's short transaction, *before* any hash: the attempt is counted
   as a failure and the wait it would earn is set (``throttling.begin_attempt``), so requests in
   flight together cannot all be checked before the first failures are recorded; a principal
   already waiting is refused without being counted again;
2. the caller verifies (a password hash, a second factor) outside any transaction;
3. :func:`failed` — audits the failure, marks the moment the lockout starts, disables the
   password at the 100th consecutive failure (the caller says how), and answers no sooner than
   the failure floor (``GUARITA_PASSWORD__FAILURE_FLOOR_MS``), measured from :func:`begin`, so a
   legacy hash, an unknown identifier, or a right password with a wrong second factor cost the
   same; or :func:`succeeded` — clears the counter.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import GuaritaError
from guarita.runtime import Runtime
from guarita.services import throttling
from guarita.storage.audit import RequestContext, record

# Sets the principal's password (or account) disabled; True when it was not disabled already.
Disable = Callable[[AsyncSession, str], Awaitable[bool]]


@dataclass(frozen=True)
class Rules:
    """What differs between principals: the audit tags and how the 100th failure disables."""

    failed: AuditTag
    locked: AuditTag | None = None
    disabled: AuditTag | None = None
    disable: Disable | None = None
    wait_message: str | None = None


@dataclass
class Attempt:
    key: str
    subject: str | None  # audit subject; None for identifiers that match nobody
    failures: int = 0    # consecutive failures, this attempt included
    wait: int = 0        # seconds left of a wait: the attempt was refused, not counted
    started: float = field(default_factory=time.monotonic)

    def refuse_if_waiting(self, rules: Rules) -> None:
        """Raises ``too_many_attempts`` (call it after the counting transaction committed)."""
        if self.wait:
            raise throttling.too_many(self.wait, rules.wait_message)


async def begin(
    session: AsyncSession, runtime: Runtime, key: str, subject: str | None
) -> Attempt:
    """Counts the attempt before its secret is checked (step 1 above)."""
    failures, wait = await throttling.begin_attempt(session, key, runtime.settings.lockout)
    return Attempt(key=key, subject=subject, failures=failures, wait=wait)


async def failed(
    runtime: Runtime, attempt: Attempt, rules: Rules, context: RequestContext,
    error: GuaritaError, *, details: dict[str, Any] | None = None, floor: bool = True,
) -> GuaritaError:
    """Audits a failure, disables at the cap, waits for the floor; returns ``error`` to raise."""
    policy = runtime.settings.lockout
    count = attempt.failures
    if attempt.subject:
        async with runtime.db.transaction() as session:
            await record(session, rules.failed, subject=attempt.subject, context=context,
                         details={**(details or {}), "consecutive": count})
            if rules.locked is not None and count == policy.free_failures:
                await record(session, rules.locked, subject=attempt.subject, context=context,
                             details={"consecutive": count})
            if rules.disable is not None and count >= policy.disable_after_failures:
                if await rules.disable(session, attempt.subject) and rules.disabled is not None:
                    await record(session, rules.disabled, subject=attempt.subject,
                                 context=context, details={"consecutive": count})
    if floor:
        await pad(attempt.started, runtime.settings.password.failure_floor_ms)
    return error


async def succeeded(session: AsyncSession, attempt: Attempt) -> None:
    await throttling.reset(session, attempt.key)


async def pad(started: float, floor_ms: int) -> None:
    """Sleeps (no CPU) until ``floor_ms`` have passed since ``started``."""
    left = floor_ms / 1000 - (time.monotonic() - started)
    if left > 0:
        await asyncio.sleep(left)
