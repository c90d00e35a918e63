"""Which evidence makes which trust level: one table, as gov.br's catalogue of "selos de
confiabilidade" maps each seal to a level (``docs/trust-levels.md``; NIST SP 800-63A-4 §2 on
identity evidence and its strength).

An evidence row is named by what it proves (``registry_match``, ``bank``, ``face_in_person``,
``govbr_prata`` …, :func:`names_of`). A level is reached when every name of one of its rules is
present among the unexpired rows: ``prata`` needs any one of five kinds, ``ouro`` needs gov.br's
ouro or two kinds together. Every account is at least ``bronze``: it matched the registry when
it was made (by registration, the registry import or gov.br).

Lowering is a row too (kind ``level_cap``, with the level it caps at): what was proven before a
cap counts at most up to it, what is proven after it counts in full. So the level is always a
pure function of the rows (:func:`assess`), and nothing is lost when it is lowered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from guarita.domain.accounts import TrustLevel
from guarita.domain.evidence import EvidenceKind

# Face sources (``methods/face.Source``): against what the selfie was compared.
FACE_SOURCES = ("registry", "in_person", "datavalid")

# gov.br's names for its levels (``reliability_info.level``) in Guarita's.
GOVBR_LEVELS = {"bronze": TrustLevel.BRONZE, "silver": TrustLevel.PRATA, "gold": TrustLevel.OURO,
                "prata": TrustLevel.PRATA, "ouro": TrustLevel.OURO}

# Every name a rule may use; ``bank:<provider id>`` names one bank.
KNOWN_NAMES = frozenset({
    EvidenceKind.REGISTRY_MATCH.value, EvidenceKind.DATA_CHECK.value,
    EvidenceKind.CALLER_CHECK.value, EvidenceKind.IN_PERSON_DOCUMENT.value,
    EvidenceKind.SECOND_FACTOR.value, EvidenceKind.BANK.value,
    *(f"face_{s}" for s in FACE_SOURCES), *(f"face_{s}_liveness" for s in FACE_SOURCES),
    *(f"govbr_{level.value}" for level in TrustLevel),
})
_BANK_NAME = re.compile(r"^bank:[a-z0-9][a-z0-9_.-]{0,63}$")

Rules = Mapping[str, Sequence[Sequence[str]]]

# The defaults, gov.br's seals in Guarita's evidence (docs/trust-levels.md › Defaults). A level
# is met by any one rule; a rule needs every name it lists.
DEFAULT_RULES: dict[str, list[list[str]]] = {
    TrustLevel.BRONZE.value: [
        ["registry_match"],                 # cadastro básico: matched the registry
        ["data_check"],                     # validação cadastral (health-plan form)
        ["govbr_bronze"],
    ],
    TrustLevel.PRATA.value: [
        ["bank"],                           # bancos credenciados
        ["face_datavalid"],                 # validação facial na base da CNH (Senatran)
        ["face_in_person"],                 # face against a photo taken at an agency
        ["in_person_document"],             # balcão presencial
        ["govbr_prata"],
    ],
    TrustLevel.OURO.value: [
        ["govbr_ouro"],
        # validação facial com prova de vida against a photo taken in person, plus the document
        # seen in person (as TSE's biometrics were collected at a registry office)
        ["face_in_person_liveness", "in_person_document"],
    ],
}


def rule_problems(rules: Rules) -> list[str]:
    """What is wrong with a configured table, one pt-BR sentence each (empty when it is fine)."""
    problems = []
    for level, alternatives in rules.items():
        if level not in TrustLevel.__members__.values():
            problems.append(f"Nível desconhecido na tabela de confiabilidade: {level!r}.")
            continue
        for rule in alternatives:
            if not rule:
                problems.append(f"Uma regra vazia do nível {level} daria o nível a qualquer conta.")
            for name in rule:
                if name not in KNOWN_NAMES and not _BANK_NAME.match(name):
                    problems.append(f"Evidência desconhecida na regra do nível {level}: {name!r}.")
    return problems


def tighter_or_equal(rules: Rules, baseline: Rules = DEFAULT_RULES) -> list[str]:
    """The rules of ``rules`` that would raise an account the ``baseline`` leaves lower: an
    organisation may tighten the table, not loosen it (empty when it only tightens)."""
    loose = []
    for level in (TrustLevel.PRATA, TrustLevel.OURO):
        for rule in rules.get(level.value, ()):
            if _level_from(frozenset(_implied(rule)), baseline).rank < level.rank:
                loose.append(f"{level.value}: {' + '.join(rule)}")
    return loose


def _implied(rule: Iterable[str]) -> set[str]:
    """The names a set of rows offering exactly ``rule`` would carry (a stronger name implies
    the weaker ones it contains: ``face_in_person_liveness`` is also ``face_in_person``)."""
    names: set[str] = set()
    for name in rule:
        names.add(name)
        if name.startswith("bank:"):
            names.add("bank")
        if name.endswith("_liveness"):
            names.add(name.removesuffix("_liveness"))
        if name.startswith("govbr_"):
            level = TrustLevel.of(name.removeprefix("govbr_"))
            names.update(f"govbr_{lower.value}" for lower in TrustLevel if lower.rank <= level.rank)
    return names


@dataclass(frozen=True)
class Evidence:
    """One ``identity_evidence`` row as the table reads it."""

    kind: str
    recorded_at: datetime
    source: str | None = None
    level: str | None = None       # gov.br's asserted level; a cap's level
    liveness: bool = False


def names_of(row: Evidence) -> set[str]:
    """What one row proves, in the table's names."""
    kind = row.kind
    if kind == EvidenceKind.FACE:
        source = row.source if row.source in FACE_SOURCES else "registry"
        names = {f"face_{source}"}
        if row.liveness:
            names.add(f"face_{source}_liveness")
        return names
    if kind == EvidenceKind.BANK:
        return {"bank", f"bank:{row.source}"} if row.source else {"bank"}
    if kind == EvidenceKind.GOVBR:
        asserted = GOVBR_LEVELS.get((row.level or "").lower(), TrustLevel.BRONZE)
        return {f"govbr_{level.value}" for level in TrustLevel if level.rank <= asserted.rank}
    if kind == EvidenceKind.LEVEL_CAP:
        return set()
    return {kind}


def _level_from(names: frozenset[str] | set[str], rules: Rules) -> TrustLevel:
    reached = TrustLevel.BRONZE
    for level in TrustLevel:
        if any(rule and all(name in names for name in rule) for rule in rules.get(level.value, ())):
            reached = level
    return reached


def expires_at(row: Evidence, expiry_days: Mapping[str, int]) -> datetime | None:
    days = expiry_days.get(row.kind) or 0
    return row.recorded_at + timedelta(days=days) if days > 0 else None


@dataclass(frozen=True)
class Assessment:
    level: TrustLevel
    # When an expiry may change the level: recompute then (None: nothing expires).
    until: datetime | None
    # The level the rows would give without any cap (what the person proved at some time).
    uncapped: TrustLevel
    capped: bool


def assess(rows: Iterable[Evidence], rules: Rules, expiry_days: Mapping[str, int],
           now: datetime) -> Assessment:
    """The level the rows make at ``now``: unexpired rows only, caps applied in time order."""
    live: list[Evidence] = []
    until: datetime | None = None
    for row in rows:
        ends = expires_at(row, expiry_days)
        if ends is not None and ends <= now:
            continue
        if ends is not None:
            until = ends if until is None else min(until, ends)
        live.append(row)
    live.sort(key=lambda r: r.recorded_at)
    uncapped = _level_from(set().union(*(names_of(r) for r in live)) if live else set(), rules)
    level = _capped_level(live, rules)
    return Assessment(level=level, until=until, uncapped=uncapped, capped=level.rank < uncapped.rank)


def _capped_level(rows: Sequence[Evidence], rules: Rules) -> TrustLevel:
    """The level of time-ordered rows: before the last cap at most the cap, after it in full."""
    last = max((i for i, r in enumerate(rows) if r.kind == EvidenceKind.LEVEL_CAP), default=None)
    if last is None:
        names: set[str] = set().union(*(names_of(r) for r in rows)) if rows else set()
        return _level_from(names, rules)
    cap = TrustLevel.of(rows[last].level)
    before = _capped_level(rows[:last], rules)
    after_names: set[str] = set().union(*(names_of(r) for r in rows[last + 1:])) if rows[last + 1:] else set()
    after = _level_from(after_names, rules)
    kept = before if before.rank <= cap.rank else cap
    return kept if kept.rank >= after.rank else after
