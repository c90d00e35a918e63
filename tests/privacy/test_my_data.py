"""Meus dados (docs/privacy.md): the page, ``GET /api/v1/me/data``, and the export as PDF and
JSON behind the password, through a link valid 15 minutes and good for one download."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pypdf
import time_machine
from sqlalchemy import select

from guarita.domain.audit_tags import AuditTag
from guarita.services import my_data, my_data_pdf
from guarita.storage.tables import Flow
from guarita.storage.types import utcnow
from tests.oidc.support import csrf_of, person, sign_in
from tests.support.factories import STRONG

NAME = "Maria José da Conceição"


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


async def _signed_in(client, runtime):  # noqa: ANN001, ANN202
    b = await person(runtime)
    answer = await sign_in(client, b.card_number)
    assert answer.status_code == 303, answer.text
    return b


async def _export(client, fmt: str, password: str = STRONG):  # noqa: ANN001, ANN202
    page = await client.get("/conta/meus-dados")
    return await client.post("/conta/meus-dados/exportar", data={
        "format": fmt, "password": password, "csrf_token": csrf_of(page.text)})


def _link(html: str) -> str:
    found = re.search(r'href="(/conta/meus-dados/arquivo/[^"]+)"', html)
    assert found, "a página não mostrou o link"
    return found.group(1)


async def test_collect_holds_everything_and_no_secret(runtime, client):
    b = await _signed_in(client, runtime)
    data = await my_data.collect(runtime, b.account_id)
    assert set(data) >= {"format", "generated_at", "controller", "account", "registry", "identifiers",
                         "trust", "second_factors", "face_reference", "connected_apps", "sessions",
                         "history"}
    assert data["registry"]["name"] == NAME
    assert data["registry"]["cpf"] == b.cpf
    assert data["registry"]["birth_date"] == "1950-03-04"
    assert {i["kind"] for i in data["identifiers"]} >= {"card", "cpf", "email"}
    assert data["trust"]["level"] == "bronze"
    assert any(e["kind"] == "registry_match" for e in data["trust"]["evidence"])
    assert [f["kind"] for f in data["second_factors"]] == ["password"]
    assert len(data["sessions"]) == 2  # the registration's and this sign-in's
    tags = [h["tag"] for h in data["history"]]
    assert AuditTag.ACCOUNT_CREATED in tags and AuditTag.LOGIN_SUCCEEDED in tags
    assert "Entrou" in [h["what"] for h in data["history"]]
    # a sign-in has no actor: it is not claimed to be the person's own (it may be an attacker)
    assert {h["by"] for h in data["history"] if h["tag"] == AuditTag.LOGIN_SUCCEEDED} == {None}
    text = json.dumps(data)
    assert "$argon2id$" not in text  # the password verifier never leaves


async def test_the_page_shows_the_data_in_plain_words(runtime, client):
    b = await _signed_in(client, runtime)
    account = await client.get("/conta")
    assert 'href="/conta/meus-dados"' in account.text
    page = await client.get("/conta/meus-dados")
    assert page.status_code == 200
    assert NAME in page.text and b.cpf in page.text and "04/03/1950" in page.text
    assert "Histórico dos últimos 12 meses" in page.text
    assert "Conta criada (cadastro)" in page.text and "Entrou" in page.text
    assert 'for="password"' in page.text and 'name="format"' in page.text
    title = re.search(r"<title>(.*?)</title>", page.text, re.S).group(1)
    assert title.startswith("Meus dados") and "<" not in title
    english = await client.get("/conta/meus-dados", params={"lang": "en"})
    assert "<h1>My data</h1>" in english.text and "Download a copy of my data" in english.text
    assert "Ask for my account to be deleted" in english.text
    assert "Baixar uma cópia" not in english.text and "Pedir exclusão" not in english.text


async def test_page_needs_a_session(client):
    answer = await client.get("/conta/meus-dados")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/entrar?next=/conta/meus-dados")


async def test_pdf_export_after_the_password_once(runtime, client):
    b = await _signed_in(client, runtime)
    made = await _export(client, "pdf")
    assert made.status_code == 200
    link = _link(made.text)
    file = await client.get(link)
    assert file.status_code == 200
    assert file.headers["content-type"] == "application/pdf"
    assert file.headers["cache-control"] == "no-store"
    assert "attachment" in file.headers["content-disposition"]
    assert file.content.startswith(b"%PDF")
    text = pdf_text(file.content)
    assert NAME in text and "Meus dados" in text and b.card_number in text
    assert "Histórico dos últimos 12 meses" in text
    again = await client.get(link)  # single use
    assert again.status_code == 410
    assert "só pode ser usado uma vez" in again.text
    async with runtime.db.read() as session:
        stored = (await session.execute(select(Flow).where(Flow.kind == "data_export"))).scalars().all()
    token = link.rsplit("/", 1)[1]
    assert len(stored) == 1 and stored[0].id_hash != token and token not in json.dumps(stored[0].data)


async def test_json_export_is_the_same_data(runtime, client):
    b = await _signed_in(client, runtime)
    made = await _export(client, "json")
    file = await client.get(_link(made.text))
    assert file.headers["content-type"] == "application/json"
    data = json.loads(file.content)
    assert data["format"] == my_data.FORMAT
    assert data["registry"]["name"] == NAME and data["account"]["id"] == b.account_id
    # the download itself is in the history now
    later = await my_data.collect(runtime, b.account_id)
    assert later["history"][0]["tag"] == AuditTag.DATA_EXPORTED


async def test_export_needs_the_right_password(runtime, client):
    await _signed_in(client, runtime)
    wrong = await _export(client, "pdf", password="não é a senha")
    assert wrong.status_code == 401
    assert "Senha atual incorreta." in wrong.text
    assert "/conta/meus-dados/arquivo/" not in wrong.text
    bad = await _export(client, "docx")
    assert bad.status_code == 422
    assert "PDF ou JSON" in bad.text


async def test_link_expires_after_15_minutes(runtime, client):
    await _signed_in(client, runtime)
    link = _link((await _export(client, "json")).text)
    with time_machine.travel(utcnow() + timedelta(minutes=16), tick=False):
        # a fresh sign-in (the first session idles out after 16 minutes too? no: 30 min)
        late = await client.get(link)
    assert late.status_code == 410


async def test_link_belongs_to_its_account(runtime, client, app):
    import httpx

    await _signed_in(client, runtime)
    link = _link((await _export(client, "json")).text)
    other = await person(runtime, card="200300400", seed=2, email="outra@example.com",
                         phone="+5561991110000", name="Outra Pessoa")
    transport = httpx.ASGITransport(app=app, client=("203.0.113.11", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as second:
        assert (await sign_in(second, other.card_number)).status_code == 303
        stolen = await second.get(link)
        assert stolen.status_code == 410
        anonymous = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        assert (await anonymous.get(link)).status_code == 303  # to Entrar
        await anonymous.aclose()
    assert (await client.get(link)).status_code == 200  # still the owner's, once


async def test_api_me_data_and_export(runtime, client):
    b = await person(runtime)
    signed = await client.post("/api/v1/sessions", json={"identifier": b.card_number, "password": STRONG})
    token = signed.json()["session_token"]
    auth = {"Authorization": f"Bearer {token}"}
    data = await client.get("/api/v1/me/data", headers=auth)
    assert data.status_code == 200 and data.json()["registry"]["name"] == NAME
    assert (await client.get("/api/v1/me/data")).status_code == 401
    refused = await client.post("/api/v1/me/data/exports", headers=auth,
                                json={"password": "errada errada", "format": "pdf"})
    assert refused.status_code == 401 and refused.json()["error"]["field"] == "password"
    made = await client.post("/api/v1/me/data/exports", headers=auth,
                             json={"password": STRONG, "format": "pdf"})
    assert made.status_code == 201
    url = made.json()["download_url"]
    assert (await client.get(url)).status_code == 401  # needs the session's token too
    file = await client.get(url, headers=auth)
    assert file.status_code == 200 and NAME in pdf_text(file.content)
    assert (await client.get(url, headers=auth)).json()["error"]["code"] == "flow_expired"


def test_pdf_core_font_and_unicode_font_both_carry_accents():
    data = {
        "format": my_data.FORMAT, "generated_at": "2026-12-07T01:00:00+00:00",
        "controller": {"name": "Instituto de Previdência", "support_phone": "0800 000 0000"},
        "account": {"id": "x", "status": "active", "created_at": "2026-01-02T10:00:00+00:00"},
        "registry": {"name": "João Ações Müller", "card_number": "1", "cpf": None,
                     "birth_date": "1950-03-04", "email": None, "phone": None},
        "identifiers": [], "trust": {"level": "prata", "evidence": []}, "second_factors": [],
        "face_reference": None, "connected_apps": [], "bank_and_govbr_links": [], "sessions": [],
        "history": [],
    }
    for unicode_font in (False, True):
        content = my_data_pdf.render(data, unicode_font=unicode_font)
        assert content.startswith(b"%PDF")
        assert "João Ações Müller" in pdf_text(content)
