"""Esqueci minha senha by validação pelo banco (``docs/upstreams.md`` › Recovery).

``start`` sends the person of a recovery to the bank they picked; ``complete`` takes the bank's
answer at the callback and, when the CPF the bank asserts is the account's, moves the flow to
``verified`` exactly as an accepted code does — with a new token for the browser (or app) that
came back from the bank alone (docs/architecture.md › A recovery's token changes).

A bank confirming the person is strong evidence (``second_factors.STRONG_EVIDENCE``): like a
face checked against a document, it may replace a lost second factor (SECURITY.md › Recovery).
Each refusal (a provider failure, another CPF, none) counts as an attempt of the flow, at most
``GUARITA_CODES__MAX_ATTEMPTS``; the answer never says whose account it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select, update

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.flows import FlowKind, RecoveryState
from guarita.domain.identifiers import IdentifierKind
from guarita.domain.upstreams import UpstreamKind
from guarita.methods.base import Outcome
from guarita.runtime import Runtime
from guarita.services import (
    flows,
    second_factors,
    throttling,
    trust,
    upstream_flow,
    upstream_links,
    upstreams,
)
from guarita.services.upstream_flow import Trip
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.oidc_tables import OidcClient
from guarita.storage.tables import Flow
from guarita.storage.types import utcnow

PURPOSE = "recovery"
METHOD = UpstreamKind.BANK.value

@dataclass
class BankResult:
    recovery_id: str
    state: str
    expires_at: datetime
    return_uri: str | None = None


async def _native_return_uri(session, return_uri: str | None) -> str | None:  # noqa: ANN001
    """``return_uri`` only when it is exactly a redirect URI of an active native client (the
    app's claimed link or loopback), so the callback never sends a recovery to a stranger."""
    if not return_uri:
        return None
    if len(return_uri) > 512 or urlsplit(return_uri).scheme in ("", "javascript", "data"):
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="return_uri")
    clients = (await session.execute(select(OidcClient).where(
        OidcClient.application_type == "native", OidcClient.disabled_at.is_(None)))).scalars()
    if not any(return_uri in (c.redirect_uris or []) for c in clients):
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="return_uri", message=(
            "Endereço de retorno não cadastrado para o aplicativo."))
    return return_uri


async def start(runtime: Runtime, token: str, provider_id: str, context: RequestContext,
                *, return_uri: str | None = None, browser: str = "") -> str:
    """The bank's authorization URL for the recovery ``token``.

    ``browser`` is the secret of the browser that starts the trip, kept in its cookie: only that
    browser's callback verifies the flow (``upstream_flow.check_browser``). An app's trip is
    bound by its registered ``return_uri`` instead, where the new recovery id is delivered."""
    settings = runtime.settings
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, settings, "code", context.ip)
    async with runtime.db.read() as session:
        flow = await flows.load(session, token, FlowKind.RECOVERY)
        if flow.state == RecoveryState.FAILED:
            raise flows.invalid_code(flow, settings)
        if flow.state not in (RecoveryState.CHOOSE_METHOD, RecoveryState.CODE_SENT):
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        provider = await upstreams.enabled_provider(session, runtime, provider_id,
                                                    UpstreamKind.BANK)
        if provider is None or METHOD not in settings.recovery.methods:
            raise GuaritaError(ErrorCode.METHOD_UNAVAILABLE, field="provider")
        back_to = await _native_return_uri(session, return_uri)
        flow_hash = flow.id_hash
    data = {"flow": flow_hash, "return_uri": back_to}
    if back_to is None:
        data["browser"] = upstream_flow.browser_digest(browser)
    step = await upstream_flow.begin(runtime, provider, UpstreamKind.BANK, PURPOSE, data,
                                     context)
    async with runtime.db.transaction() as session:
        moved = await session.execute(
            update(Flow).where(Flow.id_hash == flow_hash,
                               Flow.state.in_([RecoveryState.CHOOSE_METHOD,
                                               RecoveryState.CODE_SENT]))
            .values(state=RecoveryState.CODE_SENT, method=METHOD, channel_identifier_id=None))
        if moved.rowcount != 1:
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
    assert step.redirect_url is not None
    return step.redirect_url


async def account_cpf(session, account_id: str | None) -> str | None:  # noqa: ANN001
    if not account_id:
        return None
    for identifier in await accounts_repo.identifiers_of(session, account_id):
        if identifier.kind == IdentifierKind.CPF:
            return identifier.value
    account = await accounts_repo.account(session, account_id)
    beneficiary = await accounts_repo.beneficiary_of(session, account) if account else None
    return beneficiary.cpf if beneficiary is not None else None


async def _refuse(runtime: Runtime, flow_hash: str, account_id: str | None, provider: str,
                  reason: str, context: RequestContext) -> None:
    """Counts the attempt (the flow fails at the limit) and audits the reason."""
    limit = runtime.settings.codes.max_attempts
    async with runtime.db.transaction() as session:
        await session.execute(update(Flow).where(Flow.id_hash == flow_hash)
                              .values(attempts=Flow.attempts + 1))
        await session.execute(update(Flow).where(Flow.id_hash == flow_hash,
                                                 Flow.attempts >= limit)
                              .values(state=RecoveryState.FAILED))
        if account_id:
            await record(session, AuditTag.UPSTREAM_FAILED, subject=account_id, context=context,
                         details={"during": "recovery", "provider": provider, "reason": reason})


async def complete(runtime: Runtime, trip: Trip, params: dict[str, str],
                   context: RequestContext, *, browser: str = "") -> BankResult:
    """The callback of a recovery's trip to the bank."""
    upstream_flow.check_browser(trip, browser)
    flow_hash = str(trip.data.get("flow") or "")
    async with runtime.db.read() as session:
        flow = await session.get(Flow, flow_hash)
        if flow is None or flow.kind != FlowKind.RECOVERY or flow.expires_at <= utcnow():
            raise GuaritaError(ErrorCode.RECOVERY_EXPIRED)
        if flow.state != RecoveryState.CODE_SENT or flow.method != METHOD:
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        account_id = flow.account_id
        expected = await account_cpf(session, account_id)
    provider_id = trip.pending.provider_id
    try:
        provider, outcome = await upstream_flow.verify(
            runtime, trip, UpstreamKind.BANK, params, context, expected_cpf=expected,
            compare_cpf=True)
    except GuaritaError as error:
        await _refuse(runtime, flow_hash, account_id, provider_id,
                      str((error.details or {}).get("reason", error.code.value)), context)
        raise
    if not outcome.ok:
        await _refuse(runtime, flow_hash, account_id, provider_id,
                      str(outcome.details.get("reason")), context)
        raise GuaritaError(ErrorCode.UPSTREAM_CPF_MISMATCH)
    return await _verified(runtime, flow_hash, outcome, trip, context)


async def _verified(runtime: Runtime, flow_hash: str, outcome: Outcome, trip: Trip,
                    context: RequestContext) -> BankResult:
    details = outcome.details
    async with runtime.db.transaction() as session:
        won = await session.execute(
            update(Flow).where(Flow.id_hash == flow_hash, Flow.state == RecoveryState.CODE_SENT,
                               Flow.method == METHOD)
            .values(state=RecoveryState.VERIFIED))
        flow = await session.get(Flow, flow_hash, populate_existing=True)
        if won.rowcount != 1 or flow is None or not flow.account_id:
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        new_token = await flows.rotate(session, flow)
        provider_id = str(details.get("provider"))
        await trust.record_evidence(session, runtime.settings, flow.account_id, outcome.evidence,
                                    method=outcome.method, source=provider_id, context=context)
        await upstream_links.confirm(session, flow.account_id, provider_id,
                                     str(details["issuer"]), str(details["subject"]), context)
        await record(session, AuditTag.UPSTREAM_VERIFIED, subject=flow.account_id,
                     context=context, details={"during": "recovery", "provider": provider_id,
                                               "amr": outcome.amr})
        flow.data = {**(flow.data or {}), "upstream_provider": provider_id, "amr": outcome.amr}
        if (await second_factors.has_second_factor(session, flow.account_id)
                and outcome.evidence in second_factors.STRONG_EVIDENCE):
            # SECURITY.md › Recovery: losing the second factor too needs facial or bank
            # validation; the bank confirmed the person (docs/two-step.md › Seam). The factors
            # go only when the new password is set (recovery.complete), by whoever holds the
            # rotated recovery id: a callback alone changes nothing about how the account is
            # reached.
            flow.data = second_factors.replace_on_completion(flow.data, by="bank",
                                                            provider=provider_id)
        return BankResult(recovery_id=new_token, state=str(flow.state),
                          expires_at=flow.expires_at,
                          return_uri=trip.data.get("return_uri") or None)
