"""Tables of the LGPD requests (docs/privacy.md › Pedidos): what a person asked, what the desk
decided, and the erasures done.

Neither table has a foreign key to ``accounts``: both must outlive the account they are about.
``account_id`` is the account's random id, the same one the audit trail names as subject;
once the account is erased it resolves to no one (the pseudonymisation of docs/privacy.md ›
O que a exclusão guarda).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from guarita.storage.tables import Base, BigId
from guarita.storage.types import UtcDateTime, utcnow


class PrivacyRequest(Base):
    """A correction (LGPD art. 18 III) or deletion (art. 18 IV, VI) request.

    ``status``: ``open`` until a supervisor decides, then ``approved`` or ``rejected``
    (``decision_reason`` says why, ``decided_by`` who, as the audit names actors); ``closed``
    when the account was erased while it was open. The person's own text (``what``,
    ``reason``) is blanked when the account is erased.
    """

    __tablename__ = "privacy_requests"
    __table_args__ = (Index("ix_privacy_requests_status", "status", "filed_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # correction | deletion
    status: Mapped[str] = mapped_column(String(16), default="open")
    what: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_reason: Mapped[str | None] = mapped_column(Text)


class Erasure(Base):
    """An account erased at its owner's request (or by an operator's ``guarita privacy erase``).

    ``card_digest`` is the HMAC of the registry card number under the audit key: the registry
    import does not bring a legacy account back for that card (the person may still register
    again through Cadastro). Nothing else of the person is kept here.
    """

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(32), unique=True)
    card_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    request_id: Mapped[str | None] = mapped_column(String(32))
    erased_by: Mapped[str] = mapped_column(String(64))
    erased_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
