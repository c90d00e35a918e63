"""Staff of the support desk: the team, enrolment, sign-in with password and TOTP, sessions, and
the support API's tokens (docs/support-desk.md › Enrolling staff). One module per use case; this
package re-exports them.

- ``guarita staff add`` creates a *pending* staff account and a single-use enrolment link valid
  24 h (only its SHA-256 is stored) — :mod:`.members`, :mod:`.enrolment`.
- Sign-in always needs the password *and* a TOTP code or an unused recovery code (NIST SP
  800-63B-4 AAL2), each a method of the port checked against the credentials table —
  :mod:`.sign_in` (``methods/totp.py``, ``methods/recovery_codes.py``).
- Sessions: the one session mechanism (``services/sessions.py``) under the desk's policy from
  ``GUARITA_SUPPORT__*`` — :mod:`.sessions`.
- Support API tokens: 256-bit values prefixed ``gst_`` — :mod:`.tokens`.
"""

from __future__ import annotations

from guarita.services.staff.enrolment import (
    ENROLMENT_PATH,
    EnrolmentDone,
    EnrolmentPage,
    complete_enrolment,
    enrolment_page,
    staff_password_policy,
)
from guarita.services.staff.members import (
    Enrolment,
    StaffView,
    add_staff,
    list_staff,
    reset_staff,
    role_permissions,
    set_staff_status,
    staff_by,
)
from guarita.services.staff.sessions import load_session, sign_out
from guarita.services.staff.sign_in import StaffSignIn, sign_in
from guarita.services.staff.tokens import (
    TOKEN_PREFIX,
    TokenView,
    authenticate_token,
    create_token,
    list_tokens,
    revoke_token,
)

__all__ = [
    "ENROLMENT_PATH",
    "TOKEN_PREFIX",
    "Enrolment",
    "EnrolmentDone",
    "EnrolmentPage",
    "StaffSignIn",
    "StaffView",
    "TokenView",
    "add_staff",
    "authenticate_token",
    "complete_enrolment",
    "create_token",
    "enrolment_page",
    "list_staff",
    "list_tokens",
    "load_session",
    "reset_staff",
    "revoke_token",
    "role_permissions",
    "set_staff_status",
    "sign_in",
    "sign_out",
    "staff_by",
    "staff_password_policy",
]
