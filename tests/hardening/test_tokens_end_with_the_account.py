"""A password change, a recovery, a lock and a disable end the apps' tokens too
(SECURITY.md › Sessions and cookies; RFC 7662 §2.2; OpenID Connect Core §5.3).

The attack: after the person changed the password (or recovered the account, or locked it with
"Não foi você?", or the desk disabled it), a thief's stolen access token still read ``active:
true`` at introspection and 200 at UserInfo for the rest of its life, and a refresh token of
a family the refresh grant now refuses still introspected as active. Each event now ends every
grant made before it, and introspection and UserInfo apply the refresh grant's checks.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from guarita.services import recovery
from guarita.storage.audit import RequestContext
from guarita.storage.tables import OutboxMessage
from tests.console.helpers import api_token, bearer
from tests.oidc.support import add_client, person, sign_in, tokens_for
from tests.support.captcha import solve
from tests.support.factories import STRONG, format_cpf

CTX = RequestContext(ip="198.51.100.40", user_agent="pytest")
NEW = "outra frase nova para a conta toda"


async def _code(runtime, to: str) -> str:  # noqa: ANN001
    async with runtime.db.read() as session:
        message = (
            await session.execute(
                select(OutboxMessage).where(OutboxMessage.to == to)
                .order_by(OutboxMessage.id.desc())
            )
        ).scalars().first()
    return re.search(r"\b(\d{6})\b", message.text).group(1)


async def _recover(runtime, b) -> None:  # noqa: ANN001
    flow = await recovery.start(runtime, b.cpf, solve(runtime.settings), CTX)
    await recovery.request_code(runtime, flow.recovery_id, "email", CTX)
    verified = await recovery.submit_code(
        runtime, flow.recovery_id, await _code(runtime, b.email), CTX
    )
    await recovery.set_password(runtime, verified.recovery_id, NEW, NEW, CTX)


async def change_password(runtime, client, b) -> None:  # noqa: ANN001
    signed = await client.post(
        "/api/v1/sessions", json={"identifier": b.card_number, "password": STRONG}
    )
    auth = {"Authorization": f"Bearer {signed.json()['session_token']}"}
    changed = await client.post(
        "/api/v1/me/password", headers=auth,
        json={"current_password": STRONG, "password": NEW, "password_confirmation": NEW},
    )
    assert changed.status_code == 204, changed.text


async def recover(runtime, client, b) -> None:  # noqa: ANN001
    await _recover(runtime, b)


async def lock_by_owner(runtime, client, b) -> None:  # noqa: ANN001
    """The "Não foi você?" link of an earlier notice (sent before these tokens were issued)."""
    async with runtime.db.read() as session:
        message = (
            await session.execute(
                select(OutboxMessage).where(OutboxMessage.template == "password_reset",
                                            OutboxMessage.channel == "email")
            )
        ).scalars().first()
    token = re.search(r"nao-fui-eu\?token=([\w-]+)", message.text).group(1)
    await recovery.lock_by_owner(runtime, token, CTX)


async def disable_at_the_desk(runtime, client, b) -> None:  # noqa: ANN001
    token = await api_token(runtime, "caller_check,account_status")
    headers = bearer(token, agent="supervisora 7")
    check = await client.post(
        f"/api/v1/support/people/{b.id}/caller-checks", headers=headers,
        json={"reason": "bloqueio", "birth_date": b.birth_date.isoformat(),
              "cpf": format_cpf(b.cpf)},
    )
    assert check.json()["result"] == "confere", check.text
    disabled = await client.post(
        f"/api/v1/support/people/{b.id}/status", headers=headers,
        json={"reason": "bloqueio", "status": "disabled"},
    )
    assert disabled.status_code == 200, disabled.text


async def _introspect(client, caller, token: str) -> dict:  # noqa: ANN001
    response = await client.post(
        "/oauth/introspect", data={"token": token}, headers=caller.basic()
    )
    return response.json()


async def _userinfo(client, access_token: str) -> int:  # noqa: ANN001
    response = await client.get(
        "/oauth/userinfo", headers={"Authorization": f"Bearer {access_token}"}
    )
    return response.status_code


async def _refresh(client, caller, token: str):  # noqa: ANN001, ANN202
    return await client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token},
        headers=caller.basic(),
    )


@pytest.mark.parametrize(
    "event", [change_password, recover, lock_by_owner, disable_at_the_desk],
    ids=lambda e: e.__name__,
)
async def test_the_event_ends_every_token_the_apps_hold(runtime, client, event):
    b = await person(runtime)
    if event is lock_by_owner:
        await _recover(runtime, b)  # the notice that carries the link
        assert (await sign_in(client, b.card_number, NEW)).status_code == 303
    portal = await add_client(runtime)
    tokens = await tokens_for(client, portal, b.card_number)
    assert (await _introspect(client, portal, tokens["access_token"]))["active"] is True
    assert await _userinfo(client, tokens["access_token"]) == 200

    await event(runtime, client, b)

    assert (await _introspect(client, portal, tokens["access_token"])) == {"active": False}
    assert (await _introspect(client, portal, tokens["refresh_token"])) == {"active": False}
    assert await _userinfo(client, tokens["access_token"]) == 401
    refreshed = await _refresh(client, portal, tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


async def test_re_enabling_the_account_does_not_revive_old_tokens(runtime, client):
    b = await person(runtime)
    portal = await add_client(runtime)
    tokens = await tokens_for(client, portal, b.card_number)
    await disable_at_the_desk(runtime, client, b)
    token = await api_token(runtime, "caller_check,account_status", name="CRM 2")
    headers = bearer(token, agent="supervisora 7")
    await client.post(
        f"/api/v1/support/people/{b.id}/caller-checks", headers=headers,
        json={"reason": "bloqueio", "birth_date": b.birth_date.isoformat(),
              "cpf": format_cpf(b.cpf)},
    )
    enabled = await client.post(
        f"/api/v1/support/people/{b.id}/status", headers=headers,
        json={"reason": "bloqueio", "status": "active"},
    )
    assert enabled.status_code == 200, enabled.text
    assert (await _introspect(client, portal, tokens["access_token"])) == {"active": False}
    assert await _userinfo(client, tokens["access_token"]) == 401
    # A new sign-in gets tokens that work.
    fresh = await tokens_for(client, portal, b.card_number)
    assert (await _introspect(client, portal, fresh["access_token"]))["active"] is True
