"""Scopes and the claims they release (OpenID Connect Core 1.0 §5.1, §5.4; Guarita's own scopes).

| scope         | claims                                   |
|---------------|------------------------------------------|
| openid        | sub                                      |
| profile       | name, social_name (when the registry has one), birthdate |
| email         | email, email_verified (verified only)    |
| phone         | phone_number, phone_number_verified (verified only) |
| cpf           | cpf                                      |
| beneficiary   | card_number                              |
| trust         | trust_level, trust_level_method          |
| guarita_guard | guarita_hold_until (while the fraud guard holds the account; docs/fraud-guard.md) |
| offline_access| (a refresh token that survives sign-out) |

Only verified e-mail and phone values are released: a relying party that reads
``email_verified: true`` may send codes to it. Claims go to the UserInfo endpoint, not into the
ID token (§5.4: an access token is issued, so the ID token carries only the authentication).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from guarita.methods.base import N_
from guarita.storage import plain_sql as sql
from guarita.storage.accounts import tokens_ended

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "profile": ("name", "social_name", "birthdate"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "cpf": ("cpf",),
    "beneficiary": ("card_number",),
    "trust": ("trust_level", "trust_level_method"),
    "guarita_guard": ("guarita_hold_until",),
}
GUARD_SCOPE = "guarita_guard"
HOLD_CLAIM = "guarita_hold_until"
OFFLINE_ACCESS = "offline_access"
# Scopes about a person: meaningless for a back end acting on its own (client_credentials).
PERSON_SCOPES = frozenset(SCOPE_CLAIMS) | {OFFLINE_ACCESS}
DEFAULT_CLIENT_SCOPES = ("openid", "profile", "email", "phone", "cpf", "beneficiary", "trust")

# What the consent page and "Aplicativos conectados" say, in plain pt-BR (marked for the
# catalogues: the templates show them through ``translate``).
SCOPE_LABELS: dict[str, str] = {
    "openid": N_("Saber que é você (um código da sua conta, sem o seu CPF)"),
    "profile": N_("Seu nome e sua data de nascimento"),
    "email": N_("Seu e-mail confirmado"),
    "phone": N_("Seu celular confirmado"),
    "cpf": N_("Seu CPF"),
    "beneficiary": N_("O número da sua carteirinha"),
    "trust": N_("O nível da sua conta (bronze, prata ou ouro)"),
    "guarita_guard": N_("Saber se mudanças da sua conta estão bloqueadas por segurança"),
    OFFLINE_ACCESS: N_("Continuar conectado mesmo depois que você sair"),
}

CLAIMS_SUPPORTED = sorted(
    {
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "sid",
        *(c for claims in SCOPE_CLAIMS.values() for c in claims),
    }
)


def label(scope: str) -> str:
    return SCOPE_LABELS.get(scope, f"Acesso: {scope}")


@dataclass
class Person:
    """What the claims are made of, read in two queries."""

    account_id: str
    status: str
    trust_level: str
    legacy: bool
    name: str | None = None
    birth_date: date | None = None
    social_name: str | None = None
    # kind → (value, verified): the first verified one of each kind, else the first.
    identifiers: dict[str, tuple[str, bool]] = field(default_factory=dict)
    # accounts.hold_until as stored (the fraud guard); read as a claim by hold_claim().
    hold_until: object = None


_PERSON = sql.Sql(
    "SELECT a.id, a.status, a.trust_level, a.legacy, b.name, b.birth_date, b.social_name, "
    "a.hold_until FROM accounts a "
    "LEFT JOIN beneficiaries b ON b.id = a.beneficiary_id WHERE a.id = :account_id"
)
_IDENTIFIERS = sql.Sql(
    "SELECT kind, value, verified_at FROM account_identifiers WHERE account_id = :account_id "
    "ORDER BY id"
)


def needs_identifiers(scopes: list[str] | tuple[str, ...] | set[str]) -> bool:
    return any(s in scopes for s in ("email", "phone", "cpf", "beneficiary"))


_PERSON_OF_GRANT = sql.Sql(
    "SELECT a.id, a.status, a.trust_level, a.legacy, b.name, b.birth_date, b.social_name, "
    "g.revoked_at, (SELECT COUNT(*) FROM oidc_revoked_access_tokens r WHERE r.jti = :jti), "
    "g.created_at, a.tokens_valid_after, a.hold_until "
    "FROM oidc_grants g JOIN accounts a ON a.id = g.account_id "
    "LEFT JOIN beneficiaries b ON b.id = a.beneficiary_id WHERE g.id = :grant_id"
)


def _person(row: tuple) -> Person:
    return Person(
        account_id=row[0],
        status=row[1],
        trust_level=row[2],
        legacy=bool(row[3]),
        name=row[4],
        birth_date=sql.day(row[5]),
        social_name=row[6],
    )


async def _identifiers(tx: sql.Tx, person: Person) -> Person:
    for kind, value, verified_at in await tx.all(_IDENTIFIERS, account_id=person.account_id):
        known = person.identifiers.get(kind)
        if known is None or (not known[1] and verified_at is not None):
            person.identifiers[kind] = (value, verified_at is not None)
    return person


async def load_person(tx: sql.Tx, account_id: str, *, identifiers: bool = True) -> Person | None:
    """The person behind an account, in one query (two when identifiers are needed)."""
    row = await tx.one(_PERSON, account_id=account_id)
    if row is None:
        return None
    person = _person(row)
    person.hold_until = row[7]
    return await _identifiers(tx, person) if identifiers else person


async def person_of_token(
    tx: sql.Tx, grant_id: str, jti: str | None, *, identifiers: bool
) -> Person | None:
    """UserInfo's read: the person behind an access token's grant, in the same query that
    checks neither the grant nor the token was revoked nor the grant ended by a sign-out
    everywhere (password change, recovery, lock, disable); None when one was."""
    row = await tx.one(_PERSON_OF_GRANT, grant_id=grant_id, jti=jti or "")
    if row is None or row[7] is not None or row[8]:
        return None
    if tokens_ended(sql.when(row[10]), sql.when(row[9])):
        return None
    person = _person(row)
    person.hold_until = row[11]
    return await _identifiers(tx, person) if identifiers else person


_HOLD = sql.Sql("SELECT hold_until FROM accounts WHERE id = :account_id")


def hold_claim(stored: object) -> dict:
    """``guarita_hold_until`` (epoch seconds) while the hold lasts, else nothing."""
    until = sql.when(stored)
    if until is None or until <= datetime.now(UTC):
        return {}
    return {HOLD_CLAIM: int(until.timestamp())}


async def hold_claims(db, account_id: str) -> dict:  # noqa: ANN001
    """The ID token's ``guarita_hold_until``, read when the grant holds ``guarita_guard``."""
    async def body(tx: sql.Tx) -> object:
        row = await tx.one(_HOLD, account_id=account_id)
        return row[0] if row else None

    return hold_claim(await sql.read(db, body))


def trust_method(person: Person) -> str:
    """How the trust level was reached. Registration matches the registry; a legacy import
    came with the organisation's old portal. Later: ``face``, ``bank`` (DESIGN.md › What a person can do)."""
    return "legacy_import" if person.legacy else "registry_match"


def claims_for(person: Person, scopes: list[str] | tuple[str, ...] | set[str], sub: str) -> dict:
    """§5.3.2: the UserInfo response for the granted scopes; absent values are left out."""
    claims: dict = {"sub": sub}
    if "profile" in scopes:
        if person.name:
            claims["name"] = person.name
        if person.social_name:
            claims["social_name"] = person.social_name
        if person.birth_date:
            claims["birthdate"] = person.birth_date.isoformat()
    if "email" in scopes:
        value, verified = person.identifiers.get("email", (None, False))
        if value and verified:
            claims["email"] = value
            claims["email_verified"] = True
    if "phone" in scopes:
        value, verified = person.identifiers.get("phone", (None, False))
        if value and verified:
            claims["phone_number"] = value
            claims["phone_number_verified"] = True
    if "cpf" in scopes and "cpf" in person.identifiers:
        claims["cpf"] = person.identifiers["cpf"][0]
    if "beneficiary" in scopes and "card" in person.identifiers:
        claims["card_number"] = person.identifiers["card"][0]
    if "trust" in scopes:
        claims["trust_level"] = person.trust_level
        claims["trust_level_method"] = trust_method(person)
    if GUARD_SCOPE in scopes:
        claims.update(hold_claim(person.hold_until))
    return claims
