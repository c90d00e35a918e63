"""Validação pelo banco and Entrar com gov.br: an outside OpenID provider the person already
trusts asserts their CPF (``docs/upstreams.md``).

One module for every upstream provider, configured per provider (``guarita upstreams add``):

- ``start`` builds the authorization request for the provider the service put in the context
  (``ctx.upstream``: the provider, Guarita's redirect URI, and where to keep what the callback
  must check) and returns a :class:`Step` of kind ``redirect``;
- ``verify`` takes the callback's parameters with that kept request, redeems the code and
  validates the ID token (``methods/upstream_rp.py``), reads the CPF (a claim for a bank,
  ``sub`` for gov.br) and, when the service names the CPF it expects (a recovery of an account),
  compares them. A mismatch is a plain ``ok=False``: the service audits it and tells the person
  without saying whose account it was.

Failures of the provider (down, slow, a wrong signature, an error answer, the person cancelled)
raise ``upstream_failed`` / ``upstream_cancelled`` with the reason in ``details``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from guarita.domain import identifiers as ids
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.domain.evidence import EvidenceKind
from guarita.domain.upstreams import UpstreamKind, bank_amr
from guarita.methods import sealing
from guarita.methods.base import (
    N_,
    MethodContext,
    Outcome,
    Principal,
    Proof,
    Purpose,
    Step,
    StepKind,
)
from guarita.methods.upstream_rp import (
    Asserted,
    Pending,
    Provider,
    UpstreamProblem,
    authorization_request,
    redeem,
)

_SEAL_VERSION = "u1"


# -- secrets at rest ---------------------------------------------------------------------------
def _key(master: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"guarita-upstream",
                info=b"upstream secret at rest v1").derive(master)


def seal(master: bytes, text: str, *, bound_to: str) -> str:
    """``text`` sealed at rest (``methods/sealing.py``); ``bound_to`` names its row."""
    return sealing.seal(_key(master), text, bound_to=bound_to, version=_SEAL_VERSION)


def unseal(master: bytes, sealed: str, *, bound_to: str) -> str:
    """What :func:`seal` sealed; raises ``ValueError`` when it does not open."""
    return sealing.unseal(_key(master), sealed, bound_to=bound_to, version=_SEAL_VERSION)


# -- the port the service fills ----------------------------------------------------------------
class UpstreamPort(Protocol):
    provider: Provider
    redirect_uri: str

    async def remember(self, pending: Pending) -> None:
        """Keeps ``pending`` until the callback (single use, with an expiry)."""
        ...


FAILED_REASONS_SAID_AS_CANCELLED = frozenset({"cancelled"})


def problem_error(problem: UpstreamProblem) -> GuaritaError:
    """The plain answer for a provider that failed: never the technical detail."""
    if problem.reason in FAILED_REASONS_SAID_AS_CANCELLED:
        return GuaritaError(ErrorCode.UPSTREAM_CANCELLED, details={"reason": problem.reason})
    return GuaritaError(ErrorCode.UPSTREAM_FAILED, details={"reason": problem.reason})


def asserted_cpf(provider: Provider, claims: Mapping[str, Any]) -> str | None:
    """The CPF the provider asserted, normalised, or None when it sent none that is valid."""
    value = claims.get(provider.cpf_claim)
    if not isinstance(value, str | int):
        return None
    text = str(value)
    if isinstance(value, int):
        text = text.zfill(11)
    try:
        return ids.normalize_cpf(text)
    except GuaritaError:
        return None


class UpstreamMethod:
    """One of the kinds of :class:`~guarita.domain.upstreams.UpstreamKind`."""

    proves = Proof.POSSESSION  # the person's access to their bank or gov.br account

    def __init__(self, kind: UpstreamKind, *, amr: str, evidence: EvidenceKind,
                 purposes: frozenset[Purpose], label: str, short_label: str) -> None:
        self.kind = kind
        self.id = kind.value
        self.amr = amr
        self.evidence = evidence
        self.purposes = purposes
        self.label = label
        self.short_label = short_label

    def hint(self, principal: Principal) -> str | None:
        return None

    async def start(self, ctx: MethodContext, flow: Any, principal: Principal) -> Step:
        port: UpstreamPort = ctx.upstream  # type: ignore[attr-defined]
        try:
            url, pending = await authorization_request(ctx.settings, port.provider,
                                                       port.redirect_uri)
        except UpstreamProblem as problem:
            raise problem_error(problem) from problem
        await port.remember(pending)
        return Step(method=self.id, kind=StepKind.REDIRECT, title=port.provider.name,
                    text=N_("Você vai entrar no site do seu banco e voltar para cá."),
                    submit=N_("Ir para o banco"), redirect_url=url)

    async def verify(self, ctx: MethodContext, flow: Any, answer: Mapping[str, Any]) -> Outcome:
        """``answer``: ``params`` (the callback's query), ``pending`` (what ``start`` kept) and,
        optionally, ``expected_cpf`` (the account's)."""
        port: UpstreamPort = ctx.upstream  # type: ignore[attr-defined]
        provider = port.provider
        try:
            found: Asserted = await redeem(ctx.settings, provider, answer["pending"],
                                           answer["params"])
        except UpstreamProblem as problem:
            raise problem_error(problem) from problem
        cpf = asserted_cpf(provider, found.claims)
        amr = bank_amr(provider.code) if self.kind is UpstreamKind.BANK else self.amr
        details: dict[str, Any] = {"issuer": found.issuer, "subject": found.subject,
                                   "provider": provider.id, "cpf": cpf,
                                   "name": found.claims.get("name")}
        if self.kind is UpstreamKind.GOVBR:
            details["reliability"] = reliability_of(found.id_token_claims)
        expected = answer.get("expected_cpf")
        if cpf is None:
            return Outcome(ok=False, method=self.id, amr=amr, proof=self.proves,
                           details={**details, "reason": "cpf_missing"})
        if "expected_cpf" in answer and (not expected or expected != cpf):
            return Outcome(ok=False, method=self.id, amr=amr, proof=self.proves,
                           details={**details, "reason": "cpf_mismatch"})
        return Outcome(ok=True, method=self.id, amr=amr, proof=self.proves,
                       evidence=self.evidence, details=details)


def reliability_of(claims: Mapping[str, Any]) -> str | None:
    """gov.br's highest level in ``reliability_info`` (bronze < silver < gold), or None."""
    info = claims.get("reliability_info")
    if isinstance(info, str):
        try:
            info = json.loads(info)
        except ValueError:
            return None
    levels = []
    if isinstance(info, Mapping):
        levels = [info.get("level")]
    elif isinstance(info, list):
        levels = [i.get("level") if isinstance(i, Mapping) else i for i in info]
    order = ["bronze", "silver", "gold"]
    known = [order.index(str(level).lower()) for level in levels
             if str(level).lower() in order]
    return order[max(known)] if known else None


BANK = UpstreamMethod(
    UpstreamKind.BANK, amr="bank", evidence=EvidenceKind.BANK,
    purposes=frozenset({Purpose.RECOVERY}),
    label=N_("Validar pelo meu banco"), short_label=N_("Banco"))

# gov.br (Login Único): ``sub`` is the CPF; "govbr" is the amr of a session it opened (RFC 8176
# has no value for a federated sign-in; gov.br's own ``amr`` stays in the audit).
GOVBR = UpstreamMethod(
    UpstreamKind.GOVBR, amr="govbr", evidence=EvidenceKind.GOVBR,
    purposes=frozenset({Purpose.SIGN_IN}),
    label=N_("Entrar com gov.br"), short_label=N_("gov.br"))
