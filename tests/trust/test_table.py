"""The table of trust levels (domain/trust_levels.py; docs/trust-levels.md): every default rule,
the combination ouro needs, a tightened table, expiry and caps, as a pure function of rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from guarita.config import Settings, TrustSettings
from guarita.domain.accounts import TrustLevel
from guarita.domain.trust_levels import DEFAULT_RULES, Evidence, assess, names_of, tighter_or_equal

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
B, P, OURO = TrustLevel.BRONZE, TrustLevel.PRATA, TrustLevel.OURO


def row(kind: str, *, days_ago: float = 1, **kw) -> Evidence:  # noqa: ANN003
    return Evidence(kind=kind, recorded_at=NOW - timedelta(days=days_ago), **kw)


def level(rows: list[Evidence], rules=DEFAULT_RULES, expiry=None) -> TrustLevel:  # noqa: ANN001
    return assess(rows, rules, expiry or {}, NOW).level


REGISTRY = row("registry_match", source="registry", days_ago=400)
IN_PERSON_DOC = row("in_person_document", source="rg")
LIVE_FACE_IN_PERSON = row("face", source="in_person", liveness=True)


@pytest.mark.parametrize(("rows", "expected"), [
    ([], B),
    ([REGISTRY], B),
    ([row("data_check")], B),
    ([row("caller_check")], B),            # knowledge that leaks: never more than bronze
    ([row("second_factor")], B),
    ([row("govbr", level="bronze")], B),
    ([row("face", source="registry", liveness=True)], B),  # nobody checked the registry photo
    ([row("bank", source="banco-exemplo")], P),
    ([row("face", source="datavalid", liveness=True)], P),
    ([row("face", source="in_person")], P),
    ([IN_PERSON_DOC], P),
    ([row("govbr", level="silver")], P),
    ([row("govbr", level="prata")], P),
    ([row("govbr", level="gold")], OURO),
    ([IN_PERSON_DOC, LIVE_FACE_IN_PERSON], OURO),
    ([REGISTRY, IN_PERSON_DOC, LIVE_FACE_IN_PERSON], OURO),
    # ouro needs both kinds: one alone is prata, and a face without liveness is not enough
    ([LIVE_FACE_IN_PERSON], P),
    ([IN_PERSON_DOC, row("face", source="in_person")], P),
    ([IN_PERSON_DOC, row("face", source="datavalid", liveness=True)], P),
    ([IN_PERSON_DOC, row("bank", source="b")], P),
], ids=lambda v: "+".join(f"{r.kind}:{r.source or r.level or ''}" for r in v) if isinstance(v, list) else str(v))
def test_every_default_rule(rows, expected):  # noqa: ANN001
    assert level(rows) is expected


def test_names_of_rows():
    assert names_of(row("face", source="in_person", liveness=True)) == {
        "face_in_person", "face_in_person_liveness"}
    assert names_of(row("bank", source="itau")) == {"bank", "bank:itau"}
    assert names_of(row("govbr", level="gold")) == {"govbr_bronze", "govbr_prata", "govbr_ouro"}
    assert names_of(row("level_cap", level="bronze")) == set()


def test_a_tightened_table_asks_for_more():
    tight = Settings(trust=TrustSettings(rules={
        "prata": [["bank", "second_factor"], ["in_person_document"]],
        "ouro": [["face_in_person_liveness", "in_person_document", "second_factor"]]}))
    rules = tight.trust.rules
    assert rules["bronze"] == DEFAULT_RULES["bronze"]  # a level left out keeps its defaults
    assert tight.problems() == []
    bank = row("bank", source="itau")
    assert level([bank], rules) is B
    assert level([bank, row("second_factor")], rules) is P
    assert level([row("govbr", level="gold")], rules) is B  # gov.br no longer counts here
    assert level([IN_PERSON_DOC, LIVE_FACE_IN_PERSON], rules) is P
    assert level([IN_PERSON_DOC, LIVE_FACE_IN_PERSON, row("second_factor")], rules) is OURO
    # one named bank only
    only_one = Settings(trust=TrustSettings(rules={"prata": [["bank:banco-do-brasil"]]})).trust.rules
    assert level([bank], only_one) is B
    assert level([row("bank", source="banco-do-brasil")], only_one) is P


def test_a_loosened_table_is_a_problem_and_an_unknown_name_an_error():
    loose = Settings(trust=TrustSettings(rules={"prata": [["caller_check"]],
                                                "ouro": [["in_person_document"]]}))
    found = loose.problems()
    assert len(found) == 2 and all("GUARITA_TRUST__RULES afrouxa" in p for p in found)
    assert tighter_or_equal({"ouro": [["govbr_ouro", "second_factor"]]}) == []
    with pytest.raises(ValueError, match="desconhecida"):
        TrustSettings(rules={"prata": [["foto"]]})
    with pytest.raises(ValueError, match="vazia"):
        TrustSettings(rules={"ouro": [[]]})


def test_expiry_per_kind():
    bank_old = row("bank", source="itau", days_ago=40)
    bank_new = row("bank", source="itau", days_ago=10)
    expiry = {"bank": 30}
    assert level([bank_old], expiry=expiry) is B
    found = assess([REGISTRY, bank_new], DEFAULT_RULES, expiry, NOW)
    assert found.level is P and found.until == bank_new.recorded_at + timedelta(days=30)
    later = assess([REGISTRY, bank_new], DEFAULT_RULES, expiry, found.until)
    assert later.level is B and later.until is None
    # other kinds are untouched, and 0 means never
    assert level([IN_PERSON_DOC, LIVE_FACE_IN_PERSON], expiry={"bank": 30, "face": 0}) is OURO
    # ouro loses its face and falls to what is left
    assert level([IN_PERSON_DOC, row("face", source="in_person", liveness=True, days_ago=400)],
                 expiry={"face": 365}) is P


def test_a_cap_lowers_until_new_evidence_arrives():
    cap = row("level_cap", level="bronze", days_ago=0.5)
    assert level([IN_PERSON_DOC, LIVE_FACE_IN_PERSON, cap]) is B
    found = assess([IN_PERSON_DOC, cap], DEFAULT_RULES, {}, NOW)
    assert (found.level, found.uncapped, found.capped) == (B, P, True)
    # new strong evidence after the cap counts in full
    assert level([IN_PERSON_DOC, cap, row("bank", source="itau", days_ago=0.1)]) is P
    # ouro's two kinds must both come after the cap: old evidence stays capped
    assert level([IN_PERSON_DOC, cap, row("face", source="in_person", liveness=True,
                                           days_ago=0.1)]) is P
    assert level([cap, row("in_person_document", days_ago=0.2),
                  row("face", source="in_person", liveness=True, days_ago=0.1)]) is OURO
    # a cap at prata keeps prata, and a later cap wins over an earlier one
    assert level([IN_PERSON_DOC, LIVE_FACE_IN_PERSON, row("level_cap", level="prata")]) is P
    assert level([row("bank", source="b", days_ago=3), row("level_cap", level="bronze", days_ago=2),
                  row("govbr", level="silver", days_ago=1.5),
                  row("level_cap", level="bronze", days_ago=1)]) is B
    # the order of the rows handed in does not matter, only their times
    assert level([LIVE_FACE_IN_PERSON, cap, IN_PERSON_DOC]) is B
