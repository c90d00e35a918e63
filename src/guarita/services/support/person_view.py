"""The person view (docs/support-desk.md › What an agent does): the person as this actor may see
them now — masked, or in full while a grant from a passing caller check lasts. Opening a person in
full is itself audited."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from guarita.domain import identifiers as ids
from guarita.domain.accounts import CONTACT_KINDS
from guarita.domain.actors import Actor
from guarita.domain.audit_tags import AuditTag
from guarita.domain.contact_trust import may_receive_recovery_codes
from guarita.runtime import Runtime
from guarita.services import second_factors as second_factors_service
from guarita.services.support import history, labels
from guarita.services.support.account_state import locks_of, state_of
from guarita.services.support.action import audit_context
from guarita.services.support.grants import grant_of, person_of, recent_failures
from guarita.services.support.history import AuditItem, LoginItem, MessageItem, PendingChange
from guarita.services.support.masking import mask, mask_name, shown, subject_of
from guarita.storage import accounts as accounts_repo
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import AccountIdentifier
from guarita.storage.types import utcnow


@dataclass
class IdentifierItem:
    id: int
    kind: str
    kind_label: str
    display: str
    verified: bool
    login_enabled: bool
    source: str
    source_label: str


@dataclass
class ContactChoice:
    """A verified contact offered for a recovery, always by its masked form."""

    id: int
    kind: str
    masked: str


@dataclass
class PersonView:
    id: int
    unmasked: bool
    grant_expires_at: datetime | None
    grant_reason: str | None
    name: str
    cpf: str | None
    card: str
    has_account: bool
    account_id: str | None
    state: str
    state_label: str
    locked_until: datetime | None
    failures: int
    legacy: bool
    trust_level: str | None
    identifiers: list[IdentifierItem] = field(default_factory=list)
    registry_contacts: list[IdentifierItem] = field(default_factory=list)
    recovery_contacts: list[ContactChoice] = field(default_factory=list)
    logins: list[LoginItem] = field(default_factory=list)
    messages: list[MessageItem] = field(default_factory=list)
    audit: list[AuditItem] = field(default_factory=list)
    pending_changes: list[PendingChange] = field(default_factory=list)
    checks_left: int = 0  # always set by person_view(), from the settings
    # Whether the person has a second factor and of which kinds; never a secret.
    second_factors: list[str] = field(default_factory=list)
    # The nome social from the registry (masked like the name), or None.
    social_name: str | None = None

    @property
    def subject(self) -> str:
        return subject_of(self.id, self.account_id)

    def as_json(self) -> dict:
        data = asdict(self)
        for key in ("grant_expires_at", "locked_until"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        for section in ("logins", "messages", "audit"):
            for item in data[section]:
                item["at"] = item["at"].isoformat()
        for item in data["pending_changes"]:
            item["expires_at"] = item["expires_at"].isoformat()
        return data


def identifier_item(identifier: AccountIdentifier, unmasked: bool) -> IdentifierItem:
    return IdentifierItem(
        id=identifier.id,
        kind=identifier.kind,
        kind_label=labels.KINDS.get(identifier.kind, identifier.kind),
        display=shown(identifier.kind, identifier.value, unmasked),
        verified=identifier.verified_at is not None,
        login_enabled=identifier.login_enabled,
        source=identifier.source,
        source_label=labels.SOURCES.get(identifier.source, identifier.source),
    )


async def person_view(
    runtime: Runtime,
    actor: Actor,
    beneficiary_id: int,
    context: RequestContext,
) -> PersonView:
    """The person as this actor may see them now: masked, or in full during a grant."""
    desk = runtime.settings.support
    now = utcnow()
    async with runtime.db.transaction() as session:
        beneficiary, account = await person_of(session, beneficiary_id)
        grant = await grant_of(session, actor, beneficiary.id, now)
        unmasked = grant is not None
        lock = (await locks_of(session, [account.id], now)).get(account.id) if account else None
        state, locked_until = state_of(account, lock)
        failed = await recent_failures(session, actor, beneficiary.id, now, desk.caller_check_window_minutes)
        view = PersonView(
            id=beneficiary.id,
            unmasked=unmasked,
            grant_expires_at=grant.expires_at if grant else None,
            grant_reason=grant.reason if grant else None,
            name=beneficiary.name if unmasked else mask_name(beneficiary.name),
            # Decreto 8.727/2016 art. 5-6: the desk treats the person by the nome social.
            social_name=(beneficiary.social_name if unmasked else mask_name(beneficiary.social_name))
            if beneficiary.social_name else None,
            cpf=mask("cpf", beneficiary.cpf),
            card=ids.mask_card(beneficiary.card_number),
            has_account=account is not None,
            account_id=account.id if account else None,
            state=state,
            state_label=labels.STATES[state],
            locked_until=locked_until,
            failures=lock.count if lock is not None else 0,
            legacy=bool(account and account.legacy),
            trust_level=account.trust_level if account else None,
            checks_left=max(0, desk.caller_check_failures - failed),
        )
        if account is not None:
            held = await second_factors_service.held(session, account.id)
            view.second_factors = [labels.SECOND_FACTORS[t] for t in
                                   (*second_factors_service.FACTORS, second_factors_service.BACKUP)
                                   if t in held]
            identifiers = await accounts_repo.identifiers_of(session, account.id)
            view.identifiers = [identifier_item(i, unmasked) for i in identifiers]
            view.recovery_contacts = [
                ContactChoice(i.id, i.kind, mask(i.kind, i.value))
                for i in identifiers
                if i.kind in CONTACT_KINDS
                and may_receive_recovery_codes(i.verified_at, i.recovery_allowed_after, now)
            ]
        else:
            for kind, value in (("email", beneficiary.email), ("phone", beneficiary.phone)):
                if value:
                    view.registry_contacts.append(
                        IdentifierItem(
                            0,
                            kind,
                            labels.KINDS[kind],
                            shown(kind, value, unmasked),
                            False,
                            False,
                            "registry",
                            labels.SOURCES["registry"],
                        )
                    )
        if unmasked:
            if account is not None:
                view.logins = await history.logins(session, account.id)
                view.messages = await history.messages(session, account.id)
            view.audit = await history.audit_trail(session, beneficiary.id, account.id if account else None)
            view.pending_changes = await history.pending_changes(session, actor, beneficiary.id, now)
            await record(
                session,
                AuditTag.SUPPORT_PERSON_VIEWED,
                subject=subject_of(beneficiary.id, view.account_id),
                context=audit_context(actor, context),
                details={**actor.audit_details(), "beneficiary_id": beneficiary.id},
            )
    return view
