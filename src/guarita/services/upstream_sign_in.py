"""Entrar com gov.br (``docs/upstreams.md`` › Entrar com gov.br).

gov.br signs the person in and asserts the CPF as ``sub``; its ID token carries
``reliability_info`` (bronze, silver, gold). At the callback, in order:

1. a subject already linked to an account (issuer + ``sub``): that account signs in;
2. an account with this CPF, not linked yet: the first time the link is confirmed by the
   account's Guarita password (through the sign-in's own attempt protocol, so lockout and
   throttling apply), then kept;
3. no account, but one beneficiary with this CPF in the registry: an account is created from
   that match, at the level gov.br asserted (``services/upstream_registration.py``);
4. a CPF the registry does not know: a plain refusal with the central's number.

An account with a second factor still proves it ("Confirme que é você"), as after a password.
Every sign-in records gov.br evidence with the level gov.br asserted.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from guarita.domain.accounts import AccountStatus
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.evidence import EvidenceKind
from guarita.domain.identifiers import IdentifierKind
from guarita.domain.upstreams import UpstreamKind
from guarita.methods.base import Outcome
from guarita.runtime import Runtime
from guarita.services import (
    login,
    second_factors,
    second_step,
    sessions,
    throttling,
    trust,
    upstream_flow,
    upstream_links,
    upstream_registration,
    upstreams,
)
from guarita.services.upstream_flow import Trip
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Account, Beneficiary, KeyValue
from guarita.storage.types import utcnow

PURPOSE = "sign_in"
CONFIRMATIONS = "upstream_confirm"
CONFIRM_MINUTES = 10


@dataclass
class GovbrResult:
    """What the callback leads to: a session, a pending second step, a link to confirm, or
    Cadastro (``register``)."""

    kind: str  # session | created | pending | confirm | register
    session_token: str | None = None
    pending_id: str | None = None
    confirmation: str | None = None
    next_url: str | None = None


async def providers(runtime: Runtime) -> list[dict[str, Any]]:
    async with runtime.db.read() as session:
        rows = await upstreams.enabled_of_kind(session, UpstreamKind.GOVBR)
    return [{"id": r.id, "name": r.name} for r in rows]


async def start(runtime: Runtime, provider_id: str, next_url: str | None,
                context: RequestContext, *, browser: str = "") -> str:
    """The authorization URL of gov.br's sign-in. ``browser`` is a secret the page keeps in a
    cookie of the browser that starts the trip: the callback signs in only that browser, so a
    callback URL of somebody else's trip cannot sign a victim into the sender's account
    (RFC 9700 §4.7, login CSRF)."""
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, runtime.settings, "login", context.ip)
    async with runtime.db.read() as session:
        provider = await upstreams.enabled_provider(session, runtime, provider_id,
                                                    UpstreamKind.GOVBR)
    if provider is None:
        raise GuaritaError(ErrorCode.METHOD_UNAVAILABLE, field="provider")
    step = await upstream_flow.begin(runtime, provider, UpstreamKind.GOVBR, PURPOSE,
                                     {"next": next_url or "",
                                      "browser": upstream_flow.browser_digest(browser)},
                                     context)
    assert step.redirect_url is not None
    return step.redirect_url


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def complete(runtime: Runtime, trip: Trip, params: dict[str, str],
                   context: RequestContext, *, browser: str = "") -> GovbrResult:
    upstream_flow.check_browser(trip, browser)
    provider_id = trip.pending.provider_id
    next_url = str(trip.data.get("next") or "") or None
    _, outcome = await upstream_flow.verify(runtime, trip, UpstreamKind.GOVBR, params, context)
    if not outcome.ok:
        raise GuaritaError(ErrorCode.UPSTREAM_FAILED, details={"reason": "cpf_missing"})
    details = outcome.details
    cpf = str(details["cpf"])
    async with runtime.db.transaction() as session:
        account_id = await upstream_links.account_for(session, str(details["issuer"]),
                                                      str(details["subject"]))
        if account_id is not None:
            return await _signed_in(session, runtime, account_id, outcome, provider_id,
                                    next_url, context)
        account_id = await accounts_repo.identifier_owner(session, IdentifierKind.CPF, cpf)
        if account_id is not None:
            token = secrets.token_urlsafe(32)
            await session.execute(delete(KeyValue).where(KeyValue.namespace == CONFIRMATIONS,
                                                         KeyValue.expires_at < utcnow()))
            session.add(KeyValue(
                namespace=CONFIRMATIONS, key=_digest(token),
                expires_at=utcnow() + timedelta(minutes=CONFIRM_MINUTES),
                value=json.dumps({"account": account_id, "provider": provider_id,
                                  "issuer": details["issuer"], "subject": details["subject"],
                                  "amr": outcome.amr, "reliability": details.get("reliability"),
                                  "next": next_url}).encode()))
            return GovbrResult(kind="confirm", confirmation=token, next_url=next_url)
        known = (await session.execute(select(Beneficiary).where(Beneficiary.cpf == cpf)
                                       .limit(2))).scalars().all()
        if len(known) == 1:
            token = await upstream_registration.create(session, runtime, known[0], dict(details),
                                                       provider_id, outcome.amr, context)
            return GovbrResult(kind="created", session_token=token, next_url=next_url)
    if known:
        # Two registry records with one CPF: a registry problem a person cannot settle alone.
        return GovbrResult(kind="register", next_url=next_url)
    raise GuaritaError(ErrorCode.BENEFICIARY_NOT_MATCHED, message=(
        "Não encontramos este CPF no cadastro de beneficiários. Ligue para a central de "
        "atendimento para saber como se cadastrar."))


async def _signed_in(session, runtime: Runtime, account_id: str, outcome: Outcome,  # noqa: ANN001
                     provider_id: str, next_url: str | None,
                     context: RequestContext) -> GovbrResult:
    account = await session.get(Account, account_id)
    if account is None or account.status != AccountStatus.ACTIVE:
        raise GuaritaError(ErrorCode.ACCOUNT_LOCKED)
    await trust.record_evidence(session, runtime.settings, account_id, outcome.evidence,
                                method=outcome.method, source=provider_id,
                                level=str(outcome.details.get("reliability") or "bronze"),
                                context=context)
    amr = [outcome.amr]
    if await second_factors.has_second_factor(session, account_id):
        pending = await second_step.begin(session, runtime, account_id, amr, context,
                                          next_url=next_url)
        return GovbrResult(kind="pending", pending_id=pending.pending_id, next_url=next_url)
    token, _ = await sessions.create(session, account_id, runtime.settings.session, context,
                                     amr=amr)
    await record(session, AuditTag.LOGIN_SUCCEEDED, subject=account_id, context=context,
                 details={"via": "govbr", "provider": provider_id,
                          "reliability": outcome.details.get("reliability")})
    return GovbrResult(kind="session", session_token=token, next_url=next_url)


async def confirm_link(runtime: Runtime, confirmation: str, password: str,
                       context: RequestContext) -> tuple[login.SignInResult, str | None]:
    """The first gov.br sign-in of an existing account: its Guarita password, through the
    sign-in's attempt protocol (by card number, the identifier every account signs in with).
    Answers the sign-in and where to go next."""
    async with runtime.db.read() as session:
        row = await session.get(KeyValue, (CONFIRMATIONS, _digest(confirmation or "")))
        if row is None or row.expires_at <= utcnow():
            raise GuaritaError(ErrorCode.FLOW_EXPIRED)
        kept = json.loads(bytes(row.value))
        card = next((i.value for i in await accounts_repo.identifiers_of(session, kept["account"])
                     if i.kind == IdentifierKind.CARD), None)
    if card is None:
        raise GuaritaError(ErrorCode.FLOW_EXPIRED)
    result = await login.sign_in(runtime, card, password, context, next_url=kept.get("next"))
    async with runtime.db.transaction() as session:
        taken = await session.execute(delete(KeyValue).where(
            KeyValue.namespace == CONFIRMATIONS, KeyValue.key == _digest(confirmation)))
        if taken.rowcount != 1:
            raise GuaritaError(ErrorCode.FLOW_EXPIRED)
        await upstream_links.confirm(session, kept["account"], kept["provider"], kept["issuer"],
                                     kept["subject"], context)
        await trust.record_evidence(session, runtime.settings, kept["account"], EvidenceKind.GOVBR,
                                    method="govbr", source=kept["provider"],
                                    level=str(kept.get("reliability") or "bronze"),
                                    context=context)
    return result, kept.get("next")
