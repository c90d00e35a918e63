"""One trip to an outside provider and back (``docs/upstreams.md`` › The trip).

``begin`` asks the upstream method for the authorization request and keeps what the callback
must check — ``state`` (hashed as the key), ``nonce`` and the PKCE verifier (sealed), the
provider, the purpose and its data — as a ``key_values`` row with an expiry
(``GUARITA_UPSTREAM__REQUEST_MINUTES``). ``consume`` takes that row once: a replayed ``state``
finds nothing (RFC 9700 §4.7: CSRF, §2.1: one use). ``verify`` runs the method's verification
under one overall bound (``GUARITA_UPSTREAM__TOTAL_SECONDS``): a provider that hangs ends in
``upstream_failed`` with reason ``timeout``, never in a request that waits forever.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.upstreams import UpstreamKind
from guarita.methods import upstream as upstream_method
from guarita.methods.base import Outcome, Principal, Step
from guarita.methods.upstream_rp import Pending, Provider
from guarita.runtime import Runtime
from guarita.services import upstreams
from guarita.services.method_context import ServiceContext
from guarita.storage.audit import RequestContext
from guarita.storage.tables import KeyValue
from guarita.storage.types import utcnow

NAMESPACE = "upstream_request"


def _key(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


@dataclass
class Trip:
    """A kept authorization request, as the callback finds it."""

    pending: Pending
    purpose: str
    data: dict[str, Any] = field(default_factory=dict)


def browser_digest(secret: str) -> str:
    """What a trip keeps of the secret its browser holds in a cookie (never the secret)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_browser(trip: Trip, secret: str) -> None:
    """Refuses a callback that comes back to a browser other than the one that started the trip
    (RFC 9700 §4.7.1, CSRF and login CSRF): a callback URL of somebody else's trip — sent to a
    victim as "confirme no seu banco" — finishes nothing. Trips started for an app's registered
    ``return_uri`` keep no browser: the app's own address is what binds them."""
    kept = str(trip.data.get("browser") or "")
    if not kept:
        return
    if not secret or not hmac.compare_digest(kept, browser_digest(secret)):
        raise GuaritaError(ErrorCode.UPSTREAM_FAILED, details={"reason": "state_invalid"})


@dataclass
class _Port:
    """The method's :class:`~guarita.methods.upstream.UpstreamPort`: keeps the request."""

    runtime: Runtime
    provider: Provider
    redirect_uri: str
    purpose: str
    data: Mapping[str, Any]
    kept: Pending | None = None

    async def remember(self, pending: Pending) -> None:
        self.kept = pending
        now = utcnow()
        body = json.dumps({"pending": pending.as_json(), "purpose": self.purpose,
                           "data": dict(self.data)})
        sealed = upstream_method.seal(self.runtime.settings.secret(), body,
                                      bound_to=f"request:{_key(pending.state)}")
        async with self.runtime.db.transaction() as session:
            await session.execute(delete(KeyValue).where(KeyValue.namespace == NAMESPACE,
                                                         KeyValue.expires_at < now))
            session.add(KeyValue(
                namespace=NAMESPACE, key=_key(pending.state), value=sealed.encode(),
                expires_at=now + timedelta(minutes=self.runtime.settings.upstream.request_minutes)))


def method_for(kind: UpstreamKind) -> Any:
    from guarita.methods import registry

    return registry.METHODS[kind.value]


async def begin(runtime: Runtime, provider: Provider, kind: UpstreamKind, purpose: str,
                data: Mapping[str, Any], context: RequestContext) -> Step:
    """The method's redirect step for ``provider``; the request is kept for the callback."""
    port = _Port(runtime, provider, upstreams.callback_url(runtime), purpose, data)
    ctx = ServiceContext(runtime=runtime, request=context, principal=Principal.unknown(),
                         upstream=port)
    try:
        async with asyncio.timeout(runtime.settings.upstream.total_seconds):
            return await method_for(kind).start(ctx, None, Principal.unknown())
    except TimeoutError:
        raise GuaritaError(ErrorCode.UPSTREAM_FAILED, details={"reason": "timeout"}) from None


async def consume(runtime: Runtime, state: str) -> Trip:
    """The request ``state`` names, taken once; a second use, an expired or unknown ``state``
    is refused (``upstream_failed``, reason ``state_invalid``)."""
    if not state or len(state) > 256:
        raise GuaritaError(ErrorCode.UPSTREAM_FAILED, details={"reason": "state_invalid"})
    now = utcnow()
    async with runtime.db.transaction() as session:
        taken = (await session.execute(
            delete(KeyValue).where(KeyValue.namespace == NAMESPACE, KeyValue.key == _key(state),
                                   KeyValue.expires_at > now)
            .returning(KeyValue.value))).scalar_one_or_none()
    if taken is None:
        raise GuaritaError(ErrorCode.UPSTREAM_FAILED, details={"reason": "state_invalid"})
    body = json.loads(upstream_method.unseal(runtime.settings.secret(), bytes(taken).decode(),
                                             bound_to=f"request:{_key(state)}"))
    return Trip(pending=Pending(**body["pending"]), purpose=body["purpose"],
                data=dict(body.get("data") or {}))


async def verify(runtime: Runtime, trip: Trip, kind: UpstreamKind, params: Mapping[str, str],
                 context: RequestContext, *, expected_cpf: str | None = None,
                 compare_cpf: bool = False) -> tuple[Provider, Outcome]:
    """Redeems the callback with the provider the trip named, within the overall bound."""
    async with runtime.db.read() as session:
        provider = await upstreams.enabled_provider(session, runtime, trip.pending.provider_id,
                                                    kind)
    if provider is None:
        raise GuaritaError(ErrorCode.UPSTREAM_FAILED, details={"reason": "provider_disabled"})
    port = _Port(runtime, provider, trip.pending.redirect_uri, trip.purpose, trip.data)
    ctx = ServiceContext(runtime=runtime, request=context, principal=Principal.unknown(),
                         upstream=port)
    answer: dict[str, Any] = {"params": dict(params), "pending": trip.pending}
    if compare_cpf:
        answer["expected_cpf"] = expected_cpf
    try:
        async with asyncio.timeout(runtime.settings.upstream.total_seconds):
            outcome = await method_for(kind).verify(ctx, None, answer)
    except TimeoutError:
        raise GuaritaError(ErrorCode.UPSTREAM_FAILED, details={"reason": "timeout"}) from None
    return provider, outcome
