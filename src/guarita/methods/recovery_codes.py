"""Recovery codes: ten single-use codes shown once, for when the authenticator app is lost
(NIST SP 800-63B-4 §3.1.2, look-up secrets; django-allauth ``mfa/recovery_codes``).

The set is one ``recovery_codes`` credential: ``data["hashes"]`` holds an HMAC-SHA256 of each code
(keyed by the server secret and bound to the owner, so a database copy reveals no code and a
hash moved to another principal matches nothing), ``data["used"]`` the positions spent. Spending
one is a compare-and-set on the credential's version: two requests with the same code have one
winner. A new set replaces the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from guarita.domain.evidence import EvidenceKind
from guarita.methods.base import (
    N_,
    MethodContext,
    Outcome,
    Principal,
    Proof,
    Purpose,
    Step,
    StepField,
    StepKind,
)

CREDENTIAL = "recovery_codes"
COUNT = 10
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed
_RACE_RETRIES = 3


LENGTH = 16  # 31 ** 16 ≈ 2 ** 79: above the 64 bits NIST SP 800-63B-4 §3.1.2 asks of a look-up secret


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, LENGTH, 4))


def clean(raw: str | None) -> str:
    return "".join(ch for ch in (raw or "").lower() if ch.isalnum())[:32]


def code_hash(master: bytes, principal: Principal, raw: str) -> str:
    message = f"{principal.kind}-recovery|{principal.id}|{clean(raw)}".encode()
    return hmac.new(master, message, hashlib.sha256).hexdigest()


def new_set(master: bytes, principal: Principal, count: int = COUNT) -> tuple[list[str], dict]:
    """Fresh codes to show once, and the credential data that verifies them."""
    codes = [new_code() for _ in range(count)]
    return codes, {"hashes": [code_hash(master, principal, c) for c in codes], "used": []}


def left(data: Mapping[str, Any]) -> int:
    return len(data.get("hashes", [])) - len(set(data.get("used", [])))


class RecoveryCodesMethod:
    id = "recovery_code"
    amr = "otp"
    proves = Proof.POSSESSION
    evidence = EvidenceKind.SECOND_FACTOR
    purposes = frozenset({Purpose.SECOND_FACTOR})
    label = N_("Código de recuperação")
    short_label = N_("Código de recuperação")

    def hint(self, principal: Principal) -> str | None:
        return None

    async def start(self, ctx: MethodContext, flow: Any, principal: Principal) -> Step:
        return Step(
            method=self.id, kind=StepKind.CODE_FORM, title=N_("Use um código de recuperação"),
            text=N_("Digite um dos códigos que você guardou. Cada código vale uma vez só."),
            fields=(StepField("code", N_("Código de recuperação"), autocomplete="off",
                              hint=N_("Por exemplo: abcd-efgh-jkmn")),),
            submit=N_("Confirmar"),
        )

    async def verify(self, ctx: MethodContext, flow: Any, answer: Mapping[str, str]) -> Outcome:
        failed = Outcome(ok=False, method=self.id, amr=self.amr, proof=self.proves)
        if not clean(answer.get("code")):
            return failed
        digest = code_hash(ctx.secret(), ctx.principal, answer.get("code") or "")
        for _ in range(_RACE_RETRIES):
            stored = await ctx.credentials.get(CREDENTIAL)
            if stored is None:
                return failed
            hashes = list(stored.data.get("hashes", []))
            used = list(stored.data.get("used", []))
            # Every position is compared, so the time taken says nothing about which matched.
            found = None
            for position, candidate in enumerate(hashes):
                if hmac.compare_digest(candidate, digest) and position not in used:
                    found = position
            if found is None:
                return failed
            data = {**stored.data, "used": [*used, found]}
            if await ctx.credentials.replace_data(stored, data):
                return Outcome(ok=True, method=self.id, amr=self.amr, proof=self.proves,
                               evidence=self.evidence, details={"left": left(data)})
            # Someone spent a code of this set meanwhile: read it again (maybe it was this one).
        return failed


METHOD = RecoveryCodesMethod()
