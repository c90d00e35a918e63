"""What must hold before Guarita serves people (DESIGN.md › Contracts: ``guarita check`` and the production
start-up refuse unsafe settings: no secret, http base URL, captcha off, demo data present)."""

from __future__ import annotations

from sqlalchemy import select

from guarita.runtime import Runtime
from guarita.storage.tables import Beneficiary


async def problems(runtime: Runtime) -> list[str]:
    """Every problem in plain pt-BR: the settings', the database's and the data's."""
    found = list(runtime.settings.problems())
    try:
        await runtime.db.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means the database is unusable
        found.append(f"O banco de dados não responde ({exc.__class__.__name__}).")
        return found
    if runtime.settings.production and await demo_data_present(runtime):
        found.append(
            "Há dados de demonstração no cadastro de beneficiários (guarita demo). "
            "Em produção, use um banco novo e importe o cadastro real."
        )
    return found


async def demo_data_present(runtime: Runtime) -> bool:
    from guarita.services.demo import demo_people

    cards = [person.card_number for person in demo_people()]
    try:
        async with runtime.db.read() as session:
            row = await session.execute(
                select(Beneficiary.id).where(Beneficiary.card_number.in_(cards)).limit(1)
            )
            return row.first() is not None
    except Exception:  # noqa: BLE001 - no tables yet: no demo data either
        return False
