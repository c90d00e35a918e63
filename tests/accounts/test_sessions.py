"""Session lifetime and rotation (SECURITY.md › Sessions and cookies)."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from guarita.services import sessions
from guarita.services.login import sign_in
from guarita.storage.audit import RequestContext
from guarita.storage.types import utcnow
from tests.accounts.test_login import registered
from tests.support.factories import STRONG

CTX = RequestContext(ip="198.51.100.7")


async def load(runtime, token):  # noqa: ANN001
    async with runtime.db.transaction() as s:
        return await sessions.load(s, token, runtime.settings.session)


async def test_new_id_at_every_sign_in_and_only_the_hash_stored(runtime):
    b = await registered(runtime)
    first = await sign_in(runtime, b.card_number, STRONG, CTX)
    second = await sign_in(runtime, b.card_number, STRONG, CTX)
    assert first.session_token != second.session_token
    assert first.session.id_hash == sessions.hash_token(first.session_token) != first.session_token


async def test_idle_timeout_thirty_minutes_and_activity_extends_it(runtime):
    b = await registered(runtime)
    token = (await sign_in(runtime, b.card_number, STRONG, CTX)).session_token
    start = utcnow()
    with time_machine.travel(start + timedelta(minutes=25)):
        assert await load(runtime, token) is not None  # activity
    with time_machine.travel(start + timedelta(minutes=50)):
        assert await load(runtime, token) is not None  # 25 min after the last activity
    with time_machine.travel(start + timedelta(minutes=81)):
        assert await load(runtime, token) is None


async def test_absolute_timeout_twelve_hours(runtime):
    b = await registered(runtime)
    token = (await sign_in(runtime, b.card_number, STRONG, CTX)).session_token
    start = utcnow()
    for minutes in range(20, 12 * 60, 20):
        with time_machine.travel(start + timedelta(minutes=minutes)):
            assert await load(runtime, token) is not None
    with time_machine.travel(start + timedelta(hours=12, minutes=1)):
        assert await load(runtime, token) is None
