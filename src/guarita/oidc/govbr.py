"""The gov.br profile: Guarita as a drop-in for Login Único (docs/govbr-profile.md).

What a client built for gov.br relies on, after gov.br's "Manual de integração do Login Único"
(Passo-a-Passo para Integrar, passos 3–12; "Acesso ao Serviço de Log Out"; "Resultado Esperado
do Acesso ao Serviço de Confiabilidade Cadastral (Selos)"), on top of ``oidc/profiles.py``:

* an issuer of its own with the trailing slash, ``{GUARITA_BASE_URL}/govbr/``, and gov.br's
  paths below it: ``authorize``, ``token``, ``jwk`` (RS256 RSA keys only), ``userinfo/``,
  ``logout``, and the catalogue of reliabilities ``confiabilidades``;
* ``sub`` (and ``preferred_username``) is the CPF, 11 digits;
* the ID token carries ``amr`` in gov.br's words (``passwd``, ``bankNNN``, ``mfa``, ``otp``),
  ``email_verified``, ``phone_number_verified``, ``name``, ``social_name`` (the nome social, when
  the registry has one), ``email`` and ``phone_number`` when verified, ``scope`` as a list, and
  with ``govbr_confiabilidades`` or ``govbr_confiabilidades_idtoken``
  ``reliability_info {level, reliabilities: [{id, updatedAt}]}``
  whose seal ids are gov.br's, mapped from the person's evidence (``SEALS`` below);
* UserInfo carries only standard OpenID claims (strict gov.br libraries refuse others);
* access tokens are RS256, as gov.br's, so a client that checks them against ``/govbr/jwk``
  finds their key there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from guarita.domain import trust_levels
from guarita.domain.accounts import TrustLevel
from guarita.domain.evidence import EvidenceKind
from guarita.oidc.claims import Person, load_person
from guarita.oidc.errors import invalid_grant
from guarita.oidc.profiles import GOVBR_NAME, Authenticated, Profile
from guarita.runtime import Runtime
from guarita.storage import plain_sql as sql
from guarita.storage.types import utcnow

if TYPE_CHECKING:
    from guarita.oidc.clients import Client
    from guarita.oidc.grants import GrantRow

PREFIX = "/govbr"
SCOPE_RELIABILITY = "govbr_confiabilidades"
SCOPE_RELIABILITY_ID_TOKEN = "govbr_confiabilidades_idtoken"  # noqa: S105 - a scope name

# gov.br's account levels: the words of ``reliability_info.level`` and the numbers of the
# catalogue's ``niveis`` ("Resultado Esperado ... (Níveis)": 1 bronze, 2 prata, 3 ouro).
LEVEL_WORDS = {TrustLevel.BRONZE: "bronze", TrustLevel.PRATA: "silver", TrustLevel.OURO: "gold"}
LEVEL_NUMBERS = {1: TrustLevel.BRONZE, 2: TrustLevel.PRATA, 3: TrustLevel.OURO}

# Evidence → gov.br's seal ids ("Resultado Esperado ... (Selos)"). Where gov.br has no seal for
# exactly what Guarita saw, the nearest one of the same nature and level of assurance:
#   101 kba_previdencia   — questions on the social-security record (our data and caller checks)
#   201 cadastro_basico   — the basic registration checked against an authoritative base
#   401 biovalid_facial   — facial biometrics against an official photo
#   504 balcao            — documents checked in person at a desk
#   6xx *_internet_banking — one per bank (by its COMPE code); 601 for a bank gov.br does not list
SEAL_REGISTRY = "201"
SEAL_KBA = "101"
SEAL_FACE = "401"
SEAL_DESK = "504"
SEAL_BANK = "601"
BANK_SEALS = {
    "001": "602", "041": "603", "237": "604", "104": "605", "070": "606", "756": "607",
    "033": "608", "121": "609", "341": "610", "389": "618", "748": "624", "380": "625",
    "260": "626", "208": "627", "077": "628", "336": "629", "318": "630",
}
SEALS = {
    EvidenceKind.REGISTRY_MATCH: SEAL_REGISTRY,
    EvidenceKind.DATA_CHECK: SEAL_KBA,
    EvidenceKind.CALLER_CHECK: SEAL_KBA,
    EvidenceKind.IN_PERSON_DOCUMENT: SEAL_DESK,
    EvidenceKind.FACE: SEAL_FACE,
    EvidenceKind.BANK: SEAL_BANK,
    # A second factor proves the device, not the person; gov.br's own seals arrive as its level.
}
# gov.br shows times at Brasília's offset (no daylight saving since 2019).
BRASILIA = timezone(timedelta(hours=-3))

# RFC 8176 values Guarita records → gov.br's words (Manual, Passo 9, observações do AMR).
AMR_WORDS = {"pwd": "passwd", "otp": "otp", "mfa": "mfa", "bank": "bank"}


def amr_of(values: tuple[str, ...] | list[str]) -> list[str]:
    """gov.br's ``amr``: ``passwd`` for a password, ``bankNNN`` as is, ``mfa`` + ``otp`` for a
    second factor; other methods keep their RFC 8176 value (gov.br: integrations must accept
    new values)."""
    found = [AMR_WORDS.get(v, v) for v in values]
    if "otp" in found and "mfa" not in found:
        found.append("mfa")
    return list(dict.fromkeys(found))


def updated_at(moment: datetime) -> str:
    """``2025-07-02T14:17:16.001-0300``, gov.br's form of ``updatedAt``."""
    local = moment.astimezone(BRASILIA)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + "-0300"


@dataclass(frozen=True)
class Evidence:
    kind: str
    source: str | None
    recorded_at: datetime
    bank_code: str | None = None


def seal_of(evidence: Evidence) -> str | None:
    try:
        kind = EvidenceKind(evidence.kind)
    except ValueError:
        return None
    if kind is EvidenceKind.BANK and evidence.bank_code:
        return BANK_SEALS.get(evidence.bank_code.zfill(3), SEAL_BANK)
    if kind is EvidenceKind.FACE and evidence.source == "registry":
        # A registry photo was never checked against a document: it raises no level
        # (docs/trust-levels.md), so it must not show as gov.br's facial seal either.
        return None
    return SEALS.get(kind)


# What a lowering (``level_cap``, docs/trust-levels.md › Expiry and lowering) leaves standing:
# proofs of the registry data, which every account has at the floor.
_BELOW_ANY_CAP = frozenset({EvidenceKind.REGISTRY_MATCH.value, EvidenceKind.DATA_CHECK.value})


def standing(evidence: list[Evidence], expiry_days: Mapping[str, int],
             now: datetime) -> list[Evidence]:
    """The evidence that still counts: not expired (``GUARITA_TRUST__EXPIRY_DAYS``) and, when the
    account was lowered, only what was proven after the last lowering (plus the registry data).
    So a seal is never sent for a proof the level itself no longer counts."""
    live = [e for e in evidence
            if (ends := trust_levels.expires_at(e, expiry_days)) is None or ends > now]
    caps = [e.recorded_at for e in live if e.kind == EvidenceKind.LEVEL_CAP.value]
    if not caps:
        return live
    last = max(caps)
    return [e for e in live if e.recorded_at > last or e.kind in _BELOW_ANY_CAP]


def reliabilities(evidence: list[Evidence]) -> list[dict]:
    """One entry per seal, at the newest evidence that gives it, in seal order."""
    newest: dict[str, datetime] = {}
    for item in evidence:
        seal = seal_of(item)
        if seal and (seal not in newest or newest[seal] < item.recorded_at):
            newest[seal] = item.recorded_at
    return [{"id": seal, "updatedAt": updated_at(newest[seal])} for seal in sorted(newest)]


def reliability_info(level: str, evidence: list[Evidence]) -> dict:
    known = {t.value: t for t in TrustLevel}
    word = LEVEL_WORDS[known.get(level, TrustLevel.BRONZE)]
    return {"level": word, "reliabilities": reliabilities(evidence)}


def national_phone(e164: str) -> str:
    """gov.br's ``phone_number``: the national digits (``61999999999``), without ``+55``."""
    return e164[3:] if e164.startswith("+55") else e164.lstrip("+")


_EVIDENCE = sql.Sql(
    "SELECT e.kind, e.source, e.recorded_at, p.code FROM identity_evidence e "
    "LEFT JOIN upstream_providers p ON p.id = e.source AND e.kind = 'bank' "
    "WHERE e.account_id = :account_id ORDER BY e.id"
)


@dataclass
class GovbrPerson:
    person: Person
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def cpf(self) -> str | None:
        found = self.person.identifiers.get("cpf")
        return found[0] if found else None


async def load(runtime: Runtime, account_id: str, *, evidence: bool) -> GovbrPerson | None:
    async def body(tx: sql.Tx) -> GovbrPerson | None:
        person = await load_person(tx, account_id)
        if person is None:
            return None
        found = GovbrPerson(person)
        if evidence:
            for kind, source, recorded_at, code in await tx.all(_EVIDENCE, account_id=account_id):
                found.evidence.append(Evidence(kind, source, sql.when(recorded_at), code))
        return found

    return await sql.read(runtime.db, body)


def contact_claims(person: Person, scopes: list[str] | tuple[str, ...]) -> dict:
    """``email`` / ``phone`` claims: values only when verified (as gov.br: "Caso o atributo
    email_verified ... tiver o valor false, o atributo email não virá"), the flags always."""
    claims: dict = {}
    if "profile" in scopes and person.name:
        claims["name"] = person.name
    if "email" in scopes:
        value, verified = person.identifiers.get("email", (None, False))
        if value and verified:
            claims["email"] = value
        claims["email_verified"] = bool(value and verified)
    if "phone" in scopes:
        value, verified = person.identifiers.get("phone", (None, False))
        if value and verified:
            claims["phone_number"] = national_phone(value)
        claims["phone_number_verified"] = bool(value and verified)
    return claims


@dataclass(frozen=True)
class GovbrProfile(Profile):
    name: str = GOVBR_NAME
    issuer_path: str = PREFIX + "/"
    paths: dict = field(
        default_factory=lambda: {
            "authorization_endpoint": PREFIX + "/authorize",
            "token_endpoint": PREFIX + "/token",
            "userinfo_endpoint": PREFIX + "/userinfo/",
            "jwks_uri": PREFIX + "/jwk",
            "end_session_endpoint": PREFIX + "/logout",
            "catalogue": PREFIX + "/confiabilidades",
        }
    )

    def access_token_alg(self, runtime: Runtime) -> str:
        return "RS256"

    async def subject(self, runtime: Runtime, client: Client, account_id: str) -> str | None:
        found = await load(runtime, account_id, evidence=False)
        return found.cpf if found is not None else None

    async def authenticated(
        self, runtime: Runtime, client: Client, grant: GrantRow, scope: str
    ) -> Authenticated:
        scopes = scope.split()
        wants_reliability = SCOPE_RELIABILITY in scopes or SCOPE_RELIABILITY_ID_TOKEN in scopes
        found = await load(runtime, grant.account_id, evidence=wants_reliability)
        if found is None or not found.cpf:
            # gov.br's sub is the CPF: a person without one cannot be such a client's user.
            raise invalid_grant("conta sem CPF: clientes do perfil gov.br identificam pelo CPF")
        claims: dict = {
            "preferred_username": found.cpf,
            "scope": scopes,
            **contact_claims(found.person, scopes),
        }
        if "profile" in scopes and found.person.social_name:
            # gov.br's ID token carries the nome social (Decreto 8.727/2016) as ``social_name``
            # when the person has one; UserInfo stays standard claims only (below).
            claims["social_name"] = found.person.social_name
        if wants_reliability:
            claims["reliability_info"] = reliability_info(
                found.person.trust_level,
                standing(found.evidence, runtime.settings.trust.expiry_days, utcnow()),
            )
        # gov.br's amr in both tokens: its manual reads the second factor in the access token's.
        return Authenticated(found.cpf, claims, tuple(amr_of(grant.amr or ("pwd",))))

    def userinfo_claims(self, person: Person, scopes: list[str], sub: str) -> dict:
        """Standard claims only (OpenID Connect Core §5.1): gov.br's libraries validate
        UserInfo against that list and refuse anything else."""
        return {"sub": sub, **contact_claims(person, scopes)}


GOVBR = GovbrProfile()


# -- the catalogue of reliabilities --------------------------------------------------------------
_ALL = re.compile(r"^\d(?:,\d)*$")
_ANY = re.compile(r"^\(\d(?:[/\\]\d)*\)$")


def required_level(niveis: str | None) -> TrustLevel | None:
    """The level the catalogue's ``niveis`` asks for (Manual, Passo 12): ``2,3`` — all of them,
    so the highest; ``(2/3)`` — any one, so the lowest. Levels are ordered, so either is one
    level. None when absent or malformed; unknown numbers are ignored."""
    value = (niveis or "").replace(" ", "")
    if _ALL.match(value):
        numbers, pick = value.split(","), max
    elif _ANY.match(value):
        numbers, pick = re.split(r"[/\\]", value[1:-1]), min
    else:
        return None
    known = [int(n) for n in numbers if int(n) in LEVEL_NUMBERS]
    if not known:
        return None
    return LEVEL_NUMBERS[pick(known)]
