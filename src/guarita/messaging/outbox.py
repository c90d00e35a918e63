"""Writing messages to the outbox (house style 8; Ory Kratos ``courier``).

A service calls :func:`enqueue` inside the transaction that causes the message, so the message
exists if and only if the change does. The worker (``messaging/worker.py``) delivers it later,
retrying; nothing is sent inline, which also keeps known and unknown accounts equally fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.storage.tables import OutboxMessage

TEMPLATES = Path(__file__).parent / "templates"

_text_env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=False, undefined=StrictUndefined,
    keep_trailing_newline=True,
)
_html_env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)

Channel = Literal["email", "sms"]


def render(template: str, channel: Channel, context: dict[str, Any]) -> tuple[str, str, str | None]:
    """``(subject, text, html)`` of ``templates/<template>.<channel>.*`` in pt-BR."""
    if channel == "sms":
        text = _text_env.get_template(f"{template}.sms.txt").render(context).strip()
        return "", text, None
    subject = _text_env.get_template(f"{template}.subject.txt").render(context).strip()
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
) -> OutboxMessage:
    subject, text, html = render(template, channel, context)
    message = OutboxMessage(
        channel=channel, to=to, subject=subject, text=text, html=html, template=template,
        account_id=account_id,
    )
    session.add(message)
    await session.flush()
    return message
