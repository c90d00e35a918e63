"""The password (SECURITY.md › Passwords; NIST SP 800-63B-4 §3.1.1; RFC 8176 ``pwd``).

Verification only: counting the attempt, the failure floor and the lockout are the attempt
protocol's (``services/attempts.py``), the same for every principal. Without a usable stored
hash (unknown identifier, disabled account or password) a dummy argon2id verification runs, so
the answer costs the same (SECURITY.md › Account enumeration).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guarita.domain.passwords import normalize
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

CREDENTIAL = "password"


class PasswordMethod:
    id = "password"
    amr = "pwd"
    proves = Proof.KNOWLEDGE
    evidence = None
    purposes = frozenset({Purpose.SIGN_IN, Purpose.REAUTHENTICATION})
    label = N_("Senha")
    short_label = N_("Senha")

    def hint(self, principal: Principal) -> str | None:
        return None

    async def start(self, ctx: MethodContext, flow: Any, principal: Principal) -> Step:
        return Step(
            method=self.id, kind=StepKind.KNOWLEDGE_FORM, title=N_("Digite sua senha"),
            fields=(StepField("password", N_("Senha"), type="password",
                              autocomplete="current-password"),),
            submit=N_("Entrar"),
        )

    async def verify(self, ctx: MethodContext, flow: Any, answer: Mapping[str, str]) -> Outcome:
        stored = await ctx.credentials.get(CREDENTIAL)
        secret = stored.secret if stored is not None else None
        ok = await ctx.hasher.verify(secret, normalize(answer.get("password") or ""))
        rehash = bool(ok and secret and ctx.hasher.needs_rehash(secret))
        return Outcome(ok=ok, method=self.id, amr=self.amr, proof=self.proves,
                       details={"rehash": rehash})


METHOD = PasswordMethod()
