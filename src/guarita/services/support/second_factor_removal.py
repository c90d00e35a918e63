"""Supervisor: remove a person's second factors after an in-person document check, the desk's
strong path for someone who lost the password *and* the phone (SECURITY.md › Recovery: "losing
it too needs facial validation, bank validation or an in-person check"; docs/two-step.md).

The desk never sees a second factor's secret: the person view says only whether there is one
and which kinds. Removal needs an in-person check recorded for this account within the desk's
grant window (``GUARITA_SUPPORT__GRANT_MINUTES``), is audited, ends every session and tells
every verified contact with a "Não foi você?" link.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from guarita.domain.actors import Actor
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.runtime import Runtime
from guarita.services import second_factors
from guarita.services.support.action import DeskAction
from guarita.services.support.reasons import Reason
from guarita.storage.audit import RequestContext
from guarita.storage.support_tables import SupportIdentityCheck


async def remove_second_factors(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    *,
    reason: Reason,
    context: RequestContext,
) -> list[str]:
    tag = AuditTag.SUPPORT_SECOND_FACTOR_REMOVED
    async with DeskAction(runtime, actor, beneficiary_id, tag, reason, context) as action:
        async with action.opened() as person:
            account = person.account
            since = action.now - timedelta(minutes=runtime.settings.support.grant_minutes)
            checked = (
                await person.session.execute(
                    select(SupportIdentityCheck.id)
                    .where(
                        SupportIdentityCheck.account_id == account.id,
                        SupportIdentityCheck.created_at >= since,
                    )
                    .limit(1)
                )
            ).first()
            if checked is None:
                raise GuaritaError(
                    ErrorCode.CALLER_CHECK_REQUIRED,
                    message=(
                        "Registre antes a conferência presencial do documento com foto: só ela "
                        "permite remover a verificação em duas etapas."
                    ),
                )
            removed = await second_factors.remove_all(
                person.session,
                runtime,
                account.id,
                action.audit_context,
                by="support",
                record_audit=False,
            )
            await action.audit(
                person.session,
                account.id,
                outcome="removed" if removed else "none",
                removed=removed,
            )
    return removed
