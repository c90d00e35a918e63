"""The supervisor dashboard counts per local day, on both databases (docs/support-desk.md › Supervisor dashboard)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from guarita.console import charts
from guarita.domain.audit_tags import AuditTag
from guarita.services.support import dashboard
from guarita.storage.audit import record
from guarita.storage.tables import OutboxMessage
from guarita.storage.types import utcnow
from tests.console.helpers import quick_staff, session_client

# 14:00 UTC is 11:00 in São Paulo; 02:00 UTC is still 23:00 of the day before there.
NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


async def seed(runtime) -> None:  # noqa: ANN001
    async with runtime.db.transaction() as session:
        for hours_ago, tag, details in (
            (0, AuditTag.LOGIN_SUCCEEDED, {}),
            (1, AuditTag.LOGIN_SUCCEEDED, {}),
            (12, AuditTag.LOGIN_SUCCEEDED, {}),  # 02:00 UTC today = 23:00 yesterday local
            (2, AuditTag.LOGIN_FAILED, {}),
            (2, AuditTag.LOGIN_LOCKED, {}),
            (3, AuditTag.ACCOUNT_CREATED, {}),
            (4, AuditTag.PASSWORD_RESET, {"via": "code", "method": "email"}),
            (5, AuditTag.PASSWORD_RESET, {"via": "code", "method": "sms"}),
            (6, AuditTag.PASSWORD_RESET, {"via": "kba_only", "method": None}),
            (24 * 40, AuditTag.LOGIN_SUCCEEDED, {}),  # outside the 30 days
            (1, AuditTag.SUPPORT_CARD_REVEALED, {"outcome": "revealed"}),
            (1, AuditTag.SUPPORT_SEARCHED, {}),  # reading, not an action
        ):
            actor = "staff:1" if str(tag).startswith("support.") else None
            await record(
                session,
                tag,
                subject="x",
                actor=actor,
                details=details,
                at=NOW - timedelta(hours=hours_ago),
            )
        for status, hours_ago in (("sent", 1), ("sent", 2), ("failed", 3)):
            at = NOW - timedelta(hours=hours_ago)
            session.add(
                OutboxMessage(
                    channel="email",
                    to="a@example.org",
                    text="x",
                    template="welcome",
                    status=status,
                    created_at=at,
                    next_attempt_at=at,
                    sent_at=at if status == "sent" else None,
                )
            )


async def test_counts_per_local_day(runtime):
    await seed(runtime)
    board = await dashboard.build(runtime, now=NOW)
    assert board.days[-1].isoformat() == "2026-11-20" and len(board.days) == 30
    assert board.series["sign_ins"][-1] == 2 and board.series["sign_ins"][-2] == 1
    assert sum(board.series["sign_ins"]) == 3
    assert board.series["failures"][-1] == board.series["lockouts"][-1] == 1
    assert board.series["registrations"][-1] == 1
    assert [board.recoveries[k][-1] for k in ("email", "sms", "kba", "other")] == [1, 1, 1, 0]
    assert board.messages["sent"][-1] == 2 and board.messages["failed"][-1] == 1
    assert board.agents == [
        {
            "actor": "staff:1",
            "name": "staff:1",
            "total": 1,
            "by_action": {"support.card.revealed": 1},
        }
    ]


async def test_page_draws_charts_without_style_or_script(app, runtime):
    await seed(runtime)
    member = await quick_staff(runtime, "supervisor")
    async with await session_client(app, runtime, member) as browser:
        page = await browser.get("/atendimento/painel")
    assert page.status_code == 200
    main = page.text.split("<main", 1)[1].split("</main>", 1)[0]
    assert "style=" not in main and "<script" not in main
    # One chart per series (sign-ins, failures, lockouts, registrations, facial validations
    # accepted and refused), recoveries per method, messages, actions per agent.
    assert main.count("<svg") == 9 and main.count('role="img"') == 9
    assert "<table" in main and "/static/css/console.css" in page.text


def test_svg_escapes_labels_and_handles_empty_data():
    days = [utcnow().date()]
    svg = charts.bar_chart("c", "<b>título</b>", days, [("series-0", "a&b", [0])])
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "Totais" in svg
    agents = charts.agents_chart("a", [{"name": "<script>", "total": 3}], days=30)
    assert "<script>" not in agents
    assert "Nenhuma ação" in charts.agents_chart("a", [], days=30)
