"""Erasing an account at its owner's request (LGPD art. 18 IV and VI; docs/privacy.md › O que a
exclusão guarda).

In one transaction, in this order:

1. the face template and photo (biometric data, sensitive: art. 11) — first, so that nothing
   after it can fail and leave them behind;
2. every session and app token ends, and the apps hear it (Back-Channel Logout, through the
   outbox: the logout token names only the pseudonymous ``sub``);
3. queued messages to the person's contacts that were not sent yet, and the sign-in counters;
4. the account and everything hanging from it (identifiers and contacts, credentials,
   evidence, flows, grants and consents, bank and gov.br links, the desk's pending changes and
   document checks — all ``ON DELETE CASCADE``);
5. the copy of the registry record (name, CPF, birth date, contacts, the old portal's
   password) and the desk's caller checks on it.

What stays, and why: the audit trail, unchanged — its rows are an HMAC chain that ``guarita
audit verify`` checks, and the law asks for the record of accesses (Marco Civil da Internet
art. 15; LGPD art. 16 I and art. 37). Its subject is the account's random id (or
``beneficiary:<n>``), which after this resolves to no one: the trail is pseudonymised without
rewriting a row. An :class:`Erasure` row remembers the account id and an HMAC of the card
number, so the next registry import does not bring the old portal's password back as a legacy
account; the request itself stays, without the person's own text.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.runtime import Runtime
from guarita.services import sessions
from guarita.storage.audit import AUDIT_KEY, RequestContext, record
from guarita.storage.privacy_tables import Erasure, PrivacyRequest
from guarita.storage.support_tables import SupportCallerCheck
from guarita.storage.tables import Account, Beneficiary, FaceReference, OutboxMessage, Throttle
from guarita.storage.types import utcnow


@dataclass(frozen=True)
class Erased:
    account_id: str
    face_removed: bool
    sessions_ended: int
    messages_dropped: int


def card_digest(session: AsyncSession, card_number: str) -> str:
    """HMAC-SHA-256 of a card number under the audit key (kept outside the database)."""
    key = session.info.get(AUDIT_KEY) or b""
    return hmac.new(key, card_number.encode(), hashlib.sha256).hexdigest()


async def erased_cards(session: AsyncSession, cards: list[str]) -> set[str]:
    """Which of these card numbers belonged to an erased account."""
    if not cards:
        return set()
    digests = {card_digest(session, c): c for c in cards}
    found = (await session.execute(select(Erasure.card_digest).where(
        Erasure.card_digest.in_(list(digests))))).scalars().all()
    return {digests[d] for d in found if d in digests}


async def erase_in(session: AsyncSession, account_id: str, *, by: str,
                   context: RequestContext | None = None, request_id: str | None = None,
                   reason: str | None = None) -> Erased:
    """Erases the account inside the caller's transaction (see the module's list)."""
    account = await session.get(Account, account_id)
    if account is None:
        raise GuaritaError(ErrorCode.NO_ACCOUNT)
    beneficiary = (await session.get(Beneficiary, account.beneficiary_id)
                   if account.beneficiary_id is not None else None)
    face_removed = False
    if beneficiary is not None:
        removed = await session.execute(delete(FaceReference).where(
            FaceReference.beneficiary_id == beneficiary.id))
        face_removed = bool(removed.rowcount)
    ended = await sessions.end_all(session, account_id)
    dropped = await session.execute(delete(OutboxMessage).where(
        OutboxMessage.account_id == account_id, OutboxMessage.channel != "logout",
        OutboxMessage.status.in_(("pending", "failed"))))
    # Sent messages keep their row for the outbox's own bookkeeping, without the person's
    # address or text.
    await session.execute(update(OutboxMessage).where(
        OutboxMessage.account_id == account_id, OutboxMessage.channel != "logout")
        .values(to="", text="", html=None, account_id=None))
    await session.execute(delete(Throttle).where(Throttle.key.contains(account_id)))
    digest = card_digest(session, beneficiary.card_number) if beneficiary is not None else None
    await session.execute(delete(Account).where(Account.id == account_id))
    if beneficiary is not None:
        await session.execute(delete(SupportCallerCheck).where(
            SupportCallerCheck.beneficiary_id == beneficiary.id))
        await session.execute(delete(Beneficiary).where(Beneficiary.id == beneficiary.id))
    await session.execute(update(PrivacyRequest).where(PrivacyRequest.account_id == account_id)
                          .values(what=None, reason=None))
    # Any other request of the account still open has nothing left to act on.
    await session.execute(update(PrivacyRequest).where(
        PrivacyRequest.account_id == account_id, PrivacyRequest.status == "open")
        .values(status="closed", decided_at=utcnow(), decided_by=by))
    session.add(Erasure(account_id=account_id, card_digest=digest, request_id=request_id,
                        erased_by=by))
    await record(session, AuditTag.ACCOUNT_ERASED, subject=account_id, context=context, actor=by,
                 details={"request": request_id, "reason": reason, "face_removed": face_removed,
                          "sessions_ended": ended, "messages_dropped": dropped.rowcount or 0})
    return Erased(account_id, face_removed, ended, dropped.rowcount or 0)


async def erase(runtime: Runtime, account_id: str, *, by: str,
                context: RequestContext | None = None, request_id: str | None = None,
                reason: str | None = None) -> Erased:
    """An operator's erasure (``guarita privacy erase``), with the reason in the audit."""
    async with runtime.db.transaction() as session:
        return await erase_in(session, account_id, by=by, context=context, request_id=request_id,
                              reason=reason)
