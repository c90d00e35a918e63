"""Daily caps on one-time codes and recovery flows (SECURITY.md › One-time codes).

Each flow allows 3 codes and 5 wrong answers, but flows are cheap: thousands of recovery flows
for one account, started from many addresses, guess its 6-digit codes in parallel, and many
flows (of many accounts, or contact additions) aimed at one phone number make an SMS flood paid
by the organisation. So, per window of 24 hours (``GUARITA_CODES__PER_ACCOUNT_PER_DAY``,
``…__PER_DESTINATION_PER_DAY``, ``…__RECOVERY_FLOWS_PER_ACCOUNT_PER_DAY``):

- codes sent per destination (an e-mail address or a phone number, whoever asks);
- codes sent per account, through any channel, by the self-service flows;
- recovery flows started per account.

They are counted in the ``throttles`` table like every other limit, so all processes agree.
A recovery over a cap goes on exactly as one for an unknown identifier — nothing is sent and the
answers are the same (SECURITY.md › Account enumeration); a signed-in person and the desk, who
learn nothing new from it, are told plainly (``refused``). The desk counts only per
destination: its flows are not anonymous, the agent is audited, and a person whose account was
flooded must still be able to get help from the central.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.config import Settings
from guarita.domain.accounts import Channel
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.methods.base import Principal
from guarita.services import throttling

DAY_SECONDS = 24 * 3600
log = structlog.get_logger("guarita.codes")


def _destination_key(destination: str) -> str:
    digest = hashlib.sha256(destination.strip().lower().encode()).hexdigest()[:40]
    return throttling.throttle_key("codes", f"dest:{digest}")


async def _over(session: AsyncSession, key: str, limit: int) -> bool:
    count, _ = await throttling.count_in_window(session, key, DAY_SECONDS)
    return count > limit


async def code_allowed(
    session: AsyncSession, settings: Settings, account_id: str | None, destination: str, *,
    per_account: bool = True,
) -> bool:
    """Counts one code to ``destination`` (and to ``account_id``); False when a cap is passed.

    Counted in the caller's transaction: a request that fails later sent nothing and counts
    nothing."""
    policy = settings.codes
    over = await _over(session, _destination_key(destination), policy.per_destination_per_day)
    if per_account and account_id:
        over_account = await _over(
            session, throttling.throttle_key("codes", account_id), policy.per_account_per_day
        )
        over = over or over_account
    if over:
        log.warning("code_cap_reached", account_id=account_id)
    return not over


def _nobody() -> str:
    """The key of a count made for nobody: a flow without an account or a contact counts what
    a real one counts, so that its answer does not come sooner (SECURITY.md › Account
    enumeration: same timing). One of a few rows, so that concurrent requests do not queue
    behind one hot row; nobody reads them."""
    return throttling.throttle_key("codes", f"nobody-{secrets.randbelow(64)}")


async def principal_within_caps(
    session: AsyncSession, settings: Settings, principal: Principal, channel: Channel
) -> Principal:
    """The principal a code method sees: without its contact on ``channel`` when a cap is
    passed, so the method counts a code that is never sent and never matches, exactly as for
    a principal without a contact there (``methods/contact_code.py``). A principal without
    the contact makes the same two counts, on rows of nobody."""
    contact = principal.contacts.get(channel)
    if contact is None:
        await _over(session, _nobody(), settings.codes.per_destination_per_day)
        await _over(session, _nobody(), settings.codes.per_account_per_day)
        return principal
    if await code_allowed(session, settings, principal.id, contact.value):
        return principal
    kept = {c: v for c, v in principal.contacts.items() if c is not channel}
    return dataclasses.replace(principal, contacts=kept)


async def recovery_flow_allowed(
    session: AsyncSession, settings: Settings, account_id: str | None
) -> bool:
    """Counts one recovery flow of ``account_id``; False when the day's cap is passed. A flow
    of nobody (``None``: an unknown identifier, mismatching data) counts on a row of nobody
    and is always allowed."""
    limit = settings.codes.recovery_flows_per_account_per_day
    if account_id is None:
        await _over(session, _nobody(), limit)
        return True
    over = await _over(session, throttling.throttle_key("recovery_flows", account_id), limit)
    if over:
        log.warning("recovery_cap_reached", account_id=account_id)
    return not over


def refused() -> GuaritaError:
    return GuaritaError(ErrorCode.RATE_LIMITED, message=Message.CODE_DAILY_LIMIT,
                        details={"retry_after": DAY_SECONDS})
