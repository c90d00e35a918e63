"""Registry records and accounts for tests, written straight to the tables."""

from __future__ import annotations

import random
from datetime import date

from guarita.runtime import Runtime
from guarita.services.registry_rows import name_search_key
from guarita.storage.tables import Beneficiary

STRONG = "uma frase bem comprida para lembrar"


def make_cpf(seed: int) -> str:
    """A valid CPF (Receita Federal check digits) from a seed; never all-equal digits."""
    rng = random.Random(seed)
    while True:
        base = [rng.randint(0, 9) for _ in range(9)]
        if len(set(base)) > 1:
            break
    return with_check_digits(base)


def with_check_digits(base: list[int]) -> str:
    """Nine digits followed by their two Receita Federal check digits (mod 11)."""
    base = list(base)
    for length in (9, 10):
        total = sum(d * w for d, w in zip(base, range(length + 1, 1, -1), strict=True))
        digit = (total * 10) % 11
        base.append(0 if digit == 10 else digit)
    return "".join(map(str, base))


def format_cpf(cpf: str) -> str:
    return f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"


async def add_beneficiary(
    runtime: Runtime, *, card: str = "100200300", cpf: str | None = None,
    birth: date = date(1950, 3, 4), name: str = "Maria José da Conceição",
    email: str | None = "maria@example.com", phone: str | None = "+5561991234567",
    legacy_password_hash: str | None = None, seed: int = 1, social_name: str | None = None,
) -> Beneficiary:
    if cpf is None:
        cpf = make_cpf(seed)
    elif cpf == "":
        cpf = None
    row = Beneficiary(
        card_number=card, cpf=cpf, birth_date=birth, name=name, name_search=name_search_key(name),
        email=email, phone=phone, legacy_password_hash=legacy_password_hash,
        social_name=social_name,
    )
    async with runtime.db.transaction() as session:
        session.add(row)
    return row
