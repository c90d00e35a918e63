"""Meus dados: everything Guarita holds about a person, for the page, ``GET /api/v1/me/data``
and the export (LGPD art. 18 I, II and V; docs/privacy.md › Meus dados).

One function, :func:`collect`, reads it all into a plain dictionary of JSON types: the page
shows it, the API returns it and the export writes it, so the three never disagree. It holds no
secret: password verifiers, TOTP secrets, recovery-code digests, session and token hashes and
the face template itself are named (that they exist, since when), never copied.

The history is the person's audit events of the last 12 months (their account and their
registry record as subjects), each named in the words the desk uses
(``services/support/labels.py`` › ``TAGS``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.evidence import EvidenceKind
from guarita.methods import passkey, recovery_codes, totp
from guarita.methods.base import N_
from guarita.runtime import Runtime
from guarita.services import trust
from guarita.services.devices import device_of as device_of_agent
from guarita.services.support import labels
from guarita.storage import accounts as accounts_repo
from guarita.storage import plain_sql as sql
from guarita.storage.oidc_tables import OidcClient, OidcConsent
from guarita.storage.tables import (
    Account,
    AuditEvent,
    Credential,
    FaceReference,
    IdentityEvidence,
)
from guarita.storage.tables import Session as SessionRow
from guarita.storage.types import utcnow
from guarita.storage.upstream_tables import UpstreamLink, UpstreamProvider

FORMAT = "guarita.meus-dados/1"
HISTORY_DAYS = 365
HISTORY_LIMIT = 2000  # a year of an ordinary person's events is far below this

# What an evidence row says, in the words of Minha conta (docs/trust-levels.md).
EVIDENCE_WORDS = {
    EvidenceKind.REGISTRY_MATCH: N_("Dados conferidos com o cadastro da organização"),
    EvidenceKind.DATA_CHECK: N_("Carteirinha ou e-mail, CPF e nascimento conferidos"),
    EvidenceKind.CALLER_CHECK: N_("Dados conferidos pela central de atendimento"),
    EvidenceKind.IN_PERSON_DOCUMENT: N_("Documento conferido em uma agência"),
    EvidenceKind.SECOND_FACTOR: N_("Verificação em duas etapas"),
    EvidenceKind.FACE: N_("Validação facial"),
    EvidenceKind.BANK: N_("Validação pelo banco"),
    EvidenceKind.GOVBR: N_("Conta gov.br"),
    EvidenceKind.LEVEL_CAP: N_("Nível limitado por segurança"),
}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def _device(agent: str | None) -> str | None:
    found = device_of_agent(agent)
    parts = [p for p in (found.brand or found.system, found.browser) if p]
    if found.kind == "app":
        return "aplicativo"
    return " · ".join(parts) or None


async def collect(runtime: Runtime, account_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The whole of what Guarita holds about the account's person, as JSON types."""
    now = now or utcnow()
    async with runtime.db.read() as session:
        account = await session.get(Account, account_id)
        if account is None:
            raise GuaritaError(ErrorCode.UNAUTHENTICATED)
        beneficiary = await accounts_repo.beneficiary_of(session, account)
        identifiers = await accounts_repo.identifiers_of(session, account_id)
        evidence = await trust.rows_of(session, account_id)
        found = await trust.assessment(session, runtime.settings, account_id, now)
        data: dict[str, Any] = {
            "format": FORMAT,
            "generated_at": _iso(now),
            "controller": {"name": runtime.settings.organisation_name,
                           "support_phone": runtime.settings.support_phone},
            "account": {
                "id": account.id, "status": account.status, "legacy": account.legacy,
                "created_at": _iso(account.created_at),
                "password_disabled": account.password_disabled_at is not None,
            },
            "registry": _registry(beneficiary),
            "identifiers": [
                {"kind": i.kind, "value": i.value, "verified": i.verified_at is not None,
                 "verified_at": _iso(i.verified_at), "login_enabled": i.login_enabled,
                 "source": i.source, "source_words": labels.SOURCES.get(i.source, i.source),
                 "added_at": _iso(i.created_at)}
                for i in identifiers
            ],
            "trust": {
                "level": found.level.value,
                "level_words": labels.TRUST_LEVELS.get(found.level, found.level.value),
                "evidence": [_evidence(row) for row in evidence],
            },
            "second_factors": await _second_factors(session, account_id),
            "face_reference": await _face(session, account.beneficiary_id),
            "connected_apps": await _apps(session, account_id, now),
            "bank_and_govbr_links": await _links(session, account_id),
            "sessions": await _sessions(session, account_id, now),
            "history": await _history(session, account_id, account.beneficiary_id, now),
        }
    return data


def _registry(beneficiary: Any) -> dict[str, Any] | None:  # noqa: ANN401
    if beneficiary is None:
        return None
    return {
        "name": beneficiary.name, "social_name": beneficiary.social_name,
        "card_number": beneficiary.card_number,
        "cpf": beneficiary.cpf, "birth_date": beneficiary.birth_date.isoformat(),
        "email": beneficiary.email, "phone": beneficiary.phone,
        "imported_at": _iso(beneficiary.created_at), "updated_at": _iso(beneficiary.updated_at),
        # the old portal's password verifier is a secret: only whether there was one
        "legacy_password": beneficiary.legacy_password_hash is not None,
    }


def _evidence(row: IdentityEvidence) -> dict[str, Any]:
    return {"kind": row.kind, "words": EVIDENCE_WORDS.get(row.kind, row.kind),
            "source": row.source, "method": row.method, "level": row.level,
            "liveness": bool(row.liveness), "recorded_by": row.recorded_by,
            "recorded_at": _iso(row.recorded_at)}


async def _second_factors(session: AsyncSession, account_id: str) -> list[dict[str, Any]]:
    rows = (await session.execute(
        select(Credential).where(Credential.account_id == account_id))).scalars().all()
    found: list[dict[str, Any]] = []
    for row in rows:
        if row.kind == totp.CREDENTIAL:
            found.append({"kind": "totp", "name": labels.SECOND_FACTORS["totp"],
                          "since": _iso(row.created_at), "last_used_at": _iso(row.last_used_at)})
        elif row.kind == passkey.CREDENTIAL:
            for key in passkey.keys_of(row.data or {}):
                found.append({"kind": "passkey", "name": key.get("name") or "Chave de acesso",
                              "since": key.get("created_at"),
                              "last_used_at": key.get("last_used_at")})
        elif row.kind == recovery_codes.CREDENTIAL:
            found.append({"kind": "recovery_codes", "name": labels.SECOND_FACTORS["recovery_codes"],
                          "since": _iso(row.created_at),
                          "left": recovery_codes.left(row.data or {})})
        elif row.kind == "password":
            found.append({"kind": "password", "name": "Senha", "since": _iso(row.changed_at),
                          "last_used_at": _iso(row.last_used_at)})
    return found


async def _face(session: AsyncSession, beneficiary_id: int | None) -> dict[str, Any] | None:
    if beneficiary_id is None:
        return None
    row = (await session.execute(select(FaceReference).where(
        FaceReference.beneficiary_id == beneficiary_id))).scalar_one_or_none()
    if row is None:
        return None
    return {"kept": True, "source": row.source,
            "source_words": labels.SOURCES_OF_FACES.get(row.source, row.source),
            "photo_kept": row.photo is not None, "since": _iso(row.created_at),
            "updated_at": _iso(row.updated_at)}


_GRANTS = sql.Sql(
    "SELECT g.client_id, c.name, g.scope, g.created_at, g.revoked_at, g.expires_at "
    "FROM oidc_grants g JOIN oidc_clients c ON c.id = g.client_id "
    "WHERE g.account_id = :account_id ORDER BY g.created_at"
)


async def _apps(session: AsyncSession, account_id: str, now: datetime) -> list[dict[str, Any]]:
    """Every app the person signed in to or allowed, with what it asked for (scopes)."""
    apps: dict[str, dict[str, Any]] = {}
    # The grants through the provider's own statements: the token tables have one access style
    # (storage/oidc_tables.py), never their ORM classes.
    grants = await sql.in_session(session).all(_GRANTS, account_id=account_id)
    for client_id, name, scope, created, revoked, expires in grants:
        created, revoked, expires = sql.when(created), sql.when(revoked), sql.when(expires)
        app = apps.setdefault(client_id, {"client_id": client_id, "name": name, "scopes": [],
                                          "first_at": _iso(created), "last_at": None,
                                          "connected": False, "consent": None})
        app["scopes"] = sorted(set(app["scopes"]) | set((scope or "").split()))
        app["last_at"] = _iso(created)
        app["connected"] = app["connected"] or (revoked is None and expires > now)
    consents = (await session.execute(
        select(OidcConsent.client_id, OidcClient.name, OidcConsent.scopes, OidcConsent.granted_at)
        .join(OidcClient, OidcClient.id == OidcConsent.client_id)
        .where(OidcConsent.account_id == account_id))).all()
    for client_id, name, scopes, granted in consents:
        app = apps.setdefault(client_id, {"client_id": client_id, "name": name, "scopes": list(scopes),
                                          "first_at": _iso(granted), "last_at": None,
                                          "connected": True, "consent": None})
        app["consent"] = {"scopes": list(scopes), "granted_at": _iso(granted)}
    return sorted(apps.values(), key=lambda a: a["first_at"] or "", reverse=True)


async def _links(session: AsyncSession, account_id: str) -> list[dict[str, Any]]:
    rows = (await session.execute(
        select(UpstreamProvider.name, UpstreamProvider.kind, UpstreamLink.linked_at,
               UpstreamLink.last_used_at)
        .join(UpstreamProvider, UpstreamProvider.id == UpstreamLink.provider_id)
        .where(UpstreamLink.account_id == account_id))).all()
    return [{"provider": name, "kind": kind, "linked_at": _iso(linked), "last_used_at": _iso(used)}
            for name, kind, linked, used in rows]


async def _sessions(session: AsyncSession, account_id: str, now: datetime) -> list[dict[str, Any]]:
    rows = (await session.execute(
        select(SessionRow).where(SessionRow.account_id == account_id, SessionRow.ended_at.is_(None),
                                 SessionRow.expires_at > now)
        .order_by(SessionRow.last_seen_at.desc()))).scalars().all()
    return [{"signed_in_at": _iso(r.auth_time or r.created_at), "last_seen_at": _iso(r.last_seen_at),
             "ip": r.ip, "device": _device(r.user_agent)} for r in rows]


def _by(actor: str | None) -> str | None:
    """Who acted, when it was not someone at the account's own door: an event with no actor
    (a sign-in, a wrong password, a recovery) is not claimed to be the person's — it may be
    someone trying their account."""
    if actor is None:
        return None
    if actor.startswith(("staff:", "token:")):
        return "central de atendimento"
    return "sistema"


async def _history(session: AsyncSession, account_id: str, beneficiary_id: int | None,
                   now: datetime) -> list[dict[str, Any]]:
    subjects = [account_id] + ([f"beneficiary:{beneficiary_id}"] if beneficiary_id else [])
    rows = (await session.execute(
        select(AuditEvent).where(or_(*(AuditEvent.subject == s for s in subjects)),
                                 AuditEvent.created_at >= now - timedelta(days=HISTORY_DAYS))
        .order_by(AuditEvent.id.desc()).limit(HISTORY_LIMIT))).scalars().all()
    return [{"at": _iso(e.created_at), "tag": e.tag, "what": labels.tag_label(e.tag),
             "by": _by(e.actor),
             "ip": e.ip, "device": _device(e.user_agent)} for e in rows]
