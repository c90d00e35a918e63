"""The supervisor dashboard's figures: the last 30 days per day, and the actions per agent
(docs/support-desk.md › Supervisor dashboard).

Counted in the database (``GROUP BY`` day, in the organisation's time zone) from the audit log and
the outbox, so the page stays fast with millions of events. The console draws them
(``console/charts.py``); the support API returns them as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from guarita.domain.audit_tags import AuditTag
from guarita.methods import registry
from guarita.methods.base import N_, Purpose
from guarita.runtime import Runtime
from guarita.services.support.history import actor_names
from guarita.storage.tables import AuditEvent, OutboxMessage
from guarita.storage.types import utcnow

SERIES = {
    "sign_ins": (N_("Entradas"), AuditTag.LOGIN_SUCCEEDED),
    "failures": (N_("Senhas erradas"), AuditTag.LOGIN_FAILED),
    "lockouts": (N_("Bloqueios temporários"), AuditTag.LOGIN_LOCKED),
    "registrations": (N_("Cadastros"), AuditTag.ACCOUNT_CREATED),
    # Facial validation per outcome (docs/face.md): counts only, never an image.
    "face_verified": (N_("Validações faciais aceitas"), AuditTag.FACE_VERIFIED),
    "face_refused": (N_("Validações faciais recusadas"), AuditTag.FACE_FAILED),
}
# Recoveries per method, from the registry: the channels offered after the identifier, the
# health-plan data check, and whatever else completed a recovery.
_CHANNEL_METHODS = [m.id for m in registry.serving(Purpose.RECOVERY)]
_IDENTIFYING_METHODS = [m.id for m in registry.serving(Purpose.IDENTIFICATION)]
RECOVERY_METHODS = {
    **{m.id: m.short_label for m in registry.METHODS.values()
       if m.id in _CHANNEL_METHODS or m.id in _IDENTIFYING_METHODS},
    "other": N_("Outro"),
}
# What counts as an "action" of an agent: the desk's own events, not the searches and views
# (those are audited too, but they are reading, not doing).
ACTION_TAGS = {
    AuditTag.SUPPORT_CALLER_CHECKED: N_("Conferências"),
    AuditTag.SUPPORT_CARD_REVEALED: N_("Carteirinhas informadas"),
    AuditTag.SUPPORT_CONTACT_CONFIRMED: N_("Contatos cadastrados"),
    AuditTag.SUPPORT_UNLOCKED: N_("Desbloqueios"),
    AuditTag.SUPPORT_RECOVERY_REQUESTED: N_("Recuperações iniciadas"),
    AuditTag.SUPPORT_PASSWORD_REENABLED: N_("Senhas reativadas"),
    AuditTag.SUPPORT_ACCOUNT_DISABLED: N_("Contas desativadas"),
    AuditTag.SUPPORT_ACCOUNT_ENABLED: N_("Contas reativadas"),
    AuditTag.SUPPORT_IDENTITY_CHECKED: N_("Documentos conferidos"),
}


@dataclass
class Dashboard:
    days: list[date]
    series: dict[str, list[int]]
    recoveries: dict[str, list[int]]
    messages: dict[str, list[int]]
    agents: list[dict] = field(default_factory=list)
    # Actors above GUARITA_SUPPORT__SEARCH_ALERT_PER_DAY searches in 24 h: the masked search is
    # an oracle when asked often enough (services/support/search.py).
    heavy_searchers: list[dict] = field(default_factory=list)

    def rows(self) -> list[dict]:
        """One row per day, for the table beside the charts."""
        out = []
        for index, day in enumerate(self.days):
            row = {"day": day}
            row.update({key: values[index] for key, values in self.series.items()})
            row.update({f"recovery_{key}": values[index] for key, values in self.recoveries.items()})
            row.update({f"messages_{key}": values[index] for key, values in self.messages.items()})
            out.append(row)
        return out

    def totals(self) -> dict[str, int]:
        found = {key: sum(values) for key, values in self.series.items()}
        found.update({f"recovery_{k}": sum(v) for k, v in self.recoveries.items()})
        found.update({f"messages_{k}": sum(v) for k, v in self.messages.items()})
        return found

    def as_json(self) -> dict:
        return {
            "days": [d.isoformat() for d in self.days],
            "series": self.series,
            "recoveries_by_method": self.recoveries,
            "messages": self.messages,
            "actions_per_agent": self.agents,
            "heavy_searchers": self.heavy_searchers,
        }


def _identifying(via: str | None) -> str:
    """A recovery completed without a channel code: the identifying method its ``via`` names
    (``kba_only`` → ``kba``), or "other"."""
    return next((m for m in _IDENTIFYING_METHODS if via and m in via), "other")


def _day(dialect: str, column, zone: ZoneInfo, now: datetime):  # noqa: ANN001, ANN202
    """The local calendar day of a UTC timestamp column, as ``YYYY-MM-DD`` text."""
    if dialect == "postgresql":
        return func.to_char(func.timezone(zone.key, column), "YYYY-MM-DD")
    # SQLite has no time zones: shift by the zone's current offset. Exact for zones without
    # daylight saving (Brazil has had none since 2019); an hour off around a DST change elsewhere.
    minutes = int(now.astimezone(zone).utcoffset().total_seconds() // 60)
    return func.strftime("%Y-%m-%d", column, f"{minutes:+d} minutes")


async def build(runtime: Runtime, *, days: int | None = None, now: datetime | None = None) -> Dashboard:
    """The figures of the last ``days`` (``GUARITA_SUPPORT__DASHBOARD_DAYS``) up to ``now``."""
    days = days or runtime.settings.support.dashboard_days
    now = now or utcnow()
    zone = ZoneInfo(runtime.settings.timezone)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    day_list = [first + timedelta(days=i) for i in range(days)]
    index = {d.isoformat(): i for i, d in enumerate(day_list)}

    def empty() -> list[int]:
        return [0] * days

    series = {key: empty() for key in SERIES}
    recoveries = {key: empty() for key in RECOVERY_METHODS}
    messages = {"sent": empty(), "failed": empty()}
    by_tag = {str(tag): key for key, (_, tag) in SERIES.items()}

    # Read-only: on SQLite a write transaction would hold every sign-in while this counts.
    async with runtime.db.read() as session:
        dialect = session.bind.dialect.name
        # Subqueries, so the day expression (with its bound time-zone parameter) appears once:
        # PostgreSQL refuses a GROUP BY whose expression differs from the SELECT's by a parameter.
        inner = (
            select(
                AuditEvent.tag.label("tag"),
                _day(dialect, AuditEvent.created_at, zone, now).label("day"),
            )
            .where(AuditEvent.created_at >= since, AuditEvent.tag.in_(list(by_tag)))
            .subquery()
        )
        for tag, day, count in (
            await session.execute(select(inner.c.tag, inner.c.day, func.count()).group_by(inner.c.tag, inner.c.day))
        ).all():
            if day in index:
                series[by_tag[tag]][index[day]] += count

        inner = (
            select(
                _day(dialect, AuditEvent.created_at, zone, now).label("day"),
                AuditEvent.details["method"].as_string().label("method"),
                AuditEvent.details["via"].as_string().label("via"),
            )
            .where(AuditEvent.created_at >= since, AuditEvent.tag == AuditTag.PASSWORD_RESET.value)
            .subquery()
        )
        for day, method, via, count in (
            await session.execute(
                select(inner.c.day, inner.c.method, inner.c.via, func.count()).group_by(
                    inner.c.day, inner.c.method, inner.c.via
                )
            )
        ).all():
            key = method if method in _CHANNEL_METHODS else _identifying(via)
            if day in index:
                recoveries[key][index[day]] += count

        for status, column in (
            ("sent", OutboxMessage.sent_at),
            ("failed", OutboxMessage.created_at),
        ):
            inner = (
                select(_day(dialect, column, zone, now).label("day"))
                .where(OutboxMessage.status == status, column >= since)
                .subquery()
            )
            for day, count in (await session.execute(select(inner.c.day, func.count()).group_by(inner.c.day))).all():
                if day in index:
                    messages[status][index[day]] += count

        rows = (
            await session.execute(
                select(AuditEvent.actor, AuditEvent.tag, func.count())
                .where(
                    AuditEvent.created_at >= since,
                    AuditEvent.actor.is_not(None),
                    AuditEvent.tag.in_([str(t) for t in ACTION_TAGS]),
                )
                .group_by(AuditEvent.actor, AuditEvent.tag)
            )
        ).all()
        searches = (
            await session.execute(
                select(AuditEvent.actor, func.count())
                .where(
                    AuditEvent.created_at >= now - timedelta(hours=24),
                    AuditEvent.actor.is_not(None),
                    AuditEvent.tag == str(AuditTag.SUPPORT_SEARCHED),
                )
                .group_by(AuditEvent.actor)
                .having(func.count() > runtime.settings.support.search_alert_per_day)
            )
        ).all()
        names = await actor_names(
            session, {actor for actor, _, _ in rows} | {actor for actor, _ in searches}
        )
    heavy = sorted(
        ({"actor": actor, "name": names.get(actor, actor), "searches_24h": count}
         for actor, count in searches),
        key=lambda e: (-e["searches_24h"], e["name"]),
    )
    agents: dict[str, dict] = {}
    for actor, tag, count in rows:
        entry = agents.setdefault(actor, {"actor": actor, "name": names.get(actor, actor), "total": 0, "by_action": {}})
        entry["by_action"][tag] = entry["by_action"].get(tag, 0) + count
        entry["total"] += count
    ordered = sorted(agents.values(), key=lambda e: (-e["total"], e["name"]))
    return Dashboard(day_list, series, recoveries, messages, ordered, heavy)
