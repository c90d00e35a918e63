"""For operators (docs/privacy.md › Para operadores): ``guarita privacy export`` and ``guarita
privacy erase`` run as the real command, then ``guarita audit verify``; and the registry import
does not bring an erased person's legacy account back."""

from __future__ import annotations

import json
import stat

from sqlalchemy import select

from guarita.services import erasure
from guarita.services.demo import DEMO_BCRYPT_HASH
from guarita.services.registry_import import import_beneficiaries
from guarita.storage.audit import RequestContext
from guarita.storage.tables import Account, Beneficiary
from tests.console.test_cli import guarita, sqlite_factory, sqlite_runtime  # noqa: F401 - fixtures
from tests.oidc.support import person
from tests.registry.helpers import account_of, write_csv
from tests.registry.helpers import person as csv_row


async def test_export_to_stdout_and_to_a_file(sqlite_runtime, tmp_path):  # noqa: F811
    b = await person(sqlite_runtime)
    code, out, err = await guarita(sqlite_runtime, "privacy", "export", "--account", b.account_id)
    assert code == 0, err
    data = json.loads(out)
    assert data["registry"]["name"] == "Maria José da Conceição" and data["account"]["id"] == b.account_id
    target = tmp_path / "dados.json"
    code, out, err = await guarita(sqlite_runtime, "privacy", "export", "--account", b.account_id,
                                   "--out", str(target))
    assert code == 0, err
    assert json.loads(target.read_text())["registry"]["cpf"] == b.cpf
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    code, out, err = await guarita(sqlite_runtime, "privacy", "export", "--account", "nao-existe")
    assert code == 1 and "conta não encontrada" in (out + err)


async def test_erase_then_the_chain_still_verifies(sqlite_runtime):  # noqa: F811
    b = await person(sqlite_runtime)
    code, out, err = await guarita(sqlite_runtime, "privacy", "erase", "--account", b.account_id,
                                   "--reason", "Pedido por escrito na agência", "--json")
    assert code == 0, err
    assert json.loads(out)["erased"] is True
    async with sqlite_runtime.db.read() as session:
        assert await session.get(Account, b.account_id) is None
        assert await session.get(Beneficiary, b.id) is None
    code, out, err = await guarita(sqlite_runtime, "audit", "verify", "--json")
    assert code == 0, err + out
    assert json.loads(out)["ok"] is True
    code, out, err = await guarita(sqlite_runtime, "privacy", "erase", "--account", b.account_id,
                                   "--reason", "de novo")
    assert code == 1 and "conta não encontrada" in (out + err)
    code, out, err = await guarita(sqlite_runtime, "privacy", "erase", "--account", b.account_id)
    assert code != 0  # --reason is required


async def test_the_registry_import_brings_no_legacy_account_back(runtime, tmp_path):
    row = csv_row("300000009", legacy_password_hash=DEMO_BCRYPT_HASH)
    await import_beneficiaries(runtime, write_csv(tmp_path / "v1.csv", [row]))
    found = await account_of(runtime, "300000009")
    assert found is not None
    account_id = found[0].id
    await erasure.erase(runtime, account_id, by="cli", context=RequestContext(actor="cli"),
                        reason="teste")
    assert await account_of(runtime, "300000009") is None
    report = await import_beneficiaries(runtime, write_csv(tmp_path / "v2.csv", [row]))
    assert await account_of(runtime, "300000009") is None  # the registry record is back, no account
    assert any("excluída a pedido da pessoa" in w.reason for w in report.warnings)
    async with runtime.db.read() as session:
        back = (await session.execute(select(Beneficiary).where(
            Beneficiary.card_number == "300000009"))).scalar_one()
    assert back.name  # the organisation's record, as it sent it
