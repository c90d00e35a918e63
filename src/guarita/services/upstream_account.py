"""Minha conta › Bancos e gov.br: "Validar minha identidade pelo banco" (proofing) and the links
kept with "Desvincular" (``docs/upstreams.md`` › Proofing).

A proofing trip belongs to the signed-in account: the callback completes it only in a browser
whose session is that account's (the session cookie travels with the bank's redirect, a
top-level GET, under SameSite=Lax), so nobody can attach their bank to another person's account
by sending them a link. Success records bank evidence (provider, time), which the trust level is
computed from, and keeps the link (issuer, ``sub``).
"""

from __future__ import annotations

from dataclasses import dataclass

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.upstreams import UpstreamKind
from guarita.runtime import Runtime
from guarita.services import throttling, trust, upstream_flow, upstream_links, upstreams
from guarita.services.upstream_flow import Trip
from guarita.services.upstream_recovery import account_cpf
from guarita.storage.audit import RequestContext, record

PURPOSE = "proofing"


@dataclass
class AccountBanks:
    banks: list[dict]
    links: list[dict]


async def overview(runtime: Runtime, account_id: str) -> AccountBanks:
    async with runtime.db.read() as session:
        rows = await upstreams.enabled_of_kind(session, UpstreamKind.BANK)
        banks = [{"id": r.id, "name": r.name, "logo_url": upstreams.logo_url(r)} for r in rows]
    return AccountBanks(banks=banks, links=await upstream_links.of_account(runtime, account_id))


async def offered(runtime: Runtime, account_id: str) -> bool:
    """Whether Minha conta shows the section: a bank to validate with, or a link to undo."""
    found = await overview(runtime, account_id)
    return bool(found.banks or found.links)


async def start(runtime: Runtime, account_id: str, provider_id: str,
                context: RequestContext, *, step_up: str | None = None) -> str:
    """The bank's authorization URL for a proofing trip of ``account_id``; ``step_up`` is the
    ticket of "Para continuar, confirme sua identidade" the trip comes back to
    (``services/step_up.py``), kept with the trip on the server."""
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, runtime.settings, "code", context.ip)
    async with runtime.db.read() as session:
        provider = await upstreams.enabled_provider(session, runtime, provider_id,
                                                    UpstreamKind.BANK)
    if provider is None:
        raise GuaritaError(ErrorCode.METHOD_UNAVAILABLE, field="provider")
    step = await upstream_flow.begin(runtime, provider, UpstreamKind.BANK, PURPOSE,
                                     {"account": account_id,
                                      **({"step_up": step_up[:64]} if step_up else {})},
                                     context)
    assert step.redirect_url is not None
    return step.redirect_url


async def complete(runtime: Runtime, trip: Trip, params: dict[str, str],
                   session_account_id: str | None, context: RequestContext) -> str:
    """The callback of a proofing trip; answers the provider id that confirmed the person."""
    account_id = str(trip.data.get("account") or "")
    if not session_account_id or session_account_id != account_id:
        raise GuaritaError(ErrorCode.UNAUTHENTICATED)
    async with runtime.db.read() as session:
        expected = await account_cpf(session, account_id)
    provider_id = trip.pending.provider_id
    try:
        _, outcome = await upstream_flow.verify(runtime, trip, UpstreamKind.BANK, params,
                                                context, expected_cpf=expected, compare_cpf=True)
    except GuaritaError as error:
        await _audit_failure(runtime, account_id, provider_id,
                             str((error.details or {}).get("reason", error.code.value)), context)
        raise
    if not outcome.ok:
        await _audit_failure(runtime, account_id, provider_id,
                             str(outcome.details.get("reason")), context)
        raise GuaritaError(ErrorCode.UPSTREAM_CPF_MISMATCH)
    async with runtime.db.transaction() as session:
        await trust.record_evidence(session, runtime.settings, account_id, outcome.evidence,
                                    method=outcome.method, source=provider_id, context=context)
        await upstream_links.confirm(session, account_id, provider_id,
                                     str(outcome.details["issuer"]),
                                     str(outcome.details["subject"]), context)
        await record(session, AuditTag.UPSTREAM_VERIFIED, subject=account_id, context=context,
                     details={"during": "proofing", "provider": provider_id,
                              "amr": outcome.amr})
    return provider_id


async def _audit_failure(runtime: Runtime, account_id: str, provider: str, reason: str,
                         context: RequestContext) -> None:
    async with runtime.db.transaction() as session:
        await record(session, AuditTag.UPSTREAM_FAILED, subject=account_id, context=context,
                     details={"during": "proofing", "provider": provider, "reason": reason})
