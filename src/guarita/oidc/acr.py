"""Authentication Context Class References: Guarita's trust levels (OpenID Connect Core §2,
§3.1.2.1).

``urn:guarita:loa:bronze|prata|ouro``, as gov.br's levels: how strongly the person's identity was
proven. The levels are ordered, so asking for one accepts any above it. ``acr_values`` lists
levels in order of preference; the weakest one listed is the minimum the client accepts.

Clients written for gov.br name levels by number (its "níveis": 1 bronze, 2 prata, 3 ouro, as
in the ``niveis`` of its catalogue URL); those numbers are read as the same levels. Anything
else is ignored (Core §3.1.2.1: ``acr_values`` is a voluntary claim).
"""

from __future__ import annotations

from guarita.domain.accounts import TrustLevel

PREFIX = "urn:guarita:loa:"
# Not a level of identity proofing but of authentication: two factors in this sign-in
# (docs/two-step.md). Asking for it forces the second step (a step-up of a live session).
MFA = "urn:guarita:mfa"
LEVELS = tuple(level.value for level in TrustLevel)
VALUES = tuple(PREFIX + level for level in LEVELS)
# gov.br's numeric levels (its Login Único manual › Níveis): 1 bronze, 2 prata, 3 ouro.
GOVBR_NUMBERS = {str(n): level for n, level in enumerate(LEVELS, start=1)}


def value_of(level: str) -> str:
    return PREFIX + (level if level in LEVELS else LEVELS[0])


def requested_levels(acr_values: str | None) -> list[str]:
    """The known levels in ``acr_values``; unknown values are ignored (Core §3.1.2.1: voluntary)."""
    found = []
    for item in (acr_values or "").split():
        level = level_of(item)
        if level is not None and level not in found:
            found.append(level)
    return found


def level_of(value: str) -> str | None:
    """``urn:guarita:loa:prata`` or gov.br's ``2`` → ``prata``; None for anything else."""
    if value.startswith(PREFIX) and value[len(PREFIX) :] in LEVELS:
        return value[len(PREFIX) :]
    return GOVBR_NUMBERS.get(value)


def minimum(wanted: list[str]) -> str | None:
    """The weakest level listed: the one the client accepts at least."""
    return min(wanted, key=LEVELS.index) if wanted else None


def satisfies(level: str, wanted: list[str]) -> bool:
    if not wanted:
        return True
    rank = LEVELS.index(level) if level in LEVELS else 0
    return rank >= min(LEVELS.index(w) for w in wanted)


def wants_mfa(acr_values: str | None) -> bool:
    return MFA in (acr_values or "").split()
