"""Minha conta › Aparelhos conectados: each live session with its device in plain words, the
city when a local GeoIP database is configured, the last activity, "Encerrar" and "Sair de
todos os outros" — and ending a session signs it out of the apps it signed into."""

from __future__ import annotations

import re

import httpx
import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from guarita.messaging.worker import deliver_due
from guarita.services import devices
from guarita.services.devices import Device, device_of, place_of
from tests.oidc.support import add_client, csrf_of, person, sign_in, tokens_for
from tests.support.factories import STRONG
from tests.support.http_server import RecordingHttpServer

ANDROID = ("Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/126.0.0.0 Mobile Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
WINDOWS_EDGE = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0")
MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
       "Version/17.4 Safari/605.1.15")
TABLET = ("Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/126.0.0.0 Safari/537.36")
CAMPINAS_IP = "200.147.10.20"  # a public address the test database places in Campinas


@pytest.mark.parametrize(("agent", "expected"), [
    (ANDROID, Device("phone", "Samsung", "Android", "Chrome")),
    (IPHONE, Device("phone", "iPhone", "iOS", "Safari")),
    (WINDOWS_EDGE, Device("computer", None, "Windows", "Edge")),
    (MAC, Device("computer", "Mac", "macOS", "Safari")),
    (TABLET, Device("tablet", None, "Android", "Chrome")),  # the rules name no brand here
    ("okhttp/4.12.0", Device("app", None, None, None)),
    ("python-httpx/0.28.1", Device("app", None, None, None)),
    ("", devices.UNKNOWN),
    ("pytest", devices.UNKNOWN),
])
def test_device_in_parts(agent, expected):
    assert device_of(agent) == expected


def test_device_in_one_plain_line():
    assert devices.plain(device_of(ANDROID)) == "celular Samsung (Chrome)"
    assert devices.plain(device_of(WINDOWS_EDGE)) == "computador com Windows (Edge)"
    assert devices.plain(device_of(MAC)) == "Mac (Safari)"
    assert devices.plain(device_of("okhttp/4.12.0")) == "aplicativo"
    assert devices.plain(devices.UNKNOWN) is None


@pytest.fixture
def city_database(tmp_path):
    """A MaxMind-format city database written here (the format GeoLite2-City uses)."""
    writer = MMDBWriter(ip_version=4, database_type="GeoLite2-City", languages=["pt-BR", "en"])
    writer.insert_network(IPSet(["200.147.0.0/16"]), {
        "city": {"names": {"pt-BR": "Campinas", "en": "Campinas"}},
        "subdivisions": [{"iso_code": "SP", "names": {"pt-BR": "São Paulo"}}],
        "country": {"iso_code": "BR", "names": {"pt-BR": "Brasil", "en": "Brazil"}},
    })
    writer.insert_network(IPSet(["81.84.0.0/16"]), {
        "city": {"names": {"pt-BR": "Lisboa", "en": "Lisbon"}},
        "country": {"iso_code": "PT", "names": {"pt-BR": "Portugal", "en": "Portugal"}},
    })
    path = tmp_path / "cities.mmdb"
    writer.to_db_file(str(path))
    return str(path)


def test_place_from_a_local_city_database(city_database, tmp_path):
    assert place_of(city_database, CAMPINAS_IP) == "Campinas (SP)"
    assert place_of(city_database, "81.84.1.1") == "Lisboa, Portugal"
    assert place_of(city_database, "8.8.8.8") is None  # not in the database
    assert place_of(city_database, "192.168.0.10") is None  # private: never looked up
    assert place_of(city_database, "não é ip") is None
    assert place_of(None, CAMPINAS_IP) is None  # not configured
    assert place_of(str(tmp_path / "missing.mmdb"), CAMPINAS_IP) is None  # unreadable: no place


@pytest.fixture
def settings_overrides(city_database) -> dict:
    return {"session": {"geoip_city_database": city_database}}


def devices_of(page: str) -> list[str]:
    return re.findall(r'<li class="device"[^>]*>(.*?)</li>', page, flags=re.S)


async def test_minha_conta_lists_sessions_and_ends_one_or_all_others(runtime, app, client):
    b = await person(runtime)
    with RecordingHttpServer() as receiver:
        c = await add_client(runtime, backchannel_logout_uri=receiver.url + "/bcl")

        def browser(ip: str, agent: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(ip, 40000))
            return httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                     headers={"User-Agent": agent})

        async with browser(CAMPINAS_IP, ANDROID) as phone, browser("81.84.3.4", MAC) as mac:
            await tokens_for(phone, c, b.card_number)  # the phone signed into an app
            await sign_in(mac, b.card_number)
            await sign_in(client, b.card_number)
            page = await client.get("/conta")
            assert page.status_code == 200
            listed = devices_of(page.text)
            assert len(listed) == 4  # with the registration's own session ("pytest")
            assert any("Aparelho desconhecido" in item for item in listed)
            assert "este aparelho" in listed[0] and "Em uso agora" in listed[0]
            phone_item = next(item for item in listed if "Celular Samsung · Chrome" in item)
            assert "Perto de Campinas (SP)" in phone_item
            assert "Última atividade:" in phone_item and "Encerrar" in phone_item
            assert CAMPINAS_IP not in phone_item  # the place, never the address
            mac_item = next(item for item in listed if "Mac · Safari" in item)
            assert "Perto de Lisboa, Portugal" in mac_item
            assert "Sair de todos os outros" in page.text

            # "Encerrar" needs the form's CSRF token.
            handle = re.search(r'name="device" value="([0-9a-f]+)"', phone_item).group(1)
            refused = await client.post("/conta/aparelhos/encerrar", data={"device": handle})
            assert refused.status_code in (400, 403)
            assert (await phone.get("/conta")).status_code == 200
            ended = await client.post("/conta/aparelhos/encerrar",
                                      data={"device": handle, "csrf_token": csrf_of(page.text)})
            assert ended.status_code == 303
            assert (await phone.get("/conta")).status_code == 303  # signed out there
            await deliver_due(runtime)
            assert len(receiver.requests) == 1  # and out of the app it signed into

            page = await client.get("/conta")
            assert len(devices_of(page.text)) == 3
            await client.post("/conta/aparelhos/sair-dos-outros",
                              data={"csrf_token": csrf_of(page.text)})
            assert (await mac.get("/conta")).status_code == 303
            page = await client.get("/conta")
            assert len(devices_of(page.text)) == 1
            assert "Você não está conectado em nenhum outro aparelho." in page.text


async def test_sair_de_todos_os_outros_tells_the_apps_of_every_other_session(runtime, app, client):
    b = await person(runtime)
    with RecordingHttpServer() as receiver:
        c = await add_client(runtime, backchannel_logout_uri=receiver.url + "/bcl")
        transport = httpx.ASGITransport(app=app, client=("203.0.113.30", 40001))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
            await tokens_for(other, c, b.card_number)
            await tokens_for(client, c, b.card_number)
            page = await client.get("/conta")
            await client.post("/conta/aparelhos/sair-dos-outros",
                              data={"csrf_token": csrf_of(page.text)})
            await deliver_due(runtime)
            assert len(receiver.requests) == 1  # the other session's, not this one's


async def test_the_app_lists_and_ends_sessions_through_the_api(runtime, app, client):
    b = await person(runtime)

    async def api_session(agent: str) -> dict[str, str]:
        signed = await client.post("/api/v1/sessions", headers={"User-Agent": agent},
                                   json={"identifier": b.card_number, "password": STRONG})
        assert signed.status_code == 201, signed.text
        return {"Authorization": f"Bearer {signed.json()['session_token']}"}

    mine, other, third = (await api_session("okhttp/4.12.0"), await api_session(IPHONE),
                          await api_session(WINDOWS_EDGE))
    listed = (await client.get("/api/v1/me/sessions", headers=mine)).json()
    assert listed[0]["current"] is True and listed[0]["device"]["kind"] == "app"
    iphone = next(s for s in listed if s["device"]["brand"] == "iPhone")
    assert iphone["device"] == {"kind": "phone", "brand": "iPhone", "system": "iOS",
                                "browser": "Safari", "description": "iPhone (Safari)"}
    assert iphone["place"] is None  # a test address (TEST-NET): no place
    assert (await client.delete(f"/api/v1/me/sessions/{iphone['id']}", headers=mine)).status_code == 204
    assert (await client.get("/api/v1/me", headers=other)).status_code == 401
    missing = await client.delete(f"/api/v1/me/sessions/{iphone['id']}", headers=mine)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad = await client.delete("/api/v1/me/sessions/zz", headers=mine)
    assert bad.status_code == 404
    ended = await client.post("/api/v1/me/sessions/end-others", headers=mine)
    assert ended.status_code == 200 and ended.json()["ended"] >= 1
    assert (await client.get("/api/v1/me", headers=third)).status_code == 401
    assert (await client.get("/api/v1/me", headers=mine)).status_code == 200


def test_guarita_check_names_a_geoip_path_that_is_not_a_file(tmp_path, city_database):
    from tests.conftest import make_settings

    missing = make_settings("sqlite+aiosqlite:///x.db",
                            session={"geoip_city_database": str(tmp_path / "nada.mmdb")})
    assert any("GUARITA_SESSION__GEOIP_CITY_DATABASE" in p for p in missing.problems())
    present = make_settings("sqlite+aiosqlite:///x.db",
                            session={"geoip_city_database": city_database})
    assert not any("GEOIP" in p for p in present.problems())
