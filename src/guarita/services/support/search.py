"""Finding people at the desk (docs/support-desk.md › What an agent does, step 1).

By CPF, card number, e-mail, phone or name (a prefix of the name or of any later word of it,
accents and case ignored); the answer is masked and the search itself is audited.

Masked answers are still an oracle when asked often enough (an outside review rebuilt a full CPF
from ~900 exact searches and a name from ~200 prefixes), so (OWASP ASVS 5.0 V2.4,
anti-automation; SECURITY.md › Data):

- each actor has a search budget (``GUARITA_SUPPORT__SEARCH_RATE_STAFF``, ``…_TOKEN``), counted
  in the ``throttles`` table like every other limit;
- a search by a full identifier (CPF, card, e-mail, phone) needs an open call: the reason of
  the call, as every other desk action does; a name prefix (what a caller without documents
  gives) does not;
- the audit records a keyed hash of each query (HMAC with a key derived from the secret key,
  which is not in the database), never the query: an investigation can tell which searches
  sought the same person, a database reader cannot reverse them;
- actors above ``GUARITA_SUPPORT__SEARCH_ALERT_PER_DAY`` searches in 24 h show on the
  supervisor dashboard (``dashboard.heavy_searchers``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.config import Settings
from guarita.domain import identifiers as ids
from guarita.domain.accounts import CONTACT_KINDS
from guarita.domain.actors import Actor
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.domain.identifiers import IdentifierKind
from guarita.runtime import Runtime
from guarita.services import throttling
from guarita.services.registry_rows import name_search_key
from guarita.services.support import labels
from guarita.services.support.account_state import locks_of, state_of
from guarita.services.support.action import audit_context
from guarita.services.support.masking import mask, mask_name
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Account, AccountIdentifier, Beneficiary
from guarita.storage.types import utcnow

SEARCH_KINDS = ("auto", "cpf", "card", "email", "phone", "name")
FULL_IDENTIFIERS = frozenset({IdentifierKind.CPF, IdentifierKind.CARD, IdentifierKind.EMAIL,
                              IdentifierKind.PHONE})
_LIKE_SPECIALS = re.compile(r"([\\%_])")


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


def interpret(query: str, kind: str, settings: Settings) -> list[tuple[str, str]]:
    """What the typed text can be, as ``(kind, normalised value)`` pairs."""
    text = (query or "").strip()
    if not text:
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR,
            field="q",
            message=Message.SEARCH_EMPTY,
        )
    if len(text) > 254:
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="q", message=Message.SEARCH_TOO_LONG)
    cmin, cmax = settings.card_min_length, settings.card_max_length
    if kind not in SEARCH_KINDS:
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="kind", message=Message.SEARCH_KIND_INVALID)
    if kind == IdentifierKind.CPF:
        return [("cpf", ids.normalize_cpf(text, field="q"))]
    if kind == IdentifierKind.CARD:
        return [("card", ids.normalize_card(text, cmin, cmax, field="q"))]
    if kind == IdentifierKind.EMAIL:
        return [("email", ids.normalize_email(text, field="q"))]
    if kind == IdentifierKind.PHONE:
        return [("phone", ids.normalize_phone(text, field="q"))]
    if kind == "name":
        return [("name", _name_query(text))]
    if "@" in text:
        return [("email", ids.normalize_email(text, field="q"))]
    digits = re.sub(r"[\s.\-/()+]", "", text)
    if digits.isdigit():
        return _digits(text, digits, cmin, cmax)
    return [("name", _name_query(text))]


def _digits(text: str, digits: str, cmin: int, cmax: int) -> list[tuple[str, str]]:
    """Digits alone can be a CPF, a card number and a phone at once: every reading is searched."""
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
            message=Message.SEARCH_NUMBER_INVALID,
        )
    return found


def _name_query(text: str) -> str:
    folded = " ".join(name_search_key(text).split())
    if len(folded.replace(" ", "")) < 3:
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="q", message=Message.SEARCH_NAME_TOO_SHORT)
    return folded


async def _beneficiary_ids(session: AsyncSession, kind: str, value: str, limit: int) -> list[int]:
    if kind == IdentifierKind.CPF:
        where = Beneficiary.cpf == value
    elif kind == IdentifierKind.CARD:
        where = Beneficiary.card_number == value
    elif kind in CONTACT_KINDS:
        column = Beneficiary.email if kind == IdentifierKind.EMAIL else Beneficiary.phone
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
        select(Beneficiary.id).where(where).order_by(Beneficiary.name_search, Beneficiary.id).limit(limit)
    )
    return [row[0] for row in rows]


def query_hash(settings: Settings, kind: str, value: str) -> str:
    """The audit's keyed trace of one query: equal for equal queries, useless without the key
    (an HMAC under a key of its own, derived from the secret key, never stored)."""
    key = hmac.new(settings.secret(), b"guarita/support-search", hashlib.sha256).digest()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def search_rate(settings: Settings, actor: Actor) -> tuple[int, int]:
    """The actor's budget as (searches, seconds): fewer for API tokens than for people."""
    rate = (settings.support.search_rate_token if actor.kind == "token"
            else settings.support.search_rate_staff)
    count, _, seconds = rate.partition("/")
    return int(count), int(seconds)


async def _spend_budget(runtime: Runtime, actor: Actor) -> None:
    """Counts one search of ``actor`` (its own transaction, so a refused search still counts)."""
    limit, window = search_rate(runtime.settings, actor)
    now = utcnow()
    async with runtime.db.transaction() as session:
        count, started = await throttling.count_in_window(
            session, throttling.throttle_key("search", actor.audit_id), window, now
        )
    if count > limit:
        retry = window - (now - started).total_seconds()
        raise GuaritaError(ErrorCode.RATE_LIMITED, message=Message.SEARCH_BUDGET_SPENT,
                           details={"retry_after": max(1, int(retry) + 1)})


def _call_reason(wanted: list[tuple[str, str]], reason: str | None) -> str | None:
    """A full identifier is searched only inside an open call (a reason of the call)."""
    code = (reason or "").strip()
    if code in labels.REASONS:
        return code
    if any(kind_ in FULL_IDENTIFIERS for kind_, _ in wanted):
        raise GuaritaError(ErrorCode.REASON_REQUIRED, field="reason",
                           message=Message.SEARCH_NEEDS_CALL_REASON)
    return None


async def search(
    runtime: Runtime,
    actor: Actor,
    query: str,
    context: RequestContext,
    *,
    kind: str = "auto",
    reason: str | None = None,
) -> SearchResult:
    """People matching ``query``, masked; the search itself is audited with a keyed hash of
    each reading of the query, never the query (module docstring)."""
    await _spend_budget(runtime, actor)
    settings = runtime.settings
    wanted = interpret(query, kind or "auto", settings)
    call_reason = _call_reason(wanted, reason)
    limit = settings.support.search_limit
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
            context=audit_context(actor, context),
            details={
                **actor.audit_details(),
                "kinds": [k for k, _ in wanted],
                "results": len(people),
                "queries": [query_hash(settings, k, v) for k, v in wanted],
                **({"reason": call_reason} if call_reason else {}),
            },
        )
    return SearchResult([k for k, _ in wanted], people, truncated)


async def _summaries(session: AsyncSession, beneficiary_ids: list[int], now: datetime) -> list[PersonSummary]:
    if not beneficiary_ids:
        return []
    beneficiaries = {
        b.id: b
        for b in (await session.execute(select(Beneficiary).where(Beneficiary.id.in_(beneficiary_ids)))).scalars()
    }
    accounts = {
        a.beneficiary_id: a
        for a in (await session.execute(select(Account).where(Account.beneficiary_id.in_(beneficiary_ids)))).scalars()
    }
    locks = await locks_of(session, [a.id for a in accounts.values()], now)
    people = []
    for beneficiary_id in beneficiary_ids:
        b = beneficiaries[beneficiary_id]
        account = accounts.get(b.id)
        state, _ = state_of(account, locks.get(account.id) if account else None)
        people.append(
            PersonSummary(
                id=b.id,
                name=mask_name(b.name),
                cpf=mask("cpf", b.cpf),
                card=ids.mask_card(b.card_number),
                has_account=account is not None,
                state=state,
                state_label=labels.STATES[state],
            )
        )
    return people
