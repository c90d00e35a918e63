"""Who is acting at the support desk: a signed-in staff member or a support API token.

The audit log records every desk action with its actor (SECURITY.md › Data: "actor, subject,
time, IP and reason"); this is the one shape the console, the support API and the services share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from guarita.domain.roles import ROLE_LABELS, TOKEN_SCOPES, Permission, Role, allows


@dataclass(slots=True, kw_only=True, eq=False)
class Actor:
    """``audit_id`` (``staff:12``, ``token:3``) is what the audit log records as the actor; ``via``
    says whether the action came through the console or the API. ``csrf_token`` and
    ``session_hash`` belong to a console session (the web edge binds its CSRF tokens to it and
    signs out by it); ``crm_agent`` is the CRM's own operator named by an API call.
    """

    kind: str
    id: int
    name: str
    via: str
    email: str | None = None
    role: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    csrf_token: str | None = None
    session_hash: str | None = None
    crm_agent: str | None = None

    def __post_init__(self) -> None:
        self.scopes = self.scopes or frozenset()

    @property
    def audit_id(self) -> str:
        return f"{self.kind}:{self.id}"

    def can(self, permission: Permission) -> bool:
        if self.kind == "staff":
            return self.role is not None and allows(self.role, permission)
        return permission in TOKEN_SCOPES and str(permission) in self.scopes

    @property
    def role_label(self) -> str:
        if self.kind == "token":
            return "Token da API"
        try:
            return ROLE_LABELS[Role(self.role)]
        except ValueError:
            return str(self.role)

    def audit_details(self) -> dict[str, str]:
        """Who, in words, for the audit log (the id alone is in ``actor``)."""
        details = {"agent": self.name, "via": self.via}
        if self.role:
            details["agent_role"] = self.role
        if self.crm_agent:
            details["crm_agent"] = self.crm_agent
        return details
