"""The supervisor dashboard: the last 30 days per day, and the actions per agent (issue 6).

Counted in the database (``GROUP BY`` day, in the organisation's time zone) from the audit log and
the outbox, so the page stays fast with millions of events. Charts are SVG drawn here on the
server: no script, no ``style`` attribute (CSP), colours from classes in ``console.css``, and every
chart has the same numbers in a table beside it for screen readers and for people who prefer
figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from sqlalchemy import func, select

from guarita.console import labels, policy
from guarita.console.support import actor_names
from guarita.domain.audit_tags import AuditTag
from guarita.runtime import Runtime
from guarita.storage.tables import AuditEvent, OutboxMessage
from guarita.storage.types import utcnow

SERIES = {
    "sign_ins": ("Entradas", AuditTag.LOGIN_SUCCEEDED),
    "failures": ("Senhas erradas", AuditTag.LOGIN_FAILED),
    "lockouts": ("Bloqueios temporários", AuditTag.LOGIN_LOCKED),
    "registrations": ("Cadastros", AuditTag.ACCOUNT_CREATED),
}
RECOVERY_METHODS = {"email": "E-mail", "sms": "SMS", "kba": "Dados pessoais", "other": "Outro"}
# What counts as an "action" of an agent: the desk's own events, not the searches and views
# (those are audited too, but they are reading, not doing).
ACTION_TAGS = {
    AuditTag.SUPPORT_CALLER_CHECKED: "Conferências",
    AuditTag.SUPPORT_CARD_REVEALED: "Carteirinhas informadas",
    AuditTag.SUPPORT_CONTACT_CONFIRMED: "Contatos cadastrados",
    AuditTag.SUPPORT_UNLOCKED: "Desbloqueios",
    AuditTag.SUPPORT_RECOVERY_REQUESTED: "Recuperações iniciadas",
    AuditTag.SUPPORT_PASSWORD_REENABLED: "Senhas reativadas",
    AuditTag.SUPPORT_ACCOUNT_DISABLED: "Contas desativadas",
    AuditTag.SUPPORT_ACCOUNT_ENABLED: "Contas reativadas",
    AuditTag.SUPPORT_IDENTITY_CHECKED: "Documentos conferidos",
}


@dataclass
class Dashboard:
    days: list[date]
    series: dict[str, list[int]]
    recoveries: dict[str, list[int]]
    messages: dict[str, list[int]]
    agents: list[dict] = field(default_factory=list)

    def rows(self) -> list[dict]:
        """One row per day, for the table beside the charts."""
        out = []
        for index, day in enumerate(self.days):
            row = {"day": day}
            row.update({key: values[index] for key, values in self.series.items()})
            row.update(
                {f"recovery_{key}": values[index] for key, values in self.recoveries.items()}
            )
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
        }


def _day(dialect: str, column, zone: ZoneInfo, now: datetime):  # noqa: ANN001, ANN202
    """The local calendar day of a UTC timestamp column, as ``YYYY-MM-DD`` text."""
    if dialect == "postgresql":
        return func.to_char(func.timezone(zone.key, column), "YYYY-MM-DD")
    # SQLite has no time zones: shift by the zone's current offset. Exact for zones without
    # daylight saving (Brazil has had none since 2019); an hour off around a DST change elsewhere.
    minutes = int(now.astimezone(zone).utcoffset().total_seconds() // 60)
    return func.strftime("%Y-%m-%d", column, f"{minutes:+d} minutes")


async def build(
    runtime: Runtime, *, days: int = policy.DASHBOARD_DAYS, now: datetime | None = None
) -> Dashboard:
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
            await session.execute(
                select(inner.c.tag, inner.c.day, func.count()).group_by(inner.c.tag, inner.c.day)
            )
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
            key = (
                method
                if method in ("email", "sms")
                else ("kba" if via and "kba" in via else "other")
            )
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
            for day, count in (
                await session.execute(select(inner.c.day, func.count()).group_by(inner.c.day))
            ).all():
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
        names = await actor_names(session, {actor for actor, _, _ in rows})
    agents: dict[str, dict] = {}
    for actor, tag, count in rows:
        entry = agents.setdefault(
            actor, {"actor": actor, "name": names.get(actor, actor), "total": 0, "by_action": {}}
        )
        entry["by_action"][tag] = entry["by_action"].get(tag, 0) + count
        entry["total"] += count
    ordered = sorted(agents.values(), key=lambda e: (-e["total"], e["name"]))
    return Dashboard(day_list, series, recoveries, messages, ordered)


# --- SVG ---------------------------------------------------------------------------------------

_W, _H = 480, 200
_AGENTS_W = 640
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 8, 12, 28


def _nice_max(value: int) -> int:
    if value <= 4:
        return 4
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return value


def bar_chart(
    chart_id: str, title: str, days: list[date], stacks: list[tuple[str, str, list[int]]]
) -> Markup:
    """Stacked bars per day. ``stacks``: ``(css class, label, values)`` from the bottom up."""
    totals = [sum(values[i] for _, _, values in stacks) for i in range(len(days))]
    top = _nice_max(max(totals, default=0))
    plot_w = _W - _LEFT - _RIGHT
    plot_h = _H - _TOP - _BOTTOM
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.7, 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(_description(days, stacks, totals))}</desc>',
    ]
    for fraction in (0, 0.5, 1):
        y = _TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{int(top * fraction)}</text>"
        )
    for i, day in enumerate(days):
        x = _LEFT + i * slot + (slot - bar_w) / 2
        base = _TOP + plot_h
        for css, label, values in stacks:
            value = values[i]
            if not value:
                continue
            height = plot_h * value / top
            base -= height
            parts.append(
                f'<rect class="bar {css}" x="{x:.1f}" y="{base:.1f}" width="{bar_w:.1f}" '
                f'height="{height:.1f}"><title>{day:%d/%m}: {escape(label)} {value}</title></rect>'
            )
        if (len(days) - 1 - i) % 7 == 0:  # weekly, ending on today
            last = i == len(days) - 1  # flush right, or the label runs off the chart
            parts.append(
                f'<text class="axis" x="{x + (bar_w if last else bar_w / 2):.1f}" y="{_H - 8}" '
                f'text-anchor="{"end" if last else "middle"}">{day:%d/%m}</text>'
            )
    parts.append("</svg>")
    # Every interpolated text above went through escape(); the rest is our own markup.
    return Markup("".join(parts))  # noqa: S704


def _description(days: list[date], stacks, totals: list[int]) -> str:  # noqa: ANN001
    if not days:
        return "Sem dados."
    busiest = max(range(len(days)), key=lambda i: totals[i])
    names = ", ".join(f"{label}: {sum(values)}" for _, label, values in stacks)
    return (
        f"De {days[0]:%d/%m} a {days[-1]:%d/%m}. Totais — {names}. "
        f"Dia com mais registros: {days[busiest]:%d/%m} ({totals[busiest]})."
    )


def agents_chart(chart_id: str, agents: list[dict]) -> Markup:
    """Horizontal bars: total actions per agent, most active first."""
    shown = agents[:15]
    row_h = 28
    height = max(len(shown), 1) * row_h + 16
    left = 200
    top = _nice_max(max((a["total"] for a in shown), default=0))
    parts = [
        f'<svg class="chart chart-agents" viewBox="0 0 {_AGENTS_W} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title">',
        f'<title id="{chart_id}-title">Ações por atendente nos últimos '
        f"{policy.DASHBOARD_DAYS} dias</title>",
    ]
    if not shown:
        parts.append('<text class="axis" x="8" y="24">Nenhuma ação registrada.</text>')
    for i, agent in enumerate(shown):
        y = 8 + i * row_h
        width = (_AGENTS_W - left - 48) * agent["total"] / top
        parts.append(
            f'<text class="label" x="{left - 8}" y="{y + 17}" text-anchor="end">'
            f"{escape(agent['name'][:28])}</text>"
        )
        parts.append(
            f'<rect class="bar series-0" x="{left}" y="{y + 4}" width="{max(width, 1):.1f}" '
            f'height="{row_h - 10}"><title>{escape(agent["name"])}: {agent["total"]}</title></rect>'
        )
        parts.append(
            f'<text class="axis" x="{left + width + 6:.1f}" y="{y + 17}">{agent["total"]}</text>'
        )
    parts.append("</svg>")
    # Every interpolated text above went through escape(); the rest is our own markup.
    return Markup("".join(parts))  # noqa: S704


def charts(board: Dashboard) -> list[tuple[str, Markup, list[tuple[str, str]]]]:
    """``(title, svg, legend)`` for the page, in reading order."""
    found = []
    for i, (key, (title, _)) in enumerate(SERIES.items()):
        found.append(
            (
                title,
                bar_chart(
                    f"chart-{key}",
                    title,
                    board.days,
                    [(f"series-{i % 4}", title, board.series[key])],
                ),
                [],
            )
        )
    stacks = [
        (f"series-{i}", label, board.recoveries[key])
        for i, (key, label) in enumerate(RECOVERY_METHODS.items())
    ]
    found.append(
        (
            "Recuperações de senha por método",
            bar_chart("chart-recoveries", "Recuperações de senha por método", board.days, stacks),
            [(css, label) for css, label, _ in stacks],
        )
    )
    stacks = [
        ("series-0", "Enviadas", board.messages["sent"]),
        ("series-danger", "Falharam", board.messages["failed"]),
    ]
    found.append(
        (
            "Mensagens (e-mail e SMS)",
            bar_chart("chart-messages", "Mensagens enviadas e que falharam", board.days, stacks),
            [(css, label) for css, label, _ in stacks],
        )
    )
    return found


def action_columns() -> list[tuple[str, str]]:
    return [(str(tag), label) for tag, label in ACTION_TAGS.items()]


__all__ = ["Dashboard", "build", "charts", "agents_chart", "action_columns", "labels"]
