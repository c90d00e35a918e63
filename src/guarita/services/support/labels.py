"""Plain pt-BR words for what the desk shows: reasons, states, audit tags, document types.

Marked with ``N_`` for the catalogues: the console's pages translate them with ``translate()``
(docs/pages-and-i18n.md); the support API returns them in pt-BR, as written here."""

from __future__ import annotations

from guarita.domain.accounts import TrustLevel
from guarita.domain.audit_tags import AuditTag
from guarita.domain.identifiers import IdentifierKind
from guarita.methods import registry
from guarita.methods.base import N_

# The short list of reasons an agent chooses from (docs/support-desk.md › What an agent does);
# "outro" needs free text.
REASONS: dict[str, str] = {
    "carteirinha": N_("Pessoa quer saber o número da carteirinha"),
    "contato": N_("Cadastrar ou trocar e-mail ou celular"),
    "bloqueio": N_("Conta bloqueada ou senha desativada"),
    "recuperacao": N_("Não consegue recuperar a senha"),
    "duvida_cadastro": N_("Dúvida sobre o cadastro ou a conta"),
    "presencial": N_("Atendimento presencial com documento"),
    "fraude": N_("Suspeita de fraude ou de uso por outra pessoa"),
    "outro": N_("Outro motivo (descreva)"),
}

PRIVACY_KINDS = {"correction": N_("Correção de dados"), "deletion": N_("Exclusão da conta")}
PRIVACY_STATUSES = {"open": N_("em análise"), "approved": N_("aprovado"), "rejected": N_("recusado"),
                    "closed": N_("encerrado: a conta foi excluída")}

STATES: dict[str, str] = {
    "no_account": N_("Sem conta (ainda não fez o cadastro)"),
    "disabled": N_("Conta desativada"),
    "password_disabled": N_("Senha desativada depois de muitas tentativas erradas"),
    "locked": N_("Bloqueada temporariamente"),
    "legacy": N_("Conta antiga (entra só com a carteirinha)"),
    "active": N_("Ativa"),
}

TRUST_LEVELS = {TrustLevel.BRONZE: N_("Bronze"), TrustLevel.PRATA: N_("Prata"), TrustLevel.OURO: N_("Ouro")}

KINDS = {IdentifierKind.CPF: N_("CPF"), IdentifierKind.CARD: N_("Carteirinha"),
         IdentifierKind.EMAIL: N_("E-mail"), IdentifierKind.PHONE: N_("Celular")}

SOURCES = {
    "registry": N_("cadastro da organização"),
    "self": N_("a própria pessoa"),
    "support": N_("central de atendimento"),
}

DOCUMENT_TYPES: dict[str, str] = {
    "rg": N_("RG (carteira de identidade)"),
    "cin": N_("CIN (nova carteira de identidade)"),
    "cnh": N_("CNH (carteira de motorista)"),
    "ctps": N_("Carteira de trabalho"),
    "passaporte": N_("Passaporte"),
    "rne": N_("RNE / CRNM (estrangeiro)"),
    "outro": N_("Outro documento oficial com foto"),
}

MESSAGE_STATUS = {
    "pending": N_("na fila"),
    "sending": N_("enviando"),
    "sent": N_("enviada"),
    "failed": N_("falhou"),
}

# How the desk names each way of proving something: straight from the method registry, so a new
# method appears here without an edit.
METHODS: dict[str, str] = {m.id: m.short_label for m in registry.METHODS.values()}

# A person's second factors as the desk names them (never their secrets).
SECOND_FACTORS = {
    "totp": N_("Aplicativo autenticador"),
    "passkeys": N_("Chave de acesso"),
    "recovery_codes": N_("Códigos de recuperação"),
}

TEMPLATES = {
    "welcome": N_("Boas-vindas"),
    "password_changed": N_("Aviso de senha alterada"),
    "password_reset": N_("Aviso de senha redefinida"),
    "recovery_code": N_("Código de recuperação"),
    "contact_code": N_("Código de confirmação de contato"),
    "contact_replaced": N_("Aviso de contato trocado"),
    "second_factor_changed": N_("Aviso de mudança na verificação em duas etapas"),
    "privacy_request_decided": N_("Resposta a pedido de correção ou exclusão de dados"),
}

TAGS: dict[str, str] = {
    AuditTag.ACCOUNT_CREATED: N_("Conta criada (cadastro)"),
    AuditTag.ACCOUNT_LEGACY_IMPORTED: N_("Conta antiga importada"),
    AuditTag.LOGIN_SUCCEEDED: N_("Entrou"),
    AuditTag.LOGIN_FAILED: N_("Tentativa de entrar falhou"),
    AuditTag.LOGIN_LOCKED: N_("Bloqueio temporário por tentativas"),
    AuditTag.PASSWORD_DISABLED: N_("Senha desativada por tentativas"),
    AuditTag.PASSWORD_CHANGED: N_("Senha trocada"),
    AuditTag.PASSWORD_REHASHED: N_("Senha atualizada para o novo formato"),
    AuditTag.PASSWORD_RESET: N_("Senha redefinida (recuperação)"),
    AuditTag.LOGOUT: N_("Saiu"),
    AuditTag.RECOVERY_STARTED: N_("Recuperação iniciada"),
    AuditTag.RECOVERY_CODE_SENT: N_("Código de recuperação enviado"),
    AuditTag.RECOVERY_CODE_FAILED: N_("Código de recuperação errado"),
    AuditTag.RECOVERY_COMPLETED: N_("Recuperação concluída"),
    AuditTag.ACCOUNT_LOCKED_BY_OWNER: N_("Conta travada pela pessoa (\u201cNão foi você?\u201d)"),
    AuditTag.HOLD_PLACED: N_("Mudanças que podem trancar a conta bloqueadas por segurança"),
    AuditTag.HOLD_LIFTED: N_("Bloqueio de segurança liberado com prova de identidade"),
    AuditTag.IDENTIFIER_VERIFIED: N_("Contato ou documento confirmado"),
    AuditTag.CONTACT_ADDED: N_("Contato cadastrado pela pessoa"),
    AuditTag.CONTACT_REPLACED: N_("Contato trocado pela pessoa"),
    AuditTag.SECOND_FACTOR_ENROLLED: N_("Verificação em duas etapas: forma cadastrada"),
    AuditTag.SECOND_FACTOR_REMOVED: N_("Verificação em duas etapas: forma removida"),
    AuditTag.SECOND_FACTOR_SUCCEEDED: N_("Segunda etapa confirmada"),
    AuditTag.SECOND_FACTOR_FAILED: N_("Segunda etapa errada"),
    AuditTag.SECOND_FACTOR_LOCKED: N_("Bloqueio temporário da segunda etapa"),
    AuditTag.RECOVERY_CODES_GENERATED: N_("Novos códigos de recuperação gerados"),
    AuditTag.PASSKEY_RENAMED: N_("Chave de acesso renomeada"),
    AuditTag.PASSKEY_CLONE_SUSPECTED: N_("Chave de acesso recusada (contador voltou: possível cópia)"),
    AuditTag.SUPPORT_CARD_REVEALED: N_("Atendimento: carteirinha informada"),
    AuditTag.SUPPORT_EMAIL_REGISTERED: N_("Atendimento: e-mail cadastrado"),
    AuditTag.SUPPORT_PHONE_REGISTERED: N_("Atendimento: celular cadastrado"),
    AuditTag.SUPPORT_SECOND_FACTOR_REMOVED: N_("Atendimento: verificação em duas etapas removida"),
    AuditTag.SUPPORT_UNLOCKED: N_("Atendimento: conta desbloqueada"),
    AuditTag.SUPPORT_PASSWORD_REENABLED: N_("Atendimento: senha reativada"),
    AuditTag.SUPPORT_RECOVERY_STARTED: N_("Atendimento: recuperação iniciada"),
    AuditTag.SUPPORT_RECOVERY_REQUESTED: N_("Atendimento: pedido de recuperação"),
    AuditTag.SUPPORT_ACCOUNT_DISABLED: N_("Atendimento: conta desativada"),
    AuditTag.SUPPORT_ACCOUNT_ENABLED: N_("Atendimento: conta reativada"),
    AuditTag.SUPPORT_IDENTITY_CHECKED: N_("Atendimento: documento conferido presencialmente"),
    AuditTag.SUPPORT_CALLER_CHECKED: N_("Atendimento: conferência de dados"),
    AuditTag.SUPPORT_PERSON_VIEWED: N_("Atendimento: cadastro consultado"),
    AuditTag.SUPPORT_CONTACT_CODE_SENT: N_("Atendimento: código enviado ao novo contato"),
    AuditTag.SUPPORT_CONTACT_CODE_FAILED: N_("Atendimento: código do novo contato não conferiu"),
    AuditTag.SUPPORT_CONTACT_CONFIRMED: N_("Atendimento: novo contato confirmado"),
    AuditTag.TRUST_LEVEL_CHANGED: N_("Nível da conta mudou"),
    AuditTag.FACE_VERIFIED: N_("Validação facial aceita"),
    AuditTag.FACE_FAILED: N_("Validação facial recusada"),
    AuditTag.FACE_REVIEW_REQUESTED: N_("Pediu revisão humana da recusa facial"),
    AuditTag.FACE_REFERENCE_DELETED: N_("Referência facial apagada pela pessoa"),
    AuditTag.SUPPORT_FACE_CAPTURED: N_("Atendimento: foto de referência guardada"),
    AuditTag.SUPPORT_FACE_DELETED: N_("Atendimento: referência facial apagada"),
    AuditTag.DATA_EXPORTED: N_("Cópia dos seus dados baixada"),
    AuditTag.PRIVACY_REQUEST_FILED: N_("Pedido de correção ou exclusão de dados registrado"),
    AuditTag.PRIVACY_REQUEST_DECIDED: N_("Atendimento: pedido de correção ou exclusão decidido"),
    AuditTag.ACCOUNT_ERASED: N_("Conta excluída a pedido da pessoa"),
}

OUTCOMES = {
    "confere": N_("confere"),
    "nao_confere": N_("não confere"),
    "blocked": N_("bloqueado por tentativas"),
    "revealed": N_("informada"),
    "code_sent": N_("código enviado"),
    "verified": N_("confirmado"),
    "unlocked": N_("desbloqueada"),
    "not_locked": N_("não estava bloqueada"),
    "reenabled": N_("reativada"),
    "not_disabled": N_("não estava desativada"),
    "started": N_("iniciada"),
    "disabled": N_("desativada"),
    "enabled": N_("reativada"),
    "unchanged": N_("sem mudança"),
    "recorded": N_("registrada"),
    "refused": N_("recusada"),
    "created": N_("guardada"),
    "replaced": N_("trocada"),
    "deleted": N_("apagada"),
    "none": N_("não havia"),
}


def tag_label(tag: str) -> str:
    return TAGS.get(tag, tag)


def method_label(method: str | None) -> str:
    if not method:
        return ""
    return METHODS.get(method, method)


# Why an automated facial validation refused (services/face_recovery.py records
# "<code>:<reason>"); the desk reads the kind, never an image.
FACE_OUTCOMES = {
    "not_matched": N_("o rosto não confere com a referência"),
    "liveness_failed": N_("a prova de vida não passou (movimentos não conferem)"),
    "face_quality": N_("a imagem não serviu (escura, tremida, rosto pequeno ou não encontrado)"),
    "challenge_invalid": N_("o desafio venceu ou já tinha sido usado"),
    "frames_replayed": N_("imagens repetidas de outra tentativa"),
    "verified": N_("confere"),
}
SOURCES_OF_FACES = {"registry": N_("foto do cadastro da organização"),
                    "in_person": N_("foto tirada na agência"), "datavalid": N_("Datavalid (SERPRO)")}


def face_outcome_label(outcome: str | None) -> str:
    if not outcome:
        return ""
    return FACE_OUTCOMES.get(outcome.split(":", 1)[0], outcome)


def outcome_label(outcome: str | None) -> str:
    if not outcome:
        return ""
    return OUTCOMES.get(outcome, outcome)
