"""Every registered method satisfies the port, and its Step shows on a page and in the API.

Runs each method's real ``start`` inside a real transaction (codes land on a real flow row and a
real outbox message), then renders the step through the pages' macro and the API's schema.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from guarita.api.schemas import StepOut
from guarita.domain.accounts import Channel, PrincipalKind
from guarita.domain.flows import FlowKind, RecoveryState
from guarita.edge.render import env
from guarita.methods import registry
from guarita.methods.base import (
    Contact,
    Method,
    Principal,
    Proof,
    Purpose,
    Step,
    StepKind,
)
from guarita.services import flows, recovery
from guarita.services.method_context import ServiceContext
from guarita.storage.audit import RequestContext
from guarita.storage.tables import Flow, OutboxMessage
from guarita.storage.types import utcnow

# RFC 8176 §2 values, plus Guarita's "mail" and gov.br's "bankNNN" (docs/architecture.md).
AMR = {"pwd", "otp", "sms", "mail", "kba", "hwk", "swk", "face", "mfa", "tel", "user", "pin",
       "govbr"}  # a session gov.br opened (RFC 8176 has no federated value)
ALL = sorted(registry.METHODS)
PAGE = {"csrf_field": "csrf_token", "csrf_token": "t"}  # what render() adds to every page


def test_registry_keys_are_method_ids_and_every_method_satisfies_the_protocol():
    assert len(ALL) >= 4
    for method_id, method in registry.METHODS.items():
        assert isinstance(method, Method), method_id
        assert method.id == method_id
        # An upstream method's amr is per provider at run time (gov.br's bankNNN).
        assert method.amr in AMR or re.fullmatch(r"bank(\d{3})?", method.amr), method.amr
        assert isinstance(method.proves, Proof)
        assert method.purposes and all(isinstance(p, Purpose) for p in method.purposes)
        assert method.label and method.short_label


def test_what_each_method_proves():
    methods = registry.METHODS
    assert (methods["password"].amr, methods["password"].proves) == ("pwd", Proof.KNOWLEDGE)
    assert (methods["email"].amr, methods["email"].proves) == ("mail", Proof.POSSESSION)
    assert (methods["sms"].amr, methods["sms"].proves) == ("sms", Proof.POSSESSION)
    assert methods["kba"].evidence == "data_check"
    # A code that came back proves a mailbox or a phone, not who the person is.
    assert methods["email"].evidence is None and methods["sms"].evidence is None


async def _upstream_port(runtime, request, kind: str):  # noqa: ANN001, ANN202
    """A real provider (node-oidc-provider on loopback) registered in this Guarita."""
    from guarita.domain.upstreams import UpstreamKind
    from guarita.services import upstream_flow, upstreams
    from tests.support import upstream as support

    server = request.getfixturevalue("bank_server")
    added = await upstreams.add(runtime, upstreams.ProviderSpec(
        kind=kind, name="Banco Exemplo", issuer=server.issuer, client_id=support.CLIENT_ID,
        client_secret=support.CLIENT_SECRET), RequestContext())
    async with runtime.db.read() as session:
        provider = await upstreams.enabled_provider(session, runtime, added["id"],
                                                    UpstreamKind(kind))
    return upstream_flow._Port(runtime, provider, upstreams.callback_url(runtime), "test", {})


async def _step_of(runtime, method_id: str, request=None) -> tuple[Step, int]:  # noqa: ANN001
    """The method's real start, on a real flow; returns the step and the messages queued."""
    method = registry.METHODS[method_id]
    port = None
    if method_id in ("bank", "govbr"):
        port = await _upstream_port(runtime, request, method_id)
    token, id_hash = flows.new_token()
    now = utcnow()
    async with runtime.db.transaction() as session:
        flow = Flow(id_hash=id_hash, kind=FlowKind.RECOVERY, state=RecoveryState.CHOOSE_METHOD,
                    account_id=None, identifier_kind="email", identifier_value="x@example.com",
                    created_at=now, expires_at=now + timedelta(minutes=30), data={})
        session.add(flow)
        principal = Principal(kind=PrincipalKind.ACCOUNT, id=None, contacts={
            Channel.EMAIL: Contact(id=1, channel=Channel.EMAIL, value="maria@example.com"),
            Channel.SMS: Contact(id=2, channel=Channel.SMS, value="+5561999990000"),
        })
        ctx = ServiceContext(runtime=runtime, request=RequestContext(), principal=principal,
                             session=session, now=now,
                             codes=recovery.code_port(runtime, session, token, now),
                             upstream=port)
        step = await method.start(ctx, flow, principal)
    async with runtime.db.read() as session:
        from sqlalchemy import func, select

        queued = (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar()
    return step, queued


@pytest.mark.parametrize("method_id", ALL)
async def test_the_step_renders_on_the_page_and_in_the_api(runtime, method_id, request):
    step, _ = await _step_of(runtime, method_id, request)
    assert step.method == method_id and isinstance(step.kind, StepKind)

    api = StepOut.of(step).model_dump()
    assert api == step.as_json()
    assert api["kind"] == step.kind.value

    template = env.from_string('{% import "macros/step.html" as steps with context %}'
                               '{{ steps.form(step, "/acao") }}')
    html = template.render(step=step, settings=runtime.settings, **PAGE)
    if step.kind is StepKind.REDIRECT:
        # An outside party (a bank): a link to it, no form of ours; the URL is its own.
        from html import escape

        assert step.redirect_url and f'href="{escape(step.redirect_url)}"' in html
        assert step.redirect_url.startswith(request.getfixturevalue("bank_server").issuer)
    else:
        assert 'action="/acao"' in html and 'name="csrf_token"' in html
    for field in step.fields:
        assert f'name="{field.name}"' in html, field.name
        assert field.label in html
        if field.autocomplete:
            assert f'autocomplete="{field.autocomplete}"' in html
    assert step.submit in html


async def test_code_methods_deliver_to_the_contact_of_their_channel(runtime):
    step, queued = await _step_of(runtime, "sms")
    assert step.kind is StepKind.CODE_FORM and [f.name for f in step.fields] == ["code"]
    assert queued == 1
    async with runtime.db.read() as session:
        from sqlalchemy import select

        message = (await session.execute(select(OutboxMessage))).scalar_one()
    assert message.channel == "sms" and message.to == "+5561999990000"


def test_a_redirect_and_a_camera_step_render_too():
    """Steps of methods to come (a bank, a selfie) render through the same macro."""
    redirect = Step(method="bank", kind=StepKind.REDIRECT, title="Seu banco",
                    submit="Ir para o banco", redirect_url="https://banco.example/authorize?x=1")
    camera = Step(method="face", kind=StepKind.CAMERA, title="Selfie",
                  challenge={"movements": ["left", "up"], "nonce": "n"}, submit="Enviar")
    template = env.from_string('{% import "macros/step.html" as steps with context %}'
                               '{{ steps.form(step, "/acao") }}')
    html = template.render(step=redirect, settings=None, **PAGE)
    assert 'href="https://banco.example/authorize?x=1"' in html and "<form" not in html
    html = template.render(step=camera, settings=None, **PAGE)
    assert "data-camera-challenge='" in html and '"movements": ["left", "up"]' in html
    assert StepOut.of(camera).challenge == {"movements": ["left", "up"], "nonce": "n"}
