"""Solving ALTCHA challenges the way the browser widget does, for API tests."""

from __future__ import annotations

import altcha

from guarita.config import Settings
from guarita.methods.captcha import create_challenge


def solve(settings: Settings) -> str:
    challenge = altcha.v2.Challenge.from_dict(create_challenge(settings))
    solution = altcha.solve_challenge(challenge)
    return altcha.Payload(challenge, solution).to_base64()
