"""The audit chain is keyed and anchored (SECURITY.md › Data).

The attack: with write access to the database, edit one row and recompute every later hash
with plain SHA-256, as the chain used to be; ``guarita audit verify`` then passed. And deleting
the newest rows left a shorter chain that still held. Now the chain is an HMAC with a key that
is not in the database, and the head is logged (``audit_anchor``) so that a cut is caught.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess

import pytest
from sqlalchemy import delete, select, update
from structlog.testing import capture_logs

from guarita.config import AuditSettings
from guarita.storage.audit import GENESIS, Anchor, _canonical, record, verify
from guarita.storage.audit_anchor import anchor_forever
from guarita.storage.tables import AuditEvent
from tests.support.server import GUARITA, ROOT, server_env


@pytest.fixture
def settings_overrides() -> dict:
    return {"audit": AuditSettings(anchor_every=5)}


async def _write(runtime, count: int) -> None:  # noqa: ANN001
    for n in range(count):
        async with runtime.db.transaction() as session:
            await record(session, "account.login.succeeded", subject=f"acct{n}", details={"n": n})


async def _rewrite_with_plain_sha256(runtime, edited_id: int) -> None:  # noqa: ANN001
    """What someone with the database can do: edit a row, then recompute every hash after it
    (the attacker has the code, not the key)."""
    async with runtime.db.transaction() as session:
        await session.execute(
            update(AuditEvent).where(AuditEvent.id == edited_id)
            .values(subject="someone-else", details={"n": "forged"})
        )
    async with runtime.db.transaction() as session:
        rows = (await session.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars().all()
        prev = GENESIS
        for event in rows:
            event.prev_hash = prev
            event.hash = hashlib.sha256(prev.encode() + _canonical(event)).hexdigest()
            prev = event.hash


async def _report(runtime, anchor: Anchor | None = None):  # noqa: ANN001, ANN202
    async with runtime.db.read() as session:
        return await verify(session, anchor=anchor)


async def test_an_edit_with_all_later_hashes_recomputed_is_detected(runtime):
    await _write(runtime, 8)
    assert (await _report(runtime)).ok
    await _rewrite_with_plain_sha256(runtime, edited_id=3)
    report = await _report(runtime)
    assert not report.ok and report.first_broken_id == 1  # no row matches the keyed chain


async def test_the_chain_key_is_not_in_the_database(runtime):
    """Another key (what a copy of the database alone gives) cannot verify the chain."""
    from guarita.storage.database import Database

    await _write(runtime, 3)
    stranger = Database(runtime.settings.database_url, audit_key=b"guessed-key")
    try:
        async with stranger.read() as session:
            assert not (await verify(session)).ok
    finally:
        await stranger.dispose()
    assert (await _report(runtime)).ok


async def test_anchors_are_logged_after_commit_and_catch_deleted_newest_rows(runtime):
    with capture_logs() as logs:
        await _write(runtime, 12)
    anchors = [entry for entry in logs if entry["event"] == "audit_anchor"]
    assert [a["seq"] for a in anchors] == [5, 10]
    newest = Anchor(anchors[-1]["seq"], anchors[-1]["hash"])
    assert (await _report(runtime, newest)).ok

    async with runtime.db.transaction() as session:
        await session.execute(delete(AuditEvent).where(AuditEvent.id >= 9))
    assert (await _report(runtime)).ok  # what is left is still a valid chain …
    report = await _report(runtime, newest)
    assert not report.ok and report.first_broken_id == 10  # … but it no longer reaches the anchor

    # New events after the cut take the deleted sequence numbers: the anchor still tells.
    await _write(runtime, 3)
    report = await _report(runtime, newest)
    assert not report.ok and "âncora" in report.reason


async def test_a_rolled_back_append_logs_no_anchor(runtime):
    await _write(runtime, 4)
    with capture_logs() as logs:
        with pytest.raises(RuntimeError):
            async with runtime.db.transaction() as session:
                await record(session, "account.login.succeeded", subject="x")
                raise RuntimeError("the use case failed")
    assert not [entry for entry in logs if entry["event"] == "audit_anchor"]


async def test_the_head_is_anchored_at_start_and_periodically(runtime):
    await _write(runtime, 2)
    stop = asyncio.Event()
    with capture_logs() as logs:
        task = asyncio.create_task(
            anchor_forever(runtime.db, AuditSettings(anchor_seconds=0.05), stop)
        )
        await asyncio.sleep(0.2)
        stop.set()
        await task
    heads = [entry for entry in logs if entry["event"] == "audit_anchor"]
    assert len(heads) >= 2 and all(h["seq"] == 2 for h in heads)


def test_cli_verify_checks_an_anchor(runtime):
    async def setup() -> Anchor:
        with capture_logs() as logs:
            await _write(runtime, 5)
        found = [e for e in logs if e["event"] == "audit_anchor"][-1]
        return Anchor(found["seq"], found["hash"])

    loop = asyncio.new_event_loop()
    try:
        anchor = loop.run_until_complete(setup())
    finally:
        loop.close()
    env = server_env(runtime.settings.database_url)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603
            [str(GUARITA), "audit", "verify", "--json", *args], env=env, cwd=ROOT,
            capture_output=True, text=True, timeout=120,
        )

    good = run("--anchor", f"{anchor.seq}:{anchor.hash}")
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["anchor_checked"] is True
    forged = run("--anchor", f"{anchor.seq}:{'0' * 64}")
    assert forged.returncode == 1
    assert json.loads(forged.stdout)["first_broken_id"] == anchor.seq
    beyond = run("--anchor", f"{anchor.seq + 50}:{anchor.hash}")
    assert beyond.returncode == 1 and "apagados" in json.loads(beyond.stdout)["reason"]
    bad = run("--anchor", "nonsense")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
