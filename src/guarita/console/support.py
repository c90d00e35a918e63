"""The support desk's use cases, shared by the console and the support API (issue 6).

The rules, checked here and nowhere else:

1. **Masked until proven.** Search results and the person view show masked data
   (``***.456.789-**``, ``j***@g***.com``, card ``****5678``, first name and initials) until this
   actor has recorded a reason *and* a caller check passed (:func:`caller_check`). The check
   compares what the caller says (birth date plus CPF or card number) with the registry and answers
   only "confere" or "não confere"; the values to compare are never shown, before or after. A
   passing check is a grant for ``GRANT_MINUTES`` to this actor for this person.
2. **Every action needs a reason** (one of :data:`labels.REASONS`, free text for "outro") and a
   live grant, and writes an audit event with the agent, the subject, the reason and the outcome —
   refusals included.
3. **Agents never see or set passwords, codes, tokens or secrets.** Codes go to the person's
   contacts through the outbox; the contact-verification flow's handle is kept sealed server-side
   (``SupportContactChange.flow_ref``); the CPF and the birth date are never shown in full; the
   card number only through the audited "reveal" action.
4. **Roles** are checked at the edge (``console/pages.py``, ``console/api.py``) from
   ``console/roles.py``; the supervisor-only actions (re-enable a password, disable or enable an
   account, record an in-person identity check) are separate functions with their own permission.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select

from guarita.console import labels, policy
from guarita.console.roles import Actor
from guarita.console.tables import (
    StaffAccount,
    SupportApiToken,
    SupportCallerCheck,
    SupportContactChange,
    SupportIdentityCheck,
)
from guarita.domain import identifiers as ids
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, FieldErrors, GuaritaError
from guarita.methods import totp
from guarita.runtime import Runtime
from guarita.services import sessions, throttling
from guarita.services.account import device_of
from guarita.services.registry_rows import name_search_key
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import (
    Account,
    AccountIdentifier,
    AuditEvent,
    Beneficiary,
    OutboxMessage,
    Throttle,
)
from guarita.storage.types import utcnow

SEARCH_KINDS = ("auto", "cpf", "card", "email", "phone", "name")
_PARTICLES = {"da", "de", "do", "das", "dos", "e", "di", "du", "del", "van", "von"}
_LIKE_SPECIALS = re.compile(r"([\\%_])")


# --- small pure helpers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    code: str
    text: str | None

    @property
    def label(self) -> str:
        return labels.REASONS[self.code]

    def details(self) -> dict[str, str]:
        found = {"reason": self.code}
        if self.text:
            found["reason_text"] = self.text
        return found


def parse_reason(code: str | None, text: str | None) -> Reason:
    """One reason of the short list; free text optional, required (10+ letters) for "outro"."""
    clean_code = (code or "").strip()
    clean_text = " ".join((text or "").split())[:500] or None
    if clean_code not in labels.REASONS:
        raise GuaritaError(ErrorCode.REASON_REQUIRED, field="reason")
    if clean_code == "outro" and (clean_text is None or len(clean_text) < 10):
        raise GuaritaError(
            ErrorCode.REASON_REQUIRED,
            field="reason_text",
            message="Descreva o motivo do atendimento (ao menos 10 letras).",
        )
    return Reason(clean_code, clean_text)


def mask_name(name: str) -> str:
    """``Maria da Conceição Silva`` → ``Maria da C. S.``: enough to tell people apart in a list,
    not enough to read a full name to a caller who does not know it."""
    parts = (name or "").split()
    if not parts:
        return ""
    shown = [parts[0]]
    for part in parts[1:]:
        shown.append(part if part.lower() in _PARTICLES else f"{part[0]}.")
    return " ".join(shown)


def _mask(kind: str, value: str | None) -> str | None:
    if not value:
        return None
    if kind == "cpf":
        return ids.mask_cpf(value)
    if kind == "card":
        return ids.mask_card(value)
    if kind == "email":
        return ids.mask_email(value)
    if kind == "phone":
        return ids.mask_phone(value)
    return "***"


def _shown(kind: str, value: str | None, unmasked: bool) -> str | None:
    """What the desk may read: contacts in full once opened; the CPF and the card never here
    (the CPF is what callers prove themselves with; the card only through its audited reveal)."""
    if not value:
        return None
    if unmasked and kind == "email":
        return value
    if unmasked and kind == "phone":
        return ids.format_phone(value)
    return _mask(kind, value)


def subject_of(beneficiary_id: int, account_id: str | None) -> str:
    """The audit subject: the account when there is one, so the person sees it in their history."""
    return account_id or f"beneficiary:{beneficiary_id}"


def _context(actor: Actor, context: RequestContext) -> RequestContext:
    return RequestContext(ip=context.ip, user_agent=context.user_agent, actor=actor.audit_id)


def _delegated(actor: Actor, context: RequestContext) -> RequestContext:
    """The context handed to the contacts service, without the IP.

    That service limits code requests per client IP (30 in 5 minutes), a guard against
    anonymous abuse; a desk behind one NAT address, or the CRM calling from one server, would
    hit it within minutes. Desk actions are gated instead by an authenticated actor and a
    passing caller check per person, and the desk's own audit events keep the IP.
    """
    return RequestContext(ip=None, user_agent=context.user_agent, actor=actor.audit_id)


# Errors after which a contact registration cannot go on (a wrong code can be typed again).
_CHANGE_OVER = {
    ErrorCode.TOO_MANY_ATTEMPTS,
    ErrorCode.RECOVERY_EXPIRED,
    ErrorCode.FLOW_STATE_INVALID,
    ErrorCode.CONTACT_IN_USE,
}


# --- finding people ----------------------------------------------------------------------------


@dataclass
class PersonSummary:
    id: int
    name: str
    cpf: str | None
    card: str
    has_account: bool
    state: str
    state_label: str

    def as_json(self) -> dict:
        return asdict(self)


@dataclass
class SearchResult:
    query_kinds: list[str]
    people: list[PersonSummary]
    truncated: bool = False


def _interpret(query: str, kind: str, settings) -> list[tuple[str, str]]:  # noqa: ANN001
    """What the typed text can be, as ``(kind, normalised value)`` pairs."""
    text = (query or "").strip()
    if not text:
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR,
            field="q",
            message="Digite o CPF, a carteirinha, o e-mail, o celular ou o nome.",
        )
    if len(text) > 254:
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="q", message="Busca longa demais.")
    cmin, cmax = settings.card_min_length, settings.card_max_length
    if kind not in SEARCH_KINDS:
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR, field="kind", message="Tipo de busca inválido."
        )
    if kind == "cpf":
        return [("cpf", ids.normalize_cpf(text, field="q"))]
    if kind == "card":
        return [("card", ids.normalize_card(text, cmin, cmax, field="q"))]
    if kind == "email":
        return [("email", ids.normalize_email(text, field="q"))]
    if kind == "phone":
        return [("phone", ids.normalize_phone(text, field="q"))]
    if kind == "name":
        return [("name", _name_query(text))]
    if "@" in text:
        return [("email", ids.normalize_email(text, field="q"))]
    digits = re.sub(r"[\s.\-/()+]", "", text)
    if digits.isdigit():
        found: list[tuple[str, str]] = []
        if ids.is_cpf(digits):
            found.append(("cpf", ids.normalize_cpf(digits)))
        for kind_, normalise in (
            ("card", lambda: ids.normalize_card(digits, cmin, cmax)),
            ("phone", lambda: ids.normalize_phone(text)),
        ):
            try:
                found.append((kind_, normalise()))
            except GuaritaError:
                pass
        if not found:
            raise GuaritaError(
                ErrorCode.VALIDATION_ERROR,
                field="q",
                message=(
                    "Esses números não formam um CPF, uma carteirinha nem um celular válidos."
                ),
            )
        return found
    return [("name", _name_query(text))]


def _name_query(text: str) -> str:
    folded = " ".join(name_search_key(text).split())
    if len(folded.replace(" ", "")) < 3:
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR, field="q", message="Digite ao menos 3 letras do nome."
        )
    return folded


async def _beneficiary_ids(session, kind: str, value: str, limit: int) -> list[int]:  # noqa: ANN001
    if kind == "cpf":
        where = Beneficiary.cpf == value
    elif kind == "card":
        where = Beneficiary.card_number == value
    elif kind in ("email", "phone"):
        column = Beneficiary.email if kind == "email" else Beneficiary.phone
        via_accounts = (
            select(Account.beneficiary_id)
            .join(AccountIdentifier, AccountIdentifier.account_id == Account.id)
            .where(AccountIdentifier.kind == kind, AccountIdentifier.value == value)
        )
        where = or_(column == value, Beneficiary.id.in_(via_accounts))
    else:
        # A prefix of the name or of any later word of it ("conc" finds "Maria da Conceição").
        escaped = _LIKE_SPECIALS.sub(r"\\\1", value)
        where = or_(
            Beneficiary.name_search.like(f"{escaped}%", escape="\\"),
            Beneficiary.name_search.like(f"% {escaped}%", escape="\\"),
        )
    rows = await session.execute(
        select(Beneficiary.id)
        .where(where)
        .order_by(Beneficiary.name_search, Beneficiary.id)
        .limit(limit)
    )
    return [row[0] for row in rows]


async def search(
    runtime: Runtime,
    actor: Actor,
    query: str,
    context: RequestContext,
    *,
    kind: str = "auto",
) -> SearchResult:
    """People matching ``query``, masked; the search itself is audited (without the query)."""
    wanted = _interpret(query, kind or "auto", runtime.settings)
    limit = policy.SEARCH_LIMIT
    now = utcnow()
    async with runtime.db.transaction() as session:
        found: list[int] = []
        for kind_, value in wanted:
            for beneficiary_id in await _beneficiary_ids(session, kind_, value, limit + 1):
                if beneficiary_id not in found:
                    found.append(beneficiary_id)
        truncated = len(found) > limit
        found = found[:limit]
        people = await _summaries(session, found, now)
        await record(
            session,
            AuditTag.SUPPORT_SEARCHED,
            context=_context(actor, context),
            details={
                **actor.audit_details(),
                "kinds": [k for k, _ in wanted],
                "results": len(people),
            },
        )
    return SearchResult([k for k, _ in wanted], people, truncated)


async def _summaries(session, beneficiary_ids: list[int], now: datetime) -> list[PersonSummary]:  # noqa: ANN001
    if not beneficiary_ids:
        return []
    beneficiaries = {
        b.id: b
        for b in (
            await session.execute(select(Beneficiary).where(Beneficiary.id.in_(beneficiary_ids)))
        ).scalars()
    }
    accounts = {
        a.beneficiary_id: a
        for a in (
            await session.execute(
                select(Account).where(Account.beneficiary_id.in_(beneficiary_ids))
            )
        ).scalars()
    }
    locks = await _locks(session, [a.id for a in accounts.values()], now)
    people = []
    for beneficiary_id in beneficiary_ids:
        b = beneficiaries[beneficiary_id]
        account = accounts.get(b.id)
        state, _ = _state(account, locks.get(account.id) if account else None)
        people.append(
            PersonSummary(
                id=b.id,
                name=mask_name(b.name),
                cpf=_mask("cpf", b.cpf),
                card=ids.mask_card(b.card_number),
                has_account=account is not None,
                state=state,
                state_label=labels.STATES[state],
            )
        )
    return people


def _lock_key(account_id: str) -> str:
    return throttling.subject_key("login", account_id, "")


async def _locks(session, account_ids: list[str], now: datetime) -> dict[str, Throttle]:  # noqa: ANN001
    if not account_ids:
        return {}
    keys = {_lock_key(a): a for a in account_ids}
    rows = (await session.execute(select(Throttle).where(Throttle.key.in_(list(keys))))).scalars()
    return {keys[row.key]: row for row in rows}


def _state(account: Account | None, lock: Throttle | None) -> tuple[str, datetime | None]:
    """The one state the desk reads first (issue 6 › the person view), and the lock's end."""
    if account is None:
        return "no_account", None
    locked_until = lock.locked_until if lock is not None and lock.locked_until else None
    if locked_until is not None and locked_until <= utcnow():
        locked_until = None
    if account.status == "disabled":
        return "disabled", locked_until
    if account.password_disabled_at is not None:
        return "password_disabled", locked_until
    if locked_until is not None:
        return "locked", locked_until
    if account.legacy:
        return "legacy", None
    return "active", None


# --- the person view ---------------------------------------------------------------------------


@dataclass
class IdentifierItem:
    id: int
    kind: str
    kind_label: str
    display: str
    verified: bool
    login_enabled: bool
    source: str
    source_label: str


@dataclass
class ContactChoice:
    """A verified contact offered for a recovery, always by its masked form."""

    id: int
    kind: str
    masked: str


@dataclass
class LoginItem:
    at: datetime
    succeeded: bool
    ip: str | None
    device: str | None
    reason: str | None


@dataclass
class MessageItem:
    at: datetime
    channel: str
    destination: str
    template: str
    template_label: str
    status: str
    status_label: str


@dataclass
class AuditItem:
    at: datetime
    tag: str
    label: str
    actor: str
    outcome: str | None
    reason: str | None


@dataclass
class PendingChange:
    id: str
    kind: str
    destination: str
    expires_at: datetime


@dataclass
class PersonView:
    id: int
    unmasked: bool
    grant_expires_at: datetime | None
    grant_reason: str | None
    name: str
    cpf: str | None
    card: str
    has_account: bool
    account_id: str | None
    state: str
    state_label: str
    locked_until: datetime | None
    failures: int
    legacy: bool
    trust_level: str | None
    identifiers: list[IdentifierItem] = field(default_factory=list)
    registry_contacts: list[IdentifierItem] = field(default_factory=list)
    recovery_contacts: list[ContactChoice] = field(default_factory=list)
    logins: list[LoginItem] = field(default_factory=list)
    messages: list[MessageItem] = field(default_factory=list)
    audit: list[AuditItem] = field(default_factory=list)
    pending_changes: list[PendingChange] = field(default_factory=list)
    checks_left: int = policy.CALLER_CHECK_FAILURES

    @property
    def subject(self) -> str:
        return subject_of(self.id, self.account_id)

    def as_json(self) -> dict:
        data = asdict(self)
        for key in ("grant_expires_at", "locked_until"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        for section in ("logins", "messages", "audit"):
            for item in data[section]:
                item["at"] = item["at"].isoformat()
        for item in data["pending_changes"]:
            item["expires_at"] = item["expires_at"].isoformat()
        return data


async def _grant(
    session, actor: Actor, beneficiary_id: int, now: datetime
) -> SupportCallerCheck | None:  # noqa: ANN001
    return (
        await session.execute(
            select(SupportCallerCheck)
            .where(
                SupportCallerCheck.actor == actor.audit_id,
                SupportCallerCheck.beneficiary_id == beneficiary_id,
                SupportCallerCheck.passed.is_(True),
                SupportCallerCheck.expires_at > now,
            )
            .order_by(SupportCallerCheck.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def _recent_failures(session, actor: Actor, beneficiary_id: int, now: datetime) -> int:  # noqa: ANN001
    since = now - timedelta(minutes=policy.CALLER_CHECK_WINDOW_MINUTES)
    return (
        await session.execute(
            select(func.count())
            .select_from(SupportCallerCheck)
            .where(
                SupportCallerCheck.actor == actor.audit_id,
                SupportCallerCheck.beneficiary_id == beneficiary_id,
                SupportCallerCheck.passed.is_(False),
                SupportCallerCheck.created_at > since,
            )
        )
    ).scalar_one()


async def _person(session, beneficiary_id: int) -> tuple[Beneficiary, Account | None]:  # noqa: ANN001
    beneficiary = await session.get(Beneficiary, beneficiary_id)
    if beneficiary is None:
        raise GuaritaError(ErrorCode.NOT_FOUND, message="Pessoa não encontrada no cadastro.")
    account = (
        await session.execute(select(Account).where(Account.beneficiary_id == beneficiary_id))
    ).scalar_one_or_none()
    return beneficiary, account


async def person_view(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    context: RequestContext,
) -> PersonView:
    """The person as this actor may see them now: masked, or in full during a grant."""
    now = utcnow()
    async with runtime.db.transaction() as session:
        beneficiary, account = await _person(session, beneficiary_id)
        grant = await _grant(session, actor, beneficiary.id, now)
        unmasked = grant is not None
        lock = (await _locks(session, [account.id], now)).get(account.id) if account else None
        state, locked_until = _state(account, lock)
        view = PersonView(
            id=beneficiary.id,
            unmasked=unmasked,
            grant_expires_at=grant.expires_at if grant else None,
            grant_reason=grant.reason if grant else None,
            name=beneficiary.name if unmasked else mask_name(beneficiary.name),
            cpf=_mask("cpf", beneficiary.cpf),
            card=ids.mask_card(beneficiary.card_number),
            has_account=account is not None,
            account_id=account.id if account else None,
            state=state,
            state_label=labels.STATES[state],
            locked_until=locked_until,
            failures=lock.count if lock is not None else 0,
            legacy=bool(account and account.legacy),
            trust_level=account.trust_level if account else None,
            checks_left=max(
                0,
                policy.CALLER_CHECK_FAILURES
                - await _recent_failures(session, actor, beneficiary.id, now),
            ),
        )
        if account is not None:
            identifiers = await accounts_repo.identifiers_of(session, account.id)
            view.identifiers = [_identifier_item(i, unmasked) for i in identifiers]
            view.recovery_contacts = [
                ContactChoice(i.id, i.kind, _mask(i.kind, i.value))
                for i in identifiers
                if i.kind in ("email", "phone") and i.verified_at is not None
            ]
        else:
            for kind, value in (("email", beneficiary.email), ("phone", beneficiary.phone)):
                if value:
                    view.registry_contacts.append(
                        IdentifierItem(
                            0,
                            kind,
                            labels.KINDS[kind],
                            _shown(kind, value, unmasked),
                            False,
                            False,
                            "registry",
                            labels.SOURCES["registry"],
                        )
                    )
        if unmasked:
            if account is not None:
                view.logins = await _logins(session, account.id)
                view.messages = await _messages(session, account.id)
            view.audit = await _audit_trail(
                session, beneficiary.id, account.id if account else None
            )
            view.pending_changes = await _pending_changes(session, actor, beneficiary.id, now)
            await record(
                session,
                AuditTag.SUPPORT_PERSON_VIEWED,
                subject=subject_of(beneficiary.id, view.account_id),
                context=_context(actor, context),
                details={**actor.audit_details(), "beneficiary_id": beneficiary.id},
            )
    return view


def _identifier_item(identifier: AccountIdentifier, unmasked: bool) -> IdentifierItem:
    return IdentifierItem(
        id=identifier.id,
        kind=identifier.kind,
        kind_label=labels.KINDS.get(identifier.kind, identifier.kind),
        display=_shown(identifier.kind, identifier.value, unmasked),
        verified=identifier.verified_at is not None,
        login_enabled=identifier.login_enabled,
        source=identifier.source,
        source_label=labels.SOURCES.get(identifier.source, identifier.source),
    )


async def _logins(session, account_id: str) -> list[LoginItem]:  # noqa: ANN001
    events = (
        (
            await session.execute(
                select(AuditEvent)
                .where(
                    AuditEvent.subject == account_id,
                    AuditEvent.tag.in_(
                        [AuditTag.LOGIN_SUCCEEDED.value, AuditTag.LOGIN_FAILED.value]
                    ),
                )
                .order_by(AuditEvent.id.desc())
                .limit(10)
            )
        )
        .scalars()
        .all()
    )
    return [
        LoginItem(
            e.created_at,
            e.tag == AuditTag.LOGIN_SUCCEEDED.value,
            e.ip,
            device_of(e.user_agent),
            (e.details or {}).get("reason"),
        )
        for e in events
    ]


async def _messages(session, account_id: str) -> list[MessageItem]:  # noqa: ANN001
    """Channel, masked destination and status; never the text (it may carry a code)."""
    rows = (
        await session.execute(
            select(
                OutboxMessage.created_at,
                OutboxMessage.channel,
                OutboxMessage.to,
                OutboxMessage.template,
                OutboxMessage.status,
            )
            .where(OutboxMessage.account_id == account_id)
            .order_by(OutboxMessage.id.desc())
            .limit(10)
        )
    ).all()
    return [
        MessageItem(
            at,
            channel,
            _mask("email" if channel == "email" else "phone", to),
            template,
            labels.TEMPLATES.get(template, template),
            status,
            labels.MESSAGE_STATUS.get(status, status),
        )
        for at, channel, to, template, status in rows
    ]


async def _audit_trail(session, beneficiary_id: int, account_id: str | None) -> list[AuditItem]:  # noqa: ANN001
    subjects = [f"beneficiary:{beneficiary_id}"] + ([account_id] if account_id else [])
    events = (
        (
            await session.execute(
                select(AuditEvent)
                .where(AuditEvent.subject.in_(subjects))
                .order_by(AuditEvent.id.desc())
                .limit(30)
            )
        )
        .scalars()
        .all()
    )
    names = await actor_names(session, {e.actor for e in events if e.actor})
    return [
        AuditItem(
            at=e.created_at,
            tag=e.tag,
            label=labels.tag_label(e.tag),
            actor=names.get(e.actor, "a própria pessoa" if e.actor is None else e.actor),
            outcome=(e.details or {}).get("outcome"),
            reason=labels.REASONS.get((e.details or {}).get("reason", ""), None),
        )
        for e in events
    ]


async def actor_names(session, actors: set[str]) -> dict[str, str]:  # noqa: ANN001
    """``staff:3`` → ``Ana (atendente)``; ``token:2`` → ``API: CRM``."""
    staff_ids = [
        int(a.split(":", 1)[1]) for a in actors if a.startswith("staff:") and a[6:].isdigit()
    ]
    token_ids = [
        int(a.split(":", 1)[1]) for a in actors if a.startswith("token:") and a[6:].isdigit()
    ]
    names: dict[str, str] = {}
    if staff_ids:
        for row_id, name in (
            await session.execute(
                select(StaffAccount.id, StaffAccount.name).where(StaffAccount.id.in_(staff_ids))
            )
        ).all():
            names[f"staff:{row_id}"] = name
    if token_ids:
        for row_id, name in (
            await session.execute(
                select(SupportApiToken.id, SupportApiToken.name).where(
                    SupportApiToken.id.in_(token_ids)
                )
            )
        ).all():
            names[f"token:{row_id}"] = f"API: {name}"
    return names


async def _pending_changes(
    session, actor: Actor, beneficiary_id: int, now: datetime
) -> list[PendingChange]:  # noqa: ANN001
    rows = (
        (
            await session.execute(
                select(SupportContactChange)
                .where(
                    SupportContactChange.actor == actor.audit_id,
                    SupportContactChange.beneficiary_id == beneficiary_id,
                    SupportContactChange.completed_at.is_(None),
                    SupportContactChange.expires_at > now,
                )
                .order_by(SupportContactChange.created_at.desc())
            )
        )
        .scalars()
        .all()
    )
    return [PendingChange(r.id, r.kind, r.destination, r.expires_at) for r in rows]


# --- the caller check --------------------------------------------------------------------------


@dataclass
class CheckResult:
    passed: bool
    expires_at: datetime | None
    checks_left: int

    @property
    def answer(self) -> str:
        return "confere" if self.passed else "nao_confere"


async def caller_check(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    *,
    reason: Reason,
    birth_date: str,
    cpf: str | None,
    card_number: str | None,
    context: RequestContext,
) -> CheckResult:
    """Compares what the caller said with the registry; answers only whether it all matches.

    The birth date is always asked, plus the CPF or the card number (both may be given; all that
    is given must match). A malformed value is refused for its format (that says nothing about the
    person); after ``CALLER_CHECK_FAILURES`` mismatches within the hour this actor must wait.
    """
    settings = runtime.settings
    errors: list[GuaritaError] = []
    birth = cpf_value = card_value = None
    try:
        birth = ids.parse_birth_date(birth_date or "", field="birth_date")
    except GuaritaError as exc:
        errors.append(exc)
    if (cpf or "").strip():
        try:
            cpf_value = ids.normalize_cpf(cpf or "", field="cpf")
        except GuaritaError as exc:
            errors.append(exc)
    if (card_number or "").strip():
        try:
            card_value = ids.normalize_card(
                card_number or "",
                settings.card_min_length,
                settings.card_max_length,
                field="card_number",
            )
        except GuaritaError as exc:
            errors.append(exc)
    if not errors and cpf_value is None and card_value is None:
        errors.append(
            GuaritaError(
                ErrorCode.VALIDATION_ERROR,
                field="cpf",
                message=("Digite também o CPF ou o número da carteirinha que a pessoa disser."),
            )
        )
    if errors:
        raise FieldErrors(errors) if len(errors) > 1 else errors[0]
    now = utcnow()
    async with runtime.db.transaction() as session:
        beneficiary, account = await _person(session, beneficiary_id)
        subject = subject_of(beneficiary.id, account.id if account else None)
        failures = await _recent_failures(session, actor, beneficiary.id, now)
        if failures >= policy.CALLER_CHECK_FAILURES:
            await record(
                session,
                AuditTag.SUPPORT_CALLER_CHECKED,
                subject=subject,
                context=_context(actor, context),
                details={**actor.audit_details(), **reason.details(), "outcome": "blocked"},
            )
            blocked = True
        else:
            blocked = False
            matched = _matches(beneficiary, birth, cpf_value, card_value)
            row = SupportCallerCheck(
                actor=actor.audit_id,
                beneficiary_id=beneficiary.id,
                passed=matched,
                reason=reason.code,
                reason_text=reason.text,
                created_at=now,
                expires_at=now + timedelta(minutes=policy.GRANT_MINUTES) if matched else now,
            )
            session.add(row)
            await record(
                session,
                AuditTag.SUPPORT_CALLER_CHECKED,
                subject=subject,
                context=_context(actor, context),
                details={
                    **actor.audit_details(),
                    **reason.details(),
                    "outcome": "confere" if matched else "nao_confere",
                    "compared": ["birth_date"]
                    + (["cpf"] if cpf_value else [])
                    + (["card_number"] if card_value else []),
                },
            )
    if blocked:
        raise GuaritaError(
            ErrorCode.TOO_MANY_ATTEMPTS,
            message=(
                "Os dados não conferiram várias vezes. Aguarde uma hora ou passe o "
                "atendimento a um supervisor."
            ),
            details={"retry_after": policy.CALLER_CHECK_WINDOW_MINUTES * 60},
        )
    left = policy.CALLER_CHECK_FAILURES - failures - (0 if matched else 1)
    return CheckResult(matched, row.expires_at if matched else None, max(0, left))


def _matches(beneficiary: Beneficiary, birth: date, cpf: str | None, card: str | None) -> bool:
    # Every comparison is made, so the time taken does not say which one failed.
    results = [beneficiary.birth_date == birth]
    if cpf is not None:
        results.append(beneficiary.cpf is not None and beneficiary.cpf == cpf)
    if card is not None:
        results.append(beneficiary.card_number == card)
    return all(results)


# --- actions -----------------------------------------------------------------------------------


async def _opened(
    session,
    actor: Actor,
    beneficiary_id: int,
    now: datetime,
    *,  # noqa: ANN001
    needs_account: bool = True,
) -> tuple[Beneficiary, Account | None]:
    beneficiary, account = await _person(session, beneficiary_id)
    if await _grant(session, actor, beneficiary.id, now) is None:
        raise GuaritaError(ErrorCode.CALLER_CHECK_REQUIRED)
    if needs_account and account is None:
        raise GuaritaError(ErrorCode.NO_ACCOUNT)
    return beneficiary, account


async def _refused(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    tag: AuditTag,
    reason: Reason,
    error: GuaritaError,
    context: RequestContext,
    extra: dict | None = None,
) -> None:
    """The audit event of an action that did not happen, and why (issue 6: "outcome")."""
    if error.code is ErrorCode.NOT_FOUND:
        return
    async with runtime.db.transaction() as session:
        beneficiary = await session.get(Beneficiary, beneficiary_id)
        if beneficiary is None:
            return
        account = (
            await session.execute(
                select(Account.id).where(Account.beneficiary_id == beneficiary_id)
            )
        ).scalar_one_or_none()
        await record(
            session,
            tag,
            subject=subject_of(beneficiary_id, account),
            context=_context(actor, context),
            details={
                **actor.audit_details(),
                **reason.details(),
                **(extra or {}),
                "outcome": "refused",
                "error": str(error.code),
            },
        )


async def reveal_card(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    *,
    reason: Reason,
    context: RequestContext,
) -> str:
    """The card number, to read to the caller (audited each time)."""
    now = utcnow()
    try:
        async with runtime.db.transaction() as session:
            beneficiary, account = await _opened(
                session, actor, beneficiary_id, now, needs_account=False
            )
            await record(
                session,
                AuditTag.SUPPORT_CARD_REVEALED,
                subject=subject_of(beneficiary.id, account.id if account else None),
                context=_context(actor, context),
                details={**actor.audit_details(), **reason.details(), "outcome": "revealed"},
            )
            return beneficiary.card_number
    except GuaritaError as error:
        await _refused(
            runtime, actor, beneficiary_id, AuditTag.SUPPORT_CARD_REVEALED, reason, error, context
        )
        raise


@dataclass
class ContactChangeStarted:
    id: str
    kind: str
    destination: str
    expires_at: datetime


async def start_contact_change(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    *,
    kind: str,
    value: str,
    reason: Reason,
    context: RequestContext,
) -> ContactChangeStarted:
    """A code goes to the new e-mail or phone; it is saved only when the code comes back."""
    from guarita.services import contacts  # issue 4's service: the code round trip lives there

    now = utcnow()
    tag = AuditTag.SUPPORT_CONTACT_CODE_SENT
    try:
        kind_, normalized = contacts.normalize_contact(kind, value)
        async with runtime.db.transaction() as session:
            beneficiary, account = await _opened(session, actor, beneficiary_id, now)
        started = await contacts.start_verification(
            runtime,
            account.id,
            kind_.value,
            normalized,
            source="support",
            context=_delegated(actor, context),
        )
        change_id = secrets.token_hex(16)
        async with runtime.db.transaction() as session:
            session.add(
                SupportContactChange(
                    id=change_id,
                    actor=actor.audit_id,
                    beneficiary_id=beneficiary.id,
                    account_id=account.id,
                    kind=kind_.value,
                    destination=started.destination,
                    flow_ref=totp.seal(
                        runtime.settings.secret(),
                        started.id,
                        bound_to=f"contact-change:{change_id}",
                    ),
                    reason=reason.code,
                    reason_text=reason.text,
                    created_at=now,
                    expires_at=min(
                        started.expires_at, now + timedelta(minutes=policy.CONTACT_CHANGE_MINUTES)
                    ),
                )
            )
            await record(
                session,
                tag,
                subject=account.id,
                context=_context(actor, context),
                details={
                    **actor.audit_details(),
                    **reason.details(),
                    "outcome": "code_sent",
                    "kind": kind_.value,
                    "destination": started.destination,
                    "change_id": change_id,
                },
            )
    except GuaritaError as error:
        await _refused(
            runtime,
            actor,
            beneficiary_id,
            tag,
            reason,
            error,
            context,
            {"kind": kind if kind in ("email", "phone") else None},
        )
        raise
    return ContactChangeStarted(
        change_id,
        kind_.value,
        started.destination,
        min(started.expires_at, now + timedelta(minutes=policy.CONTACT_CHANGE_MINUTES)),
    )


async def pending_change(
    runtime: Runtime, actor: Actor, beneficiary_id: int, change_id: str
) -> PendingChange:
    async with runtime.db.transaction() as session:
        row = await _change(session, actor, beneficiary_id, change_id, utcnow())
        return PendingChange(row.id, row.kind, row.destination, row.expires_at)


async def _change(
    session, actor: Actor, beneficiary_id: int, change_id: str, now: datetime
) -> SupportContactChange:  # noqa: ANN001
    row = await session.get(SupportContactChange, (change_id or "")[:32])
    # Someone else's change, a finished one and an expired one all look alike.
    if (
        row is None
        or row.actor != actor.audit_id
        or row.beneficiary_id != beneficiary_id
        or row.completed_at is not None
        or row.expires_at <= now
    ):
        raise GuaritaError(
            ErrorCode.RECOVERY_EXPIRED,
            message=("Este cadastro de contato terminou ou venceu. Comece de novo."),
        )
    return row


async def confirm_contact_change(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    change_id: str,
    *,
    code: str,
    context: RequestContext,
) -> IdentifierItem:
    """The code the caller read back: on success the contact is saved as verified (and the old
    one of its kind, replaced, is told about it by the contacts service)."""
    from guarita.services import contacts

    now = utcnow()
    async with runtime.db.transaction() as session:
        row = await _change(session, actor, beneficiary_id, change_id, now)
        flow_ref = totp.unseal(
            runtime.settings.secret(), row.flow_ref, bound_to=f"contact-change:{row.id}"
        )
        reason = Reason(row.reason, row.reason_text)
        account_id, kind, destination = row.account_id, row.kind, row.destination
    try:
        saved = await contacts.confirm_verification(
            runtime, flow_ref, code, _delegated(actor, context), account_id=account_id
        )
    except GuaritaError as error:
        async with runtime.db.transaction() as session:
            if error.code in _CHANGE_OVER:
                # Too many wrong codes, an expired flow: this registration is over.
                await session.execute(
                    SupportContactChange.__table__.update()
                    .where(SupportContactChange.id == change_id)
                    .values(completed_at=now)
                )
            await record(
                session,
                AuditTag.SUPPORT_CONTACT_CODE_FAILED,
                subject=account_id,
                context=_context(actor, context),
                details={
                    **actor.audit_details(),
                    **reason.details(),
                    "outcome": "refused",
                    "error": str(error.code),
                    "kind": kind,
                    "destination": destination,
                    "change_id": change_id,
                },
            )
        raise
    async with runtime.db.transaction() as session:
        await session.execute(
            SupportContactChange.__table__.update()
            .where(SupportContactChange.id == change_id)
            .values(completed_at=now)
        )
        await record(
            session,
            AuditTag.SUPPORT_CONTACT_CONFIRMED,
            subject=account_id,
            context=_context(actor, context),
            details={
                **actor.audit_details(),
                **reason.details(),
                "outcome": "verified",
                "kind": kind,
                "destination": destination,
                "change_id": change_id,
            },
        )
    return _identifier_item(saved, unmasked=False)


@dataclass
class UnlockResult:
    outcome: str
    password_disabled: bool


async def unlock(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    *,
    reason: Reason,
    context: RequestContext,
) -> UnlockResult:
    """Ends a temporary lock (the wait after wrong passwords). A *disabled* password is not
    re-enabled here: that is :func:`reenable_password`, for supervisors."""
    now = utcnow()
    tag = AuditTag.SUPPORT_UNLOCKED
    try:
        async with runtime.db.transaction() as session:
            _, account = await _opened(session, actor, beneficiary_id, now)
            key = _lock_key(account.id)
            lock = await session.get(Throttle, key)
            was_locked = bool(lock and lock.locked_until and lock.locked_until > now)
            failures = lock.count if lock else 0
            password_disabled = account.password_disabled_at is not None
            if not password_disabled:
                await throttling.reset(session, key)
            outcome = (
                "unlocked"
                if was_locked and not password_disabled
                else ("refused" if password_disabled else "not_locked")
            )
            await record(
                session,
                tag,
                subject=account.id,
                context=_context(actor, context),
                details={
                    **actor.audit_details(),
                    **reason.details(),
                    "outcome": outcome,
                    "failures_before": failures,
                    **({"error": "password_disabled"} if password_disabled else {}),
                },
            )
    except GuaritaError as error:
        await _refused(runtime, actor, beneficiary_id, tag, reason, error, context)
        raise
    return UnlockResult(outcome, password_disabled)


async def reenable_password(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    *,
    reason: Reason,
    context: RequestContext,
) -> str:
    """Supervisor: the password disabled after 100 failures works again; the lock ends too."""
    now = utcnow()
    tag = AuditTag.SUPPORT_PASSWORD_REENABLED
    try:
        async with runtime.db.transaction() as session:
            _, account = await _opened(session, actor, beneficiary_id, now)
            outcome = "reenabled" if account.password_disabled_at is not None else "not_disabled"
            account.password_disabled_at = None
            await throttling.reset(session, _lock_key(account.id))
            await record(
                session,
                tag,
                subject=account.id,
                context=_context(actor, context),
                details={**actor.audit_details(), **reason.details(), "outcome": outcome},
            )
    except GuaritaError as error:
        await _refused(runtime, actor, beneficiary_id, tag, reason, error, context)
        raise
    return outcome


@dataclass
class RecoveryRequested:
    destination: str
    channel: str
    expires_at: datetime


async def start_recovery(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    *,
    identifier_id: int,
    reason: Reason,
    context: RequestContext,
) -> RecoveryRequested:
    """A recovery code goes to the verified contact chosen by its masked form; the person goes on
    with the link in the message. The agent sees only the masked destination."""
    from guarita.services import recovery  # issue 4's service

    now = utcnow()
    tag = AuditTag.SUPPORT_RECOVERY_REQUESTED
    try:
        async with runtime.db.transaction() as session:
            _, account = await _opened(session, actor, beneficiary_id, now)
            contact = await session.get(AccountIdentifier, identifier_id)
            if (
                contact is None
                or contact.account_id != account.id
                or contact.verified_at is None
                or contact.kind not in ("email", "phone")
            ):
                raise GuaritaError(
                    ErrorCode.METHOD_UNAVAILABLE,
                    field="identifier_id",
                    message=("Escolha um e-mail ou celular confirmado desta conta."),
                )
            destination = _mask(contact.kind, contact.value)
            channel = "email" if contact.kind == "email" else "sms"
        started = await recovery.start_for_account(
            runtime, account.id, identifier_id, _context(actor, context)
        )
        async with runtime.db.transaction() as session:
            await record(
                session,
                tag,
                subject=account.id,
                context=_context(actor, context),
                details={
                    **actor.audit_details(),
                    **reason.details(),
                    "outcome": "started",
                    "channel": channel,
                    "destination": destination,
                },
            )
    except GuaritaError as error:
        await _refused(runtime, actor, beneficiary_id, tag, reason, error, context)
        raise
    return RecoveryRequested(destination, channel, started.expires_at)


async def set_account_status(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    *,
    status: str,
    reason: Reason,
    context: RequestContext,
) -> str:
    """Supervisor: disable (every session ends at once) or enable an account."""
    if status not in ("active", "disabled"):
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR,
            field="status",
            message="Situação inválida: use active ou disabled.",
        )
    now = utcnow()
    tag = (
        AuditTag.SUPPORT_ACCOUNT_DISABLED
        if status == "disabled"
        else AuditTag.SUPPORT_ACCOUNT_ENABLED
    )
    try:
        async with runtime.db.transaction() as session:
            _, account = await _opened(session, actor, beneficiary_id, now)
            changed = account.status != status
            account.status = status
            ended = 0
            if status == "disabled":
                ended = await sessions.end_all(session, account.id, now=now)
            outcome = status if changed else "unchanged"
            await record(
                session,
                tag,
                subject=account.id,
                context=_context(actor, context),
                details={
                    **actor.audit_details(),
                    **reason.details(),
                    "outcome": outcome,
                    "sessions_ended": ended,
                },
            )
    except GuaritaError as error:
        await _refused(runtime, actor, beneficiary_id, tag, reason, error, context)
        raise
    return outcome


def normalize_document(kind: str, number: str) -> tuple[str, str]:
    if kind not in labels.DOCUMENT_TYPES:
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR,
            field="document_type",
            message="Escolha o tipo de documento.",
        )
    clean = re.sub(r"[\s.\-/]", "", number or "").upper()
    if not 4 <= len(clean) <= 32 or not clean.isalnum():
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR,
            field="document_number",
            message="Número do documento inválido (4 a 32 letras ou números).",
        )
    return kind, clean


@dataclass
class IdentityChecked:
    trust_before: str
    trust_after: str


async def record_identity_check(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    *,
    document_type: str,
    document_number: str,
    reason: Reason,
    context: RequestContext,
) -> IdentityChecked:
    """Supervisor: the person showed an official photo document in person. Stored as evidence;
    a bronze account becomes prata (gov.br: identity validated in person)."""
    now = utcnow()
    tag = AuditTag.SUPPORT_IDENTITY_CHECKED
    try:
        kind, number = normalize_document(document_type, document_number)
        async with runtime.db.transaction() as session:
            _, account = await _opened(session, actor, beneficiary_id, now)
            before = account.trust_level
            after = "prata" if before == "bronze" else before
            account.trust_level = after
            session.add(
                SupportIdentityCheck(
                    account_id=account.id,
                    actor=actor.audit_id,
                    document_type=kind,
                    document_number=number,
                    reason=reason.code,
                    reason_text=reason.text,
                    trust_before=before,
                    trust_after=after,
                    created_at=now,
                )
            )
            # The audit log is append-only and kept for years: the full number stays in the
            # evidence table, which can be erased under the LGPD; the log keeps its last digits.
            await record(
                session,
                tag,
                subject=account.id,
                context=_context(actor, context),
                details={
                    **actor.audit_details(),
                    **reason.details(),
                    "outcome": "recorded",
                    "document_type": kind,
                    "document_end": number[-3:],
                    "trust_before": before,
                    "trust_after": after,
                },
            )
    except GuaritaError as error:
        await _refused(runtime, actor, beneficiary_id, tag, reason, error, context)
        raise
    return IdentityChecked(before, after)
