"""The health-plan data form: card or e-mail + CPF + birth date (docs/recovery.md; SECURITY.md › Recovery).

That knowledge leaks easily (payroll-loan scams trade it), so by default matching data only
opens the code step: the code goes to a verified contact, and the answer is one and the same
for matching data, mismatching data, and an account without a verified contact — it tells the
person that a code was sent *if* the data match, and whom to call otherwise. It takes the same
time as well: what is not sent or audited is rendered and written into a sink
(``services/recovery.py``).

``recovery.kba_only=true`` reproduces the health-plan app for organisations that insist: the
form also takes the new password, matching data set it at once, every contact is notified, and
the account stays at the lowest trust level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from guarita.domain import identifiers as ids
from guarita.domain.accounts import AccountStatus
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.flows import FlowKind, RecoveryState
from guarita.domain.identifiers import IdentifierKind
from guarita.domain.passwords import person_context
from guarita.methods import captcha, email_code, kba, sms_code
from guarita.methods.base import Principal, Step
from guarita.runtime import Runtime
from guarita.services import code_caps, flows, recovery, throttling
from guarita.services.method_context import ServiceContext, account_principal
from guarita.services.registration import policy_for
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record_or_sink
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
    no_cpf: bool = False  # "Não possui CPF" (a CPF typed anyway wins: identifiers.cpf_or_none)


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


NOBODY = -1  # a beneficiary id no row has


class _Records:
    """The KBA method's record port: the registry data of the account a typed identifier names.

    A card number names a beneficiary (with or without an account); an e-mail names an account.
    """

    def __init__(self, session) -> None:  # noqa: ANN001
        self.session = session
        self.account: Account | None = None

    async def find(self, identifier: ids.Identifier) -> kba.KnownRecord | None:
        # The same statements whether the identifier is known or not, so that the form's
        # timing does not tell (SECURITY.md › Account enumeration); NOBODY matches no row.
        session = self.session
        if identifier.kind is IdentifierKind.CARD:
            beneficiary = (await session.execute(
                select(Beneficiary).where(Beneficiary.card_number == identifier.value)
            )).scalar_one_or_none()
        else:
            found = await accounts_repo.find_identifier(session, [identifier])
            account = (await session.execute(
                select(Account).where(Account.id == (found.account_id if found else ""))
            )).scalar_one_or_none()
            beneficiary = (await session.execute(
                select(Beneficiary).where(Beneficiary.id == (
                    account.beneficiary_id if account and account.beneficiary_id else NOBODY))
            )).scalar_one_or_none()
        self.account = (await session.execute(
            select(Account).where(Account.beneficiary_id == (
                beneficiary.id if beneficiary else NOBODY))
        )).scalar_one_or_none()
        if beneficiary is None:
            return None
        return kba.KnownRecord(account_id=self.account.id if self.account else None,
                               cpf=beneficiary.cpf, birth_date=beneficiary.birth_date)


async def form_step(runtime: Runtime, context: RequestContext | None = None) -> Step:
    """The form the health-plan check asks for (with the new password in knowledge-only mode)."""
    ctx = ServiceContext(runtime=runtime, request=context or RequestContext(),
                         principal=Principal.unknown())
    return await kba.METHOD.start(ctx, None, Principal.unknown())


async def start(runtime: Runtime, data: KbaInput, context: RequestContext) -> KbaStarted:
    settings = runtime.settings
    method = kba.METHOD
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, settings, "recovery", context.ip)
    answer = {"identifier": data.identifier, "cpf": data.cpf, "no_cpf": data.no_cpf,
              "birth_date": data.birth_date}
    typed = kba.parse(answer, settings.card_min_length, settings.card_max_length)
    if settings.recovery.kba_only:
        if data.password != data.password_confirmation:
            raise GuaritaError(ErrorCode.PASSWORD_MISMATCH, field="password_confirmation")
        # The typed data are enough to judge most of the password before anything is looked up.
        policy_for(runtime).check(data.password or "", person_context(
            runtime.settings.organisation_name, cpf=typed.cpf, birth_date=typed.birth_date))
    await captcha.verify(runtime, data.captcha, context.ip)
    token, id_hash = flows.new_token()
    now = utcnow()
    async with runtime.db.transaction() as session:
        records = _Records(session)
        outcome = await method.verify(
            ServiceContext(runtime=runtime, request=context, principal=Principal.unknown(),
                           session=session, now=now, records=records),
            None, answer,
        )
        account = records.account if outcome.ok else None
        usable = account is not None and account.status == AccountStatus.ACTIVE
        # Counted for mismatching data too, on a row of nobody: the same work (same timing).
        if not settings.recovery.kba_only and not await code_caps.recovery_flow_allowed(
            session, settings, account.id if usable else None
        ):
            usable = False  # over the day's cap: the same answer, nothing sent
        principal = await account_principal(session, account.id if usable else None, recovery=True)
        # The code goes to the e-mail when there is one, else to the phone; mismatching data
        # render (into the sink) the e-mail, what matching data most often render.
        code_method = next((m for m in (email_code.METHOD, sms_code.METHOD)
                            if m.channel in principal.contacts), email_code.METHOD)
        principal = await code_caps.principal_within_caps(session, settings, principal,
                                                          code_method.channel)
        identifier = typed.identifier
        flow = Flow(
            id_hash=id_hash, kind=FlowKind.RECOVERY, state=RecoveryState.CODE_SENT,
            account_id=account.id if usable else None,
            identifier_kind=identifier.kind.value, identifier_value=identifier.value,
            method=code_method.id, created_at=now,
            expires_at=now + timedelta(minutes=settings.recovery.flow_minutes),
            data={"via": "kba"},
        )
        session.add(flow)
        has_contact = code_method.channel in principal.contacts
        # Mismatching data make the same appends, into a sink: the form's timing must not say
        # that the data matched (SECURITY.md › Account enumeration).
        await record_or_sink(
            session, AuditTag.RECOVERY_STARTED, sink=not usable,
            subject=account.id if usable else None,
            context=context, details={"via": "kba", "has_contact": has_contact})
        if settings.recovery.kba_only:
            if not usable:
                raise GuaritaError(ErrorCode.BENEFICIARY_NOT_MATCHED)
            flow.state = RecoveryState.VERIFIED
        else:
            await code_method.start(
                ServiceContext(runtime=runtime, request=context, principal=principal,
                               session=session, now=now,
                               codes=recovery.code_port(runtime, session, token, now)),
                flow, principal,
            )
            await record_or_sink(
                session, AuditTag.RECOVERY_CODE_SENT, sink=not has_contact,
                subject=account.id if usable else None,
                context=context, details={"method": flow.method, "via": "kba"})
    if settings.recovery.kba_only:
        # The organisation chose knowledge alone: set the password now, verify nothing new.
        await recovery.set_password_kba_only(runtime, token, data.password, data.password_confirmation, context)
    return KbaStarted(recovery_id=token, expires_at=flow.expires_at,
                      message=answer_message(settings.support_phone))
