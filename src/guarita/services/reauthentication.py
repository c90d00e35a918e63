"""Re-authentication before sensitive changes (SECURITY.md › Sessions: e-mail, phone, password).

The current password is asked again; failures count towards the same lockout as sign-in.
"""

from __future__ import annotations

from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.passwords import normalize
from guarita.runtime import Runtime
from guarita.services import sessions, throttling
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record


async def confirm_password(
    runtime: Runtime, current: sessions.SessionInfo, password: str, context: RequestContext,
    field: str = "password",
) -> None:
    key = throttling.subject_key("login", current.account_id, "")
    async with runtime.db.transaction() as session:
        # Counted before the hash, as at sign-in: parallel guesses cannot slip past the lockout.
        _, wait = await throttling.begin_attempt(session, key, runtime.settings.lockout)
        credential = await accounts_repo.password_of(session, current.account_id)
        account = await accounts_repo.account(session, current.account_id)
    if wait:
        raise throttling.too_many(wait)
    # A disabled password (100 failures, or the owner's "Não foi você?") proves nothing.
    usable = account is not None and account.status == "active" and account.password_disabled_at is None
    stored = credential.hash if (credential and usable) else None
    if not await runtime.hasher.verify(stored, normalize(password or "")):
        async with runtime.db.transaction() as session:
            await record(session, AuditTag.LOGIN_FAILED, subject=current.account_id, context=context,
                         details={"reason": "invalid_credentials", "during": "reauthentication"})
        raise GuaritaError(ErrorCode.INVALID_CREDENTIALS, message="Senha atual incorreta.", field=field)
    async with runtime.db.transaction() as session:
        await throttling.reset(session, key)
        await sessions.mark_reauthenticated(session, current.id_hash)
