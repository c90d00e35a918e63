"""docs/security.md names the test that proves each defence; a name that no longer exists
would make the page claim a proof it does not have."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"`((?:tests/[\w/]+\.py)|…)::(\w+)(?:\[[^\]]*\])?`")


def references(text: str) -> list[tuple[str, str]]:
    """(file, test) pairs; ``…::name`` is a test of the file named just before it."""
    found, last = [], None
    for match in REFERENCE.finditer(text):
        path = last if match.group(1) == "…" else match.group(1)
        last = path
        found.append((path, match.group(2)))
    return found


def test_every_test_named_in_security_md_exists():
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    named = references(text)
    assert len(named) > 60  # the page really lists its proofs
    missing = []
    for path, name in named:
        source = ROOT / path
        defined = source.exists() and re.search(
            rf"^\s*(?:async def|def|class) {name}\b", source.read_text(encoding="utf-8"), re.M
        )
        if not defined:
            missing.append(f"{path}::{name}")
    assert not missing, missing


def test_the_asvs_tables_cover_v6_v7_and_v10():
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    for chapter in ("### V6 Authentication", "### V7 Session Management", "### V10 OAuth and OIDC"):
        assert chapter in text, chapter
    for requirement in ("| 6.2.1 |", "| 6.3.2 |", "| 7.2.1", "| 7.4.1 |", "| 10.4.6 |"):
        assert requirement in text, requirement
