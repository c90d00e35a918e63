"""The supervisor dashboard's charts: SVG drawn on the server from the counts of
``services/support/dashboard.py`` (docs/support-desk.md › Supervisor dashboard).

No script, no ``style`` attribute (CSP), colours from classes in ``console.css``, and every chart
has the same numbers in a table beside it for screen readers and for people who prefer figures.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from markupsafe import Markup, escape

from guarita.methods.base import N_
from guarita.services.support.dashboard import ACTION_TAGS, RECOVERY_METHODS, SERIES, Dashboard

# The page's translate() (edge/i18n.py): labels and sentences are pt-BR catalogue entries.
Translate = Callable[[str], str]


def _same(text: str) -> str:
    return text

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


def bar_chart(chart_id: str, title: str, days: list[date], stacks: list[tuple[str, str, list[int]]],
              translate: Translate = _same) -> Markup:
    """Stacked bars per day. ``stacks``: ``(css class, label, values)`` from the bottom up, the
    title and labels in pt-BR (``translate`` gives the page's language)."""
    title = translate(title)
    stacks = [(css, translate(label), values) for css, label, values in stacks]
    totals = [sum(values[i] for _, _, values in stacks) for i in range(len(days))]
    top = _nice_max(max(totals, default=0))
    plot_w = _W - _LEFT - _RIGHT
    plot_h = _H - _TOP - _BOTTOM
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.7, 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(_description(days, stacks, totals, translate))}</desc>',
    ]
    for fraction in (0, 0.5, 1):
        y = _TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{int(top * fraction)}</text>'
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


def _description(days: list[date], stacks, totals: list[int], translate: Translate = _same) -> str:  # noqa: ANN001
    if not days:
        return translate(N_("Sem dados."))
    busiest = max(range(len(days)), key=lambda i: totals[i])
    names = ", ".join(f"{label}: {sum(values)}" for _, label, values in stacks)
    return " ".join((
        translate(N_("De %(first)s a %(last)s.")) % {"first": f"{days[0]:%d/%m}",
                                                      "last": f"{days[-1]:%d/%m}"},
        translate(N_("Totais — %(names)s.")) % {"names": names},
        translate(N_("Dia com mais registros: %(day)s (%(total)s).")) % {
            "day": f"{days[busiest]:%d/%m}", "total": totals[busiest]},
    ))


def agents_chart(chart_id: str, agents: list[dict], *, days: int, translate: Translate = _same) -> Markup:
    """Horizontal bars: total actions per agent, most active first."""
    shown = agents[:15]
    row_h = 28
    height = max(len(shown), 1) * row_h + 16
    left = 200
    top = _nice_max(max((a["total"] for a in shown), default=0))
    title = translate(N_("Ações por atendente nos últimos %(days)s dias")) % {"days": days}
    parts = [
        f'<svg class="chart chart-agents" viewBox="0 0 {_AGENTS_W} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    if not shown:
        parts.append(f'<text class="axis" x="8" y="24">{escape(translate(N_("Nenhuma ação registrada.")))}</text>')
    for i, agent in enumerate(shown):
        y = 8 + i * row_h
        width = (_AGENTS_W - left - 48) * agent["total"] / top
        parts.append(
            f'<text class="label" x="{left - 8}" y="{y + 17}" text-anchor="end">{escape(agent["name"][:28])}</text>'
        )
        parts.append(
            f'<rect class="bar series-0" x="{left}" y="{y + 4}" width="{max(width, 1):.1f}" '
            f'height="{row_h - 10}"><title>{escape(agent["name"])}: {agent["total"]}</title></rect>'
        )
        parts.append(f'<text class="axis" x="{left + width + 6:.1f}" y="{y + 17}">{agent["total"]}</text>')
    parts.append("</svg>")
    # Every interpolated text above went through escape(); the rest is our own markup.
    return Markup("".join(parts))  # noqa: S704


def charts(board: Dashboard, translate: Translate = _same) -> list[tuple[str, Markup, list[tuple[str, str]]]]:
    """``(title, svg, legend)`` for the page, in reading order (titles and legends in pt-BR:
    the page translates them; the SVG is drawn already translated)."""
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
                    translate,
                ),
                [],
            )
        )
    stacks = [(f"series-{i}", label, board.recoveries[key]) for i, (key, label) in enumerate(RECOVERY_METHODS.items())]
    found.append(
        (
            N_("Recuperações de senha por método"),
            bar_chart("chart-recoveries", N_("Recuperações de senha por método"), board.days, stacks,
                      translate),
            [(css, label) for css, label, _ in stacks],
        )
    )
    stacks = [
        ("series-0", N_("Enviadas"), board.messages["sent"]),
        ("series-danger", N_("Falharam"), board.messages["failed"]),
    ]
    found.append(
        (
            N_("Mensagens (e-mail e SMS)"),
            bar_chart("chart-messages", N_("Mensagens enviadas e que falharam"), board.days, stacks,
                      translate),
            [(css, label) for css, label, _ in stacks],
        )
    )
    return found


def action_columns() -> list[tuple[str, str]]:
    return [(str(tag), label) for tag, label in ACTION_TAGS.items()]
