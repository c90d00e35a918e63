"""States of the self-service flows (house style 1; Ory Kratos ``selfservice/flow/*/state.go``)."""

from __future__ import annotations

from enum import StrEnum


class FlowKind(StrEnum):
    RECOVERY = "recovery"
    CONTACT_VERIFICATION = "contact_verification"
    LOCK_LINK = "lock_link"


class RecoveryState(StrEnum):
    CHOOSE_METHOD = "choose_method"  # identifier and captcha accepted
    CODE_SENT = "code_sent"          # a code went out (or, for unknown people, seemed to)
    VERIFIED = "verified"            # the code came back: a new password may be set
    COMPLETED = "completed"
    FAILED = "failed"                # too many wrong codes


class VerificationState(StrEnum):
    CODE_SENT = "code_sent"
    COMPLETED = "completed"
    FAILED = "failed"
