"""Deleting what can no longer be used: expired grants (and, by cascade, their codes and
refresh tokens), codes a day after they expired, and revoked access tokens once they would
have expired anyway; and recomputing the trust levels whose evidence expired
(``services/trust.sweep_expired``), so an expired level stops reaching ``acr`` and claims.

Spent refresh tokens are kept until their grant expires: reuse detection (RFC 9700 §4.14.2)
needs them. Runs at most every ``EVERY`` per process, inline in a token request (a few
milliseconds once in ten minutes), so no separate job has to be scheduled. Interactions are not
swept here: they are an ORM table, and ``interactions.create`` deletes the expired ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from guarita.runtime import Runtime
from guarita.services import trust
from guarita.storage import plain_sql as sql
from guarita.storage.types import utcnow

EVERY = timedelta(minutes=10)
GRACE = timedelta(days=1)
_NEXT = "oidc.housekeeping.next"

_GRANTS = sql.Sql("DELETE FROM oidc_grants WHERE expires_at < :cutoff")
_CODES = sql.Sql("DELETE FROM oidc_authorization_codes WHERE expires_at < :cutoff")
_REVOKED = sql.Sql("DELETE FROM oidc_revoked_access_tokens WHERE expires_at < :now")


async def sweep(runtime: Runtime, now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    cutoff = now - GRACE

    async def delete(tx: sql.Tx) -> dict[str, int]:
        return {
            "codes": await tx.run(_CODES, cutoff=cutoff),
            # Refresh tokens go with their grant (ON DELETE CASCADE).
            "grants": await tx.run(_GRANTS, cutoff=cutoff),
            "revoked_access_tokens": await tx.run(_REVOKED, now=now),
        }

    done = await sql.write(runtime.db, delete)
    done["trust_levels"] = await trust.sweep_expired(runtime, now)
    return done


async def maybe_sweep(runtime: Runtime) -> None:
    now = utcnow()
    due = runtime.extras.get(_NEXT)
    if due is not None and now < due:
        return
    runtime.extras[_NEXT] = now + EVERY
    if due is not None:  # not on a process's first request: the server just started
        await sweep(runtime, now)
