"""Proof Key for Code Exchange (RFC 7636), S256 only.

RFC 9700 §2.1.1 and SECURITY.md: ``plain`` is refused, a missing challenge is refused, and a
``code_verifier`` sent for a code issued without a challenge is refused too (a downgrade an
attacker who injected a stolen code would try; RFC 9700 §4.8.2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

METHODS = ("S256",)
# RFC 7636 §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# §4.2: BASE64URL(SHA256(verifier)) is always 43 characters.
S256_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def challenge_problem(challenge: str | None, method: str | None) -> str | None:
    """What is wrong with an authorization request's challenge (RFC 7636 §4.3), or None."""
    if not challenge:
        return "code_challenge e obrigatorio (PKCE com S256)"
    if method != "S256":
        # §4.3 makes an absent method mean "plain", which is refused like an explicit one.
        return "code_challenge_method deve ser S256"
    if not S256_CHALLENGE.match(challenge):
        return "code_challenge invalido"
    return None


def verifier_matches(verifier: str | None, challenge: str | None, method: str | None) -> bool:
    """RFC 7636 §4.6, with the downgrade rules of RFC 9700 §4.8.2."""
    if not challenge or method != "S256":
        return False  # also: a verifier for a code issued without a challenge
    if not verifier or not VERIFIER.match(verifier):
        return False
    return hmac.compare_digest(s256(verifier), challenge)
