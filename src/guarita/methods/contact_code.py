"""A one-time code sent to a verified contact: e-mail (``mail``) or SMS (RFC 8176 ``sms``).

SECURITY.md › One-time codes: the code is made, kept (as an HMAC bound to the flow) and counted
by the flow (``ctx.codes``); this module decides where it goes and what the person sees. A
principal without a verified contact on the channel gets the same step and a code that is
counted but never matches, and its message is rendered and written to a sink, so neither the
answer nor its timing says which contacts exist. Control of a
mailbox or a phone proves possession of it, not identity: no evidence is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guarita.domain import identifiers as ids
from guarita.domain.accounts import Channel
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

CODE_TEXT = N_("Se houver um contato cadastrado para a opção escolhida, enviamos um código de "
               "6 números. Ele vale por 10 minutos.")


class ContactCodeMethod:
    proves = Proof.POSSESSION
    evidence = None
    # A second factor only where GUARITA_MFA__ALLOW_CODE_FACTOR allows it (NIST SP 800-63B-4
    # §3.1.3.3 restricts SMS); the sign-in service checks the setting.
    purposes = frozenset({Purpose.RECOVERY, Purpose.SECOND_FACTOR})

    def __init__(self, channel: Channel, *, id: str, amr: str, label: str, short_label: str,
                 field_hint: str) -> None:
        self.channel = channel
        self.id = id
        self.amr = amr
        self.label = label
        self.short_label = short_label
        self.field_hint = field_hint

    def hint(self, principal: Principal) -> str | None:
        contact = principal.contacts.get(self.channel)
        if contact is None:
            return None
        if self.channel is Channel.EMAIL:
            return ids.mask_email(contact.value)
        return ids.mask_phone(contact.value)

    def step(self) -> Step:
        return Step(
            method=self.id, kind=StepKind.CODE_FORM, title=N_("Digite o código"), text=CODE_TEXT,
            fields=(StepField("code", N_("Código de 6 números"), inputmode="numeric",
                              autocomplete="one-time-code", hint=self.field_hint),),
            submit=N_("Confirmar código"),
        )

    async def start(self, ctx: MethodContext, flow: Any, principal: Principal) -> Step:
        contact = principal.contacts.get(self.channel)
        code = ctx.codes.issue(flow, real=contact is not None)
        if contact is not None and code is not None:
            await ctx.codes.deliver(flow, contact, code)
        else:
            # Nobody to send to: the same rendering and outbox write, into a sink, so that
            # the answer does not come back sooner (SECURITY.md › Account enumeration).
            await ctx.codes.deliver_nowhere(flow, self.channel)
        return self.step()

    async def verify(self, ctx: MethodContext, flow: Any, answer: Mapping[str, str]) -> Outcome:
        ok = await ctx.codes.redeem(flow, answer.get("code") or "")
        return Outcome(ok=ok, method=self.id, amr=self.amr, proof=self.proves)


EMAIL = ContactCodeMethod(
    Channel.EMAIL, id="email", amr="mail", label=N_("E-mail cadastrado"),
    short_label=N_("E-mail"),
    field_hint=N_("Veja no seu e-mail ou nas mensagens do celular."),
)
SMS = ContactCodeMethod(
    Channel.SMS, id="sms", amr="sms", label=N_("SMS para o celular cadastrado"),
    short_label=N_("SMS"),
    field_hint=N_("Veja no seu e-mail ou nas mensagens do celular."),
)
