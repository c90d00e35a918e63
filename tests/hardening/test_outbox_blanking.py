"""Delivered messages keep no codes or links (SECURITY.md › One-time codes; LGPD art. 6 III).

The attack: whoever read the outbox table (a backup, a replica, a support query) read every
code and every "Não foi você?" link ever sent. Now a delivered message keeps its recipient,
template and times, and its text is blanked; development keeps the text for /dev/outbox
(``GUARITA_OUTBOX__KEEP_SENT_TEXT``, default: blank in production only).
"""

from __future__ import annotations

import pytest

from guarita.config import Environment, OutboxSettings, SmtpSettings
from guarita.messaging.worker import BLANKED, deliver_due
from tests.messaging.helpers import enqueue_test_message, load, reconfigure
from tests.support.smtp import SmtpTestServer


@pytest.fixture
def smtp():
    with SmtpTestServer() as server:
        yield server


def point_at(runtime, smtp, **changes) -> None:  # noqa: ANN001, ANN003
    reconfigure(
        runtime, smtp=SmtpSettings(host="127.0.0.1", port=smtp.port, timeout_seconds=3), **changes
    )


async def test_a_sent_message_is_blanked_in_production(runtime, smtp):
    point_at(runtime, smtp, env=Environment.PRODUCTION)
    message_id = await enqueue_test_message(runtime, code="482913")
    assert "482913" in (await load(runtime, message_id)).text
    assert await deliver_due(runtime) == 1
    [mail] = smtp.wait_for(1)
    assert "482913" in mail.message.as_string()  # the person got the code …
    row = await load(runtime, message_id)
    assert row.status == "sent"
    assert "482913" not in row.text and row.text == BLANKED and row.html is None  # … the DB not
    assert (row.to, row.template) == ("maria@example.org", "test_message")


@pytest.mark.parametrize(
    "env,keep,kept",
    [
        (Environment.DEVELOPMENT, None, True),  # /dev/outbox shows what was sent
        (Environment.TEST, None, True),
        (Environment.DEVELOPMENT, False, False),
        (Environment.PRODUCTION, None, False),
        (Environment.PRODUCTION, True, True),  # an explicit choice of the operator
    ],
)
async def test_the_setting_keeps_the_text(runtime, smtp, env, keep, kept):
    point_at(runtime, smtp, env=env, outbox=OutboxSettings(keep_sent_text=keep))
    message_id = await enqueue_test_message(runtime, code="734501")
    await deliver_due(runtime)
    assert ("734501" in (await load(runtime, message_id)).text) is kept
