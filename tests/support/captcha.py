"""Solving ALTCHA challenges the way the browser widget does, for API tests."""

from __future__ import annotations

import altcha
import httpx

from guarita.config import Settings
from guarita.methods.captcha import create_challenge


def solve(settings: Settings) -> str:
    challenge = altcha.v2.Challenge.from_dict(create_challenge(settings))
    solution = altcha.solve_challenge(challenge)
    return altcha.Payload(challenge, solution).to_base64()


def solve_remote(base_url: str) -> str:
    """A solution to a challenge of a running server (``GET /api/v1/captcha``), as the widget
    does it: for tests that drive ``guarita serve`` in another process."""
    challenge = httpx.get(base_url.rstrip("/") + "/api/v1/captcha", timeout=30).json()
    parsed = altcha.v2.Challenge.from_dict(challenge)
    return altcha.Payload(parsed, altcha.solve_challenge(parsed)).to_base64()
