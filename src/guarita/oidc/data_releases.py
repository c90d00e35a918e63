"""What the provider handed a client about a person: claim *names*, never values (LGPD art. 18
I/VII: the person may know which data were shared and with whom; docs/privacy.md).

Recorded when an ID token carries claims about the person (``token_response.for_grant``) and
when UserInfo answers (``userinfo.userinfo``), into ``oidc_data_releases``: one row per account,
client, local day, way and set of names, written ``INSERT … ON CONFLICT DO NOTHING``. A
process also remembers the keys it wrote today, so a portal that reads UserInfo on every page
costs one write a day, not one per page.

Names are Guarita's, whatever the profile calls them: a gov.br client's ``sub`` and
``preferred_username`` are the CPF, so they are recorded as ``cpf``; the flags
``email_verified`` / ``phone_number_verified`` go with ``email`` / ``phone_number``; protocol
claims (``iss``, ``aud``, ``nonce``, ``acr``…) say nothing about the person and are left out.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from guarita.runtime import Runtime
from guarita.storage import plain_sql as sql
from guarita.storage.types import utcnow

ID_TOKEN = "id_token"  # noqa: S105 - a way of release, not a secret
USERINFO = "userinfo"

# Claims of the protocol, not of the person (Core §2, §3.1.3.6; RFC 9068; gov.br's ``scope``).
_PROTOCOL = frozenset({
    "iss", "aud", "exp", "iat", "nbf", "jti", "auth_time", "nonce", "acr", "amr", "sid", "azp",
    "at_hash", "c_hash", "scope", "client_id", "gid", "typ",
})
# A flag travels with the value it qualifies; the method with the level.
_FOLDED = {
    "email_verified": "email",
    "phone_number_verified": "phone_number",
    "trust_level_method": "trust_level",
    "reliability_info": "trust_level",
}
_CACHE = "oidc.data_releases.seen"
_CACHE_MAX = 50_000

_INSERT = sql.Sql(
    "INSERT INTO oidc_data_releases (account_id, client_id, released_on, via, claims, first_at) "
    "VALUES (:account_id, :client_id, :released_on, :via, :claims, :first_at) "
    "ON CONFLICT (account_id, client_id, released_on, via, claims) DO NOTHING"
)


def released_names(claims: dict, *, sub_is_cpf: bool = False) -> list[str]:
    """The sorted names of the person's data among ``claims`` (see the module docstring)."""
    names: set[str] = set()
    for name in claims:
        if name in _PROTOCOL:
            continue
        if name in ("sub", "preferred_username") and sub_is_cpf:
            names.add("cpf")
            continue
        if name == "preferred_username":
            continue
        names.add(_FOLDED.get(name, name))
    return sorted(names)


async def record(
    runtime: Runtime, account_id: str, client_id: str, via: str, names: list[str],
    now: datetime | None = None,
) -> None:
    """Notes that ``client_id`` received ``names`` about ``account_id`` (idempotent per day)."""
    if not names:
        return
    now = now or utcnow()
    day = now.astimezone(ZoneInfo(runtime.settings.timezone)).date()
    claims = " ".join(names)[:500]
    key = (account_id, client_id, day, via, claims)
    seen: dict = runtime.extras.setdefault(_CACHE, {})
    if key in seen:
        return
    if len(seen) >= _CACHE_MAX:
        seen.clear()

    async def insert(tx: sql.Tx) -> None:
        await tx.run(
            _INSERT, account_id=account_id, client_id=client_id, released_on=day, via=via,
            claims=claims, first_at=now,
        )

    await sql.write(runtime.db, insert)
    seen[key] = True
