"""Exportar meus dados: a download link valid 15 minutes, single use, after the password is
confirmed again (LGPD art. 18 V; SECURITY.md › Sessions: re-authentication; docs/privacy.md).

The link's token is 192 random bits; only its SHA-256 is stored, as a flow row
(``FlowKind.DATA_EXPORT``) bound to the account and to the format asked for. Redeeming it is
one ``UPDATE … WHERE state = 'open' AND expires_at > now``: of two downloads at once exactly
one wins. The download also needs a session of the same account, so a link copied out of a
history or a log opens nothing. The file is made at download time, from the data as it is then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.domain.flows import ChallengeState, FlowKind
from guarita.runtime import Runtime
from guarita.services import flows, my_data, my_data_pdf, sessions
from guarita.services.reauthentication import confirm_password
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Flow
from guarita.storage.types import utcnow

LINK_MINUTES = 15
FORMATS = {
    "pdf": ("application/pdf", "meus-dados.pdf"),
    "json": ("application/json", "meus-dados.json"),
}


@dataclass(frozen=True)
class Link:
    token: str
    format: str
    expires_at: datetime


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    media_type: str
    filename: str


def parse_format(value: str | None) -> str:
    fmt = (value or "").strip().lower()
    if fmt not in FORMATS:
        raise GuaritaError(ErrorCode.VALIDATION_ERROR, field="format", message=Message.EXPORT_FORMAT)
    return fmt


async def create_link(runtime: Runtime, current: sessions.SessionInfo, password: str, fmt: str,
                      context: RequestContext) -> Link:
    """Confirms the password (``services/reauthentication.py``), then makes the link."""
    fmt = parse_format(fmt)
    await confirm_password(runtime, current, password, context)
    token, id_hash = flows.new_token()
    now = utcnow()
    expires = now + timedelta(minutes=LINK_MINUTES)
    async with runtime.db.transaction() as session:
        session.add(Flow(id_hash=id_hash, kind=FlowKind.DATA_EXPORT, state=ChallengeState.OPEN,
                         account_id=current.account_id, data={"format": fmt},
                         created_at=now, expires_at=expires))
    return Link(token, fmt, expires)


async def redeem(runtime: Runtime, account_id: str, token: str,
                 context: RequestContext) -> ExportFile:
    """The file behind a link, once; an unknown, used, expired or someone else's link is
    ``flow_expired`` (410), all alike."""
    now = utcnow()
    gone = GuaritaError(ErrorCode.FLOW_EXPIRED, message=Message.EXPORT_LINK_GONE)
    if not token or len(token) > 64:
        raise gone
    id_hash = flows.hash_token(token)
    async with runtime.db.transaction() as session:
        flow = await session.get(Flow, id_hash)
        if flow is None or flow.kind != FlowKind.DATA_EXPORT or flow.account_id != account_id:
            raise gone
        taken = await session.execute(
            update(Flow).where(Flow.id_hash == id_hash, Flow.state == ChallengeState.OPEN,
                               Flow.expires_at > now)
            .values(state=ChallengeState.USED, completed_at=now))
        if taken.rowcount != 1:
            raise gone
        fmt = (flow.data or {}).get("format", "json")
        await record(session, AuditTag.DATA_EXPORTED, subject=account_id, context=context,
                     details={"format": fmt})
    data = await my_data.collect(runtime, account_id)
    media_type, filename = FORMATS[fmt]
    if fmt == "pdf":
        content = my_data_pdf.render(data, timezone=runtime.settings.timezone)
    else:
        content = json.dumps(data, ensure_ascii=False, indent=2).encode()
    return ExportFile(content, media_type, filename)
