"""Telling the apps that a session they signed into has ended.

OpenID Connect Back-Channel Logout 1.0 §2.5 and Front-Channel Logout 1.0 §2–§4: every client
that received an ID token under a session (an ``oidc_grants`` row with that session's ``sid``)
hears that the session ended — a logout token POSTed to its ``backchannel_logout_uri``, queued
in the outbox in the same transaction that ends the session (house style 8), and a frame of its
``frontchannel_logout_uri`` on the page the browser sees next.

The token itself is signed by the provider when the worker sends it (``oidc/backchannel_logout``),
so each attempt carries a fresh ``iat``/``exp`` however long the retries take.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from guarita.messaging.outbox import enqueue_logout
from guarita.storage import plain_sql as sql

# The grant table is read only through plain SQL, as the provider's other statements do
# (storage/oidc_tables.py); one statement per session (a sign-out ends one, "Sair de todos os
# outros" a handful).
_APPS_OF_SESSION = sql.Sql(
    "SELECT DISTINCT g.sid, g.account_id, c.id, c.backchannel_logout_uri, "
    "c.frontchannel_logout_uri FROM oidc_grants g JOIN oidc_clients c ON c.id = g.client_id "
    "WHERE g.sid = :sid AND c.disabled_at IS NULL "
    "AND (c.backchannel_logout_uri IS NOT NULL OR c.frontchannel_logout_uri IS NOT NULL) "
    "ORDER BY c.id"
)


@dataclass(frozen=True)
class EndedSession:
    sid: str  # the OpenID ``sid`` (services.sessions.SessionInfo.sid)
    account_id: str


@dataclass
class AppsTold:
    """What ending sessions set in motion: back-channel notices queued, and the front-channel
    addresses the browser of the ended session should load (with ``iss`` and ``sid``)."""

    backchannel: int = 0
    frontchannel: list[str] = field(default_factory=list)


def sid_of(id_hash: str) -> str:
    """The ``sid`` of a session row (the same as ``SessionInfo.sid``)."""
    return id_hash[:32]


async def tell_apps(
    session: AsyncSession, ended: list[EndedSession], *, issuer: str | None = None
) -> AppsTold:
    """Queues one back-channel logout per (client, session) and, given the ``issuer`` (when the
    browser of the ended session will see a page), lists the front-channel frames, for the
    clients that signed into one of ``ended``. Disabled clients hear nothing."""
    told = AppsTold()
    by_sid = {e.sid: e for e in ended}
    if not by_sid:
        return told
    tx = sql.in_session(session)
    rows = []
    for sid in sorted(by_sid):
        rows += await tx.all(_APPS_OF_SESSION, sid=sid)
    seen: set[tuple[str, str]] = set()
    for sid, account_id, client_id, back_uri, front_uri in rows:
        if (client_id, sid) in seen or by_sid[sid].account_id != account_id:
            continue
        seen.add((client_id, sid))
        if back_uri:
            await enqueue_logout(session, uri=back_uri, client_id=client_id,
                                 account_id=account_id, sid=sid)
            told.backchannel += 1
        if front_uri and issuer:
            # Front-Channel Logout 1.0 §2: iss and sid are always sent, which also satisfies a
            # client that requires them; the client compares them with its ID token's.
            joiner = "&" if "?" in front_uri else "?"
            told.frontchannel.append(front_uri + joiner + urlencode({"iss": issuer, "sid": sid}))
    return told
