"""Shared steps of the two-step tests: a registered person, a recent session, an enrolled app."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp

from guarita.methods import totp
from guarita.services import second_factors
from guarita.services.login import sign_in
from guarita.services.registration import RegistrationInput, register
from guarita.storage.audit import RequestContext
from tests.support.captcha import solve
from tests.support.factories import STRONG, add_beneficiary

CTX = RequestContext(ip="198.51.100.9", user_agent="pytest")


async def person(runtime, **kw):  # noqa: ANN001, ANN003
    b = await add_beneficiary(runtime, **kw)
    result = await register(
        runtime,
        RegistrationInput(
            b.card_number, b.cpf, b.cpf is None, b.birth_date.isoformat(), STRONG, STRONG,
            captcha=solve(runtime.settings),
        ),
        CTX,
    )
    return b, result


def secret_of(enrolment: second_factors.TotpEnrolment) -> str:
    return enrolment.secret.replace(" ", "")


def code_at(secret: str, moment: datetime | None = None) -> str:
    return pyotp.TOTP(secret).at(moment or datetime.now(UTC))


def next_step_code(secret: str, offset: int = 1) -> str:
    """The code of a later step (inside the ±1 drift window), not yet used."""
    step = totp.step_at(datetime.now(UTC)) + offset
    return totp.code_at_step(secret, step)


async def with_totp(runtime):  # noqa: ANN001
    """A person who enrolled the app; returns (beneficiary, session info, secret, codes)."""
    b, result = await person(runtime)
    enrolment = await second_factors.start_totp(runtime, result.session, CTX)
    secret = secret_of(enrolment)
    codes = await second_factors.confirm_totp(
        runtime, result.session, enrolment.enrolment_id, code_at(secret), CTX
    )
    return b, result.session, secret, codes


async def password_step(runtime, b):  # noqa: ANN001
    return await sign_in(runtime, b.card_number, STRONG, CTX)
