"""Data for ``make loadtest``, written straight into the database (not through the HTTP API):
registered accounts (card, CPF and e-mail identifiers, one argon2id password hashed once),
beneficiaries still without an account (for registrations), and a confidential OpenID client.

    .venv/bin/python bench/loadtest/seed.py --database-url URL --accounts 20000 --free 5000 \\
        --out var/loadtest/seed.json [--sizes]

Idempotent by card number: running it again adds nothing. ``--sizes`` prints rows and bytes per
account (``pg_total_relation_size`` of each table, indexes and TOAST included) for docs/scale.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.factories import make_cpf  # noqa: E402

import guarita.storage.all_tables  # noqa: E402, F401 - every mapper, for the foreign keys
from guarita.domain.accounts import initial_identifiers  # noqa: E402
from guarita.domain.hashing import Hasher  # noqa: E402
from guarita.oidc import clients as clients_repo  # noqa: E402
from guarita.oidc.clients import ClientSpec  # noqa: E402
from guarita.services.registry_rows import name_search_key  # noqa: E402
from guarita.storage.accounts import new_account_id  # noqa: E402
from guarita.storage.database import Database  # noqa: E402
from guarita.storage.oidc_tables import OidcClient  # noqa: E402
from guarita.storage.tables import Account, AccountIdentifier, Beneficiary, Credential  # noqa: E402
from guarita.storage.types import utcnow  # noqa: E402

PASSWORD = "uma frase longa para a carga de teste"  # noqa: S105 - a test account
REDIRECT = "https://portal.example.org/callback"
CLIENT_ID = "carga-portal"
BATCH = 2000


def card(i: int) -> str:
    return f"6{i:08d}"


def email(i: int) -> str:
    return f"jr{i}@exemplo.org"


def name(i: int) -> str:  # nothing in common with PASSWORD (registration refuses that)
    return f"Joana Ribeiro {i}"


def cpf(i: int) -> str:
    return make_cpf(600_000 + i)


async def seed(url: str, accounts: int, free: int) -> dict:
    db = Database(url)
    hashed = Hasher().hash_sync(PASSWORD)
    now = utcnow()
    try:
        async with db.transaction() as session:
            have = (await session.execute(select(func.count()).select_from(Beneficiary)
                                          .where(Beneficiary.card_number.like("6%")))).scalar_one()
        for start in range(have, accounts + free, BATCH):
            stop = min(start + BATCH, accounts + free)
            async with db.transaction() as session:
                rows = [{"card_number": card(i), "cpf": cpf(i),
                         "birth_date": date(1940 + i % 50, 1 + i % 12, 1 + i % 28),
                         "name": name(i), "name_search": name_search_key(name(i)),
                         "email": email(i), "created_at": now, "updated_at": now}
                        for i in range(start, stop)]
                ids = (await session.execute(insert(Beneficiary).returning(Beneficiary.id), rows)).scalars().all()
                made, identifiers, credentials = [], [], []
                for i, beneficiary_id in zip(range(start, stop), ids, strict=True):
                    if i >= accounts:
                        continue  # still without an account: for registrations
                    account_id = new_account_id()
                    made.append({"id": account_id, "beneficiary_id": beneficiary_id, "status": "active",
                                 "legacy": False, "trust_level": "bronze", "created_at": now,
                                 "updated_at": now})
                    for item in initial_identifiers(card=card(i), cpf=cpf(i), email=email(i),
                                                    phone=None, legacy=False):
                        identifiers.append({"account_id": account_id, "kind": item.kind.value,
                                            "value": item.value, "source": "registry",
                                            "verified_at": now if item.verified else None,
                                            "login_enabled": item.login_enabled, "created_at": now})
                    credentials.append({"principal_kind": "account", "account_id": account_id,
                                        "kind": "password", "algorithm": "argon2id", "hash": hashed,
                                        "data": {"single_factor_length": True}, "created_at": now,
                                        "changed_at": now})
                if made:
                    await session.execute(insert(Account), made)
                    await session.execute(insert(AccountIdentifier), identifiers)
                    await session.execute(insert(Credential), credentials)
        secret = None
        async with db.transaction() as session:
            if await session.get(OidcClient, CLIENT_ID) is None:
                _, secret = await clients_repo.register(session, ClientSpec(
                    name="Portal da carga", client_id=CLIENT_ID, redirect_uris=[REDIRECT],
                    grant_types=["authorization_code", "refresh_token"],
                    scopes=["openid", "profile", "email", "offline_access"]))
        async with db.transaction() as session:
            # Registrations of earlier runs used the free beneficiaries from the first on.
            used = (await session.execute(
                select(func.count()).select_from(Account).join(
                    Beneficiary, Beneficiary.id == Account.beneficiary_id)
                .where(Beneficiary.card_number >= card(accounts),
                       Beneficiary.card_number.like("6%")))).scalar_one()
        return {"accounts": accounts, "free": free, "free_from": accounts + used,
                "password": PASSWORD, "client_id": CLIENT_ID, "client_secret": secret,
                "redirect_uri": REDIRECT}
    finally:
        await db.dispose()


async def sizes(url: str) -> list[tuple[str, int, int]]:
    """(table, rows, bytes with indexes and TOAST) for every table with rows."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            await session.execute(text("ANALYZE"))
            rows = (await session.execute(text(
                "SELECT relname, n_live_tup, pg_total_relation_size(relid) FROM pg_stat_user_tables"
                " ORDER BY 3 DESC"))).all()
        return [(name, int(count), int(size)) for name, count, size in rows]
    finally:
        await db.dispose()


def print_sizes(url: str) -> None:
    for table, count, size in asyncio.run(sizes(url)):
        if count:
            print(f"{table:32} {count:>10} rows {size / 1024 / 1024:10.1f} MB "
                  f"{size / count:8.0f} B/row")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--free", type=int, default=5_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sizes", action="store_true")
    args = parser.parse_args()
    found = asyncio.run(seed(args.database_url, args.accounts, args.free))
    if args.out.exists() and found["client_secret"] is None:
        found["client_secret"] = json.loads(args.out.read_text())["client_secret"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(found))
    if args.sizes:
        print_sizes(args.database_url)


if __name__ == "__main__":
    main()
