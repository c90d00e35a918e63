"""States of the self-service flows (house style 1; Ory Kratos ``selfservice/flow/*/state.go``)."""

from __future__ import annotations

from enum import StrEnum


class FlowKind(StrEnum):
    RECOVERY = "recovery"
    CONTACT_VERIFICATION = "contact_verification"
    LOCK_LINK = "lock_link"
    SIGN_IN = "sign_in"                    # a sign-in waiting for its second factor
    TOTP_ENROLMENT = "totp_enrolment"      # a secret shown, waiting for its first code
    PASSKEY_CHALLENGE = "passkey_challenge"  # a WebAuthn challenge, single use
    DATA_EXPORT = "data_export"            # a Meus dados download link: 15 min, single use


class SignInState(StrEnum):
    """A pending sign-in ("Confirme que é você"): the first factor was proven."""

    SECOND_FACTOR = "second_factor"  # waiting for the second factor
    COMPLETED = "completed"          # a session was created
    FAILED = "failed"                # too many wrong answers


class ChallengeState(StrEnum):
    OPEN = "open"
    USED = "used"


class RecoveryState(StrEnum):
    CHOOSE_METHOD = "choose_method"  # identifier and captcha accepted
    CODE_SENT = "code_sent"          # a code went out (or, for unknown people, seemed to)
    SECOND_FACTOR = "second_factor"  # the code came back; the account's second factor is due
    VERIFIED = "verified"            # proven: a new password may be set
    COMPLETED = "completed"
    FAILED = "failed"                # too many wrong codes


class VerificationState(StrEnum):
    CODE_SENT = "code_sent"
    COMPLETED = "completed"
    FAILED = "failed"
