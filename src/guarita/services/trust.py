"""Evidence of identity and the trust level computed from it (``docs/trust-levels.md``).

Every proof of who a person is goes through :func:`record_evidence`, and every lowering
through :func:`lower`: each adds one ``identity_evidence`` row and recomputes
``accounts.trust_level`` from the account's rows in the same transaction, with the table of
``domain/trust_levels.py`` and the ``GUARITA_TRUST__*`` settings. So the stored level is always
what the rows make, and whoever reads it after the transaction (the OpenID provider, step-up)
reads a current level. Only an expiry changes the level without a new row: the account keeps
``trust_level_until`` and :func:`current_level` recomputes once that moment has passed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.accounts import TrustLevel
from guarita.domain.audit_tags import AuditTag
from guarita.domain.evidence import EvidenceKind
from guarita.domain.trust_levels import GOVBR_LEVELS, Assessment, Evidence, assess
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Account, IdentityEvidence
from guarita.storage.types import utcnow

if TYPE_CHECKING:
    from guarita.config import Settings
    from guarita.runtime import Runtime

# ``recorded_by`` of what the person proved themselves, and of what Guarita did on its own.
SELF = "self"
SYSTEM = "system"


async def record_evidence(
    session: AsyncSession, settings: Settings, account_id: str, kind: EvidenceKind | str | None,
    *, method: str | None, source: str | None = None, level: str | None = None,
    liveness: bool = False, recorded_by: str = SELF, context: RequestContext | None = None,
    now: datetime | None = None,
) -> TrustLevel:
    """Records one proof and answers the account's level after it (``None`` kind: nothing to
    record, e.g. a password; the level is answered unchanged).

    ``source``: against what or by whom (face: ``registry``/``in_person``/``datavalid``; bank
    and gov.br: the provider id; in-person document: its type). ``level``: the level gov.br
    asserted (``bronze``/``silver``/``gold`` or Guarita's names). ``liveness``: the face was
    proven alive. ``recorded_by``: ``self``, ``system`` or a desk actor's audit id.
    """
    if kind is None:
        return await current_level(session, settings, account_id, now=now)
    now = now or utcnow()
    session.add(IdentityEvidence(
        account_id=account_id, kind=EvidenceKind(kind).value, source=(source or None) and source[:64],
        method=(method or None) and method[:32], level=_level_name(kind, level), liveness=liveness,
        recorded_by=(recorded_by or SELF)[:64], recorded_at=now))
    await session.flush()
    # Strong evidence of the person ends a fraud-guard hold (docs/fraud-guard.md).
    from guarita.services import guard

    await guard.lift_on_evidence(session, account_id, EvidenceKind(kind).value, context=context,
                                 now=now, recorded_by=recorded_by)
    return await recompute(session, settings, account_id, context=context, now=now,
                           why=EvidenceKind(kind).value, by=recorded_by)


async def lower(
    session: AsyncSession, settings: Settings, account_id: str, to: TrustLevel | str, *,
    reason: str, recorded_by: str = SYSTEM, context: RequestContext | None = None,
    now: datetime | None = None,
) -> TrustLevel:
    """Caps the account at ``to`` until new evidence arrives (a ``level_cap`` row whose method
    is ``reason``: ``recovery_code``, ``desk_contact_change``, ``kba_only``)."""
    now = now or utcnow()
    session.add(IdentityEvidence(
        account_id=account_id, kind=EvidenceKind.LEVEL_CAP.value, method=reason[:32],
        level=TrustLevel(to).value, recorded_by=(recorded_by or SYSTEM)[:64], recorded_at=now))
    await session.flush()
    return await recompute(session, settings, account_id, context=context, now=now, why=reason,
                           by=recorded_by)


def _level_name(kind: EvidenceKind | str, level: str | None) -> str | None:
    if level is None:
        return None
    if kind == EvidenceKind.GOVBR:
        return GOVBR_LEVELS.get(level.lower(), TrustLevel.BRONZE).value
    return TrustLevel.of(level).value


async def rows_of(session: AsyncSession, account_id: str) -> list[IdentityEvidence]:
    return list((await session.execute(
        select(IdentityEvidence).where(IdentityEvidence.account_id == account_id)
        .order_by(IdentityEvidence.recorded_at, IdentityEvidence.id))).scalars())


async def assessment(session: AsyncSession, settings: Settings, account_id: str,
                     now: datetime | None = None) -> Assessment:
    """What the account's rows make at ``now`` (reads only)."""
    rows = await rows_of(session, account_id)
    return assess(
        (Evidence(kind=r.kind, recorded_at=r.recorded_at, source=r.source, level=r.level,
                  liveness=bool(r.liveness)) for r in rows),
        settings.trust.rules, settings.trust.expiry_days, now or utcnow())


async def recompute(session: AsyncSession, settings: Settings, account_id: str, *,
                    context: RequestContext | None = None, now: datetime | None = None,
                    why: str = "recompute", by: str = SYSTEM) -> TrustLevel:
    """Sets ``accounts.trust_level`` from the rows; a change is audited
    (``account.trust_level.changed`` with before, after and why)."""
    now = now or utcnow()
    # The account's row is locked before its evidence is read: two proofs recorded at once
    # (a document at the desk, a face on the phone) each see the other's row, so ouro's
    # combination is not lost to a race. SQLite's write transactions are serial already.
    await session.execute(select(Account.id).where(Account.id == account_id).with_for_update())
    account = await session.get(Account, account_id)
    if account is None:
        return TrustLevel.BRONZE
    found = await assessment(session, settings, account_id, now)
    before = TrustLevel.of(account.trust_level)
    account.trust_level = found.level.value
    account.trust_level_until = found.until
    if found.level != before:
        await record(session, AuditTag.TRUST_LEVEL_CHANGED, subject=account_id, context=context,
                     details={"before": before.value, "after": found.level.value, "why": why,
                              "by": by})
    return found.level


async def sweep_expired(runtime: Runtime, now: datetime | None = None, limit: int = 500) -> int:
    """Recomputes the accounts whose ``trust_level_until`` has passed (an evidence row expired),
    at most ``limit`` per call; answers how many. Run by the provider's housekeeping, so an
    expired level stops reaching tokens within its interval even if the person never opens
    Minha conta."""
    now = now or utcnow()
    async with runtime.db.transaction() as session:
        due = list((await session.execute(
            select(Account.id).where(Account.trust_level_until.is_not(None),
                                     Account.trust_level_until <= now)
            .limit(limit))).scalars())
        for account_id in due:
            await recompute(session, runtime.settings, account_id, now=now, why="expired")
    return len(due)


async def current_level(session: AsyncSession, settings: Settings, account_id: str, *,
                        now: datetime | None = None) -> TrustLevel:
    """The account's level, recomputed first when an expiry has passed since it was stored
    (call it inside a transaction; it writes only then)."""
    now = now or utcnow()
    account = await session.get(Account, account_id)
    if account is None:
        return TrustLevel.BRONZE
    if account.trust_level_until is not None and account.trust_level_until <= now:
        return await recompute(session, settings, account_id, now=now, why="expired")
    return TrustLevel.of(account.trust_level)
