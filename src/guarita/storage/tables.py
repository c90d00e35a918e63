"""The tables. One metadata for every backend; Alembic migrations are generated from it.

Naming follows the domain: a *beneficiary* is a registry record imported from the organisation;
an *account* is what a person creates (or what a legacy import brings) to sign in; *identifiers*
are the values an account is found by and reached at, each with its own verification state.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from guarita.storage.types import UtcDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Beneficiary(Base):
    """One record of the organisation's registry, as imported (DESIGN.md › Beneficiary CSV)."""

    __tablename__ = "beneficiaries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    card_number: Mapped[str] = mapped_column(String(20), unique=True)
    cpf: Mapped[str | None] = mapped_column(String(11), index=True)
    birth_date: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(200))
    name_search: Mapped[str] = mapped_column(String(200), index=True)
    # The name the person is known and treated by (nome social, Decreto 8.727/2016): greetings
    # and the OpenID ``social_name`` claim use it; ``name`` stays the civil name of the registry.
    social_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    legacy_password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    beneficiary_id: Mapped[int | None] = mapped_column(
        ForeignKey("beneficiaries.id", ondelete="RESTRICT"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | disabled
    legacy: Mapped[bool] = mapped_column(Boolean, default=False)
    # Computed from ``identity_evidence`` by ``services/trust.py`` in the transaction that adds
    # a row; ``trust_level_until`` is when an expiring row may change it (recompute then).
    trust_level: Mapped[str] = mapped_column(String(8), default="bronze")
    trust_level_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    password_disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Apps' grants made before this moment are dead (refresh and access tokens alike): set by
    # a password change, a recovery, a lock and a disable (sessions.end_all). Re-enabling the
    # account does not bring them back.
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The fraud guard (services/guard.py): until this moment the changes that could lock the
    # owner out are refused; ``hold_reason`` names the trigger (recovery, desk_contact,
    # new_device).
    hold_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    hold_reason: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class AccountIdentifier(Base):
    """A CPF, card, e-mail or phone of an account (docs/recovery.md › Entrar: "two separate questions").

    ``login_enabled`` answers *can it be used to sign in?*; ``verified_at`` answers *can it
    receive codes?* (e-mail and phone) or *was it proven?* (CPF and card). ``source`` says where
    it came from: ``registry``, ``self`` (the person added it) or ``support`` (an agent did).
    """

    __tablename__ = "account_identifiers"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_account_identifiers_kind_value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(254))
    source: Mapped[str] = mapped_column(String(16), default="registry")
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    login_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Cooling-off (SECURITY.md › Recovery): a contact added by the desk or by the person, and
    # not proven by a contact the account already had, receives no recovery code before this.
    recovery_allowed_after: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Credential(Base):
    """Every factor a principal holds, one row per (principal, type) — django-allauth's
    ``Authenticator`` shape (DESIGN.md › house rule 2).

    The principal is an account (``account_id``) or a desk member (``staff_id``), each a foreign
    key so rows go with their owner; ``principal_kind`` says which is set. ``kind`` is the type:

    - ``password``: ``hash`` is the verifier (argon2id, or a legacy bcrypt/PBKDF2 until rehashed)
      and ``algorithm`` names it; read by the sign-in fast path and the refresh-token check;
    - ``totp``: ``data["sealed"]`` is the RFC 6238 secret sealed with AES-GCM
      (``methods/totp.seal``, bound to the principal); ``counter`` is the last time step
      accepted, raised with ``UPDATE … WHERE counter < :step`` so a code is accepted once;
    - ``recovery_codes``: ``data["hashes"]`` the HMACs of the codes shown once,
      ``data["used"]`` the positions spent; ``counter`` is a version for the compare-and-set
      that makes each code single use.
    """

    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("account_id", "kind", name="uq_credentials_account_kind"),
        UniqueConstraint("staff_id", "kind", name="uq_credentials_staff_kind"),
        # Exactly one owner, and principal_kind names it.
        CheckConstraint("(account_id IS NULL) <> (staff_id IS NULL)", name="one_owner"),
        CheckConstraint("(principal_kind = 'staff') = (staff_id IS NOT NULL)", name="kind_matches"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    principal_kind: Mapped[str] = mapped_column(String(8), default="account")
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("staff_accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="password")
    algorithm: Mapped[str | None] = mapped_column(String(32))  # argon2id | bcrypt | pbkdf2_sha256
    hash: Mapped[str | None] = mapped_column(String(512))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    counter: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AuditEvent(Base):
    """Append-only, hash-chained (``guarita audit verify``). SECURITY.md › Data (LGPD)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tag: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(64), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditCheckpoint(Base):
    """Where the chain starts after retention removed its oldest rows (docs/scale.md ›
    Partitioning the audit and outbox tables by month): the last removed event's ``{seq, hash}``,
    which the first kept event's ``prev_hash`` must equal. ``mac`` is an HMAC with the chain's key,
    so a database writer cannot make up a checkpoint to hide a deletion."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    hash: Mapped[str] = mapped_column(String(64))
    # Events created before this instant were removed.
    through: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    mac: Mapped[str] = mapped_column(String(64))


class OutboxMessage(Base):
    """A message to deliver, written in the same transaction as its cause (house style 8)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(8))  # email | sms | logout (back-channel)
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255), default="")
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str | None] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # A one-time code is useless after it expires: such a message is dropped, not sent late.
    discard_after: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Session(Base):
    """A signed-in browser or app of a beneficiary (``account_id``) or of a desk member
    (``staff_id``); ``principal_kind`` says which, and each kind is loaded only by its own
    cookie. Only the SHA-256 of the token is stored (SECURITY.md › Sessions and cookies)."""

    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint("(account_id IS NULL) <> (staff_id IS NULL)", name="one_owner"),
        CheckConstraint("(principal_kind = 'staff') = (staff_id IS NOT NULL)", name="kind_matches"),
    )

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    principal_kind: Mapped[str] = mapped_column(String(8), default="account")
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    auth_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    reauth_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    amr: Mapped[list] = mapped_column(JSON, default=list)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Throttle(Base):
    """Failure counters and rate-limit windows, shared by every worker process.

    ``key`` names what is counted: ``login:acct:<id>``, ``login:unknown:<hash>``,
    ``ip:login:<ip>``. Kept in the database so that several uvicorn workers and several servers
    agree (SECURITY.md › Throttling).
    """

    __tablename__ = "throttles"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class KeyValue(Base):
    """Small pieces of server state (signing keys, used captcha solutions) with an expiry."""

    __tablename__ = "key_values"

    namespace: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)


class Flow(Base):
    """A self-service flow with a state and an expiry (house style 1; Kratos ``selfservice/flow``).

    ``id_hash`` is the SHA-256 of the flow token the client holds (in a cookie or the API's
    ``recovery_id``); ``code_hmac`` the HMAC of the current one-time code, bound to this flow and
    its purpose. Flows of unknown identifiers exist too (``account_id`` empty) and go through the
    same states, so that nothing in the answers tells them apart.
    """

    __tablename__ = "flows"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))  # recovery | contact_verification
    state: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    identifier_kind: Mapped[str | None] = mapped_column(String(8))
    identifier_value: Mapped[str | None] = mapped_column(String(254))
    method: Mapped[str | None] = mapped_column(String(16))
    channel_identifier_id: Mapped[int | None] = mapped_column(BigId)
    code_hmac: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    codes_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_code_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class FaceReference(Base):
    """The trusted face of a registry person: a template from the registry photo or from a
    capture by a supervisor after an in-person document check (``docs/face.md``).

    Keyed by the beneficiary, not the account: the registry's photos arrive before people
    register, and the account that registers reaches it through ``accounts.beneficiary_id``.
    ``template`` is the sealed descriptor (``methods/face_templates.py``, bound to the
    beneficiary); ``photo`` the sealed photo only with ``GUARITA_FACE__KEEP_PHOTOS``;
    ``photo_digest`` the SHA-256 of the photo file, so an unchanged photo costs no work at the
    next import.
    """

    __tablename__ = "face_references"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    beneficiary_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("beneficiaries.id", ondelete="CASCADE"), unique=True
    )
    source: Mapped[str] = mapped_column(String(16))  # registry | in_person
    template: Mapped[bytes] = mapped_column(LargeBinary)
    photo_digest: Mapped[str] = mapped_column(String(64))
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)
    captured_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class IdentityEvidence(Base):
    """Evidence of who a person is (``domain/evidence.py``), written only by
    ``services/trust.py``, which computes ``accounts.trust_level`` from these rows
    (``domain/trust_levels.py``; ``docs/trust-levels.md``).

    ``source`` says against what or by whom it was proven (a face: ``registry``, ``in_person``
    or ``datavalid``; a bank or gov.br: the provider id; a document: its type); ``level`` is
    the level gov.br asserted, or the level a ``level_cap`` row caps at; ``liveness`` whether a
    face was proven alive; ``recorded_by`` who recorded it (``self``, ``staff:12``,
    ``token:3``, ``system``)."""

    __tablename__ = "identity_evidence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    source: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(8))
    liveness: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sql_text("false"))
    recorded_by: Mapped[str] = mapped_column(String(64), default="self", server_default="self")
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
