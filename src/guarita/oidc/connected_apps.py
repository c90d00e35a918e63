""" "Aplicativos conectados": what a person allowed, and taking it back (Core §3.1.2.4 consent,
RFC 7009 revocation seen from the person's side).

An application is listed when the person consented to it (third-party clients) or when it holds
a live refresh token of theirs (any client, the organisation's app included). Disconnecting one
forgets the consent and revokes every grant of that client for that person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from guarita.oidc import clients, consent, grants
from guarita.oidc.claims import label
from guarita.oidc.events import OidcEvent
from guarita.runtime import Runtime
from guarita.storage import plain_sql as sql
from guarita.storage.audit import RequestContext, record


@dataclass
class ConnectedApp:
    client_id: str
    name: str
    third_party: bool
    data: list[str]
    since: datetime
    last_used: datetime | None


async def of_account(runtime: Runtime, account_id: str) -> list[ConnectedApp]:
    async with runtime.db.transaction() as session:
        consents = await consent.of_account(session, account_id)
        live = await grants.live_for_account(sql.in_session(session), account_id)
        known = await clients.names(
            session, list({c.client_id for c in consents} | {g.client_id for g in live})
        )
    apps: dict[str, ConnectedApp] = {}
    for item in consents:
        client = known.get(item.client_id)
        if client is None:
            continue
        apps[item.client_id] = ConnectedApp(
            client.id,
            client.name,
            not client.first_party,
            [label(s) for s in item.scopes],
            item.granted_at,
            None,
        )
    for item in live:
        client = known.get(item.client_id)
        if client is None:
            continue
        app = apps.get(item.client_id)
        if app is None:
            apps[item.client_id] = ConnectedApp(
                client.id,
                client.name,
                not client.first_party,
                [label(s) for s in item.scopes],
                item.first_at,
                item.last_at,
            )
        else:
            app.last_used = item.last_at
    return sorted(apps.values(), key=lambda a: a.since, reverse=True)


async def disconnect(
    runtime: Runtime, account_id: str, client_id: str, context: RequestContext
) -> bool:
    async with runtime.db.transaction() as session:
        # The ledger says what was taken back (docs/privacy.md › Consentimentos).
        scopes = sorted(await consent.granted_scopes(session, account_id, client_id))
        forgot = await consent.revoke(session, account_id, client_id)
        revoked = await grants.revoke_for_client(
            sql.in_session(session), account_id, client_id, grants.RevokedBecause.REVOKED_BY_PERSON
        )
        if forgot or revoked:
            await record(
                session,
                OidcEvent.CONSENT_REVOKED,
                subject=account_id,
                context=context,
                details={"client_id": client_id, "scope": " ".join(scopes),
                         "grants_revoked": revoked},
            )
    return bool(forgot or revoked)
