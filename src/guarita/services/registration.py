"""Cadastro: a person creates an account by matching one record of the registry (docs/recovery.md › Cadastro).

Ordered checks, each a small function (house style 5):

1. ``_parse``: every field's format and the password policy against what was typed, all
   errors at once (``FieldErrors``);
2. the captcha (``methods/captcha.py``, the one recovery uses): card + CPF + birth date leak
   together, and the form must not check them in bulk;
3. ``_match``: one registry record must match card + birth date + CPF (or have no CPF when the
   person ticked "Não possui CPF"); a mismatch never says which field was wrong;
4. ``_tell_existing_account``: a beneficiary who already has an account gets the answer of a
   mismatch, and "você já tem uma conta" goes to the account's verified contacts instead
   (SECURITY.md › Account enumeration): leaked data are not confirmed, and the person who
   forgot they registered reads it where only they can;
5. ``_password_with_record``: the policy again with the registry's name and e-mail;
6. ``_create``: account, identifiers, credential, audit, welcome message and session in one
   transaction. The unique ``accounts.beneficiary_id`` makes two simultaneous registrations of
   one beneficiary end with exactly one account; the loser answers like a mismatch too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from guarita.domain import identifiers as ids
from guarita.domain.accounts import AccountStatus, TrustLevel, initial_identifiers
from guarita.domain.audit_tags import AuditTag
from guarita.domain.errors import ErrorCode, FieldErrors, GuaritaError, Message
from guarita.domain.evidence import EvidenceKind
from guarita.domain.identifiers import IdentifierKind
from guarita.domain.passwords import PasswordContext, PasswordPolicy, person_context
from guarita.methods import captcha
from guarita.runtime import Runtime
from guarita.services import sessions, throttling, trust
from guarita.services.notifications import notify_contacts
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Account, AccountIdentifier, Beneficiary
from guarita.storage.types import utcnow


@dataclass
class RegistrationInput:
    card_number: str
    cpf: str | None
    no_cpf: bool
    birth_date: str | date
    password: str
    password_confirmation: str
    captcha: str | None = None


@dataclass
class _Parsed:
    card: str
    cpf: str | None
    birth_date: date


@dataclass
class RegistrationResult:
    account_id: str
    session_token: str
    session: sessions.SessionInfo


def policy_for(runtime: Runtime, *, second_factor: bool = False) -> PasswordPolicy:
    """15 characters when the password is the only factor, 8 with a second factor
    (SECURITY.md › Passwords; NIST SP 800-63B-4 §3.1.1.2)."""
    cfg = runtime.settings.password
    if second_factor:
        return PasswordPolicy(min_length=cfg.min_length_multi_factor, max_length=cfg.max_length)
    return PasswordPolicy.single_factor(cfg.min_length_single_factor, cfg.max_length)


def long_enough_alone(runtime: Runtime, normalized: str) -> bool:
    return len(normalized) >= runtime.settings.password.min_length_single_factor


def _parse(runtime: Runtime, data: RegistrationInput) -> _Parsed:
    settings = runtime.settings
    errors: list[GuaritaError] = []
    card = cpf = birth = None
    try:
        card = ids.normalize_card(data.card_number, settings.card_min_length, settings.card_max_length)
    except GuaritaError as exc:
        errors.append(exc)
    try:
        cpf = ids.cpf_or_none(data.cpf, data.no_cpf)
    except GuaritaError as exc:
        errors.append(exc)
    try:
        birth = ids.parse_birth_date(data.birth_date)
    except GuaritaError as exc:
        errors.append(exc)
    try:
        # The policy against what was typed; the registry's name and e-mail come after _match.
        policy_for(runtime).check(data.password, person_context(
            runtime.settings.organisation_name, cpf=cpf, card_number=card, birth_date=birth))
    except GuaritaError as exc:
        errors.append(exc)
    if data.password != data.password_confirmation:
        errors.append(GuaritaError(ErrorCode.PASSWORD_MISMATCH, field="password_confirmation"))
    if errors:
        raise FieldErrors(errors) if len(errors) > 1 else errors[0]
    return _Parsed(card=card, cpf=cpf, birth_date=birth)


def not_matched() -> GuaritaError:
    """One answer for wrong data and for a beneficiary who already has an account (module
    docstring, step 4): it points to Entrar and Esqueci minha senha without saying which."""
    return GuaritaError(ErrorCode.BENEFICIARY_NOT_MATCHED, message=Message.REGISTRATION_NOT_MATCHED)


async def _match(session, parsed: _Parsed) -> Beneficiary:  # noqa: ANN001
    record_ = (
        await session.execute(select(Beneficiary).where(Beneficiary.card_number == parsed.card))
    ).scalar_one_or_none()
    matched = (
        record_ is not None
        and record_.birth_date == parsed.birth_date
        and record_.cpf == parsed.cpf  # None == None when neither has a CPF
    )
    if not matched:
        raise not_matched()
    return record_


def person_words(
    runtime: Runtime, beneficiary: Beneficiary | None, email: str | None
) -> PasswordContext:
    """The password context of a registry record (``domain.passwords.person_context``)."""
    if beneficiary is None:
        return person_context(runtime.settings.organisation_name, email=email)
    return person_context(runtime.settings.organisation_name, cpf=beneficiary.cpf,
                          card_number=beneficiary.card_number, birth_date=beneficiary.birth_date,
                          name=beneficiary.name, email=email)


def _password_with_record(runtime: Runtime, data: RegistrationInput, beneficiary: Beneficiary) -> str:
    return policy_for(runtime).check(data.password, person_words(runtime, beneficiary, beneficiary.email))


# "Você já tem uma conta" at most this many times a day per account: enough for a person who
# tries again, not a way to flood their inbox from the registration form.
ACCOUNT_EXISTS_NOTICES_PER_DAY = 3


async def _tell_existing_account(runtime: Runtime, session, beneficiary: Beneficiary) -> bool:  # noqa: ANN001
    """True when the beneficiary already has an account; its verified contacts are then told
    through the outbox (module docstring, step 4)."""
    existing = (
        await session.execute(select(Account.id).where(Account.beneficiary_id == beneficiary.id))
    ).scalar_one_or_none()
    if existing is None:
        return False
    count, _ = await throttling.count_in_window(
        session, throttling.throttle_key("account_exists", existing), 24 * 3600
    )
    if count <= ACCOUNT_EXISTS_NOTICES_PER_DAY:
        await notify_contacts(session, runtime.settings, existing, "account_exists",
                              first_name=first_name(beneficiary.name, beneficiary.social_name))
    return True


async def register(
    runtime: Runtime, data: RegistrationInput, context: RequestContext
) -> RegistrationResult:
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, runtime.settings, "registration", context.ip)
    parsed = _parse(runtime, data)
    await captcha.verify(runtime, data.captcha, context.ip)
    async with runtime.db.transaction() as session:
        beneficiary = await _match(session, parsed)
        registered = await _tell_existing_account(runtime, session, beneficiary)
    if registered:
        raise not_matched()
    password = _password_with_record(runtime, data, beneficiary)
    hashed = await runtime.hasher.hash(password)
    try:
        return await _create(runtime, beneficiary, hashed, context)
    except IntegrityError as exc:
        # Lost the race against a simultaneous registration of the same beneficiary: the same
        # answer as any registration of an existing account.
        raise not_matched() from exc


async def _create(
    runtime: Runtime, beneficiary: Beneficiary, hashed: str, context: RequestContext
) -> RegistrationResult:
    now = utcnow()
    async with runtime.db.transaction() as session:
        account = Account(
            id=accounts_repo.new_account_id(), beneficiary_id=beneficiary.id,
            status=AccountStatus.ACTIVE, legacy=False, trust_level=TrustLevel.BRONZE,
            created_at=now, updated_at=now,
        )
        session.add(account)
        await session.flush()
        planned = initial_identifiers(
            card=beneficiary.card_number, cpf=beneficiary.cpf, email=beneficiary.email,
            phone=beneficiary.phone, legacy=False,
        )
        for item in planned:
            owner = await accounts_repo.identifier_owner(session, item.kind, item.value)
            if owner is not None:
                if item.kind in (IdentifierKind.CARD, IdentifierKind.CPF):
                    # The card or CPF already opens another account: a registry conflict that a
                    # person cannot fix alone. Same answer as a duplicate registration.
                    raise not_matched()
                continue  # a shared family e-mail stays with whoever registered it first
            session.add(AccountIdentifier(
                account_id=account.id, kind=item.kind.value, value=item.value, source="registry",
                verified_at=now if item.verified else None, login_enabled=item.login_enabled,
                created_at=now,
            ))
        await session.flush()
        await accounts_repo.set_password(session, account.id, hashed, at=now, long_enough=True)
        await trust.record_evidence(session, runtime.settings, account.id,
                                    EvidenceKind.REGISTRY_MATCH, method="registration",
                                    source="registry", context=context, now=now)
        await record(session, AuditTag.ACCOUNT_CREATED, subject=account.id, context=context,
                     details={"method": "registry_match", "no_cpf": beneficiary.cpf is None})
        await notify_contacts(session, runtime.settings, account.id, "welcome",
                              first_name=first_name(beneficiary.name, beneficiary.social_name))
        token, info = await sessions.create(session, account.id, runtime.settings.session, context,
                                            amr=["pwd"], now=now)
        await record(session, AuditTag.LOGIN_SUCCEEDED, subject=account.id, context=context,
                     details={"via": "registration"})
    return RegistrationResult(account_id=account.id, session_token=token, session=info)


def first_name(name: str | None, social_name: str | None = None) -> str:
    """The word a greeting uses: the first of the nome social when the person has one (Decreto
    8.727/2016 art. 2: the name by which the person is treated), else of the civil name."""
    return (social_name or name or "").split(" ")[0].title() or "beneficiário"
