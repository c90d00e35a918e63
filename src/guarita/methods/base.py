"""The method port: what every way of proving something implements (DESIGN.md › A method).

A method is one module with one object that says what it is (``id``, the RFC 8176 ``amr`` value
it yields, what it ``proves`` and the evidence of identity it counts for, the purposes it may
serve) and does two things:

- ``start(ctx, flow, principal)`` prepares the proof (sends a code, makes a WebAuthn challenge,
  picks the movements of a selfie, builds the URL of an outside OpenID provider) and returns the
  :class:`Step` the edge must show: *UI as data*, rendered by the HTML pages
  (``web/templates/macros/step.html``) and returned by the JSON API alike — Ory Kratos's UI nodes
  (``selfservice/strategy/*``, ``ui/node``) in miniature;
- ``verify(ctx, flow, answer)`` checks what came back and returns an :class:`Outcome`.

Methods never import services or storage: whatever they need from the outside world (the
password hasher, the one-time code of a flow, the outbox, a principal's stored credential) they
ask of the :class:`MethodContext` the calling service hands them. That keeps every method
testable alone and lets one method serve sign-in, recovery, re-authentication and a second
factor without knowing which.

Adding a method: its module here, one line in ``methods/registry.py``, its template (only if it
needs more than the generic step), its tests (``docs/architecture.md`` › Adding a method).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from guarita.domain.accounts import Channel, PrincipalKind
from guarita.domain.errors import GuaritaError
from guarita.domain.evidence import EvidenceKind


def N_(text: str) -> str:  # noqa: N802 - gettext's marker name, known to Babel
    """Marks a pt-BR text of a step or label for the catalogues; the pages translate it."""
    return text


class Proof(StrEnum):
    """The factor category (NIST SP 800-63B-4 §2.3; RFC 8176 §2 groups ``amr`` values alike)."""

    KNOWLEDGE = "knowledge"    # something you know: a password, a record's data
    POSSESSION = "possession"  # something you have: a phone, a mailbox, an app, a key
    INHERENCE = "inherence"    # something you are: a face


class Purpose(StrEnum):
    """Where a method may be offered; the registry checks settings against these."""

    SIGN_IN = "sign_in"
    SECOND_FACTOR = "second_factor"
    RECOVERY = "recovery"                # offered after the identifier ("Como quer receber…")
    IDENTIFICATION = "identification"    # finds and proves the person in one form (the data check)
    REAUTHENTICATION = "reauthentication"


class StepKind(StrEnum):
    CODE_FORM = "code_form"            # type a code that was sent or shown by an app
    KNOWLEDGE_FORM = "knowledge_form"  # type what you know (password, card + CPF + birth date)
    REDIRECT = "redirect"              # go to an outside party (a bank, gov.br) and come back
    WEBAUTHN = "webauthn_challenge"    # let the browser's authenticator sign ``challenge``
    CAMERA = "camera_capture"          # film a face doing the ``challenge``'s movements


@dataclass(frozen=True)
class StepField:
    """One input of a step. ``type``: text | password | numeric | date | hidden | checkbox (sent
    as ``"on"`` by a form, ``true`` in JSON; ``value`` is what a ticked box sends)."""

    name: str
    label: str
    type: str = "text"
    hint: str | None = None
    autocomplete: str | None = None
    inputmode: str | None = None
    required: bool = True
    value: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "label": self.label, "type": self.type, "hint": self.hint,
            "autocomplete": self.autocomplete, "inputmode": self.inputmode,
            "required": self.required, "value": self.value,
        }


@dataclass(frozen=True)
class Step:
    """What the edge must show or do next, as data.

    ``fields`` are the inputs of a form (code and knowledge forms); ``redirect_url`` the outside
    party's URL (redirect); ``challenge`` the data a script needs (the WebAuthn request options,
    the movements and freshness token of a camera capture). ``text`` is the lead sentence in
    pt-BR; the pages translate it.
    """

    method: str
    kind: StepKind
    title: str
    text: str | None = None
    fields: tuple[StepField, ...] = ()
    submit: str = "Continuar"
    redirect_url: str | None = None
    challenge: Mapping[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method, "kind": self.kind.value, "title": self.title, "text": self.text,
            "fields": [f.as_json() for f in self.fields], "submit": self.submit,
            "redirect_url": self.redirect_url,
            "challenge": dict(self.challenge) if self.challenge is not None else None,
        }


@dataclass(frozen=True)
class Outcome:
    """What ``verify`` found. ``ok`` False with ``error`` None means "wrong answer" (the caller
    counts and answers it); ``details`` carries what the caller may need next (a rehash, the
    matched record, the RFC 6238 step accepted)."""

    ok: bool
    method: str
    amr: str
    proof: Proof
    evidence: EvidenceKind | None = None
    error: GuaritaError | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Contact:
    """A verified contact of a principal, where a code may be delivered."""

    id: int
    channel: Channel
    value: str


@dataclass(frozen=True)
class Principal:
    """Who a method is proving: an account or a desk member, or nobody known.

    ``id`` is None for identifiers that match no account: flows of unknown people go through the
    same steps with the same answers (SECURITY.md › Account enumeration), so methods must behave
    alike when there is nothing to prove against.
    """

    kind: PrincipalKind
    id: str | None
    contacts: Mapping[Channel, Contact] = field(default_factory=dict)
    name: str | None = None  # shown to authenticator apps, never a secret

    @classmethod
    def unknown(cls) -> Principal:
        return cls(kind=PrincipalKind.ACCOUNT, id=None)


@dataclass(frozen=True)
class StoredCredential:
    """One row of the credentials table as a method sees it (house rule 2: every factor a
    principal holds is one row of (type, data), as django-allauth's ``Authenticator``).

    ``secret`` is a password's hash; ``data`` the type's own fields (a sealed TOTP secret, the
    HMACs of recovery codes); ``counter`` only goes up (the last TOTP step) or versions ``data``.
    """

    type: str
    secret: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    counter: int | None = None
    id: int | None = None


class CodePort(Protocol):
    """One-time codes bound to a flow (SECURITY.md › One-time codes), kept by the service."""

    def issue(self, flow: Any, *, real: bool) -> str | None: ...

    async def deliver(self, flow: Any, contact: Contact, code: str) -> None: ...

    async def deliver_nowhere(self, flow: Any, channel: Channel) -> None:
        """The work of :meth:`deliver` for a principal without a contact on ``channel``, into
        a sink: the answer then takes as long as a real delivery (SECURITY.md › Account
        enumeration)."""
        ...

    async def redeem(self, flow: Any, raw_code: str) -> bool: ...


class CredentialPort(Protocol):
    """The principal's stored credentials, and the atomic updates verifiers need."""

    async def get(self, type_: str) -> StoredCredential | None: ...

    async def advance(self, credential: StoredCredential, counter: int) -> bool:
        """Raises the counter to ``counter`` only if it is below; False when it was not."""
        ...

    async def replace_data(self, credential: StoredCredential, data: Mapping[str, Any]) -> bool:
        """Replaces ``data`` only if unchanged since it was read; False when someone won."""
        ...


class PasswordHasher(Protocol):
    async def verify(self, stored: str | None, password: str) -> bool: ...

    def needs_rehash(self, stored: str) -> bool: ...


class MethodContext(Protocol):
    """What a method may ask of the service that runs it."""

    settings: Any
    now: datetime
    principal: Principal
    hasher: PasswordHasher
    codes: CodePort
    credentials: CredentialPort

    def secret(self) -> bytes: ...


@runtime_checkable
class Method(Protocol):
    """A way of proving something. See the module docstring."""

    id: str
    amr: str
    proves: Proof
    evidence: EvidenceKind | None
    purposes: frozenset[Purpose]
    label: str        # how a person picks it ("E-mail cadastrado")
    short_label: str  # how the desk counts it ("E-mail")

    def hint(self, principal: Principal) -> str | None:
        """A masked destination to show next to the label (``m***@e***.com``), if any."""
        ...

    async def start(self, ctx: MethodContext, flow: Any, principal: Principal) -> Step: ...

    async def verify(self, ctx: MethodContext, flow: Any, answer: Mapping[str, str]) -> Outcome: ...
