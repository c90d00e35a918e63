"""Plain pt-BR words for what the desk shows: reasons, states, audit tags, document types."""

from __future__ import annotations

from guarita.domain.accounts import TrustLevel
from guarita.domain.audit_tags import AuditTag
from guarita.domain.identifiers import IdentifierKind
from guarita.methods import registry

# The short list of reasons an agent chooses from (docs/support-desk.md › What an agent does);
# "outro" needs free text.
REASONS: dict[str, str] = {
    "carteirinha": "Pessoa quer saber o número da carteirinha",
    "contato": "Cadastrar ou trocar e-mail ou celular",
    "bloqueio": "Conta bloqueada ou senha desativada",
    "recuperacao": "Não consegue recuperar a senha",
    "duvida_cadastro": "Dúvida sobre o cadastro ou a conta",
    "presencial": "Atendimento presencial com documento",
    "fraude": "Suspeita de fraude ou de uso por outra pessoa",
    "outro": "Outro motivo (descreva)",
}

STATES: dict[str, str] = {
    "no_account": "Sem conta (ainda não fez o cadastro)",
    "disabled": "Conta desativada",
    "password_disabled": "Senha desativada depois de muitas tentativas erradas",
    "locked": "Bloqueada temporariamente",
    "legacy": "Conta antiga (entra só com a carteirinha)",
    "active": "Ativa",
}

TRUST_LEVELS = {TrustLevel.BRONZE: "Bronze", TrustLevel.PRATA: "Prata", TrustLevel.OURO: "Ouro"}

KINDS = {IdentifierKind.CPF: "CPF", IdentifierKind.CARD: "Carteirinha",
         IdentifierKind.EMAIL: "E-mail", IdentifierKind.PHONE: "Celular"}

SOURCES = {
    "registry": "cadastro da organização",
    "self": "a própria pessoa",
    "support": "central de atendimento",
}

DOCUMENT_TYPES: dict[str, str] = {
    "rg": "RG (carteira de identidade)",
    "cin": "CIN (nova carteira de identidade)",
    "cnh": "CNH (carteira de motorista)",
    "ctps": "Carteira de trabalho",
    "passaporte": "Passaporte",
    "rne": "RNE / CRNM (estrangeiro)",
    "outro": "Outro documento oficial com foto",
}

MESSAGE_STATUS = {
    "pending": "na fila",
    "sending": "enviando",
    "sent": "enviada",
    "failed": "falhou",
}

# How the desk names each way of proving something: straight from the method registry, so a new
# method appears here without an edit.
METHODS: dict[str, str] = {m.id: m.short_label for m in registry.METHODS.values()}

# A person's second factors as the desk names them (never their secrets).
SECOND_FACTORS = {
    "totp": "Aplicativo autenticador",
    "passkeys": "Chave de acesso",
    "recovery_codes": "Códigos de recuperação",
}

TEMPLATES = {
    "welcome": "Boas-vindas",
    "password_changed": "Aviso de senha alterada",
    "password_reset": "Aviso de senha redefinida",
    "recovery_code": "Código de recuperação",
    "contact_code": "Código de confirmação de contato",
    "contact_replaced": "Aviso de contato trocado",
    "second_factor_changed": "Aviso de mudança na verificação em duas etapas",
}

TAGS: dict[str, str] = {
    AuditTag.ACCOUNT_CREATED: "Conta criada (cadastro)",
    AuditTag.ACCOUNT_LEGACY_IMPORTED: "Conta antiga importada",
    AuditTag.LOGIN_SUCCEEDED: "Entrou",
    AuditTag.LOGIN_FAILED: "Tentativa de entrar falhou",
    AuditTag.LOGIN_LOCKED: "Bloqueio temporário por tentativas",
    AuditTag.PASSWORD_DISABLED: "Senha desativada por tentativas",
    AuditTag.PASSWORD_CHANGED: "Senha trocada",
    AuditTag.PASSWORD_REHASHED: "Senha atualizada para o novo formato",
    AuditTag.PASSWORD_RESET: "Senha redefinida (recuperação)",
    AuditTag.LOGOUT: "Saiu",
    AuditTag.RECOVERY_STARTED: "Recuperação iniciada",
    AuditTag.RECOVERY_CODE_SENT: "Código de recuperação enviado",
    AuditTag.RECOVERY_CODE_FAILED: "Código de recuperação errado",
    AuditTag.RECOVERY_COMPLETED: "Recuperação concluída",
    AuditTag.ACCOUNT_LOCKED_BY_OWNER: "Conta travada pela pessoa (\u201cNão foi você?\u201d)",
    AuditTag.IDENTIFIER_VERIFIED: "Contato ou documento confirmado",
    AuditTag.CONTACT_ADDED: "Contato cadastrado pela pessoa",
    AuditTag.CONTACT_REPLACED: "Contato trocado pela pessoa",
    AuditTag.SECOND_FACTOR_ENROLLED: "Verificação em duas etapas: forma cadastrada",
    AuditTag.SECOND_FACTOR_REMOVED: "Verificação em duas etapas: forma removida",
    AuditTag.SECOND_FACTOR_SUCCEEDED: "Segunda etapa confirmada",
    AuditTag.SECOND_FACTOR_FAILED: "Segunda etapa errada",
    AuditTag.SECOND_FACTOR_LOCKED: "Bloqueio temporário da segunda etapa",
    AuditTag.RECOVERY_CODES_GENERATED: "Novos códigos de recuperação gerados",
    AuditTag.PASSKEY_RENAMED: "Chave de acesso renomeada",
    AuditTag.PASSKEY_CLONE_SUSPECTED: "Chave de acesso recusada (contador voltou: possível cópia)",
    AuditTag.SUPPORT_CARD_REVEALED: "Atendimento: carteirinha informada",
    AuditTag.SUPPORT_EMAIL_REGISTERED: "Atendimento: e-mail cadastrado",
    AuditTag.SUPPORT_PHONE_REGISTERED: "Atendimento: celular cadastrado",
    AuditTag.SUPPORT_SECOND_FACTOR_REMOVED: "Atendimento: verificação em duas etapas removida",
    AuditTag.SUPPORT_UNLOCKED: "Atendimento: conta desbloqueada",
    AuditTag.SUPPORT_PASSWORD_REENABLED: "Atendimento: senha reativada",
    AuditTag.SUPPORT_RECOVERY_STARTED: "Atendimento: recuperação iniciada",
    AuditTag.SUPPORT_RECOVERY_REQUESTED: "Atendimento: pedido de recuperação",
    AuditTag.SUPPORT_ACCOUNT_DISABLED: "Atendimento: conta desativada",
    AuditTag.SUPPORT_ACCOUNT_ENABLED: "Atendimento: conta reativada",
    AuditTag.SUPPORT_IDENTITY_CHECKED: "Atendimento: documento conferido presencialmente",
    AuditTag.SUPPORT_CALLER_CHECKED: "Atendimento: conferência de dados",
    AuditTag.SUPPORT_PERSON_VIEWED: "Atendimento: cadastro consultado",
    AuditTag.SUPPORT_CONTACT_CODE_SENT: "Atendimento: código enviado ao novo contato",
    AuditTag.SUPPORT_CONTACT_CODE_FAILED: "Atendimento: código do novo contato não conferiu",
    AuditTag.SUPPORT_CONTACT_CONFIRMED: "Atendimento: novo contato confirmado",
}

OUTCOMES = {
    "confere": "confere",
    "nao_confere": "não confere",
    "blocked": "bloqueado por tentativas",
    "revealed": "informada",
    "code_sent": "código enviado",
    "verified": "confirmado",
    "unlocked": "desbloqueada",
    "not_locked": "não estava bloqueada",
    "reenabled": "reativada",
    "not_disabled": "não estava desativada",
    "started": "iniciada",
    "disabled": "desativada",
    "enabled": "reativada",
    "unchanged": "sem mudança",
    "recorded": "registrada",
    "refused": "recusada",
}


def tag_label(tag: str) -> str:
    return TAGS.get(tag, tag)


def method_label(method: str | None) -> str:
    if not method:
        return ""
    return METHODS.get(method, method)


def outcome_label(outcome: str | None) -> str:
    if not outcome:
        return ""
    return OUTCOMES.get(outcome, outcome)
