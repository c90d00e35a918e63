"""Cadastro through gov.br (``docs/upstreams.md`` › Entrar com gov.br, case 3).

A beneficiary of the registry whose CPF gov.br asserted, and who has no account yet, gets one
from that match alone: the same identifiers a registration gives (``initial_identifiers``), the
CPF verified (gov.br proved it), the trust level gov.br asserted mapped to Guarita's (bronze →
bronze, silver → prata, gold → ouro), the link (issuer, ``sub``) and a session. The account has
no password yet: the person signs in with gov.br, or sets one through Esqueci minha senha.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from guarita.domain.accounts import AccountStatus, TrustLevel, initial_identifiers
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.evidence import EvidenceKind
from guarita.domain.identifiers import IdentifierKind
from guarita.runtime import Runtime
from guarita.services import sessions, trust, upstream_links
from guarita.services.notifications import notify_contacts
from guarita.services.registration import first_name
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Account, AccountIdentifier, Beneficiary
from guarita.storage.types import utcnow

LEVELS = {"bronze": TrustLevel.BRONZE, "silver": TrustLevel.PRATA, "gold": TrustLevel.OURO}


def trust_level_of(reliability: str | None) -> TrustLevel:
    """gov.br's level in Guarita's names; an absent or unknown level is the lowest."""
    return LEVELS.get((reliability or "").lower(), TrustLevel.BRONZE)


async def create(session, runtime: Runtime, beneficiary: Beneficiary,  # noqa: ANN001
                 details: dict[str, Any], provider_id: str, amr: str,
                 context: RequestContext, now: datetime | None = None) -> str:
    """Creates the account in the caller's transaction and answers a session token."""
    now = now or utcnow()
    existing = (await session.execute(select(Account.id).where(
        Account.beneficiary_id == beneficiary.id))).scalar_one_or_none()
    if existing is not None:
        raise GuaritaError(ErrorCode.ALREADY_REGISTERED)
    account = Account(id=accounts_repo.new_account_id(), beneficiary_id=beneficiary.id,
                      status=AccountStatus.ACTIVE, legacy=False, trust_level=TrustLevel.BRONZE,
                      created_at=now, updated_at=now)
    session.add(account)
    await session.flush()
    for item in initial_identifiers(card=beneficiary.card_number, cpf=beneficiary.cpf,
                                    email=beneficiary.email, phone=beneficiary.phone,
                                    legacy=False):
        owner = await accounts_repo.identifier_owner(session, item.kind, item.value)
        if owner is not None:
            if item.kind in (IdentifierKind.CARD, IdentifierKind.CPF):
                raise GuaritaError(ErrorCode.ALREADY_REGISTERED)
            continue
        verified = item.verified or item.kind == IdentifierKind.CPF
        session.add(AccountIdentifier(
            account_id=account.id, kind=item.kind.value, value=item.value, source="registry",
            verified_at=now if verified else None, login_enabled=item.login_enabled,
            created_at=now))
    await session.flush()
    await upstream_links.confirm(session, account.id, provider_id, str(details["issuer"]),
                                 str(details["subject"]), context)
    await trust.record_evidence(session, runtime.settings, account.id,
                                EvidenceKind.REGISTRY_MATCH, method="govbr", source="registry",
                                context=context, now=now)
    level = await trust.record_evidence(
        session, runtime.settings, account.id, EvidenceKind.GOVBR, method="govbr",
        source=provider_id, level=str(details.get("reliability") or "bronze"), context=context,
        now=now)
    await record(session, AuditTag.ACCOUNT_CREATED, subject=account.id, context=context,
                 details={"method": "govbr", "trust_level": level.value})
    await notify_contacts(session, runtime.settings, account.id, "welcome",
                          first_name=first_name(beneficiary.name, beneficiary.social_name))
    token, _ = await sessions.create(session, account.id, runtime.settings.session, context,
                                     amr=[amr], now=now)
    await record(session, AuditTag.LOGIN_SUCCEEDED, subject=account.id, context=context,
                 details={"via": "govbr_registration"})
    return token
