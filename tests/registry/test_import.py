"""The beneficiary import at the service layer, on SQLite and PostgreSQL (DESIGN.md › Contracts).

Counts (created / updated / unchanged / rejected), every rejection with its line and reason,
legacy accounts with the right identifiers and flags, the audit trail, and files refused whole.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select, update

from guarita.domain.audit_tags import AuditTag
from guarita.domain.hashing import make_pbkdf2_sha256
from guarita.services.demo import DEMO_BCRYPT_HASH, DEMO_PBKDF2_HASH, demo_people, load_demo
from guarita.services.registry_file import RegistryFileError
from guarita.services.registry_import import LISTED_MAX, import_beneficiaries
from guarita.storage.audit import RequestContext
from guarita.storage.audit import verify as verify_chain
from guarita.storage.tables import (
    Account,
    AccountIdentifier,
    AuditEvent,
    Beneficiary,
    Credential,
)
from tests.registry.helpers import account_of, beneficiary, count, person, write_csv
from tests.support.factories import format_cpf, make_cpf

CPF_A, CPF_B, CPF_C = make_cpf(11), make_cpf(12), make_cpf(13)


def notes(report) -> list[tuple[int, str, str]]:  # noqa: ANN001
    return [(n.line, n.card_number, n.reason) for n in report.rejections]


# -- counts and idempotence ------------------------------------------------------------------------


async def test_demo_imports_once_then_reports_everything_unchanged(runtime, tmp_path):
    first = await load_demo(runtime, directory=tmp_path)
    assert (first.report.created, first.report.updated, first.report.unchanged) == (8, 0, 0)
    assert first.report.rejected == 0 and first.report.warned == 0
    assert first.report.legacy_accounts_created == 4

    second = await load_demo(runtime, directory=tmp_path)
    assert (second.report.created, second.report.updated, second.report.unchanged) == (0, 0, 8)
    assert second.report.legacy_accounts_created == 0
    assert await count(runtime, Beneficiary) == 8
    assert await count(runtime, Account) == 4


async def test_demo_if_empty_does_nothing_on_a_registry_with_rows(runtime, tmp_path):
    await import_beneficiaries(runtime, write_csv(tmp_path / "a.csv", [person()]))
    result = await load_demo(runtime, if_empty=True, directory=tmp_path)
    assert result.loaded is False and result.report is None
    assert await count(runtime, Beneficiary) == 1


async def test_demo_refuses_production(runtime, tmp_path):
    from guarita.config import Environment
    from guarita.runtime import Runtime
    from guarita.services.demo import DemoNotAllowed

    production = Runtime(
        settings=runtime.settings.model_copy(update={"env": Environment.PRODUCTION}),
        db=runtime.db, hasher=runtime.hasher,
    )
    with pytest.raises(DemoNotAllowed, match="produção"):
        await load_demo(production, directory=tmp_path)
    assert await count(runtime, Beneficiary) == 0


async def test_changed_rows_are_updated_and_the_rest_unchanged(runtime, tmp_path):
    rows = [person("300000001", cpf=CPF_A), person("300000002", cpf=CPF_B, email="b@example.com")]
    await import_beneficiaries(runtime, write_csv(tmp_path / "v1.csv", rows))
    before = await beneficiary(runtime, "300000002")

    rows[1] = person("300000002", cpf=CPF_B, email="Nova@Example.com", name="Beatriz  Simões")
    report = await import_beneficiaries(runtime, write_csv(tmp_path / "v2.csv", rows))
    assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 1, 1, 0)

    after = await beneficiary(runtime, "300000002")
    assert after.id == before.id
    assert after.email == "nova@example.com"
    assert after.name == "Beatriz Simões" and after.name_search == "beatriz simoes"
    assert after.updated_at >= before.updated_at


# -- rows refused, the rest imported ------------------------------------------------------------


async def test_bad_rows_are_reported_with_line_and_reason_and_good_rows_import(runtime, tmp_path):
    path = write_csv(tmp_path / "mixed.csv", [
        person("300000001", cpf=CPF_A),                                   # line 2: fine
        person("300000002", cpf="123.456.789-00"),                         # 3: check digits
        person("300000003", birth_date="31/02/1950", email="sem-arroba"),  # 4: two reasons
        person("300000004", name="   "),                                   # 5
        person("12", cpf=CPF_B),                                           # 6: too short
        person("300000006", legacy_password_hash="$2b$04$" + "a" * 53),   # 7: bcrypt cost 4
        person("300000007", legacy_password_hash="md5$abc"),  # noqa: S106 - line 8
        person("300000008", phone="123"),                                  # 9
        person("300000009", birth_date=""),                                # 10
        person("300000010", birth_date="2999-01-01"),                      # 11: in the future
        person("300000011", cpf=format_cpf(CPF_C), birth_date="04/03/1950"),  # 12: fine
    ])
    report = await import_beneficiaries(runtime, path)
    assert (report.created, report.rejected) == (2, 9)
    assert notes(report) == [
        (3, "300000002", "CPF inválido"),
        (4, "300000003", "data de nascimento inválida (use AAAA-MM-DD ou DD/MM/AAAA); "
                         "e-mail inválido"),
        (5, "300000004", "nome em branco"),
        (6, "12", "carteirinha inválida (só números, de 6 a 20 dígitos)"),
        (7, "300000006", "senha antiga em formato não aceito (bcrypt com custo menor que 10 "
                         "ou formato inválido)"),
        (8, "300000007", "senha antiga em formato não aceito (formato de hash de senha "
                         "desconhecido)"),
        (9, "300000008", "telefone inválido"),
        (10, "300000009", "data de nascimento em branco"),
        (11, "300000010", "data de nascimento inválida (use AAAA-MM-DD ou DD/MM/AAAA)"),
    ]
    assert str(report.rejections[0]) == "linha 3 (carteirinha 300000002): CPF inválido"
    stored = await beneficiary(runtime, "300000011")
    assert stored.cpf == CPF_C and stored.birth_date == date(1950, 3, 4)
    assert await count(runtime, Beneficiary) == 2


async def test_rows_with_the_wrong_number_of_columns_and_blank_lines(runtime, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text(
        "card_number,cpf,birth_date,name,email,phone,legacy_password_hash\n"
        "300000001,,1950-01-01,Ana\n"
        "\n"
        '300000002,,1950-01-01,"Nome em\nduas linhas",,,\n'
        "300000003,,1950-01-01,Zé,,,,sobrando\n",
        encoding="utf-8",
    )
    report = await import_beneficiaries(runtime, path)
    assert notes(report) == [
        (2, "300000001", "a linha tem 4 colunas e o cabeçalho tem 7"),
        (6, "300000003", "a linha tem 8 colunas e o cabeçalho tem 7"),
    ]
    assert (await beneficiary(runtime, "300000002")).name == "Nome em duas linhas"


async def test_a_field_too_big_for_the_csv_module_rejects_only_its_row(runtime, tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text(
        "card_number,cpf,birth_date,name,email,phone,legacy_password_hash\n"
        f'300000001,,1950-01-01,"{"x" * 200_000}",,,\n'
        "300000002,,1950-01-01,Ana,,,\n",
        encoding="utf-8",
    )
    report = await import_beneficiaries(runtime, path)
    assert report.rejected == 1 and report.rejections[0].line == 2
    assert "malformada" in report.rejections[0].reason
    assert report.created == 1


@pytest.mark.parametrize("batch_size", [1, 2000])
async def test_a_card_repeated_in_the_file_keeps_the_first_row(runtime, tmp_path, batch_size):
    path = write_csv(tmp_path / "dup.csv", [
        person("300000001", name="Primeira"),
        person("300000002"),
        person("300.000.001", name="Segunda"),  # the same card, typed with dots
    ])
    report = await import_beneficiaries(runtime, path, batch_size=batch_size)
    assert notes(report) == [(4, "300000001", "carteirinha repetida no arquivo, linha 2")]
    assert (await beneficiary(runtime, "300000001")).name == "Primeira"

    again = await import_beneficiaries(runtime, path, batch_size=batch_size)
    assert (again.unchanged, again.rejected) == (2, 1)


@pytest.mark.parametrize("batch_size", [1, 2000])
async def test_a_cpf_belongs_to_one_card(runtime, tmp_path, batch_size):
    first = write_csv(tmp_path / "a.csv", [person("300000001", cpf=CPF_A)])
    await import_beneficiaries(runtime, first)
    path = write_csv(tmp_path / "b.csv", [
        person("300000002", cpf=format_cpf(CPF_A)),  # stored on another card
        person("300000003", cpf=CPF_B),
        person("300000004", cpf=CPF_B),              # earlier in this file
        person("300000001", cpf=CPF_A),              # its own card: fine
    ])
    report = await import_beneficiaries(runtime, path, batch_size=batch_size)
    reasons = {n.line: n.reason for n in report.rejections}
    assert reasons[2].startswith("CPF já pertence à carteirinha 300000001")
    assert reasons[4] == "CPF já pertence à carteirinha 300000003 (linha 3)"
    assert [n.line for n in report.rejections] == [2, 4]
    assert (report.created, report.unchanged, report.rejected) == (1, 1, 2)


async def test_the_json_report_lists_at_most_a_thousand_rejections(runtime, tmp_path):
    rows = [person(str(400000000 + i), cpf="111.111.111-11") for i in range(LISTED_MAX + 5)]
    report = await import_beneficiaries(runtime, write_csv(tmp_path / "bad.csv", rows))
    data = report.as_json()
    assert data["rejected"] == LISTED_MAX + 5
    assert len(data["rejections"]) == LISTED_MAX and data["rejections_truncated"] is True
    assert data["rejections"][0] == {
        "line": 2, "card_number": "400000000", "reason": "CPF inválido"
    }


# -- accepted spellings of the file ---------------------------------------------------------


async def test_bom_semicolons_and_brazilian_dates(runtime, tmp_path):
    path = write_csv(
        tmp_path / "excel.csv",
        [person("300000001", cpf=format_cpf(CPF_A), birth_date="04/03/1950",
                phone="(61) 99123-4567", email=" Maria@Example.COM ")],
        bom=True, delimiter=";",
        columns=("name", "card_number", "cpf", "birth_date", "email", "phone",
                 "legacy_password_hash"),
    )
    report = await import_beneficiaries(runtime, path)
    assert report.created == 1, report.rejections
    stored = await beneficiary(runtime, "300000001")
    assert (stored.cpf, stored.birth_date, stored.email, stored.phone) == (
        CPF_A, date(1950, 3, 4), "maria@example.com", "+5561991234567"
    )


async def test_a_row_without_cpf_is_stored_without_cpf(runtime, tmp_path):
    await import_beneficiaries(runtime, write_csv(tmp_path / "a.csv", [person(cpf="")]))
    assert (await beneficiary(runtime, "300000001")).cpf is None


# -- files refused whole ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "está vazio"),
        (b"\n\n  \n", "está vazio"),
        (b"card_number,cpf,birth_date,name,email,phone\n1,2,3,4,5,6\n",
         "faltam as colunas legacy_password_hash"),
        (b"card_number,cpf,birth_date,name,email,phone,legacy_password_hash,plano\n",
         "colunas desconhecidas: plano"),
        (b"card_number,cpf,birth_date,name,email,phone,legacy_password_hash,cpf\n",
         "colunas repetidas: cpf"),
        ("card_number,cpf,birth_date,name,email,phone,legacy_password_hash\n"
         "300000001,,1950-01-01,José,,,\n".encode("latin-1"),
         "não está em UTF-8 (primeiro problema na linha 2)"),
        (b"PK\x03\x04\x14\x00\x06\x00", "parece uma planilha"),
    ],
    ids=["empty", "blank", "missing-column", "unknown-column", "repeated-column", "latin-1",
         "xlsx"],
)
async def test_unusable_files_are_refused_before_anything_is_written(
    runtime, tmp_path, content, message
):
    path = tmp_path / "cadastro.csv"
    path.write_bytes(content)
    with pytest.raises(RegistryFileError, match=re.escape(message)):
        await import_beneficiaries(runtime, path)
    assert await count(runtime, Beneficiary) == 0
    assert await count(runtime, AuditEvent) == 0


async def test_a_folder_or_a_missing_file_is_refused(runtime, tmp_path):
    with pytest.raises(RegistryFileError, match="é uma pasta"):
        await import_beneficiaries(runtime, tmp_path)
    with pytest.raises(RegistryFileError, match="não encontrado"):
        await import_beneficiaries(runtime, tmp_path / "nao-existe.csv")
    with pytest.raises(RegistryFileError, match="não é um arquivo comum"):
        await import_beneficiaries(runtime, "/dev/null")


async def test_a_file_that_goes_bad_during_the_import_says_what_was_kept(
    runtime, tmp_path, monkeypatch
):
    from guarita.services import registry_import

    path = write_csv(tmp_path / "c.csv", [person(str(300000000 + i)) for i in range(600)])
    real_check = registry_import.check_file

    def check_then_spoil(target):  # noqa: ANN001, ANN202 - a copy still running, say
        checked = real_check(target)
        with open(target, "ab") as handle:
            handle.write("399999999,,1950-01-01,Jos\xe9,,,\n".encode("latin-1"))
        return checked

    monkeypatch.setattr(registry_import, "check_file", check_then_spoil)
    with pytest.raises(RegistryFileError, match="linhas anteriores já foram importadas"):
        await import_beneficiaries(runtime, path, batch_size=50)
    assert 0 < await count(runtime, Beneficiary) <= 600


async def test_a_broken_card_is_shown_without_control_characters(runtime, tmp_path):
    report = await import_beneficiaries(
        runtime, write_csv(tmp_path / "esc.csv", [person("\x1b[31m123")])
    )
    assert report.rejections[0].card_number == "?[31m123"


async def test_a_late_encoding_error_still_refuses_the_whole_file(runtime, tmp_path):
    good = "".join(f"{300000000 + i},,1950-01-01,Pessoa {i},,,\n" for i in range(5000))
    path = tmp_path / "late.csv"
    path.write_bytes(
        b"card_number,cpf,birth_date,name,email,phone,legacy_password_hash\n"
        + good.encode() + "399999999,,1950-01-01,Jos\xe9,,,\n".encode("latin-1")
    )
    with pytest.raises(RegistryFileError, match="linha 5002"):
        await import_beneficiaries(runtime, path, batch_size=100)
    assert await count(runtime, Beneficiary) == 0


# -- legacy accounts -------------------------------------------------------------------------------


async def test_a_legacy_row_creates_an_account_that_signs_in_with_the_card_only(runtime, tmp_path):
    path = write_csv(tmp_path / "legacy.csv", [person(
        "300000001", cpf=CPF_A, email="ana@example.com", phone="61 99234-5603",
        legacy_password_hash=DEMO_BCRYPT_HASH,
    )])
    report = await import_beneficiaries(
        runtime, path, context=RequestContext(actor="cli:operadora")
    )
    assert report.legacy_accounts_created == 1

    account, identifiers, credential = await account_of(runtime, "300000001")
    assert (account.status, account.legacy, account.trust_level) == ("active", True, "bronze")
    assert len(account.id) == 32
    assert (credential.kind, credential.algorithm, credential.hash) == (
        "password", "bcrypt", DEMO_BCRYPT_HASH
    )
    by_kind = {i.kind: i for i in identifiers}
    assert set(by_kind) == {"card", "cpf", "email", "phone"}
    assert all(i.source == "registry" for i in identifiers)
    card, cpf, email, phone = (by_kind[k] for k in ("card", "cpf", "email", "phone"))
    assert (card.value, card.login_enabled, card.verified_at is not None) == (
        "300000001", True, True
    )
    assert (cpf.value, cpf.login_enabled, cpf.verified_at) == (CPF_A, False, None)
    assert (email.value, email.login_enabled, email.verified_at is not None) == (
        "ana@example.com", False, True
    )
    assert (phone.value, phone.login_enabled, phone.verified_at is not None) == (
        "+5561992345603", False, True
    )

    async with runtime.db.transaction() as session:
        events = (await session.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars().all()
        chain = await verify_chain(session)
    assert [(e.tag, e.subject) for e in events] == [
        (AuditTag.ACCOUNT_LEGACY_IMPORTED, account.id),
        (AuditTag.REGISTRY_IMPORTED, None),
    ]
    assert events[1].actor == "cli:operadora"
    assert events[1].details["created"] == 1 and events[1].details["legacy_accounts_created"] == 1
    assert events[1].details["file_sha256"] == report.file_sha256
    assert chain.ok and chain.checked == 2


async def test_many_legacy_accounts_keep_the_audit_chain_intact(runtime, tmp_path):
    rows = [person(str(500000000 + i), legacy_password_hash=DEMO_PBKDF2_HASH) for i in range(30)]
    await import_beneficiaries(runtime, write_csv(tmp_path / "many.csv", rows), batch_size=7)
    async with runtime.db.transaction() as session:
        chain = await verify_chain(session)
    assert chain.ok and chain.checked == 30 + 1


async def test_a_shared_email_stays_with_the_first_account_and_is_noted(runtime, tmp_path):
    path = write_csv(tmp_path / "family.csv", [
        person("300000001", email="familia@example.com", legacy_password_hash=DEMO_BCRYPT_HASH),
        person("300000002", email="familia@example.com", legacy_password_hash=DEMO_BCRYPT_HASH),
    ])
    report = await import_beneficiaries(runtime, path)
    assert report.legacy_accounts_created == 2 and report.rejected == 0
    assert [(w.line, w.reason) for w in report.warnings] == [
        (3, "o e-mail já identifica outra conta; ficou fora desta")
    ]
    _, second, _ = await account_of(runtime, "300000002")
    assert [i.kind for i in second] == ["card"]
    # Both beneficiaries keep the registry's e-mail; only the account identifier is unique.
    assert (await beneficiary(runtime, "300000002")).email == "familia@example.com"


async def test_a_new_registry_password_replaces_an_untouched_legacy_one(runtime, tmp_path):
    await import_beneficiaries(runtime, write_csv(
        tmp_path / "v1.csv", [person(legacy_password_hash=DEMO_BCRYPT_HASH)]
    ))
    newer = make_pbkdf2_sha256("outra senha antiga", salt="s1", iterations=10_000)
    report = await import_beneficiaries(runtime, write_csv(
        tmp_path / "v2.csv", [person(legacy_password_hash=newer)]
    ))
    assert (report.updated, report.legacy_passwords_updated, report.warned) == (1, 1, 0)
    _, _, credential = await account_of(runtime, "300000001")
    assert (credential.algorithm, credential.hash) == ("pbkdf2_sha256", newer)


async def test_a_password_the_person_already_used_in_guarita_is_never_replaced(runtime, tmp_path):
    await import_beneficiaries(runtime, write_csv(
        tmp_path / "v1.csv", [person(legacy_password_hash=DEMO_BCRYPT_HASH)]
    ))
    account, _, _ = await account_of(runtime, "300000001")
    rehashed = runtime.hasher.hash_sync("senha antiga do portal 2019")  # as at a first sign-in
    async with runtime.db.transaction() as session:
        await session.execute(
            update(Credential).where(Credential.account_id == account.id)
            .values(hash=rehashed, algorithm="argon2id")
        )
    newer = make_pbkdf2_sha256("outra senha antiga", salt="s1", iterations=10_000)
    report = await import_beneficiaries(runtime, write_csv(
        tmp_path / "v2.csv", [person(legacy_password_hash=newer)]
    ))
    assert (report.updated, report.legacy_passwords_updated) == (1, 0)
    assert "senha antiga foi ignorada" in report.warnings[0].reason
    _, _, credential = await account_of(runtime, "300000001")
    assert credential.hash == rehashed


async def test_an_account_made_through_cadastro_is_never_touched(runtime, tmp_path):
    await import_beneficiaries(runtime, write_csv(tmp_path / "v1.csv", [person(cpf=CPF_A)]))
    stored = await beneficiary(runtime, "300000001")
    own = runtime.hasher.hash_sync("uma frase bem comprida para lembrar")
    async with runtime.db.transaction() as session:
        session.add(Account(id="a" * 32, beneficiary_id=stored.id, legacy=False))
        await session.flush()
        session.add(Credential(account_id="a" * 32, kind="password", algorithm="argon2id",
                               hash=own))
        session.add(AccountIdentifier(account_id="a" * 32, kind="card", value="300000001",
                                      login_enabled=True))
    report = await import_beneficiaries(runtime, write_csv(
        tmp_path / "v2.csv", [person(cpf=CPF_A, legacy_password_hash=DEMO_BCRYPT_HASH)]
    ))
    assert (report.updated, report.legacy_accounts_created, report.legacy_passwords_updated) == (
        1, 0, 0
    )
    assert report.warnings[0].reason == (
        "a pessoa já tem cadastro no Guarita; a senha antiga foi ignorada"
    )
    account, _, credential = await account_of(runtime, "300000001")
    assert account.legacy is False and credential.hash == own


async def test_a_password_added_later_to_a_known_beneficiary_creates_the_account(
    runtime, tmp_path
):
    await import_beneficiaries(runtime, write_csv(tmp_path / "v1.csv", [person(cpf=CPF_A)]))
    assert await account_of(runtime, "300000001") is None
    report = await import_beneficiaries(runtime, write_csv(
        tmp_path / "v2.csv", [person(cpf=CPF_A, legacy_password_hash=DEMO_PBKDF2_HASH)]
    ))
    assert (report.updated, report.legacy_accounts_created) == (1, 1)
    _, identifiers, credential = await account_of(runtime, "300000001")
    assert credential.algorithm == "pbkdf2_sha256"
    assert {i.kind for i in identifiers} == {"card", "cpf"}


# -- how the file is read --------------------------------------------------------------------------


async def test_reading_in_a_child_process_gives_the_same_report(runtime, tmp_path):
    rows = [person(p.card_number, cpf=p.cpf or "", birth_date=p.birth_date.isoformat(),
                   name=p.name, email=p.email or "", phone=p.phone or "",
                   legacy_password_hash=p.legacy_password_hash or "") for p in demo_people()]
    rows.append(person("300000099", cpf="000.000.000-00"))
    path = write_csv(tmp_path / "demo.csv", rows)
    report = await import_beneficiaries(runtime, path, read_in_process=True, batch_size=3)
    assert (report.created, report.rejected, report.legacy_accounts_created) == (8, 1, 4)
    assert notes(report) == [(10, "300000099", "CPF inválido")]
    again = await import_beneficiaries(runtime, path, read_in_process=True)
    assert again.unchanged == 8


async def test_a_child_process_reports_a_file_that_went_bad_after_the_check(tmp_path):
    from guarita.services.registry_batches import batches
    from guarita.services.registry_file import check_file
    from guarita.services.registry_rows import CardLimits

    path = write_csv(tmp_path / "late.csv", [person()])
    checked = check_file(path)
    # Still being copied when the check ran: the reader meets the bad bytes mid-way.
    with path.open("ab") as handle:
        handle.write("300000002,,1950-01-01,Jos\xe9,,,\n".encode("latin-1"))
    source = batches(checked, CardLimits(6, 20), date.today(), 1, in_process=True)
    with pytest.raises(RegistryFileError, match="não está em UTF-8"):
        async for _ in source:
            pass


async def test_progress_is_reported_up_to_the_size_of_the_file(runtime, tmp_path):
    rows = [person(str(600000000 + i)) for i in range(25)]
    path = write_csv(tmp_path / "p.csv", rows)
    seen: list[tuple[int, int, int]] = []
    await import_beneficiaries(runtime, path, batch_size=10, progress=lambda *a: seen.append(a))
    assert [rows for _, _, rows in seen] == [10, 20, 25]
    assert seen[-1][0] == seen[-1][1] == path.stat().st_size


async def test_the_import_refuses_a_connection_through_pgbouncer(runtime, tmp_path):
    """Its temporary table lives on one connection across transactions (docs/scale.md)."""
    path = write_csv(tmp_path / "one.csv", [person("300000001", cpf=CPF_A)])
    runtime.db.pgbouncer = True
    with pytest.raises(RegistryFileError, match="PgBouncer"):
        await import_beneficiaries(runtime, path)
    assert await count(runtime, Beneficiary) == 0
