"""The nome social (Decreto 8.727/2016): imported from the registry's optional column, used to
greet the person on Guarita's pages and messages, and released as ``social_name`` with the
``profile`` scope (Guarita's UserInfo; the gov.br profile's ID token, as gov.br sends it)."""

from __future__ import annotations

from sqlalchemy import select

from guarita.services.registry_import import import_beneficiaries
from guarita.storage.tables import OutboxMessage
from tests.oidc.support import add_client, person, tokens_for
from tests.oidc.test_govbr_profile import GOVBR_SCOPE, claims_of, govbr_client, govbr_tokens
from tests.registry.helpers import beneficiary, write_csv
from tests.registry.helpers import person as row
from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary
from tests.support.html import submit

COLUMNS_WITH_SOCIAL = (
    "card_number", "cpf", "birth_date", "name", "social_name", "email", "phone",
    "legacy_password_hash",
)


async def test_import_reads_the_column_under_its_names_and_keeps_it_when_a_file_lacks_it(
    runtime, tmp_path
):
    first = await import_beneficiaries(runtime, write_csv(
        tmp_path / "a.csv",
        [row("300000001", name="João Carlos Silva", social_name="  Joana   Silva "),
         row("300000002")],
        columns=COLUMNS_WITH_SOCIAL,
    ))
    assert (first.created, first.rejected) == (2, 0)
    assert (await beneficiary(runtime, "300000001")).social_name == "Joana Silva"
    assert (await beneficiary(runtime, "300000002")).social_name is None

    # A semicolon export from a pt-BR spreadsheet, with the header in Portuguese: same meaning.
    pt_columns = tuple("Nome Social" if c == "social_name" else c for c in COLUMNS_WITH_SOCIAL)
    path = tmp_path / "b.csv"
    write_csv(path, [], delimiter=";", columns=pt_columns)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("300000002;;1950-03-04;Maria José da Conceição;Maria Luiza;;;\n")
    second = await import_beneficiaries(runtime, path)
    assert (second.updated, second.rejected) == (1, 0), second.rejections
    assert (await beneficiary(runtime, "300000002")).social_name == "Maria Luiza"

    # An older export without the column says nothing about social names: nothing changes.
    third = await import_beneficiaries(runtime, write_csv(
        tmp_path / "c.csv", [row("300000001", name="João Carlos Silva"), row("300000002")]
    ))
    assert (third.unchanged, third.updated) == (2, 0)
    assert (await beneficiary(runtime, "300000001")).social_name == "Joana Silva"

    # The column present and the cell empty: the registry removed it.
    fourth = await import_beneficiaries(runtime, write_csv(
        tmp_path / "d.csv", [row("300000001", name="João Carlos Silva")],
        columns=COLUMNS_WITH_SOCIAL,
    ))
    assert fourth.updated == 1
    assert (await beneficiary(runtime, "300000001")).social_name is None


async def test_a_bad_social_name_rejects_the_row_with_the_reason(runtime, tmp_path):
    report = await import_beneficiaries(runtime, write_csv(
        tmp_path / "a.csv",
        [row("300000001", social_name="x" * 201), row("300000002", social_name="Ana\u202eBeatriz")],
        columns=COLUMNS_WITH_SOCIAL,
    ))
    reasons = sorted((n.line, n.reason) for n in report.rejections)
    assert reasons == [
        (2, "nome social com mais de 200 caracteres"),
        (3, "nome social com caracteres de controle de direção do texto "
            "(U+202A–202E, U+2066–2069)"),
    ]
    assert report.created == 0


async def test_userinfo_profile_has_social_name_only_when_there_is_one(runtime, client):
    someone = await person(runtime, social_name="Joana Silva", name="João Carlos Silva")
    other = await person(runtime, card="100200301", seed=2, email="outra@example.com",
                         phone=None)
    registered = await add_client(runtime)
    for who, expected in ((someone, "Joana Silva"), (other, None)):
        client.cookies.clear()
        token = (await tokens_for(client, registered, who.card_number,
                                  scope="openid profile"))["access_token"]
        claims = (await client.get(
            "/oauth/userinfo", headers={"Authorization": f"Bearer {token}"}
        )).json()
        assert claims.get("social_name") == expected
        assert claims["name"] == who.name  # the civil name is still released as name
    # Without the profile scope there is no social name.
    client.cookies.clear()
    token = (await tokens_for(client, registered, someone.card_number,
                              scope="openid email"))["access_token"]
    claims = (await client.get("/oauth/userinfo",
                               headers={"Authorization": f"Bearer {token}"})).json()
    assert "social_name" not in claims and "name" not in claims
    discovery = (await client.get("/.well-known/openid-configuration")).json()
    assert "social_name" in discovery["claims_supported"]


async def test_govbr_id_token_has_social_name_as_govbr_sends_it(runtime, client):
    someone = await person(runtime, social_name="Joana Silva", name="João Carlos Silva")
    registered = await govbr_client(runtime)
    _, response = await govbr_tokens(client, registered, someone.card_number)
    assert response.status_code == 200, response.text
    claims = claims_of(response.json()["id_token"])
    assert claims["social_name"] == "Joana Silva" and claims["name"] == "João Carlos Silva"
    # UserInfo of the gov.br profile stays standard claims only.
    info = await client.get("/govbr/userinfo/", headers={
        "Authorization": "Bearer " + response.json()["access_token"]})
    assert "social_name" not in info.json()

    client.cookies.clear()
    plain = await person(runtime, card="100200301", seed=2, email="outra@example.com")
    _, response = await govbr_tokens(client, registered, plain.card_number, scope=GOVBR_SCOPE)
    assert "social_name" not in claims_of(response.json()["id_token"])


async def test_pages_and_messages_greet_by_the_social_name(client, runtime):
    b = await add_beneficiary(runtime, name="João Carlos Silva", social_name="Joana Silva")
    response = await submit(client, "/cadastro", {
        "card_number": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.strftime("%d/%m/%Y"),
        "password": STRONG, "password_confirmation": STRONG, "captcha": solve(runtime.settings)})
    assert response.status_code == 303
    page = (await client.get("/conta")).text
    assert "Olá, Joana" in page and "Olá, João" not in page
    assert "Nome social" in page and "Joana Silva" in page
    async with runtime.db.transaction() as session:
        welcome = (await session.execute(
            select(OutboxMessage).where(OutboxMessage.channel == "email")
        )).scalars().all()
    assert welcome and all("Joana" in m.text and "João" not in m.text for m in welcome)


async def test_without_a_social_name_the_greeting_is_the_civil_first_name(client, runtime):
    b = await add_beneficiary(runtime, name="JOÃO CARLOS SILVA")
    await submit(client, "/cadastro", {
        "card_number": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.strftime("%d/%m/%Y"),
        "password": STRONG, "password_confirmation": STRONG, "captcha": solve(runtime.settings)})
    page = (await client.get("/conta")).text
    assert "Olá, João" in page and "Nome social" not in page


async def test_meus_dados_lists_the_social_name_it_holds(client, runtime):
    import io

    import pypdf

    from guarita.services import my_data, my_data_pdf

    b = await add_beneficiary(runtime, name="João Carlos Silva", social_name="Joana Silva")
    await submit(client, "/cadastro", {
        "card_number": b.card_number, "cpf": b.cpf, "birth_date": b.birth_date.strftime("%d/%m/%Y"),
        "password": STRONG, "password_confirmation": STRONG, "captcha": solve(runtime.settings)})
    page = (await client.get("/conta/meus-dados")).text
    assert 'data-field="social_name">Joana Silva<' in page
    async with runtime.db.read() as session:
        from guarita.storage.tables import Account
        account_id = (await session.execute(select(Account.id))).scalar_one()
    data = await my_data.collect(runtime, account_id)
    assert data["registry"]["social_name"] == "Joana Silva"
    reader = pypdf.PdfReader(io.BytesIO(my_data_pdf.render(data, timezone=runtime.settings.timezone)))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Nome social" in text and "Joana Silva" in text


async def test_the_desk_sees_the_social_name_first_masked_until_the_check(app, runtime):
    from tests.console.helpers import caller_data, post, quick_staff, session_client
    from tests.console.helpers import person as desk_person

    b = await desk_person(runtime, name="João Carlos Silva", social_name="Joana Maria Silva")
    agent = await quick_staff(runtime, "agent")
    async with await session_client(app, runtime, agent) as browser:
        page = (await browser.get(f"/atendimento/pessoas/{b.id}")).text
        assert "<h1>Joana M. S.</h1>" in page and "Joana Maria Silva" not in page
        assert "João Carlos Silva" not in page
        right = await post(browser, f"/atendimento/pessoas/{b.id}/conferencia", caller_data(b))
        assert "Joana Maria Silva" in right.text and "João Carlos Silva" in right.text
        assert "chame a pessoa por este nome" in right.text
