"""What the console's pages and the support API share: who is acting and how a desk use case is
called for them (docs/support-desk.md: "two doors over the same rules").

Both doors check the permission of a route before its handler runs and keep the authenticated
actor on the request (:func:`keep_actor`); a handler then calls a use case of
``services/support`` with :func:`call`, which adds the runtime, the actor and the request's
context, so neither door assembles those arguments itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request

from guarita.domain.actors import Actor
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.storage.audit import RequestContext

T = TypeVar("T")


def request_context(request: Request, actor: Actor | None = None) -> RequestContext:
    return RequestContext(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        actor=actor.audit_id if actor else None,
    )


def keep_actor(request: Request, actor: Actor) -> None:
    """Called by a route's permission check once ``actor`` may go on."""
    request.state.actor = actor


def actor_of(request: Request) -> Actor:
    actor = getattr(request.state, "actor", None)
    if actor is None:  # only on a route wrongly declared public; fail closed
        raise GuaritaError(ErrorCode.UNAUTHENTICATED)
    return actor


async def call(request: Request, use_case: Callable[..., Awaitable[T]], *args: Any, **kw: Any) -> T:
    """``use_case(runtime, actor, *args, context=…, **kw)`` for the actor of this request."""
    actor = actor_of(request)
    return await use_case(request.app.state.runtime, actor, *args, context=request_context(request, actor), **kw)
