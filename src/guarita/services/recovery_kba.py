"""The health-plan data form: card or e-mail + CPF + birth date (issue 4; SECURITY.md › Recovery).

That knowledge leaks easily (payroll-loan scams trade it), so by default matching data only
opens the code step: the code goes to a verified contact, and the answer is one and the same
for matching data, mismatching data, and an account without a verified contact — it tells the
person that a code was sent *if* the data match, and whom to call otherwise.

``recovery.kba_only=true`` reproduces the health-plan app for organisations that insist: the
form also takes the new password, matching data set it at once, every contact is notified, and
the account stays at the lowest trust level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from guarita.domain import identifiers as ids
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, FieldErrors, GuaritaError
from guarita.domain.flows import FlowKind, RecoveryState
from guarita.domain.identifiers import IdentifierKind
from guarita.domain.passwords import PasswordContext
from guarita.methods import captcha
from guarita.runtime import Runtime
from guarita.services import flows, recovery, throttling
from guarita.services.registration import policy_for, service_words
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Account, Beneficiary, Flow
from guarita.storage.types import utcnow


@dataclass
class KbaInput:
    identifier: str  # card number or e-mail
    cpf: str
    birth_date: str | date
    captcha: str | None
    password: str | None = None
    password_confirmation: str | None = None


@dataclass
class KbaStarted:
    recovery_id: str
    expires_at: datetime
    message: str


def answer_message(support_phone: str) -> str:
    return (
        "Se os dados estiverem corretos, enviamos um código para o e-mail ou celular cadastrado. "
        "Digite o código na próxima tela. Se não receber em alguns minutos, ligue para a central "
        f"de atendimento ({support_phone}) ou vá a uma agência."
    )


def _parse(runtime: Runtime, data: KbaInput) -> tuple[ids.Identifier, str, date]:
    settings = runtime.settings
    errors: list[GuaritaError] = []
    identifier = cpf = birth = None
    raw = (data.identifier or "").strip()
    try:
        if "@" in raw:
            identifier = ids.Identifier(IdentifierKind.EMAIL, ids.normalize_email(raw, field="identifier"))
        else:
            identifier = ids.Identifier(IdentifierKind.CARD, ids.normalize_card(
                raw, settings.card_min_length, settings.card_max_length, field="identifier"))
    except GuaritaError:
        errors.append(GuaritaError(ErrorCode.INVALID_IDENTIFIER, field="identifier",
                                   message="Informe o número da carteirinha ou o e-mail."))
    try:
        cpf = ids.normalize_cpf(data.cpf)
    except GuaritaError as exc:
        errors.append(exc)
    try:
        birth = ids.parse_birth_date(data.birth_date)
    except GuaritaError as exc:
        errors.append(exc)
    if errors:
        raise FieldErrors(errors) if len(errors) > 1 else errors[0]
    return identifier, cpf, birth


async def _matching_account(session, identifier: ids.Identifier, cpf: str, birth: date) -> Account | None:  # noqa: ANN001
    if identifier.kind is IdentifierKind.CARD:
        beneficiary = (await session.execute(
            select(Beneficiary).where(Beneficiary.card_number == identifier.value)
        )).scalar_one_or_none()
    else:
        found = await accounts_repo.find_identifier(session, [identifier])
        account = await accounts_repo.account(session, found.account_id) if found else None
        beneficiary = await accounts_repo.beneficiary_of(session, account) if account else None
    if beneficiary is None or beneficiary.cpf != cpf or beneficiary.birth_date != birth:
        return None
    return (await session.execute(
        select(Account).where(Account.beneficiary_id == beneficiary.id)
    )).scalar_one_or_none()


async def start(runtime: Runtime, data: KbaInput, context: RequestContext) -> KbaStarted:
    settings = runtime.settings
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, settings, "recovery", context.ip)
    identifier, cpf, birth = _parse(runtime, data)
    if settings.recovery.kba_only:
        if data.password != data.password_confirmation:
            raise GuaritaError(ErrorCode.PASSWORD_MISMATCH, field="password_confirmation")
        # The typed data are enough to judge most of the password before anything is looked up.
        policy_for(runtime).check(data.password or "", PasswordContext(
            cpf=cpf, birth_date=birth, extra_words=service_words(runtime)))
    await captcha.verify(runtime, data.captcha, context.ip)
    token, id_hash = flows.new_token()
    now = utcnow()
    async with runtime.db.transaction() as session:
        account = await _matching_account(session, identifier, cpf, birth)
        usable = account is not None and account.status == "active"
        contacts = await recovery._verified_contacts(session, account.id if usable else None)
        contact = contacts.get("email") or contacts.get("sms")
        flow = Flow(
            id_hash=id_hash, kind=FlowKind.RECOVERY, state=RecoveryState.CODE_SENT,
            account_id=account.id if usable else None,
            identifier_kind=identifier.kind.value, identifier_value=identifier.value,
            method=("email" if contact is not None and contact.kind == "email" else "sms"),
            channel_identifier_id=contact.id if contact else None,
            created_at=now, expires_at=now + timedelta(minutes=settings.recovery.flow_minutes),
            data={"via": "kba"},
        )
        session.add(flow)
        if usable:
            await record(session, AuditTag.RECOVERY_STARTED, subject=account.id, context=context,
                         details={"via": "kba", "has_contact": contact is not None})
        if settings.recovery.kba_only:
            if not usable:
                raise GuaritaError(ErrorCode.BENEFICIARY_NOT_MATCHED)
            flow.state = RecoveryState.VERIFIED
        else:
            code = flows.issue_code(flow, settings, recovery.PURPOSE, now, real=contact is not None)
            if contact is not None:
                await recovery._send_code(session, runtime, flow, contact, code, token)
                await record(session, AuditTag.RECOVERY_CODE_SENT, subject=account.id,
                             context=context, details={"method": flow.method, "via": "kba"})
    if settings.recovery.kba_only:
        # The organisation chose knowledge alone: set the password now, verify nothing new.
        await recovery.set_password_kba_only(runtime, token, data.password, data.password_confirmation, context)
    return KbaStarted(recovery_id=token, expires_at=flow.expires_at,
                      message=answer_message(settings.support_phone))
