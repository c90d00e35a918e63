"""How many audited transactions per second one PostgreSQL takes, with the audit chain's lock
held through each commit (docs/scale.md › What would break first).

Against a throwaway durable PostgreSQL 15 (fsync and ``synchronous_commit`` on): ``--tasks``
concurrent transactions that each append one audit event (as a sign-in does), and for
comparison the same transactions writing a plain row with no chain. The gap is the cost of
serialising on the chain.

    .venv/bin/python bench/loadtest/audit_ceiling.py [--seconds 10] [--tasks 32]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support import postgres  # noqa: E402

from guarita.storage.audit import RequestContext, record  # noqa: E402
from guarita.storage.database import Database  # noqa: E402
from guarita.storage.migrate import upgrade_async  # noqa: E402


async def rate(db: Database, seconds: float, tasks: int, chained: bool) -> float:
    done = 0
    deadline = time.monotonic() + seconds

    async def one(n: int) -> None:
        nonlocal done
        context = RequestContext(ip="10.0.0.1", user_agent="bench")
        while time.monotonic() < deadline:
            async with db.transaction() as session:
                if chained:
                    await record(session, "login_succeeded", subject=f"conta{n}", context=context)
                else:
                    await session.execute(text(
                        "INSERT INTO throttles (key, count, window_started_at, updated_at) "
                        "VALUES (:k, 1, now(), now()) ON CONFLICT (key) DO UPDATE "
                        "SET count = throttles.count + 1, updated_at = now()"), {"k": f"bench{n}"})
            done += 1

    await asyncio.gather(*(one(n) for n in range(tasks)))
    return done / seconds


async def main_async(seconds: float, tasks: int) -> None:
    cluster = postgres.start(durable=True)
    try:
        url = cluster.url()
        await upgrade_async(url)
        db = Database(url, pool_size=tasks, audit_key=b"k" * 32)
        plain = await rate(db, seconds, tasks, chained=False)
        chained = await rate(db, seconds, tasks, chained=True)
        await db.dispose()
        print(f"{tasks} tarefas, {seconds:.0f} s cada: sem cadeia {plain:.0f} transações/s; "
              f"com um evento de auditoria encadeado {chained:.0f} transações/s "
              f"({chained / plain:.2f} ×)")
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--tasks", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main_async(args.seconds, args.tasks))


if __name__ == "__main__":
    main()
