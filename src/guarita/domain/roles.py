"""Who may do what at the support desk: one table for the console, the support API and the CLI.

Roles are cumulative (a supervisor can do what an agent does; an admin what a supervisor does).
API tokens carry *scopes* instead of a role: each scope is one :class:`Permission`, and the
staff-management permissions are never available to a token (docs/support-desk.md › Roles).

Every route declares the permission it needs (``console/pages.py``, ``console/api.py``); the
table-driven test in ``tests/console/test_roles.py`` walks every route for every role.
"""

from __future__ import annotations

from enum import StrEnum

from guarita.domain.identifiers import N_


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Permission(StrEnum):
    SEARCH = "search"  # find people (masked results)
    VIEW = "view"  # the person view (masked until a caller check)
    CALLER_CHECK = "caller_check"  # "confere" / "não confere"
    REVEAL_CARD = "reveal_card"  # tell the caller their card number
    CONTACTS = "contacts"  # register or replace an e-mail or phone
    UNLOCK = "unlock"  # end a temporary lock
    RECOVERY = "recovery"  # start a recovery to a verified contact
    PASSWORD_REENABLE = "password_reenable"  # noqa: S105 - re-enable a disabled password (supervisor)
    ACCOUNT_STATUS = "account_status"  # disable or enable an account (supervisor)
    IDENTITY_CHECK = "identity_check"  # record an in-person document check (supervisor)
    SECOND_FACTOR_REMOVE = "second_factor_remove"  # after an in-person check (supervisor)
    DASHBOARD = "dashboard"  # the supervisor dashboard
    PRIVACY_REQUESTS = "privacy_requests"  # decide LGPD correction and deletion requests (supervisor)
    STAFF = "staff"  # add, reset and disable staff (admin)
    TOKENS = "tokens"  # create and revoke support API tokens (admin)


_AGENT = frozenset(
    {
        Permission.SEARCH,
        Permission.VIEW,
        Permission.CALLER_CHECK,
        Permission.REVEAL_CARD,
        Permission.CONTACTS,
        Permission.UNLOCK,
        Permission.RECOVERY,
    }
)
_SUPERVISOR = _AGENT | {
    Permission.PASSWORD_REENABLE,
    Permission.ACCOUNT_STATUS,
    Permission.IDENTITY_CHECK,
    Permission.SECOND_FACTOR_REMOVE,
    Permission.DASHBOARD,
    Permission.PRIVACY_REQUESTS,
}
_ADMIN = _SUPERVISOR | {Permission.STAFF, Permission.TOKENS}

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.AGENT: _AGENT,
    Role.SUPERVISOR: frozenset(_SUPERVISOR),
    Role.ADMIN: frozenset(_ADMIN),
}

# What an API token may be given: every support action, never the management of staff or tokens
# (a leaked CRM token must not be able to mint more tokens or staff).
# Deciding LGPD requests (an approved deletion erases an account) is for a person at the
# console, never a token either.
TOKEN_SCOPES: tuple[Permission, ...] = tuple(
    p for p in Permission
    if p not in (Permission.STAFF, Permission.TOKENS, Permission.PRIVACY_REQUESTS)
)

ROLE_LABELS = {Role.AGENT: N_("Atendente"), Role.SUPERVISOR: N_("Supervisor"), Role.ADMIN: N_("Administrador")}

SCOPE_LABELS = {
    Permission.SEARCH: N_("Buscar pessoas"),
    Permission.VIEW: N_("Ver o cadastro (mascarado até a conferência)"),
    Permission.CALLER_CHECK: N_("Conferir os dados de quem liga"),
    Permission.REVEAL_CARD: N_("Informar o número da carteirinha"),
    Permission.CONTACTS: N_("Cadastrar ou trocar e-mail e celular"),
    Permission.UNLOCK: N_("Desbloquear conta bloqueada por tentativas"),
    Permission.RECOVERY: N_("Iniciar recuperação de senha"),
    Permission.PASSWORD_REENABLE: N_("Reativar senha desativada"),
    Permission.ACCOUNT_STATUS: N_("Desativar ou reativar conta"),
    Permission.IDENTITY_CHECK: N_("Registrar conferência de documento presencial"),
    Permission.SECOND_FACTOR_REMOVE: N_("Remover a verificação em duas etapas (após conferência presencial)"),
    Permission.DASHBOARD: N_("Ver o painel"),
    Permission.PRIVACY_REQUESTS: N_("Decidir pedidos de correção e exclusão de dados (LGPD)"),
    Permission.STAFF: N_("Gerenciar a equipe"),
    Permission.TOKENS: N_("Gerenciar tokens da API"),
}


def allows(role: str | Role, permission: Permission) -> bool:
    try:
        return permission in PERMISSIONS[Role(role)]
    except ValueError:
        return False


def parse_scopes(raw: str | list[str]) -> list[Permission]:
    """``"search,view"`` or a list → scopes in canonical order; ``ValueError`` names a bad one."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    wanted = {item.strip() for item in items if item and item.strip()}
    if not wanted:
        raise ValueError("informe ao menos um escopo")
    allowed = {str(p) for p in TOKEN_SCOPES}
    unknown = sorted(wanted - allowed)
    if unknown:
        raise ValueError(
            f"escopo desconhecido ou não permitido a tokens: {', '.join(unknown)} "
            f"(válidos: {', '.join(sorted(allowed))})"
        )
    return [p for p in TOKEN_SCOPES if str(p) in wanted]
