"""The fraud guard (``docs/fraud-guard.md``): a hold on the changes that could lock the owner out.

Account takeover ends the same way whatever its start: whoever got in swaps the e-mail and the
phone, enrols their own second factor and connects their own apps, and the owner can no longer
recover. So after the moments a takeover starts with — a completed recovery, a contact the desk
registered without seeing the person, a sign-in from a new device on a new network — the account
is *held* for ``GUARITA_GUARD__HOLD_HOURS``: those changes are refused (``account_on_hold``), the
contacts the account had before are told what is held and given the "Não foi você?" lock link,
and relying parties read ``guarita_hold_until`` to refuse their own sensitive acts. Strong
evidence of the person (bank, face, an in-person document, gov.br) lifts the hold at once:
:func:`lift_on_evidence` is called by ``services/trust.record_evidence``, the one place evidence
is written.

The hold is two columns of ``accounts`` (``hold_until``, ``hold_reason``); it ends by itself
when the moment passes, with nothing to sweep.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.accounts import CONTACT_KINDS
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.evidence import EvidenceKind
from guarita.domain.identifiers import IdentifierKind
from guarita.domain.text import Sentences
from guarita.messaging.outbox import enqueue
from guarita.methods.base import N_
from guarita.services import devices
from guarita.services.notifications import create_lock_link, lock_url, message_context
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Account, IdentityEvidence, Session
from guarita.storage.types import utcnow

if TYPE_CHECKING:
    from guarita.runtime import Runtime

RECOVERY = "recovery"
DESK_CONTACT = "desk_contact"
NEW_DEVICE = "new_device"
TRIGGERS = (RECOVERY, DESK_CONTACT, NEW_DEVICE)

# What each held action is called in the audit and the API's ``details.action``.
CONTACT_CHANGE = "contact_change"
SECOND_FACTOR = "second_factor"
RECOVERY_CODES = "recovery_codes"
NEW_APP = "new_app"
DELETION_REQUEST = "deletion_request"

# Evidence that proves the person, not a mailbox or a password (services/step_up.py counts the
# same kinds as "fresh strong evidence").
STRONG_EVIDENCE = frozenset({EvidenceKind.BANK.value, EvidenceKind.FACE.value,
                             EvidenceKind.IN_PERSON_DOCUMENT.value, EvidenceKind.GOVBR.value})

# Why the account is held, in the words of the alert sent to the contacts ("... porque <reason>";
# messages are pt-BR).
REASONS = {
    RECOVERY: "sua senha foi recuperada",
    DESK_CONTACT: "um contato foi cadastrado pela central de atendimento",
    NEW_DEVICE: "houve uma entrada de um aparelho e de uma rede que a conta nunca usou",
}
# The first sentence of a refusal, one per reason (whole sentences, so each is one catalogue
# entry: a reason spliced into a sentence would never be found in a translation).
REFUSALS = {
    RECOVERY: N_("Por segurança, esta mudança está bloqueada até %(when)s porque sua senha foi "
                 "recuperada."),
    DESK_CONTACT: N_("Por segurança, esta mudança está bloqueada até %(when)s porque um contato "
                     "foi cadastrado pela central de atendimento."),
    NEW_DEVICE: N_("Por segurança, esta mudança está bloqueada até %(when)s porque houve uma "
                   "entrada de um aparelho e de uma rede que a conta nunca usou."),
}
LIFT_NOW = N_("Para liberar agora, confirme sua identidade pelo banco, pelo rosto ou numa agência.")
NOT_YOU = N_("Se não foi você, use o link “Não foi você?” enviado aos seus contatos ou ligue para "
             "a central de atendimento.")


@dataclass(frozen=True)
class Hold:
    until: datetime
    reason: str

    @property
    def epoch(self) -> int:
        return int(self.until.timestamp())


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def active(account: Account | None, now: datetime | None = None) -> Hold | None:
    """The account's hold if it has not ended yet."""
    if account is None or account.hold_until is None:
        return None
    until = aware(account.hold_until)
    if until <= (now or utcnow()):
        return None
    return Hold(until=until, reason=account.hold_reason or RECOVERY)


def hold_until_epoch(value: datetime | str | None, now: datetime | None = None) -> int | None:
    """``guarita_hold_until`` from a stored ``hold_until`` (a plain-SQL read gives a datetime or
    an ISO string, by backend); None once it has passed."""
    if value is None:
        return None
    moment = aware(datetime.fromisoformat(value) if isinstance(value, str) else value)
    return int(moment.timestamp()) if moment > (now or utcnow()) else None


async def hold_of(session: AsyncSession, account_id: str, now: datetime | None = None) -> Hold | None:
    return active(await session.get(Account, account_id), now)


async def current(runtime: Runtime, account_id: str) -> Hold | None:
    async with runtime.db.read() as session:
        return await hold_of(session, account_id)


def refusal(hold: Hold, settings, action: str) -> GuaritaError:  # noqa: ANN001
    """``account_on_hold``: what is held, until when, why, and what to do."""
    when = settings.local_time(hold.until)
    return GuaritaError(
        ErrorCode.ACCOUNT_ON_HOLD,
        message=Sentences([REFUSALS.get(hold.reason, REFUSALS[RECOVERY]), LIFT_NOW, NOT_YOU],
                          {"when": when}),
        details={"hold_until": hold.until.isoformat(), "hold_until_epoch": hold.epoch,
                 "reason": hold.reason, "action": action},
    )


async def require_no_hold_in(session: AsyncSession, settings, account_id: str, action: str) -> None:  # noqa: ANN001
    hold = await hold_of(session, account_id)
    if hold is not None:
        raise refusal(hold, settings, action)


async def require_no_hold(runtime: Runtime, account_id: str, action: str) -> None:
    """Raises ``account_on_hold`` while the account is held (checked before any work starts)."""
    async with runtime.db.read() as session:
        await require_no_hold_in(session, runtime.settings, account_id, action)


async def _strong_since(session: AsyncSession, account_id: str, since: datetime) -> bool:
    latest = (await session.execute(
        select(func.max(IdentityEvidence.recorded_at)).where(
            IdentityEvidence.account_id == account_id,
            IdentityEvidence.kind.in_(STRONG_EVIDENCE)))).scalar_one_or_none()
    return latest is not None and aware(latest) >= since


async def place(
    session: AsyncSession, runtime: Runtime, account_id: str, trigger: str, *,
    context: RequestContext | None, now: datetime | None = None, since: datetime | None = None,
    lock_token: str | None = None,
) -> Hold | None:
    """Holds the account after ``trigger`` and tells the contacts it had before ``now``.

    ``since``: when the act that triggers began; strong evidence recorded since then (a
    recovery by face or bank) already proved the person, so nothing is held. A longer hold in
    place is kept. ``lock_token``: a "Não foi você?" token the caller already made for the same
    event (one link per event).
    """
    settings = runtime.settings
    hours = settings.guard.hours_for(trigger)
    if hours <= 0:
        return None
    now = now or utcnow()
    if since is not None and await _strong_since(session, account_id, since):
        return None
    account = await session.get(Account, account_id)
    if account is None:
        return None
    until = now + timedelta(hours=hours)
    held = active(account, now)
    if held is not None and trigger == NEW_DEVICE:
        # Signing in on a new phone right after a recovery is what the owner does too: the hold
        # already in place says more, and the contacts were told already.
        return held
    if held is not None and held.until >= until:
        until = held.until
    account.hold_until = until
    account.hold_reason = trigger
    await session.flush()
    hold = Hold(until=until, reason=trigger)
    told = [i for i in await accounts_repo.identifiers_of(session, account_id)
            if i.kind in CONTACT_KINDS and i.verified_at is not None
            and aware(i.verified_at) < now]
    await record(session, AuditTag.HOLD_PLACED, subject=account_id, context=context,
                 details={"trigger": trigger, "until": until.isoformat(),
                          "contacts_told": len(told)})
    if told:
        token = lock_token or await create_lock_link(session, runtime, account_id, now)
        for contact in told:
            await enqueue(
                session, channel="email" if contact.kind == IdentifierKind.EMAIL else "sms",
                to=contact.value, template="account_hold", account_id=account_id,
                context=message_context(settings, until=settings.local_time(until),
                                        reason=REASONS[trigger],
                                        lock_url=lock_url(settings, token)),
            )
    return hold


async def lift_on_evidence(
    session: AsyncSession, account_id: str, kind: str, *, context: RequestContext | None,
    now: datetime, recorded_by: str | None,
) -> bool:
    """Ends the hold when strong evidence of the person was just recorded (audited)."""
    if kind not in STRONG_EVIDENCE:
        return False
    account = await session.get(Account, account_id)
    hold = active(account, now)
    if hold is None:
        return False
    account.hold_until = None
    account.hold_reason = None
    await session.flush()
    await record(session, AuditTag.HOLD_LIFTED, subject=account_id, context=context,
                 details={"evidence": kind, "trigger": hold.reason, "was_until": hold.until.isoformat(),
                          "by": recorded_by})
    return True


# -- a sign-in from a new device on a new network -----------------------------------------------
RECENT_SESSIONS = 500


def network_of(ip: str | None) -> str | None:
    """The network an address belongs to for "new network": IPv4 /24, IPv6 /48."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def device_label(user_agent: str | None) -> str:
    """The device as the sessions list names it (kind, brand, system, browser)."""
    device = devices.device_of(user_agent)
    return "|".join(part or "" for part in (device.kind, device.brand, device.system,
                                            device.browser))


async def after_sign_in(
    session: AsyncSession, runtime: Runtime, account_id: str, context: RequestContext,
    now: datetime | None = None,
) -> Hold | None:
    """Called by a password sign-in before its session is written: holds the account when
    neither the device nor the network was ever seen with it (``docs/fraud-guard.md``).

    New device: no earlier session of the account has the same device (as the sessions list
    names it). New network: no session of the account in the last
    ``GUARITA_GUARD__KNOWN_NETWORK_DAYS`` came from the same IPv4 /24 or IPv6 /48. An account
    with no earlier session at all (its first sign-in) has nothing to compare with: no hold.
    """
    if runtime.settings.guard.hours_for(NEW_DEVICE) <= 0:
        return None
    now = now or utcnow()
    rows = (await session.execute(
        select(Session.ip, Session.user_agent, Session.created_at)
        .where(Session.account_id == account_id)
        .order_by(Session.created_at.desc()).limit(RECENT_SESSIONS))).all()
    if not new_device(runtime, rows, context, now):
        return None
    return await place(session, runtime, account_id, NEW_DEVICE, context=context, now=now)


def new_device(runtime: Runtime, rows: list, context: RequestContext, now: datetime) -> bool:
    """Whether a sign-in from ``context`` is a new device on a new network, given the account's
    newest sessions ``rows`` (``(ip, user_agent, created_at)``); False when the guard is off or
    the account has no session yet (:func:`after_sign_in`; sign-in's plain-SQL path asks it
    first and leaves the hold to :func:`after_sign_in`)."""
    if runtime.settings.guard.hours_for(NEW_DEVICE) <= 0 or not rows:
        return False
    label = device_label(context.user_agent)
    if any(device_label(agent) == label for _, agent, _ in rows):
        return False
    network = network_of(context.ip)
    window = now - timedelta(days=runtime.settings.guard.known_network_days)
    return not (network is not None and any(
        network_of(ip) == network and aware(created) >= window for ip, _, created in rows))
