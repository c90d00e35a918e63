"""The outbox worker: claims due messages, delivers them, retries with backoff.

DESIGN.md house style 8 (Ory Kratos ``courier``) and SECURITY.md › Reliability: "when a
dependency (SMTP, SMS) fails or hangs, requests fail closed within a bounded time and the outbox
retries later". Runs inside ``guarita serve`` (``GUARITA_RUN_WORKER_IN_SERVER``) or alone as
``guarita worker``; any number of them may run against one database.

A delivery goes through three steps, each in its own short transaction or none:

1. **Claim.** Due rows — ``pending`` with ``next_attempt_at`` reached, or ``sending`` whose lease
   (``claimed_until``) ran out because the worker holding them died — become ``sending`` with a
   new lease and one more attempt. PostgreSQL takes them with ``SELECT … FOR UPDATE SKIP LOCKED``,
   so concurrent workers split the queue without waiting for each other; SQLite transactions start
   with ``BEGIN IMMEDIATE`` (storage/database.py), so claims are serialised there. Either way a row
   has one holder at a time.
2. **Deliver**, outside any transaction, each send bounded by its channel's timeout
   (``GUARITA_SMTP__TIMEOUT_SECONDS``, ``GUARITA_SMS__TIMEOUT_SECONDS``). The lease outlasts the
   whole batch at those timeouts, so under normal operation no other worker can take a message
   that is still being sent: no message is sent twice.
3. **Record**: ``sent`` with ``sent_at``; or back to ``pending`` after an exponential, jittered
   backoff (30 s doubling up to 1 h) with ``last_error``; or ``failed`` after
   ``GUARITA_OUTBOX__MAX_ATTEMPTS`` attempts or a refusal that retrying cannot change. The update
   only applies while this worker's lease still holds.

Besides delivering, every worker runs the storage's housekeeping once at start and then every
:data:`MAINTENANCE_SECONDS`: the next months' partitions of the audit log and the outbox, and
their retention where it is configured (``storage/retention.py``; docs/scale.md › Partitioning the
audit and outbox tables by month). It is idempotent and serialised in the database, so every
worker may run it.

Delivery is at least once: a worker killed between the provider's "ok" and step 3 leaves the row
to be sent again after its lease. E-mails repeat their Message-ID and SMS webhooks their ``id``
so the far end can recognise the duplicate.
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from prometheus_client import Counter
from sqlalchemy import and_, or_, select, update

from guarita.config import OutboxSettings
from guarita.domain.accounts import Channel
from guarita.messaging import backchannel
from guarita.messaging.errors import DeliveryError, describe
from guarita.messaging.outbox import LOGOUT, on_enqueued
from guarita.messaging.senders import Senders, build_senders
from guarita.messaging.smtp import OutgoingEmail, message_id_for, sender_domain
from guarita.storage import retention
from guarita.storage.tables import OutboxMessage
from guarita.storage.types import utcnow

if TYPE_CHECKING:
    from guarita.runtime import Runtime
    from guarita.storage.database import Database

log = structlog.get_logger("guarita.outbox")

DELIVERIES = Counter(
    "guarita_outbox_deliveries_total", "Outbox delivery attempts by outcome",
    ["channel", "outcome"],  # outcome: sent | retry | failed
)

BATCH_SIZE = 50
# Room for the database round trips of a batch on top of the senders' timeouts.
LEASE_MARGIN_SECONDS = 60.0
MAX_IDLE_BACKOFF_SECONDS = 60.0
MAINTENANCE_SECONDS = 3600.0


@dataclass(frozen=True)
class Claimed:
    """A claimed row, detached from its session so delivery holds no transaction open."""

    id: int
    channel: str
    to: str
    subject: str
    text: str
    html: str | None
    created_at: datetime
    attempts: int
    lease: datetime


def retry_delay(attempts: int, policy: OutboxSettings) -> float:
    """Seconds before the next try after ``attempts`` failed ones: 30, 60, 120 … up to 3600.

    ±20 % jitter, so that messages that failed together (a provider outage) do not all come
    back in the same second.
    """
    exponent = min(max(attempts - 1, 0), 32)
    delay = min(policy.max_retry_seconds, policy.first_retry_seconds * 2**exponent)
    return delay * random.uniform(0.8, 1.2)


def lease_seconds(count: int, senders: Senders, policy: OutboxSettings) -> float:
    """How long a batch of ``count`` messages may take in the worst case, plus a margin."""
    slowest = max(senders.email_timeout, senders.sms_timeout, senders.logout_timeout)
    rounds = math.ceil(count / max(policy.concurrency, 1))
    return LEASE_MARGIN_SECONDS + rounds * (slowest + 5.0)


async def deliver_due(
    runtime: Runtime, *, limit: int = BATCH_SIZE, now: datetime | None = None
) -> int:
    """Claims up to ``limit`` due messages, tries each once, records the outcome.

    Returns how many messages were tried. ``now`` lets a test look at the queue from a later
    moment (a retry that is due in 30 s is due "now" an hour later).
    """
    settings = runtime.settings
    policy = settings.outbox
    senders = build_senders(settings, logout_minter=runtime.extras.get(backchannel.MINTER))
    started = now or utcnow()
    batch = await _claim(runtime.db, senders, policy, limit=limit, now=started)
    if not batch:
        return 0
    domain = sender_domain(settings.smtp.sender, settings.base_url)
    slots = asyncio.Semaphore(max(policy.concurrency, 1))

    async def one(item: Claimed) -> None:
        async with slots:
            error = await _attempt(senders, item, domain)
            await _record(
                runtime.db, policy, item, error, now=now, keep_text=settings.keep_sent_text
            )

    results = await asyncio.gather(*(one(item) for item in batch), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return len(batch)


async def _claim(
    db: Database, senders: Senders, policy: OutboxSettings, *, limit: int, now: datetime
) -> list[Claimed]:
    due = and_(
        OutboxMessage.next_attempt_at <= now,
        or_(
            OutboxMessage.status == "pending",
            and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < now),
        ),
    )
    query = (
        select(OutboxMessage)
        .where(due)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite is already serialised
    )
    batch: list[Claimed] = []
    async with db.transaction() as session:
        rows = list((await session.scalars(query)).all())
        if not rows:
            return batch
        lease = now + timedelta(seconds=lease_seconds(len(rows), senders, policy))
        for row in rows:
            if row.discard_after is not None and row.discard_after <= now:
                row.status = "failed"
                row.claimed_until = None
                row.last_error = "Descartada sem envio: o código que ela levava já venceu."
                row.text, row.html = blanked()["text"], None
                DELIVERIES.labels(row.channel, "discarded").inc()
                continue
            if row.status == "sending":
                log.warning("outbox_lease_expired", message_id=row.id, attempts=row.attempts)
                if row.attempts >= policy.max_attempts:
                    row.status = "failed"
                    row.claimed_until = None
                    row.last_error = (
                        "A última tentativa foi interrompida (o processo parou durante o envio)."
                    )
                    DELIVERIES.labels(row.channel, "failed").inc()
                    continue
            row.status = "sending"
            row.claimed_until = lease
            row.attempts += 1
            batch.append(
                Claimed(
                    id=row.id, channel=row.channel, to=row.to, subject=row.subject, text=row.text,
                    html=row.html, created_at=row.created_at, attempts=row.attempts, lease=lease,
                )
            )
    return batch


async def _attempt(senders: Senders, item: Claimed, domain: str) -> BaseException | None:
    """Sends one message; returns what went wrong, or None when it went out."""
    timeout = senders.timeout_for(item.channel)
    try:
        async with asyncio.timeout(timeout):
            if item.channel == Channel.EMAIL:
                await senders.email.send(
                    OutgoingEmail(
                        message_id=message_id_for(item.id, item.created_at, domain),
                        to=item.to, subject=item.subject, text=item.text, html=item.html,
                        date=item.created_at,
                    )
                )
            elif item.channel == Channel.SMS:
                await senders.sms.send(item.to, item.text, message_id=str(item.id))
            elif item.channel == LOGOUT and senders.logout is not None:
                await senders.logout.send(item.to, item.text)
            else:
                raise DeliveryError(f"Canal desconhecido: {item.channel!r}", permanent=True)
    except TimeoutError:
        label = {Channel.EMAIL: "O servidor SMTP", LOGOUT: "O cliente (logout)"}.get(
            item.channel, "O provedor de SMS"
        )
        return DeliveryError(f"{label} não respondeu em {timeout:g} s (tempo esgotado)")
    except Exception as exc:  # noqa: BLE001 - any failure of a sender means "try again later"
        return exc
    return None


BLANKED = "[texto apagado após o envio]"


def blanked() -> dict:
    """A delivered message keeps who, when and which template, never its codes or links
    (LGPD art. 6 III; SECURITY.md › One-time codes: codes are never stored in clear)."""
    return {"text": BLANKED, "html": None}


async def _record(
    db: Database, policy: OutboxSettings, item: Claimed, error: BaseException | None,
    *, now: datetime | None, keep_text: bool = False,
) -> None:
    moment = now or utcnow()
    if error is None:
        values: dict = {"status": "sent", "sent_at": moment, "claimed_until": None}
        if not keep_text:
            values.update(blanked())
        outcome = "sent"
    else:
        permanent = isinstance(error, DeliveryError) and error.permanent
        values = {"claimed_until": None, "last_error": describe(error)}
        if permanent or item.attempts >= policy.max_attempts:
            values["status"] = "failed"
            outcome = "failed"
        else:
            delay = retry_delay(item.attempts, policy)
            values["status"] = "pending"
            values["next_attempt_at"] = moment + timedelta(seconds=delay)
            outcome = "retry"
    async with db.transaction() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == item.id,
                OutboxMessage.status == "sending",
                OutboxMessage.claimed_until == item.lease,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    if result.rowcount == 0:
        # Our lease ran out and another worker holds the row now; its outcome will count.
        log.warning("outbox_lease_lost", message_id=item.id, outcome=outcome)
        return
    DELIVERIES.labels(item.channel, outcome).inc()
    if outcome == "sent":
        log.info("outbox_sent", message_id=item.id, channel=item.channel, attempts=item.attempts)
    elif outcome == "retry":
        log.warning(
            "outbox_retry", message_id=item.id, channel=item.channel, attempts=item.attempts,
            error=values["last_error"], next_attempt_at=values["next_attempt_at"].isoformat(),
        )
    else:
        log.error(
            "outbox_failed", message_id=item.id, channel=item.channel, attempts=item.attempts,
            error=values["last_error"],
        )


async def run_forever(runtime: Runtime, stop: asyncio.Event) -> None:
    """Delivers until ``stop`` is set: at once after an in-process enqueue, else every
    ``GUARITA_OUTBOX__POLL_SECONDS``; backs off while the database itself is failing."""
    policy = runtime.settings.outbox
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def nudge() -> None:
        # Called from whichever thread committed; the loop may already be closing.
        try:
            loop.call_soon_threadsafe(wake.set)
        except RuntimeError:
            pass

    unsubscribe = on_enqueued(nudge)
    failures = 0
    log.info("outbox_worker_started")
    housekeeping = asyncio.create_task(maintain_forever(runtime, stop))
    try:
        while not stop.is_set():
            wake.clear()
            try:
                handled = await deliver_due(runtime, limit=BATCH_SIZE)
                failures = 0
            except Exception:  # noqa: BLE001 - the worker outlives a database hiccup
                failures += 1
                log.exception("outbox_worker_error", failures=failures)
                handled = 0
            if handled >= BATCH_SIZE:
                continue  # more may be due right now
            pause = policy.poll_seconds
            if failures:
                pause = min(MAX_IDLE_BACKOFF_SECONDS, policy.poll_seconds * 2 ** min(failures, 6))
            await _sleep(stop, wake, pause)
    finally:
        unsubscribe()
        housekeeping.cancel()
        await asyncio.gather(housekeeping, return_exceptions=True)
        log.info("outbox_worker_stopped")


async def maintain_forever(runtime: Runtime, stop: asyncio.Event) -> None:
    """Partitions ahead of time and retention, at start and every ``MAINTENANCE_SECONDS``."""
    while not stop.is_set():
        try:
            await retention.maintain(
                runtime.db, audit_months=runtime.settings.audit.retention_months,
                outbox_months=runtime.settings.outbox.retention_months,
            )
        except Exception:  # noqa: BLE001 - a lock timeout or a refusal waits for the next hour
            log.exception("storage_maintenance_failed")
        await _sleep(stop, asyncio.Event(), MAINTENANCE_SECONDS)


async def _sleep(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
