"""Quem recebeu meus dados, and the consent ledger (LGPD art. 18 I, VII and VIII; art. 8 §5;
docs/privacy.md).

* Recipients: per app, per day, which of the person's data it received (claim names recorded
  by the provider in ``oidc_data_releases``, never values), with the legal basis its operator
  registered (``guarita clients add|update --legal-basis``).
* Ledger: every consent given and taken back, from the audit log (``oidc.consent.granted`` and
  ``oidc.consent.revoked``, append-only and hash-chained), with the scopes and the moment.

Both read the last ``WINDOW_DAYS`` days, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from guarita.runtime import Runtime
from guarita.storage.oidc_tables import OidcClient, OidcDataRelease
from guarita.storage.tables import AuditEvent
from guarita.storage.types import utcnow

WINDOW_DAYS = 366
# The audit tags of the ledger (``oidc/events.py`` names them; the strings are the contract).
GRANTED = "oidc.consent.granted"
REVOKED = "oidc.consent.revoked"
# The order claims are listed in, the most sensitive first; others follow alphabetically.
CLAIM_ORDER = (
    "cpf", "name", "social_name", "birthdate", "email", "phone_number", "card_number",
    "trust_level", "sub",
)


@dataclass
class Release:
    """What one app received on one day (its first moment that day)."""

    on: date
    at: datetime
    claims: list[str]
    via: list[str]


@dataclass
class Recipient:
    client_id: str
    name: str
    legal_basis: str  # consent | legal_duty
    legal_basis_text: str | None
    releases: list[Release] = field(default_factory=list)

    @property
    def claims(self) -> list[str]:
        """Every kind of data this app ever received, in ``CLAIM_ORDER``."""
        return ordered({c for r in self.releases for c in r.claims})

    @property
    def last_at(self) -> datetime:
        return max(r.at for r in self.releases)


@dataclass
class ConsentEntry:
    at: datetime
    action: str  # granted | revoked
    client_id: str
    client_name: str
    scopes: list[str]


def ordered(names: set[str] | list[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(CLAIM_ORDER)}
    return sorted(set(names), key=lambda n: (rank.get(n, len(rank)), n))


async def recipients(runtime: Runtime, account_id: str) -> list[Recipient]:
    """The apps that received the person's data, the most recent first."""
    since = utcnow() - timedelta(days=WINDOW_DAYS)
    async with runtime.db.read() as session:
        rows = (await session.execute(
            select(OidcDataRelease, OidcClient.name, OidcClient.legal_basis,
                   OidcClient.legal_basis_text)
            .join(OidcClient, OidcClient.id == OidcDataRelease.client_id)
            .where(OidcDataRelease.account_id == account_id, OidcDataRelease.first_at >= since)
            .order_by(OidcDataRelease.first_at)
        )).all()
    apps: dict[str, Recipient] = {}
    days: dict[tuple[str, date], Release] = {}
    for release, name, basis, text in rows:
        app = apps.get(release.client_id)
        if app is None:
            app = apps[release.client_id] = Recipient(
                release.client_id, name, basis or "consent", text
            )
        key = (release.client_id, release.released_on)
        day = days.get(key)
        claims = release.claims.split()
        if day is None:
            day = days[key] = Release(release.released_on, release.first_at, [], [])
            app.releases.append(day)
        day.claims = ordered([*day.claims, *claims])
        if release.via not in day.via:
            day.via.append(release.via)
    for app in apps.values():
        app.releases.reverse()
    return sorted(apps.values(), key=lambda a: a.last_at, reverse=True)


async def consent_ledger(runtime: Runtime, account_id: str) -> list[ConsentEntry]:
    """Every consent given and taken back, newest first."""
    since = utcnow() - timedelta(days=WINDOW_DAYS)
    async with runtime.db.read() as session:
        events = (await session.execute(
            select(AuditEvent)
            .where(AuditEvent.subject == account_id, AuditEvent.tag.in_([GRANTED, REVOKED]),
                   AuditEvent.created_at >= since)
            .order_by(AuditEvent.id.desc())
        )).scalars().all()
        ids = {str((e.details or {}).get("client_id", "")) for e in events}
        names = dict((await session.execute(
            select(OidcClient.id, OidcClient.name).where(OidcClient.id.in_(ids))
        )).all()) if ids else {}
    entries = []
    for event in events:
        details = event.details or {}
        client_id = str(details.get("client_id", ""))
        entries.append(ConsentEntry(
            at=event.created_at,
            action="granted" if event.tag == GRANTED else "revoked",
            client_id=client_id,
            # A client removed since keeps its place in the ledger, named by its id.
            client_name=names.get(client_id, client_id),
            scopes=str(details.get("scope") or "").split(),
        ))
    return entries
