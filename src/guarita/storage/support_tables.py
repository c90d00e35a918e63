"""Tables of the support desk (docs/support-desk.md), on the same metadata as the rest of Guarita.

Staff are not beneficiaries: they have their own accounts, sessions and second factor, and none
of these tables is reachable from a beneficiary's sign-in. Every secret is stored so that a copy
of the database cannot be used: passwords as argon2id, session ids, enrolment links, recovery
codes and API tokens as SHA-256 or HMAC digests, TOTP secrets and pending contact flows encrypted
(``methods/totp.seal``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from guarita.storage.tables import Base, BigId
from guarita.storage.types import UtcDateTime, utcnow


class StaffAccount(Base):
    """A person of the support desk: agent, supervisor or admin (``domain/roles.py``).

    ``status``: ``pending`` until the enrolment link is used, then ``active``; ``disabled`` by an
    admin or by the 100th consecutive failed sign-in. The password, the TOTP secret and the
    recovery codes are rows of the one credentials table (``storage/tables.py`` › Credential) and
    the sessions rows of the one sessions table, as every principal's are.
    """

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    enrolled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class StaffEnrolment(Base):
    """A single-use enrolment link (24 h). ``totp_secret`` is the secret offered on the page,
    kept (sealed) so that reloading the page shows the same QR code."""

    __tablename__ = "staff_enrolments"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True
    )
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SupportApiToken(Base):
    """A bearer token of the support API for the organisation's CRM.

    256 random bits, stored as SHA-256 (SECURITY.md: high-entropy secrets are not password-hashed);
    ``prefix`` is the first characters, enough to tell tokens apart in a list.
    """

    __tablename__ = "support_api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SupportCallerCheck(Base):
    """A caller check: what reason the agent gave and whether the caller's data matched.

    A passing check is the *unlock grant*: for ``GRANT_MINUTES`` it lets this actor (a staff
    member or an API token) see the person unmasked and act on them. Failed checks are kept to
    limit guessing (``config.py › SupportSettings``, ``GUARITA_SUPPORT__*``).
    """

    __tablename__ = "support_caller_checks"
    __table_args__ = (Index("ix_support_caller_checks_actor_person", "actor", "beneficiary_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(64))
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiaries.id", ondelete="CASCADE"))
    passed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(32))
    reason_text: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SupportContactChange(Base):
    """An e-mail or phone an agent is registering: the verification flow it waits on.

    ``id`` is what the console and the API show (random, not the flow's token); ``flow_ref`` is
    the contact-verification flow's own identifier, sealed, so the agent never holds it.
    """

    __tablename__ = "support_contact_changes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiaries.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    destination: Mapped[str] = mapped_column(String(64))  # masked
    flow_ref: Mapped[str] = mapped_column(String(512))
    # How the change is proven beyond the caller check (SECURITY.md › Recovery):
    # ``existing_contact`` (a code sent to a contact the account already had, ``proof_ref``),
    # ``in_person`` (a supervisor's document check) or ``caller_check`` (no contact before).
    proof: Mapped[str] = mapped_column(String(16), default="caller_check")
    proof_ref: Mapped[str | None] = mapped_column(String(512))
    proof_destination: Mapped[str | None] = mapped_column(String(64))  # masked
    reason: Mapped[str] = mapped_column(String(32))
    reason_text: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SupportIdentityCheck(Base):
    """An in-person document check by a supervisor: evidence for the account's trust level."""

    __tablename__ = "support_identity_checks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(64))
    document_type: Mapped[str] = mapped_column(String(16))
    document_number: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(32))
    reason_text: Mapped[str | None] = mapped_column(String(500))
    trust_before: Mapped[str] = mapped_column(String(8))
    trust_after: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
