"""Each table has one access style (storage/oidc_tables.py): the token tables are written only
with the provider's plain-SQL statements, never through their ORM classes, so the token
endpoint's fast path and every other writer go through the same statements."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "guarita"
TOKEN_TABLES = ("OidcGrant", "OidcAuthorizationCode", "OidcRefreshToken", "OidcRevokedAccessToken")


def test_token_tables_are_not_used_through_the_orm():
    pattern = re.compile(r"\b(" + "|".join(TOKEN_TABLES) + r")\b")
    users = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if pattern.search(path.read_text()) and path.name != "oidc_tables.py"
    )
    assert users == []
