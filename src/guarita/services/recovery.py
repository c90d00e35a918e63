"""Esqueci minha senha: identifier + captcha → method → code → new password (docs/recovery.md ›
Esqueci minha senha; SECURITY.md › Recovery).

Every answer before the code is verified is the same for an unknown identifier, a known one
without the chosen channel and a known one that really got a code: the flow exists in all three
cases, goes through the same states, counts the same codes and attempts, and the messages are
queued in the outbox rather than sent inline (SECURITY.md › Account enumeration). The timing
too: a flow with nobody to send to renders its message and writes it and its audit event into
a sink (``outbox.enqueue_or_sink``, ``audit.record_or_sink``: written in a savepoint that
a real message releases and a sink rolls back).

Completing a recovery (``set_password``) also: ends every session, clears the lockout and
re-enables a disabled password, verifies the identifier that was typed and the channel that got
the code (how a legacy account opens CPF and e-mail sign-in), and notifies every verified
contact with a single-use "Não foi você?" link that locks the account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update

from guarita.domain import identifiers as ids
from guarita.domain.accounts import (
    AccountStatus,
    Channel,
    PrincipalKind,
    TrustLevel,
    opens_sign_in,
)
from guarita.domain.audit_tags import AuditTag
from guarita.domain.contact_trust import may_receive_recovery_codes
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.evidence import EvidenceKind
from guarita.domain.flows import FlowKind, RecoveryState
from guarita.domain.identifiers import IdentifierKind
from guarita.domain.upstreams import UpstreamKind
from guarita.messaging.outbox import enqueue_or_sink
from guarita.methods import captcha, registry, upstream
from guarita.methods.base import Contact, Method, Principal, Step
from guarita.methods.contact_code import ContactCodeMethod
from guarita.runtime import Runtime
from guarita.services import (
    code_caps,
    flows,
    guard,
    second_factors,
    second_step,
    sessions,
    throttling,
    trust,
    upstreams,
)
from guarita.services.method_context import FlowCodes, ServiceContext, account_principal
from guarita.services.notifications import create_lock_link, message_context, notify_contacts
from guarita.services.registration import (
    first_name,
    long_enough_alone,
    person_words,
    policy_for,
)
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record, record_or_sink
from guarita.storage.tables import Account, AccountIdentifier, Flow
from guarita.storage.types import utcnow

PURPOSE = "recovery"


@dataclass
class MethodOption:
    id: str
    label: str
    destination: str | None = None  # masked, only with recovery.show_masked_contacts
    # For "bank": the enabled banks, each {"id", "name", "logo_url"} (docs/upstreams.md).
    providers: list[dict] = field(default_factory=list)


@dataclass
class RecoveryStarted:
    recovery_id: str
    methods: list[MethodOption]
    expires_at: datetime


@dataclass
class RecoveryStatus:
    state: str
    expires_at: datetime
    # Set only when the code is accepted: the flow's new token, handed to that request alone.
    recovery_id: str | None = None
    method: str | None = None
    attempts_left: int = 0
    resend_available_at: datetime | None = None
    methods: list[MethodOption] = field(default_factory=list)
    # What the chosen method asks for next (the code form), as the pages and the API show it.
    step: Step | None = None
    # When the account has a second factor: the ways to prove it before the new password.
    second_factors: list = field(default_factory=list)


# -- step 1: identifier and captcha ----------------------------------------------------------
async def start(
    runtime: Runtime, raw_identifier: str, captcha_response: str | None, context: RequestContext
) -> RecoveryStarted:
    settings = runtime.settings
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, settings, "recovery", context.ip)
    if not raw_identifier or not raw_identifier.strip():
        raise GuaritaError(ErrorCode.INVALID_IDENTIFIER, field="identifier")
    candidates = ids.candidates(raw_identifier, settings.card_min_length, settings.card_max_length)
    await captcha.verify(runtime, captcha_response, context.ip)
    token, id_hash = flows.new_token()
    now = utcnow()
    async with runtime.db.transaction() as session:
        found = await accounts_repo.find_identifier(session, candidates)
        account_id = found.account_id if found else None
        # Counted for an unknown identifier too, on a row of nobody: the same work (same timing).
        if not await code_caps.recovery_flow_allowed(session, settings, account_id):
            account_id = None  # over the day's cap: the flow goes on as for an unknown identifier
        flow = Flow(
            id_hash=id_hash, kind=FlowKind.RECOVERY, state=RecoveryState.CHOOSE_METHOD,
            account_id=account_id,
            identifier_kind=found.kind if found else candidates[0].kind.value,
            identifier_value=found.value if found else candidates[0].value,
            created_at=now, expires_at=now + timedelta(minutes=settings.recovery.flow_minutes),
            data={"via": "identifier"},
        )
        session.add(flow)
        # An unknown identifier's flow makes the same append, into a sink (same timing).
        await record_or_sink(session, AuditTag.RECOVERY_STARTED, sink=not account_id,
                             subject=account_id, context=context,
                             details={"identifier_kind": flow.identifier_kind})
        methods = await _methods(session, runtime, account_id)
    return RecoveryStarted(recovery_id=token, methods=methods, expires_at=flow.expires_at)


async def _methods(session, runtime: Runtime, account_id: str | None) -> list[MethodOption]:  # noqa: ANN001
    """The deployment's methods, offered alike to everyone; masked hints only when enabled."""
    show = runtime.settings.recovery.show_masked_contacts
    principal = (
        await account_principal(session, account_id, recovery=True) if (show and account_id) else None
    )
    options = []
    for method_id in runtime.settings.recovery.methods:
        if method_id == upstream.BANK.id:
            # Validação pelo banco: listed, and offered while a bank is enabled.
            banks = await upstreams.enabled_of_kind(session, UpstreamKind.BANK)
            if banks:
                options.append(MethodOption(
                    id=upstream.BANK.id, label=upstream.BANK.label,
                    providers=[{"id": b.id, "name": b.name, "logo_url": upstreams.logo_url(b)}
                               for b in banks]))
            continue
        method = registry.METHODS[method_id]
        hint = method.hint(principal) if principal is not None else None
        options.append(MethodOption(id=method.id, label=method.label, destination=hint))
    return options


def _offered(runtime: Runtime, method_id: str) -> Method:
    if method_id not in runtime.settings.recovery.methods:
        raise GuaritaError(ErrorCode.METHOD_UNAVAILABLE, field="method")
    return registry.METHODS[method_id]


def code_port(
    runtime: Runtime, session, token: str | None, now: datetime | None = None  # noqa: ANN001
) -> FlowCodes:
    """The recovery's code port: codes on the flow row, delivered through the outbox."""

    async def send(flow: Flow, contact: Contact, code: str) -> None:
        await _send_code(session, runtime, flow, contact, code, token or "")

    async def send_to_sink(flow: Flow, contact: Contact, code: str) -> None:
        await _send_code(session, runtime, flow, contact, code, token or "", sink=True)

    return FlowCodes(runtime=runtime, session=session, purpose=PURPOSE,
                     expected_state=RecoveryState.CODE_SENT, next_state=RecoveryState.VERIFIED,
                     send=send, send_to_sink=send_to_sink, now=now or utcnow())


# -- step 2: method → a code through the outbox ----------------------------------------------
async def request_code(
    runtime: Runtime, token: str, method: str, context: RequestContext
) -> RecoveryStatus:
    settings = runtime.settings
    chosen = _offered(runtime, method)
    if not isinstance(chosen, ContactCodeMethod):
        # The face has its own steps (services/face_recovery.py): nothing is sent.
        raise GuaritaError(ErrorCode.METHOD_UNAVAILABLE, field="method", message=(
            "Esta opção não envia código. Na API, use /face/challenges e /face."))
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, settings, "code", context.ip)
    now = utcnow()
    async with runtime.db.transaction() as session:
        flow = await flows.load(session, token, FlowKind.RECOVERY, for_update=True)
        if flow.state not in (RecoveryState.CHOOSE_METHOD, RecoveryState.CODE_SENT):
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        flows.check_resend(flow, settings, now)
        principal = await code_caps.principal_within_caps(
            session, settings, await account_principal(session, flow.account_id, recovery=True),
            chosen.channel,
        )
        codes = code_port(runtime, session, token, now)
        flow.channel_identifier_id = None
        step = await chosen.start(
            ServiceContext(runtime=runtime, request=context, principal=principal, session=session,
                           now=now, codes=codes),
            flow, principal,
        )
        flow.state = RecoveryState.CODE_SENT
        flow.method = chosen.id
        # Audited when a code went out; otherwise the same append, into a sink (same timing).
        await record_or_sink(session, AuditTag.RECOVERY_CODE_SENT, sink=codes.delivered is None,
                             subject=flow.account_id, context=context,
                             details={"method": chosen.id})
        result = _status(flow, runtime)
        result.step = step
        return result


async def _send_code(session, runtime: Runtime, flow: Flow, contact: Contact,  # noqa: ANN001
                     code: str, token: str, *, sink: bool = False) -> None:
    settings = runtime.settings
    context = message_context(
        settings, code=code, minutes=settings.codes.lifetime_seconds // 60,
        continue_url=f"{settings.base_url.rstrip('/')}/esqueci-minha-senha/continuar?id={token}",
    )
    await enqueue_or_sink(
        session, sink=sink, channel=contact.channel, to=contact.value,
        template="recovery_code", account_id=flow.account_id, discard_after=flow.code_expires_at,
        context=context,
    )


def _status(flow: Flow, runtime: Runtime) -> RecoveryStatus:
    settings = runtime.settings
    resend = None
    if flow.last_code_at and flow.codes_sent < settings.codes.max_codes:
        resend = flow.last_code_at + timedelta(seconds=settings.codes.resend_after_seconds)
    return RecoveryStatus(
        state=flow.state, expires_at=flow.expires_at, method=flow.method,
        attempts_left=flows.attempts_left(flow, settings), resend_available_at=resend,
    )


async def status(runtime: Runtime, token: str) -> RecoveryStatus:
    async with runtime.db.transaction() as session:
        flow = await flows.load(session, token, FlowKind.RECOVERY)
        result = _status(flow, runtime)
        if flow.state in (RecoveryState.CHOOSE_METHOD, RecoveryState.CODE_SENT):
            result.methods = await _methods(session, runtime, flow.account_id)
        chosen = registry.get(flow.method or "")
        if flow.state == RecoveryState.CODE_SENT and isinstance(chosen, ContactCodeMethod):
            result.step = chosen.step()
        return result


def code_step(status: RecoveryStatus | None) -> Step:
    """The code form to show: the chosen method's, or the first code method's when the flow is
    gone (the page then shows its error above the same form)."""
    if status is not None and status.step is not None:
        return status.step
    chosen = registry.get(status.method or "") if status is not None else None
    if isinstance(chosen, ContactCodeMethod):
        return chosen.step()
    return next(m for m in registry.METHODS.values() if isinstance(m, ContactCodeMethod)).step()


# -- step 3: the code ------------------------------------------------------------------------
async def submit_code(runtime: Runtime, token: str, code: str, context: RequestContext) -> RecoveryStatus:
    settings = runtime.settings
    async with runtime.db.transaction() as session:
        await throttling.hit_rate_limit(session, settings, "code", context.ip)
    async with runtime.db.transaction() as session:
        flow = await flows.load(session, token, FlowKind.RECOVERY)
        if flow.state == RecoveryState.FAILED:
            raise flows.invalid_code(flow, settings)
        if flow.state != RecoveryState.CODE_SENT:
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        # The health-plan form's flows carry the channel their code went to as their method.
        method = registry.get(flow.method or "")
        if not isinstance(method, ContactCodeMethod):
            # A face step (or anything else that sends no code) is answered on its own route.
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        ctx = ServiceContext(runtime=runtime, request=context, principal=Principal.unknown(),
                             session=session, codes=code_port(runtime, session, token))
        outcome = await method.verify(ctx, flow, {"code": code})
        if outcome.ok:
            # Whoever started the flow is not necessarily who typed the code (a scammer can start
            # a recovery for a victim and send them the continue link): only the request that
            # proved the code gets the token that can set the password; the old one dies here.
            new_token = await flows.rotate(session, flow)
            await record(session, AuditTag.IDENTIFIER_VERIFIED, subject=flow.account_id,
                         context=context, details={"during": "recovery", "method": flow.method})
            if await second_factors.has_second_factor(session, flow.account_id):
                # A code to a contact does not bypass the second factor (SECURITY.md ›
                # Recovery): the password may be set only once it is proven too.
                await session.execute(
                    update(Flow).where(Flow.id_hash == flow.id_hash,
                                       Flow.state == RecoveryState.VERIFIED)
                    .values(state=RecoveryState.SECOND_FACTOR, attempts=0))
                flow.state = RecoveryState.SECOND_FACTOR
                flow.attempts = 0
            result = _status(flow, runtime)
            result.recovery_id = new_token
            if flow.state == RecoveryState.SECOND_FACTOR:
                result.second_factors = await second_step.options_for(
                    session, runtime, flow.account_id, exclude=(flow.method or "",))
            return result
        if flow.account_id:
            await record(session, AuditTag.RECOVERY_CODE_FAILED, subject=flow.account_id,
                         context=context, details={"attempts": flow.attempts})
        error = flows.invalid_code(flow, settings)
    raise error


# -- step 3b: the second factor, when the account has one -------------------------------------
async def second_factor_options(runtime: Runtime, token: str) -> tuple[Flow, list]:
    async with runtime.db.read() as session:
        flow = await flows.load(session, token, FlowKind.RECOVERY)
        if flow.state != RecoveryState.SECOND_FACTOR:
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        # Never the channel that just received the recovery code (SECURITY.md › Recovery).
        return flow, await second_step.options_for(session, runtime, flow.account_id,
                                                   exclude=(flow.method or "",))


async def start_second_factor(runtime: Runtime, token: str, method: str,
                              context: RequestContext) -> Step:
    flow, options = await second_factor_options(runtime, token)
    chosen = second_step._offered(options, method)
    return await second_step.start_for(runtime, flow, chosen, context, bound_to=flow.id_hash,
                                       kind=FlowKind.RECOVERY, state=RecoveryState.SECOND_FACTOR)


async def submit_second_factor(runtime: Runtime, token: str, method: str, answer: dict,
                               context: RequestContext) -> RecoveryStatus:
    """The account's second factor (or a recovery code) proven: the password may now be set.
    Wrong answers go through the attempt protocol like the sign-in's second step."""
    flow, options = await second_factor_options(runtime, token)
    chosen = second_step._offered(options, method)
    await second_step.prove(runtime, flow, chosen, answer, context, kind=FlowKind.RECOVERY,
                            state=RecoveryState.SECOND_FACTOR)
    async with runtime.db.transaction() as session:
        won = await session.execute(
            update(Flow).where(Flow.id_hash == flow.id_hash,
                               Flow.state == RecoveryState.SECOND_FACTOR)
            .values(state=RecoveryState.VERIFIED, data={**(flow.data or {}),
                                                        "second_factor": chosen.id}))
        if won.rowcount != 1:
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        flow.state = RecoveryState.VERIFIED
        return _status(flow, runtime)


# -- step 4: the new password ----------------------------------------------------------------
async def set_password(
    runtime: Runtime, token: str, password: str, confirmation: str, context: RequestContext,
    *, kba_only: bool = False,
) -> None:
    async with runtime.db.transaction() as session:
        flow = await flows.load(session, token, FlowKind.RECOVERY)
        if flow.state != RecoveryState.VERIFIED or not flow.account_id:
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        account = await accounts_repo.account(session, flow.account_id)
        beneficiary = await accounts_repo.beneficiary_of(session, account)
        identifiers = await accounts_repo.identifiers_of(session, account.id)
        # Factors that completing this recovery removes no longer protect the account, so the
        # new password meets the policy of an account without them.
        with_factor = (await second_factors.has_second_factor(session, account.id)
                       and second_factors.replacement_of(flow.data) is None)
    if password != confirmation:
        raise GuaritaError(ErrorCode.PASSWORD_MISMATCH, field="password_confirmation")
    email = next((i.value for i in identifiers if i.kind == IdentifierKind.EMAIL), None)
    normalized = policy_for(runtime, second_factor=with_factor).check(
        password, person_words(runtime, beneficiary, email))
    hashed = await runtime.hasher.hash(normalized)
    long_enough = long_enough_alone(runtime, normalized)
    if kba_only:
        # Knowledge alone proves nothing new: no identifier is verified and the trust level
        # stays bronze (SECURITY.md › Recovery).
        await complete(runtime, token, hashed, context, verify_identifiers=False, via="kba_only",
                       long_enough=long_enough)
    else:
        await complete(runtime, token, hashed, context, long_enough=long_enough)


async def set_password_kba_only(
    runtime: Runtime, token: str, password: str, confirmation: str, context: RequestContext
) -> None:
    await set_password(runtime, token, password, confirmation, context, kba_only=True)


async def complete(runtime: Runtime, token: str, hashed: str, context: RequestContext,
                   *, verify_identifiers: bool = True, via: str = "code",
                   long_enough: bool | None = None) -> None:
    """Sets the password and does everything a completed recovery does, in one transaction."""
    now = utcnow()
    async with runtime.db.transaction() as session:
        flow = await flows.load(session, token, FlowKind.RECOVERY)
        won = await session.execute(
            update(Flow).where(Flow.id_hash == flow.id_hash, Flow.state == RecoveryState.VERIFIED)
            .values(state=RecoveryState.COMPLETED, completed_at=now)
        )
        if won.rowcount != 1:
            raise GuaritaError(ErrorCode.FLOW_STATE_INVALID)
        replacement = second_factors.replacement_of(flow.data)
        if (await second_factors.has_second_factor(session, flow.account_id)
                and not (flow.data or {}).get("second_factor")):
            if replacement is None:
                # Whatever path led here (a code, the data check, knowledge only), a password is
                # never set on an account with a second factor that was not proven in this flow.
                raise GuaritaError(ErrorCode.FLOW_STATE_INVALID, message=(
                    "Esta conta usa verificação em duas etapas: confirme com o aplicativo, a "
                    "chave de acesso ou um código de recuperação antes de criar a nova senha."))
            # A face or a bank proved the person (SECURITY.md › Recovery): the lost factor goes
            # now, in the transaction that sets the password, never at the proof itself.
            by = str(replacement.pop("by", "recovery"))
            await second_factors.remove_all(session, runtime, flow.account_id, context, by=by,
                                            details=replacement)
        account = await accounts_repo.account(session, flow.account_id)
        await accounts_repo.set_password(session, account.id, hashed, at=now,
                                         long_enough=long_enough)
        account.password_disabled_at = None
        await _evidence_of(session, runtime, account.id, flow, via, context, now)
        ended = await sessions.end_all(session, account.id, now=now)
        await throttling.reset(session, throttling.sign_in_key(account.id))
        if verify_identifiers:
            await _verify_used_identifiers(session, account, flow, now)
        await record(session, AuditTag.PASSWORD_RESET, subject=account.id, context=context,
                     details={"via": via, "method": flow.method, "sessions_ended": ended})
        await record(session, AuditTag.RECOVERY_COMPLETED, subject=account.id, context=context,
                     details={"via": via})
        beneficiary = await accounts_repo.beneficiary_of(session, account)
        lock_token = await create_lock_link(session, runtime, account.id, now)
        await notify_contacts(
            session, runtime.settings, account.id, "password_reset",
            first_name=first_name(beneficiary.name if beneficiary else None,
                                         beneficiary.social_name if beneficiary else None),
            when=runtime.settings.local_time(now),
            lock_url=f"{runtime.settings.base_url.rstrip('/')}/nao-fui-eu?token={lock_token}",
        )
        # Whoever recovered must not be able to lock the owner out (docs/fraud-guard.md); a
        # recovery proven by face or bank during this flow holds nothing.
        await guard.place(session, runtime, account.id, guard.RECOVERY, context=context, now=now,
                          since=guard.aware(flow.created_at), lock_token=lock_token)


async def _evidence_of(session, runtime: Runtime, account_id: str, flow: Flow, via: str,  # noqa: ANN001
                       context: RequestContext, now: datetime) -> None:
    """What a completed recovery does to the trust level (docs/trust-levels.md › Lowering).

    The health-plan form's data check is evidence (bronze), recorded only now: written when the
    form matched, it would make matching data slower than mismatching ones. Knowledge alone
    (``kba_only``) caps the account at bronze; a code by e-mail or SMS proves a mailbox or a
    phone, not the person: it keeps the level unless ``GUARITA_TRUST__RECOVERY_CODE_LOWERS_TO``
    caps it. Face and bank recoveries recorded their own evidence when they passed.
    """
    settings = runtime.settings
    if (flow.data or {}).get("via") == "kba":
        await trust.record_evidence(session, settings, account_id, EvidenceKind.DATA_CHECK,
                                    method="kba", source="registry", context=context, now=now)
    if via == "kba_only":
        await trust.lower(session, settings, account_id, TrustLevel.BRONZE, reason="kba_only",
                          recorded_by=trust.SELF, context=context, now=now)
    elif flow.method in (Channel.EMAIL.value, Channel.SMS.value) and \
            settings.trust.recovery_code_lowers_to:
        await trust.lower(session, settings, account_id, settings.trust.recovery_code_lowers_to,
                          reason="recovery_code", recorded_by=trust.SELF, context=context,
                          now=now)


async def _verify_used_identifiers(session, account: Account, flow: Flow, now: datetime) -> None:  # noqa: ANN001
    """What a completed recovery proves (docs/architecture.md › Decisions: legacy accounts): the
    person is the registry's beneficiary, and the contact that received the code is theirs.

    So it opens sign-in by every identifier the registry ties to the person — the card and the
    CPF — whatever was typed at the start, and by the contact that got the code (an e-mail; a
    phone is not a sign-in identifier). For a legacy account this is what ends "use antes
    'Esqueci minha senha'": the old-portal manual promises CPF and e-mail sign-in after it. An
    e-mail that received nothing stays as it was: nothing proved it.
    """
    identifiers = await accounts_repo.identifiers_of(session, account.id)
    for identifier in identifiers:
        typed = identifier.kind == flow.identifier_kind and identifier.value == flow.identifier_value
        channel = identifier.id == flow.channel_identifier_id
        registry = identifier.kind in (IdentifierKind.CARD, IdentifierKind.CPF)
        if typed or channel or registry:
            identifier.verified_at = identifier.verified_at or now
            if opens_sign_in(identifier.kind):
                identifier.login_enabled = True
    if account.legacy and all(i.login_enabled for i in identifiers
                              if i.kind in (IdentifierKind.CPF, IdentifierKind.EMAIL)):
        account.legacy = False


# -- "Não foi você?" --------------------------------------------------------------------------
async def lock_link_valid(runtime: Runtime, token: str) -> bool:
    async with runtime.db.transaction() as session:
        try:
            flow = await flows.load(session, token, FlowKind.LOCK_LINK)
        except GuaritaError:
            return False
        return flow.state == "open"


async def lock_by_owner(runtime: Runtime, token: str, context: RequestContext) -> None:
    """Locks the account at once (single-use link); the support desk re-enables it."""
    now = utcnow()
    async with runtime.db.transaction() as session:
        flow = await flows.load(session, token, FlowKind.LOCK_LINK)
        won = await session.execute(
            update(Flow).where(Flow.id_hash == flow.id_hash, Flow.state == "open")
            .values(state="used", completed_at=now)
        )
        if won.rowcount != 1:
            raise GuaritaError(ErrorCode.RECOVERY_EXPIRED)
        account = await accounts_repo.account(session, flow.account_id)
        account.status = AccountStatus.DISABLED
        ended = await sessions.end_all(session, account.id, now=now)
        await record(session, AuditTag.ACCOUNT_LOCKED_BY_OWNER, subject=account.id, context=context,
                     details={"sessions_ended": ended})


# -- started by the support desk -------------------------------------------------------------
async def start_for_account(
    runtime: Runtime, account_id: str, identifier_id: int, context: RequestContext
) -> RecoveryStarted:
    """A recovery an agent starts: the code goes to the verified contact the agent chose by its
    masked form; the person continues with the link in the message. The agent never sees it."""
    now = utcnow()
    settings = runtime.settings
    token, id_hash = flows.new_token()
    async with runtime.db.transaction() as session:
        contact = await session.get(AccountIdentifier, identifier_id)
        channel = Channel.for_kind(contact.kind) if contact is not None else None
        if (contact is None or contact.account_id != account_id or channel is None
                or not may_receive_recovery_codes(contact.verified_at,
                                                  contact.recovery_allowed_after, now)):
            raise GuaritaError(ErrorCode.METHOD_UNAVAILABLE)
        if not await code_caps.code_allowed(session, settings, account_id, contact.value,
                                            per_account=False):
            raise code_caps.refused()
        method = _code_method_for(channel)
        flow = Flow(
            id_hash=id_hash, kind=FlowKind.RECOVERY, state=RecoveryState.CHOOSE_METHOD,
            account_id=account_id, identifier_kind=contact.kind, identifier_value=contact.value,
            method=method.id, created_at=now,
            expires_at=now + timedelta(minutes=settings.recovery.flow_minutes),
            data={"via": "support"},
        )
        session.add(flow)
        # The agent chose this one contact: the principal the method sees holds only it.
        principal = Principal(kind=PrincipalKind.ACCOUNT, id=account_id,
                              contacts={channel: Contact(id=contact.id, channel=channel,
                                                         value=contact.value)})
        await method.start(
            ServiceContext(runtime=runtime, request=context, principal=principal, session=session,
                           now=now, codes=code_port(runtime, session, token, now)),
            flow, principal,
        )
        flow.state = RecoveryState.CODE_SENT
        await record(session, AuditTag.SUPPORT_RECOVERY_STARTED, subject=account_id,
                     context=context, details={"method": method.id})
    return RecoveryStarted(recovery_id=token, methods=[], expires_at=flow.expires_at)


def _code_method_for(channel: Channel) -> ContactCodeMethod:
    """The registered code method that delivers on ``channel``."""
    for method in registry.METHODS.values():
        if isinstance(method, ContactCodeMethod) and method.channel is channel:
            return method
    raise GuaritaError(ErrorCode.METHOD_UNAVAILABLE)
