"""The services' side of the method port: the :class:`~guarita.methods.base.MethodContext` a
service hands to a method, and the principals methods prove (DESIGN.md › A method).

A method asks here for what lives outside it (the hasher, a flow's one-time code, the outbox, a
principal's stored credentials); the service decides the transaction, the flow states and what is
audited. Ports a method does not use are left empty.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from guarita.domain.accounts import Channel, PrincipalKind
from guarita.domain.contact_trust import may_receive_recovery_codes
from guarita.methods import codes
from guarita.methods.base import Contact, Principal, StoredCredential
from guarita.runtime import Runtime
from guarita.services import flows
from guarita.storage import accounts as accounts_repo
from guarita.storage import credentials as credentials_repo
from guarita.storage.audit import RequestContext
from guarita.storage.types import utcnow


@dataclass
class ServiceContext:
    runtime: Runtime
    request: RequestContext
    principal: Principal
    session: AsyncSession | None = None
    now: datetime = field(default_factory=utcnow)
    codes: Any = None
    credentials: Any = None
    records: Any = None
    upstream: Any = None  # an outside provider's port (methods/upstream.py)

    @property
    def settings(self) -> Any:
        return self.runtime.settings

    @property
    def hasher(self) -> Any:
        return self.runtime.hasher

    def secret(self) -> bytes:
        return self.runtime.settings.secret()


async def account_principal(
    session: AsyncSession, account_id: str | None, *, recovery: bool = False
) -> Principal:
    """An account with its verified contacts (the first verified one of each channel).

    For a recovery (``recovery=True``) a contact still in its cooling-off is left out
    (``domain/contact_trust.py``; SECURITY.md › Recovery): a method whose only contact is new
    sends nothing, exactly like a method without a contact, and the person uses an older
    contact, the central or the in-person path."""
    # An unknown principal costs the same query, which finds nothing (SECURITY.md › Account
    # enumeration: same timing).
    found = await accounts_repo.identifiers_of(session, account_id or NO_ACCOUNT)
    if not account_id:
        return Principal.unknown()
    now = utcnow()
    contacts: dict[Channel, Contact] = {}
    for identifier in found:
        channel = Channel.for_kind(identifier.kind)
        usable = (
            may_receive_recovery_codes(identifier.verified_at, identifier.recovery_allowed_after, now)
            if recovery
            else identifier.verified_at is not None
        )
        if channel is not None and usable and channel not in contacts:
            contacts[channel] = Contact(id=identifier.id, channel=channel, value=identifier.value)
    return Principal(kind=PrincipalKind.ACCOUNT, id=account_id, contacts=contacts)


Deliver = Callable[[Any, Contact, str], Awaitable[None]]
NO_ACCOUNT = "-"  # an account id no account has (ids are hex)


@dataclass
class FlowCodes:
    """One-time codes kept on a ``flows`` row (``services/flows.py``), delivered by ``send``.

    ``delivered`` is the contact the last code went to (None when the principal had no contact
    on the channel: the code was counted but never sent and never matches)."""

    runtime: Runtime
    session: AsyncSession
    purpose: str
    expected_state: str
    next_state: str
    send: Deliver
    now: datetime = field(default_factory=utcnow)
    delivered: Contact | None = None
    # The same work as ``send``, written to a sink (``outbox.enqueue_to_sink``); None where
    # every principal the port serves has the contact (nothing to hide).
    send_to_sink: Deliver | None = None

    def issue(self, flow: Any, *, real: bool) -> str | None:
        return flows.issue_code(flow, self.runtime.settings, self.purpose, self.now, real=real)

    async def deliver(self, flow: Any, contact: Contact, code: str) -> None:
        self.delivered = contact
        flow.channel_identifier_id = contact.id
        await self.send(flow, contact, code)

    async def deliver_nowhere(self, flow: Any, channel: Channel) -> None:
        if self.send_to_sink is None:
            return
        # A code of the same shape, never kept: only the rendering and the write are needed.
        code = codes.generate(self.runtime.settings.codes.digits)
        await self.send_to_sink(flow, Contact(id=0, channel=channel, value=""), code)

    async def redeem(self, flow: Any, raw_code: str) -> bool:
        return await flows.redeem_code(self.session, flow, self.runtime.settings, self.purpose,
                                       raw_code, expected_state=self.expected_state,
                                       next_state=self.next_state)


@dataclass
class LoadedCredentials:
    """Credentials read before the method runs (the sign-in fast path reads them with the
    account in one short transaction and hashes outside it)."""

    found: dict[str, StoredCredential] = field(default_factory=dict)

    async def get(self, type_: str) -> StoredCredential | None:
        return self.found.get(type_)

    async def advance(self, credential: StoredCredential, counter: int) -> bool:
        raise NotImplementedError("credenciais lidas antes do método só servem para conferir")

    async def replace_data(self, credential: StoredCredential, data: Mapping[str, Any]) -> bool:
        raise NotImplementedError("credenciais lidas antes do método só servem para conferir")


@dataclass
class CredentialStore:
    """The principal's credentials in the database (``storage/credentials.py``): each update is
    its own short transaction, so a method never holds a lock while it hashes or computes."""

    runtime: Runtime
    principal: Principal
    now: datetime = field(default_factory=utcnow)

    async def get(self, type_: str) -> StoredCredential | None:
        if self.principal.id is None:
            return None
        async with self.runtime.db.transaction() as session:
            row = await credentials_repo.get(session, self.principal.kind, self.principal.id,
                                             type_, fresh=True)
            return _stored(row) if row is not None else None

    async def advance(self, credential: StoredCredential, counter: int) -> bool:
        async with self.runtime.db.transaction() as session:
            return await credentials_repo.advance_counter(session, credential.id, counter,
                                                          self.now)

    async def replace_data(self, credential: StoredCredential, data: Mapping[str, Any]) -> bool:
        async with self.runtime.db.transaction() as session:
            return await credentials_repo.swap_data(session, credential.id, credential.counter,
                                                    dict(data), self.now)


def _stored(row: Any) -> StoredCredential:
    return StoredCredential(type=row.kind, secret=row.hash, data=dict(row.data or {}),
                            counter=row.counter, id=row.id)
