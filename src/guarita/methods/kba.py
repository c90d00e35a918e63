"""The health-plan data check: card number or e-mail + CPF + birth date (SECURITY.md › Recovery;
RFC 8176 §2 ``kba``, knowledge-based authentication).

That knowledge leaks easily (payroll-loan scams trade it), so a match counts only as the
``data_check`` evidence of the lowest level and, by default, opens nothing alone: the recovery
still sends a code to a verified contact. Which record the typed identifier names is looked up
by the service (``ctx.records``); this module parses the answer and compares it, and never says
which field did not match (SECURITY.md › Account enumeration).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from guarita.domain import identifiers as ids
from guarita.domain.errors import ErrorCode, FieldErrors, GuaritaError, Message
from guarita.domain.evidence import EvidenceKind
from guarita.domain.identifiers import IdentifierKind
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


@dataclass(frozen=True)
class KnownRecord:
    """The registry data of the account the typed identifier names."""

    account_id: str | None
    cpf: str | None
    birth_date: date


class RecordPort(Protocol):
    async def find(self, identifier: ids.Identifier) -> KnownRecord | None: ...


@dataclass(frozen=True)
class KbaAnswer:
    identifier: ids.Identifier
    cpf: str | None  # None: "Não possui CPF"
    birth_date: date


def ticked(value: Any) -> bool:
    """A checkbox as a form posts it ("on") or a JSON client sends it (true)."""
    return value is True or (isinstance(value, str) and value.strip().lower() in ("on", "true", "1"))


def parse(answer: Mapping[str, Any], card_min: int, card_max: int) -> KbaAnswer:
    """The typed data in canonical form, or every field error at once."""
    errors: list[GuaritaError] = []
    identifier = cpf = birth = None
    raw = (answer.get("identifier") or "").strip()
    try:
        if "@" in raw:
            email = ids.normalize_email(raw, field="identifier")
            identifier = ids.Identifier(IdentifierKind.EMAIL, email)
        else:
            identifier = ids.Identifier(IdentifierKind.CARD, ids.normalize_card(
                raw, card_min, card_max, field="identifier"))
    except GuaritaError:
        errors.append(GuaritaError(ErrorCode.INVALID_IDENTIFIER, field="identifier",
                                   message=Message.CARD_OR_EMAIL_REQUIRED))
    try:
        # The same rule as the Cadastro (DESIGN.md › Cadastro): a CPF, or the box ticked.
        cpf = ids.cpf_or_none(answer.get("cpf"), ticked(answer.get("no_cpf")))
    except GuaritaError as exc:
        errors.append(exc)
    try:
        birth = ids.parse_birth_date(answer.get("birth_date") or "")
    except GuaritaError as exc:
        errors.append(exc)
    if errors:
        raise FieldErrors(errors) if len(errors) > 1 else errors[0]
    return KbaAnswer(identifier=identifier, cpf=cpf, birth_date=birth)


def matches(record: KnownRecord | None, typed: KbaAnswer) -> bool:
    """Both CPF and birth date, compared without an early exit on the first difference. "Não
    possui CPF" matches only a registry record without a CPF, and a CPF only the same CPF."""
    cpf_ok = hmac.compare_digest((record.cpf if record else None) or "-", typed.cpf or "-")
    birth_ok = record is not None and record.birth_date == typed.birth_date
    return record is not None and cpf_ok and birth_ok


class KbaMethod:
    id = "kba"
    amr = "kba"
    proves = Proof.KNOWLEDGE
    evidence = EvidenceKind.DATA_CHECK
    purposes = frozenset({Purpose.IDENTIFICATION})
    label = N_("Dados da carteirinha (carteirinha ou e-mail, CPF e data de nascimento)")
    short_label = N_("Dados pessoais")

    def hint(self, principal: Principal) -> str | None:
        return None

    async def start(self, ctx: MethodContext, flow: Any, principal: Principal) -> Step:
        fields = [
            StepField("identifier", N_("Número da carteirinha ou e-mail"), autocomplete="username"),
            # The CPF or the "Não possui CPF" box, as in the Cadastro; the page draws the pair
            # with macros/forms.html cpf_fields (the box clears and disables the field).
            StepField("cpf", N_("CPF"), inputmode="numeric", autocomplete="off", required=False,
                      hint=N_("Os 11 números, com ou sem pontos. Se você não tem CPF, marque "
                              "“Não possui CPF”.")),
            StepField("no_cpf", N_("Não possui CPF"), type="checkbox", value="on",
                      required=False),
            StepField("birth_date", N_("Data de nascimento"),
                      hint=N_("Dia, mês e ano: DD/MM/AAAA."), inputmode="numeric",
                      autocomplete="bday"),
        ]
        if ctx.settings.recovery.kba_only:
            fields += [
                StepField("password", N_("Nova senha"), type="password",
                          autocomplete="new-password",
                          hint=N_("Use uma frase fácil de lembrar, com pelo menos 15 caracteres. "
                                 "Pode ter espaços.")),
                StepField("password_confirmation", N_("Repita a nova senha"), type="password",
                          autocomplete="new-password"),
            ]
        return Step(method=self.id, kind=StepKind.KNOWLEDGE_FORM,
                    title=N_("Recuperar com os dados da carteirinha"), fields=tuple(fields))

    async def verify(self, ctx: MethodContext, flow: Any, answer: Mapping[str, Any]) -> Outcome:
        settings = ctx.settings
        typed = parse(answer, settings.card_min_length, settings.card_max_length)
        record = await ctx.records.find(typed.identifier)  # type: ignore[attr-defined]
        ok = matches(record, typed)
        return Outcome(ok=ok, method=self.id, amr=self.amr, proof=self.proves,
                       evidence=self.evidence if ok else None,
                       details={"typed": typed, "account_id": record.account_id if ok else None})


METHOD = KbaMethod()
