"""Step-up: "Para continuar, confirme sua identidade" (``docs/trust-levels.md`` › Step-up).

A service (an OpenID client asking ``acr_values``, gov.br's catalogue URL) or an action inside
Guarita (a contact change, ``GUARITA_STEP_UP__ACTIONS``) may need more proof of who the
signed-in person is than their account holds. ``begin`` parks that need as a *ticket*: which
account, which level (or a fresh proof), and where to go back to — a path on this site, kept on
the server, so no parameter of any request can turn the way back into an open redirect
(RFC 9700 §4.11). The page lists the methods this deployment offers that would raise the level
(validation by a bank, facial validation, an agency); each method runs for the signed-in person
and comes back to the page, which checks the level again and either returns to the service or
says plainly that it is still not enough.

``begin(runtime, account_id, level, return_to)`` and :func:`page_url` are the entry point any
edge reuses (the provider's authorization endpoint, the gov.br profile's catalogue URL).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

from sqlalchemy import delete, func, select

from guarita.domain.accounts import TrustLevel
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.evidence import EvidenceKind
from guarita.domain.trust_levels import Evidence, assess
from guarita.domain.upstreams import UpstreamKind
from guarita.methods import face as face_method
from guarita.runtime import Runtime
from guarita.services import face_references, trust, upstreams
from guarita.storage.tables import Account, IdentityEvidence, KeyValue
from guarita.storage.types import utcnow

NAMESPACE = "step_up"
PAGE_PATH = "/confirmar-identidade"
CONTACT_CHANGE = "contact_change"
# Evidence that proves the person, not a mailbox or a password: what "fresh strong evidence"
# of an action counts (domain/evidence.py).
STRONG_EVIDENCE = frozenset({EvidenceKind.BANK, EvidenceKind.FACE,
                             EvidenceKind.IN_PERSON_DOCUMENT, EvidenceKind.GOVBR})


_LEVELS = frozenset(level.value for level in TrustLevel)


def level_of(value: str | None) -> TrustLevel:
    """A stored level; anything unknown counts as the lowest."""
    return TrustLevel(value) if value in _LEVELS else TrustLevel.BRONZE


class Kind:
    LEVEL = "level"  # the account's level must reach ``level``
    FRESH = "fresh"  # strong evidence recorded after the ticket was made (re-proof)


def page_url(ticket: str, *, after: bool = False) -> str:
    """The address of the step-up page for ``ticket`` (``after``: back from a method)."""
    query = {"pedido": ticket}
    if after:
        query["depois"] = "1"
    return PAGE_PATH + "?" + urlencode(query)


def local_path(target: str) -> str:
    """A path on this site, or ``ValueError``: no scheme, no host, no ``//``, no backslash."""
    parts = urlsplit(target)
    if (not target.startswith("/") or target.startswith("//") or "\\" in target
            or parts.scheme or parts.netloc or len(target) > 2048):
        raise ValueError("the way back must be a path on this site")
    return target


def _key(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


async def begin(runtime: Runtime, account_id: str, level: str | TrustLevel, return_to: str, *,
                cancel_to: str | None = None, app: str | None = None,
                kind: str = Kind.LEVEL, action: str | None = None) -> str:
    """Parks a step-up for the signed-in ``account_id`` and answers its ticket.

    ``return_to`` (a path on this site) is where the person goes once the need is met;
    ``cancel_to`` (likewise) where "Voltar sem confirmar" leads (default: ``return_to``'s page
    is not offered, Minha conta is); ``app`` names the service for the page's first sentence.
    """
    wanted = TrustLevel(level)
    local_path(return_to)
    if cancel_to is not None:
        local_path(cancel_to)
    ticket = secrets.token_urlsafe(24)
    now = utcnow()
    body = {"account": account_id, "level": wanted.value, "return_to": return_to,
            "cancel_to": cancel_to, "app": (app or "")[:120] or None, "kind": kind,
            "action": action, "since": now.isoformat()}
    async with runtime.db.transaction() as session:
        await session.execute(delete(KeyValue).where(KeyValue.namespace == NAMESPACE,
                                                     KeyValue.expires_at < now))
        session.add(KeyValue(namespace=NAMESPACE, key=_key(ticket),
                             value=json.dumps(body).encode(),
                             expires_at=now + timedelta(
                                 minutes=runtime.settings.step_up.ticket_minutes)))
    return ticket


@dataclass
class Options:
    """The methods that would raise the level, as this deployment offers them."""

    banks: list[dict] = field(default_factory=list)
    face: bool = False
    agencies: list[str] = field(default_factory=list)


@dataclass
class StepUp:
    ticket: str
    account_id: str
    level: TrustLevel          # the level asked
    current: TrustLevel        # the account's level now
    return_to: str
    cancel_to: str | None
    app: str | None
    kind: str
    action: str | None
    since: datetime
    met: bool
    options: Options


async def load(runtime: Runtime, ticket: str, account_id: str) -> StepUp:
    """The live ticket of this account, with the level read now; ``flow_expired`` otherwise
    (unknown, expired, or another account's — they all look the same)."""
    if not ticket or len(ticket) > 64:
        raise GuaritaError(ErrorCode.FLOW_EXPIRED)
    now = utcnow()
    async with runtime.db.transaction() as session:
        row = await session.get(KeyValue, (NAMESPACE, _key(ticket)))
        if row is None or (row.expires_at is not None and row.expires_at <= now):
            raise GuaritaError(ErrorCode.FLOW_EXPIRED)
        body = json.loads(row.value)
        if not secrets.compare_digest(str(body.get("account")), account_id):
            raise GuaritaError(ErrorCode.FLOW_EXPIRED)
        account = await session.get(Account, account_id)
        if account is None:
            raise GuaritaError(ErrorCode.FLOW_EXPIRED)
        # The level now, expired evidence taken out (services/trust.py).
        current = level_of(await trust.current_level(session, runtime.settings, account_id))
        level = TrustLevel(body["level"])
        since = datetime.fromisoformat(body["since"])
        if body.get("kind") == Kind.FRESH:
            met = await _strong_since(session, account_id, since)
        else:
            met = current.rank >= level.rank
    return StepUp(ticket=ticket, account_id=account_id, level=level, current=current,
                  return_to=local_path(body["return_to"]), cancel_to=body.get("cancel_to"),
                  app=body.get("app"), kind=body.get("kind", Kind.LEVEL),
                  action=body.get("action"), since=since, met=met,
                  options=await options(runtime, account_id, level,
                                        fresh=body.get("kind") == Kind.FRESH))


async def finish(runtime: Runtime, ticket: str) -> None:
    """Spends a ticket whose need was met (the way back works once)."""
    async with runtime.db.transaction() as session:
        await session.execute(delete(KeyValue).where(KeyValue.namespace == NAMESPACE,
                                                     KeyValue.key == _key(ticket)))


async def options(runtime: Runtime, account_id: str, level: TrustLevel, *,
                  fresh: bool = False) -> Options:
    """What the page offers: each method the deployment has whose evidence, added to the
    account's, would reach ``level`` under the trust table (``domain/trust_levels.py``) — a bank
    confirms a CPF (prata at most by default), a face counts by what it is compared with (the
    registry photo, a capture in person, Datavalid's CNH photo). For a fresh proof (``fresh``)
    any strong method will do. An agency is always offered: the desk checks a document and can
    capture the face in person."""
    settings = runtime.settings
    found = Options(agencies=list(settings.step_up.agencies))
    now = utcnow()
    async with runtime.db.read() as session:
        rows = [Evidence(kind=r.kind, recorded_at=r.recorded_at, source=r.source, level=r.level,
                         liveness=bool(r.liveness))
                for r in await trust.rows_of(session, account_id)]
        banks = await upstreams.enabled_of_kind(session, UpstreamKind.BANK)
        reference = None
        if face_method.METHOD.id in settings.recovery.methods:
            beneficiary = await face_references.beneficiary_of_account(session, account_id)
            if beneficiary is not None:
                reference = await face_references.reference_of(session, beneficiary)

    def reaches(candidate: Evidence) -> bool:
        if fresh:
            return True
        made = assess([*rows, candidate], settings.trust.rules, settings.trust.expiry_days, now)
        return made.level.rank >= level.rank

    found.banks = [{"id": r.id, "name": r.name, "logo_url": upstreams.logo_url(r)}
                   for r in banks
                   if reaches(Evidence(kind=EvidenceKind.BANK.value, recorded_at=now,
                                       source=r.id))]
    if face_method.METHOD.id in settings.recovery.methods:
        source = (face_method.Source.DATAVALID if settings.face.provider == "datavalid"
                  else reference.source if reference is not None else None)
        found.face = source is not None and reaches(Evidence(
            kind=EvidenceKind.FACE.value, recorded_at=now, source=source, liveness=True))
    return found


# -- actions inside Guarita -------------------------------------------------------------------
async def _strong_since(session, account_id: str, since: datetime) -> bool:  # noqa: ANN001
    latest = (await session.execute(
        select(func.max(IdentityEvidence.recorded_at)).where(
            IdentityEvidence.account_id == account_id,
            IdentityEvidence.kind.in_([k.value for k in STRONG_EVIDENCE])))).scalar_one_or_none()
    return latest is not None and _aware(latest) >= since


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def action_level(runtime: Runtime, action: str) -> TrustLevel | None:
    """The level from which ``action`` needs a fresh proof, or None when no rule applies."""
    value = runtime.settings.step_up.actions.get(action)
    return TrustLevel(value) if value in _LEVELS else None


async def check_action(runtime: Runtime, account_id: str, action: str) -> None:
    """``step_up_required`` when ``action`` needs a fresh proof this account lacks: its level
    is at or above the action's rule and no strong evidence was recorded in the last
    ``GUARITA_STEP_UP__FRESH_MINUTES``."""
    rule = action_level(runtime, action)
    if rule is None:
        return
    since = utcnow() - timedelta(minutes=runtime.settings.step_up.fresh_minutes)
    async with runtime.db.transaction() as session:
        account = await session.get(Account, account_id)
        if account is None:
            return
        current = await trust.current_level(session, runtime.settings, account_id)
        if current.rank < rule.rank:
            return
        if await _strong_since(session, account_id, since):
            return
    raise GuaritaError(ErrorCode.STEP_UP_REQUIRED,
                       details={"action": action, "level": current.value,
                                "fresh_minutes": runtime.settings.step_up.fresh_minutes})


async def begin_for_action(runtime: Runtime, account_id: str, action: str, return_to: str,
                           cancel_to: str = "/conta") -> str:
    """A ticket for re-proving before ``action``: met by strong evidence recorded from now on."""
    async with runtime.db.read() as session:
        account = await session.get(Account, account_id)
        level = account.trust_level if account is not None else TrustLevel.BRONZE.value
    return await begin(runtime, account_id, level, return_to, cancel_to=cancel_to,
                       kind=Kind.FRESH, action=action)
