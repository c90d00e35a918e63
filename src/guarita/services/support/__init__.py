"""The support desk's use cases, shared by the console and the support API
(docs/support-desk.md). One module per use case; this package re-exports them.

The rules, checked here and nowhere else:

1. **Masked until proven.** Search results and the person view show masked data
   (``***.456.789-**``, ``j***@g***.com``, card ``****5678``, first name and initials) until this
   actor has recorded a reason *and* a caller check passed (:mod:`.caller_check`). The check
   compares what the caller says (birth date plus CPF or card number) with the registry and answers
   only "confere" or "não confere"; the values to compare are never shown, before or after. A
   passing check is a grant, for ``GUARITA_SUPPORT__GRANT_MINUTES``, to this actor for this person.
2. **Every action needs a reason** (one of :data:`labels.REASONS`, free text for "outro") and a
   live grant, and writes an audit event with the agent, the subject, the reason and the outcome —
   refusals included. :class:`.action.DeskAction` is that rule, once, for every action.
3. **Agents never see or set passwords, codes, tokens or secrets.** Codes go to the person's
   contacts through the outbox; the contact-verification flow's handle is kept sealed server-side
   (``SupportContactChange.flow_ref``); the CPF and the birth date are never shown in full; the
   card number only through the audited "reveal" action.
4. **Roles** (``domain/roles.py``) are checked at the edge (``console/pages.py``,
   ``console/api.py``); the supervisor-only actions (re-enable a password, disable or enable an
   account, record an in-person identity check) are separate functions with their own permission.
"""

from __future__ import annotations

from guarita.services.support.account_actions import (
    UnlockResult,
    reenable_password,
    reveal_card,
    set_account_status,
    unlock,
)
from guarita.services.support.caller_check import CheckResult, caller_check
from guarita.services.support.contact_change import (
    ContactChangeStarted,
    confirm_contact_change,
    pending_change,
    start_contact_change,
)
from guarita.services.support.identity_check import (
    IdentityChecked,
    normalize_document,
    record_identity_check,
)
from guarita.services.support.masking import mask_name, subject_of
from guarita.services.support.person_view import PersonView, person_view
from guarita.services.support.reasons import Reason, parse_reason
from guarita.services.support.recovery_request import RecoveryRequested, start_recovery
from guarita.services.support.search import SEARCH_KINDS, SearchResult, search
from guarita.services.support.second_factor_removal import remove_second_factors

__all__ = [
    "SEARCH_KINDS",
    "CheckResult",
    "ContactChangeStarted",
    "IdentityChecked",
    "PersonView",
    "Reason",
    "RecoveryRequested",
    "SearchResult",
    "UnlockResult",
    "caller_check",
    "confirm_contact_change",
    "mask_name",
    "normalize_document",
    "parse_reason",
    "pending_change",
    "person_view",
    "record_identity_check",
    "reenable_password",
    "remove_second_factors",
    "reveal_card",
    "search",
    "set_account_status",
    "start_contact_change",
    "start_recovery",
    "subject_of",
    "unlock",
]
