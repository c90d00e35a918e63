"""Writing messages to the outbox (house style 8; Ory Kratos ``courier``).

A service calls :func:`enqueue` inside the transaction that causes the message, so the message
exists if and only if the change does. The worker (``messaging/worker.py``) delivers it later,
retrying; nothing is sent inline, which also keeps known and unknown accounts equally fast.

Templates live in ``templates/`` and are named ``<name>.subject.txt``, ``<name>.email.txt``,
``<name>.email.html`` (extending ``_layout.email.html``) and ``<name>.sms.txt``
(docs/messaging.md). Their context always includes :func:`base_context`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from guarita.config import Settings
from guarita.domain.accounts import Channel
from guarita.storage.tables import OutboxMessage
from guarita.storage.types import utcnow

TEMPLATES = Path(__file__).parent / "templates"

# Plain text only (subjects, text parts, SMS): escaping would show "&amp;" to the reader.
_text_env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=False, undefined=StrictUndefined,  # noqa: S701
    keep_trailing_newline=True,
)
_html_env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)

STATUSES = ("pending", "sending", "sent", "failed")


def base_context(settings: Settings) -> dict[str, Any]:
    """What every template may use; services merge their own values into it."""
    return {
        "organisation": settings.organisation_name,
        "support_phone": settings.support_phone,
        "base_url": settings.base_url.rstrip("/"),
    }


def render(template: str, channel: Channel, context: dict[str, Any]) -> tuple[str, str, str | None]:
    """``(subject, text, html)`` of ``templates/<template>.<channel>.*`` in pt-BR."""
    if channel == Channel.SMS:
        text = _text_env.get_template(f"{template}.sms.txt").render(context).strip()
        return "", text, None
    subject = _text_env.get_template(f"{template}.subject.txt").render(context).strip()
    # A subject is one header line; a template that wraps must not inject a second header.
    subject = " ".join(subject.split())
    text = _text_env.get_template(f"{template}.email.txt").render(context)
    html = _html_env.get_template(f"{template}.email.html").render(context)
    return subject, text, html


async def enqueue(
    session: AsyncSession,
    *,
    channel: Channel,
    to: str,
    template: str,
    context: dict[str, Any],
    account_id: str | None = None,
    discard_after: datetime | None = None,
) -> OutboxMessage:
    """Queues one message. ``discard_after``: past it the worker drops the message instead of
    sending it (one-time codes, which expire)."""
    message = await _write(session, channel, to, template, context, account_id, discard_after)
    # Read by the after-commit hook below: a worker in this process starts at once instead of
    # at its next poll, so a code reaches the person a second sooner.
    session.info[_ENQUEUED] = True
    return message


# The outbox channel of a back-channel logout notice (OpenID Connect Back-Channel Logout 1.0
# §2.5): an HTTP POST to a client, not a message to a person (messaging/backchannel.py).
LOGOUT = "logout"


async def enqueue_logout(
    session: AsyncSession, *, uri: str, client_id: str, account_id: str, sid: str
) -> OutboxMessage:
    """Queues the notice that session ``sid`` of ``account_id`` ended, for ``client_id`` at its
    registered ``backchannel_logout_uri``. The row holds what the token will say, not the token:
    the worker has the provider sign it at each attempt, so ``exp`` stays short (§2.4)."""
    message = OutboxMessage(
        channel=LOGOUT, to=uri, subject=client_id[:255],
        text=json.dumps({"client_id": client_id, "account_id": account_id, "sid": sid}),
        html=None, template="backchannel_logout", account_id=account_id, status="pending",
        attempts=0, next_attempt_at=utcnow(), discard_after=None,
    )
    session.add(message)
    await session.flush()
    session.info[_ENQUEUED] = True
    return message


# Where a message to nobody is addressed while it is written to the sink.
SINK_ADDRESS = {Channel.EMAIL: "ninguem@guarita.invalid", Channel.SMS: "+5500000000000"}


async def enqueue_or_sink(
    session: AsyncSession,
    *,
    sink: bool,
    channel: Channel,
    to: str,
    template: str,
    context: dict[str, Any],
    account_id: str | None = None,
    discard_after: datetime | None = None,
) -> None:
    """Renders and writes a message as :func:`enqueue` does, inside a savepoint that is
    released — or, with ``sink``, rolled back: nothing is queued and no worker wakes.

    For the flows that must not say, by their timing, whether they had someone to send to
    (SECURITY.md › Account enumeration): an unknown identifier, a contact the account does not
    have, mismatching data. Both ways run the same rendering and the same statements; a sink
    leaves no row for the worker, ``/dev/outbox`` or the outbox counters to see.
    """
    savepoint = await session.begin_nested()
    try:
        address = SINK_ADDRESS[Channel(channel)] if sink else to
        await _write(session, channel, address, template, context,
                     None if sink else account_id, discard_after)
    except BaseException:
        await savepoint.rollback()
        raise
    if sink:
        await savepoint.rollback()
        return
    await savepoint.commit()
    session.info[_ENQUEUED] = True


async def _write(
    session: AsyncSession, channel: Channel, to: str, template: str, context: dict[str, Any],
    account_id: str | None, discard_after: datetime | None,
) -> OutboxMessage:
    if channel not in tuple(Channel):
        raise ValueError(f"canal desconhecido: {channel!r}")
    subject, text, html = render(template, channel, context)
    message = OutboxMessage(
        channel=channel, to=to, subject=subject, text=text, html=html, template=template,
        account_id=account_id, status="pending", attempts=0, next_attempt_at=utcnow(),
        discard_after=discard_after,
    )
    session.add(message)
    await session.flush()
    return message


# --- waking an in-process worker ---------------------------------------------------------------

_ENQUEUED = "guarita.outbox.enqueued"
_listeners: set[Callable[[], None]] = set()


def on_enqueued(callback: Callable[[], None]) -> Callable[[], None]:
    """Calls ``callback`` after each commit that enqueued a message; returns the unsubscriber.

    The callback may run on any thread that commits; the worker passes one that uses
    ``loop.call_soon_threadsafe``.
    """
    _listeners.add(callback)
    return lambda: _listeners.discard(callback)


@event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    if session.info.pop(_ENQUEUED, False):
        for callback in list(_listeners):
            # The commit already happened; a broken listener must not look like a failed one.
            try:
                callback()
            except Exception:  # noqa: BLE001
                structlog.get_logger("guarita.outbox").exception("outbox_listener_error")


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)


# --- reading and operating the queue (``/dev/outbox``, ``guarita outbox``) ---------------------

async def list_messages(
    session: AsyncSession, *, status: str | None = None, to: str | None = None, limit: int = 100
) -> list[OutboxMessage]:
    """Newest first."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    if to:
        query = query.where(OutboxMessage.to == to)
    return list((await session.scalars(query)).all())


class NotRetryable(Exception):
    """The message does not exist or has not failed; ``str()`` says which, in pt-BR."""


async def retry_failed(
    session: AsyncSession, message_id: int, *, now: datetime | None = None
) -> None:
    """Puts a failed message back in the queue with a fresh set of attempts.

    ``last_error`` stays, so the operator still sees why it failed until it is sent.
    """
    message = await session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None:
        raise NotRetryable(f"A mensagem {message_id} não existe.")
    if message.status != "failed":
        raise NotRetryable(
            f"A mensagem {message_id} não falhou (situação: {STATUS_LABELS[message.status]})."
        )
    message.status = "pending"
    message.attempts = 0
    message.next_attempt_at = now or utcnow()
    message.claimed_until = None


STATUS_LABELS = {
    "pending": "na fila",
    "sending": "enviando",
    "sent": "enviada",
    "failed": "falhou",
}


def as_dict(message: OutboxMessage, *, with_text: bool = True) -> dict[str, Any]:
    """The public shape of a message (``/dev/outbox.json``, ``guarita outbox list --json``)."""
    data: dict[str, Any] = {
        "id": message.id,
        "channel": message.channel,
        "to": message.to,
        "subject": message.subject,
        "text": message.text,
        "created_at": message.created_at.isoformat(),
        "status": message.status,
        "attempts": message.attempts,
        "last_error": message.last_error,
    }
    if not with_text:
        del data["text"]
    return data
