"""Re-authentication before sensitive changes (SECURITY.md › Sessions: e-mail, phone, password).

The current password is asked again through the attempt protocol (``services/attempts.py``):
failures count towards the same lockout as sign-in, are audited alike, and the 100th disables
the password.
"""

from __future__ import annotations

from guarita.domain.accounts import AccountStatus
from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.methods import password as password_method
from guarita.runtime import Runtime
from guarita.services import attempts, sessions, throttling
from guarita.services.login import RULES, password_context
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext


async def confirm_password(
    runtime: Runtime, current: sessions.SessionInfo, password: str, context: RequestContext,
    field: str = "password",
) -> None:
    key = throttling.sign_in_key(current.account_id)
    async with runtime.db.transaction() as session:
        # Counted before the hash, as at sign-in: parallel guesses cannot slip past the lockout.
        attempt = await attempts.begin(session, runtime, key, current.account_id)
        credential = await accounts_repo.password_of(session, current.account_id)
        account = await accounts_repo.account(session, current.account_id)
    attempt.refuse_if_waiting(RULES)
    # A disabled password (100 failures, or the owner's "Não foi você?") proves nothing.
    usable = (account is not None and account.status == AccountStatus.ACTIVE
              and account.password_disabled_at is None)
    stored = credential.hash if (credential and usable) else None
    outcome = await password_method.METHOD.verify(
        password_context(runtime, context, current.account_id, stored), None,
        {"password": password or ""})
    if not outcome.ok:
        wrong = GuaritaError(ErrorCode.INVALID_CREDENTIALS, message=Message.CURRENT_PASSWORD_WRONG,
                             field=field)
        raise await attempts.failed(
            runtime, attempt, RULES, context, wrong,
            details={"reason": "invalid_credentials", "during": "reauthentication"},
        )
    async with runtime.db.transaction() as session:
        await attempts.succeeded(session, attempt)
        await sessions.mark_reauthenticated(session, current.id_hash)
