"""Front-Channel Logout 1.0: the page the browser sees after signing out frames each app's
``frontchannel_logout_uri`` with ``iss`` and ``sid`` (§2, §4), and its CSP frame-src allows
exactly those addresses."""

from __future__ import annotations

import base64
import html
import json
import re
from urllib.parse import parse_qs, urlsplit

from tests.oidc.support import add_client, csrf_of, person, tokens_for

FRONT = "https://portal.example.org/sair-do-portal?origem=guarita"


def _sid(id_token: str) -> str:
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"]


def frames_of(page: str) -> list[str]:
    return [html.unescape(s) for s in re.findall(r'<iframe class="frontchannel-logout" src="([^"]+)"', page)]


def frame_src(response) -> str:  # noqa: ANN001
    csp = response.headers["content-security-policy"]
    return next(d.strip() for d in csp.split(";") if d.strip().startswith("frame-src"))


async def test_signing_out_frames_the_app_with_iss_and_sid(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime, frontchannel_logout_uri=FRONT,
                         frontchannel_logout_session_required=True)
    other = await add_client(runtime, redirect_uris=["https://other.example.org/cb"])
    tokens = await tokens_for(client, c, b.card_number)
    await tokens_for(client, other, b.card_number)  # no front-channel address: no frame
    page = await client.get("/conta")
    response = await client.post("/sair", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 200
    [frame] = frames_of(response.text)
    parts = urlsplit(frame)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == FRONT.split("?")[0]
    query = parse_qs(parts.query)
    assert query == {"origem": ["guarita"], "iss": ["http://testserver"],
                     "sid": [_sid(tokens["id_token"])]}
    assert frame_src(response) == "frame-src 'self' https://portal.example.org/sair-do-portal"
    assert (await client.get("/conta")).status_code == 303  # signed out


async def test_rp_initiated_logout_frames_then_goes_back_to_the_app(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime, frontchannel_logout_uri=FRONT)
    tokens = await tokens_for(client, c, b.card_number)
    response = await client.get("/oauth/logout", params={
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": "https://portal.example.org/saiu", "state": "s-9",
    })
    assert response.status_code == 200
    assert len(frames_of(response.text)) == 1
    assert 'href="https://portal.example.org/saiu?state=s-9" data-continue' in response.text
    assert "/static/js/frontchannel-logout.js" in response.text
    assert "https://portal.example.org/sair-do-portal" in frame_src(response)


async def test_without_front_channel_apps_nothing_changes(runtime, client):
    b = await person(runtime)
    c = await add_client(runtime)
    await tokens_for(client, c, b.card_number)
    page = await client.get("/conta")
    response = await client.post("/sair", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303 and response.headers["location"] == "/entrar?saiu=1"
    assert frame_src(response) == "frame-src 'self'"


async def test_front_channel_address_must_share_a_redirect_uri_origin(runtime):
    import pytest

    from guarita.oidc import clients as clients_repo
    from guarita.oidc.clients import ClientRegistrationError, ClientSpec

    async with runtime.db.transaction() as session:
        with pytest.raises(ClientRegistrationError, match="mesmo esquema"):
            await clients_repo.register(session, ClientSpec(
                name="Portal", redirect_uris=["https://portal.example.org/cb"],
                frontchannel_logout_uri="https://elsewhere.example.org/sair",
            ))
