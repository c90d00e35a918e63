"""Property: any valid row survives the database, whatever its spelling (SQLite and PostgreSQL).

Imported once in one spelling, the stored values are the canonical ones; imported again in
another spelling, the row is *unchanged*, so re-exports from a different spreadsheet never
churn the registry.
"""

from __future__ import annotations

import csv

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from guarita.services.registry_file import COLUMNS
from guarita.services.registry_import import import_beneficiaries
from guarita.storage.tables import Beneficiary
from tests.registry.helpers import beneficiary
from tests.registry.test_rows import TODAY, beneficiaries, expected, spellings


def write(path, fields: list[str]) -> None:  # noqa: ANN001
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerow(fields)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), person=beneficiaries())
async def test_a_valid_row_round_trips_through_the_database(runtime, tmp_path, data, person):
    async with runtime.db.transaction() as session:  # each example starts from an empty registry
        await session.execute(delete(Beneficiary))
    path = tmp_path / "cadastro.csv"

    write(path, data.draw(spellings(person)))
    first = await import_beneficiaries(runtime, path, today=TODAY)
    assert (first.created, first.rejected) == (1, 0), first.rejections

    row = await beneficiary(runtime, person["card"])
    assert (
        row.card_number, row.cpf, row.birth_date, row.name, row.name_search, row.email,
        row.phone, row.legacy_password_hash,
    ) == expected(person)

    write(path, data.draw(spellings(person)))
    second = await import_beneficiaries(runtime, path, today=TODAY)
    assert (second.unchanged, second.updated, second.rejected) == (1, 0, 0)
