"""Entrar com chave de acesso: passwordless sign-in with a discoverable passkey
(WebAuthn Level 3 §7.2; docs/two-step.md).

No identifier is typed: the options allow any passkey of this site, the authenticator picks one
and returns the user handle it was created with (the account id). A passkey with user
verification is two factors in one (NIST SP 800-63B-4 §3.1.7), so the session's ``amr`` is
``hwk`` or ``swk`` plus ``mfa``. Requests are rate-limited per IP like sign-in, and like
sign-in the limit counts failures only (SECURITY.md › Throttling): a successful sign-in gives
back its own count and that of the options request whose challenge it used, so the people
behind one carrier address are not refused. A failure says nothing about which account, if
any, the passkey named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guarita.domain.accounts import AccountStatus
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.methods import passkey
from guarita.runtime import Runtime
from guarita.services import passkeys, second_factors, second_step, sessions, throttling
from guarita.services.method_context import CredentialStore, ServiceContext
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.types import utcnow

PURPOSE = "sign_in"


@dataclass
class PasskeySignIn:
    account_id: str
    session_token: str
    session: sessions.SessionInfo
    amr: list[str]


async def options(runtime: Runtime, context: RequestContext) -> dict[str, Any]:
    """Request options with a fresh challenge and no allowed list (discoverable credentials)."""
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, runtime.settings, "login", context.ip)
    challenge = passkey.new_challenge()
    async with runtime.db.transaction() as session:
        await passkeys.store_challenge(session, runtime, challenge, PURPOSE, None, utcnow())
    return passkey.authentication_options(base_url=runtime.settings.base_url, challenge=challenge)


async def sign_in(runtime: Runtime, raw_credential: Any, context: RequestContext) -> PasskeySignIn:
    invalid = GuaritaError(
        ErrorCode.SECOND_FACTOR_INVALID,
        field="credential",
        message=(
            "Não foi possível entrar com a chave de acesso. Tente de novo ou entre com a senha."
        ),
    )
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, runtime.settings, "login", context.ip)
    try:
        credential = passkey.parse(raw_credential)
    except passkey.PasskeyError as exc:
        raise invalid from exc
    challenge = await passkeys.take_challenge(runtime, credential, PURPOSE)
    account_id = passkey.user_handle(credential)
    if not account_id or len(account_id) > 64:
        raise invalid
    async with runtime.db.read() as session:
        account = await accounts_repo.account(session, account_id)
    if account is None or account.status != AccountStatus.ACTIVE:
        raise invalid
    principal = second_factors.principal(account_id)
    ctx = ServiceContext(
        runtime=runtime,
        request=context,
        principal=principal,
        credentials=CredentialStore(runtime, principal),
    )
    outcome = await passkey.METHOD.verify(ctx, challenge, {"credential": credential})
    if not outcome.ok:
        async with runtime.db.transaction() as session:
            tag = (
                AuditTag.PASSKEY_CLONE_SUSPECTED
                if outcome.details.get("cloned")
                else AuditTag.LOGIN_FAILED
            )
            await record(
                session,
                tag,
                subject=account_id,
                context=context,
                details={"reason": "passkey_invalid", "method": passkey.METHOD.id},
            )
        raise invalid
    amr = [outcome.amr, second_step.MFA]
    async with runtime.db.transaction() as session:
        await throttling.refund_request(session, "login", context.ip)  # this request
        await throttling.refund_request(session, "login", context.ip)  # its options request
        token, info = await sessions.create(
            session, account_id, runtime.settings.session, context, amr=amr
        )
        await record(
            session,
            AuditTag.LOGIN_SUCCEEDED,
            subject=account_id,
            context=context,
            details={"method": passkey.METHOD.id, "passwordless": True},
        )
    return PasskeySignIn(account_id=account_id, session_token=token, session=info, amr=amr)
