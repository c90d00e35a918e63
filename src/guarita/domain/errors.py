"""The closed set of error codes that Guarita answers with.

Each code is stable (part of the API contract in DESIGN.md), carries a plain pt-BR message and
the HTTP status that the edge maps it to. Services raise :class:`GuaritaError`; only
``edge/errors.py`` and the HTML routes turn it into a response (house style 4, as in
node-oidc-provider's ``lib/helpers/errors.js``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    # generic request problems
    VALIDATION_ERROR = "validation_error"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    CSRF_FAILED = "csrf_failed"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    SERVICE_UNAVAILABLE = "service_unavailable"
    INTERNAL_ERROR = "internal_error"
    # identifiers
    INVALID_CPF = "invalid_cpf"
    INVALID_CARD_NUMBER = "invalid_card_number"
    INVALID_EMAIL = "invalid_email"
    INVALID_PHONE = "invalid_phone"
    INVALID_BIRTH_DATE = "invalid_birth_date"
    INVALID_IDENTIFIER = "invalid_identifier"
    # registration and sign-in
    BENEFICIARY_NOT_MATCHED = "beneficiary_not_matched"
    ALREADY_REGISTERED = "already_registered"
    PASSWORD_MISMATCH = "password_mismatch"
    WEAK_PASSWORD = "weak_password"
    INVALID_CREDENTIALS = "invalid_credentials"
    IDENTIFIER_NOT_VERIFIED = "identifier_not_verified"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    ACCOUNT_LOCKED = "account_locked"
    SESSION_EXPIRED = "session_expired"
    REAUTHENTICATION_REQUIRED = "reauthentication_required"
    # recovery and codes
    CAPTCHA_INVALID = "captcha_invalid"
    INVALID_CODE = "invalid_code"
    RECOVERY_EXPIRED = "recovery_expired"  # a password recovery (its API answers this one)
    FLOW_EXPIRED = "flow_expired"  # any other flow: contact verification, a desk registration
    FLOW_STATE_INVALID = "flow_state_invalid"
    CODE_RESEND_TOO_SOON = "code_resend_too_soon"
    METHOD_UNAVAILABLE = "method_unavailable"
    CONTACT_IN_USE = "contact_in_use"
    FACE_QUALITY = "face_quality"
    LIVENESS_FAILED = "liveness_failed"
    FACE_NOT_MATCHED = "face_not_matched"
    UPSTREAM_FAILED = "upstream_failed"  # a bank or gov.br did not answer, or not in a way to trust
    UPSTREAM_CANCELLED = "upstream_cancelled"
    UPSTREAM_CPF_MISMATCH = "upstream_cpf_mismatch"
    # support desk (console and support API)
    CALLER_CHECK_REQUIRED = "caller_check_required"
    REASON_REQUIRED = "reason_required"
    NO_ACCOUNT = "no_account"
    ENROLMENT_EXPIRED = "enrolment_expired"
    # two-step verification
    SECOND_FACTOR_INVALID = "second_factor_invalid"
    PASSWORD_CHANGE_REQUIRED = "password_change_required"
    SECOND_STEP_EXPIRED = "second_step_expired"
    # support desk: a contact added to an account that already has a verified one
    CONTACT_PROOF_REQUIRED = "contact_proof_required"
    # an action that needs the identity confirmed again first (docs/trust-levels.md › Step-up)
    STEP_UP_REQUIRED = "step_up_required"
    # LGPD requests (docs/privacy.md › Pedidos)
    PRIVACY_REQUEST_OPEN = "privacy_request_open"
    PRIVACY_REQUEST_DECIDED = "privacy_request_decided"
    # the fraud guard holds changes that could lock the owner out (docs/fraud-guard.md)
    ACCOUNT_ON_HOLD = "account_on_hold"


_STATUS: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION_ERROR: 422,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.CSRF_FAILED: 403,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.INVALID_CPF: 422,
    ErrorCode.INVALID_CARD_NUMBER: 422,
    ErrorCode.INVALID_EMAIL: 422,
    ErrorCode.INVALID_PHONE: 422,
    ErrorCode.INVALID_BIRTH_DATE: 422,
    ErrorCode.INVALID_IDENTIFIER: 422,
    ErrorCode.BENEFICIARY_NOT_MATCHED: 422,
    ErrorCode.ALREADY_REGISTERED: 409,
    ErrorCode.PASSWORD_MISMATCH: 422,
    ErrorCode.WEAK_PASSWORD: 422,
    ErrorCode.INVALID_CREDENTIALS: 401,
    ErrorCode.IDENTIFIER_NOT_VERIFIED: 403,
    ErrorCode.TOO_MANY_ATTEMPTS: 429,
    ErrorCode.ACCOUNT_LOCKED: 403,
    ErrorCode.SESSION_EXPIRED: 401,
    ErrorCode.REAUTHENTICATION_REQUIRED: 401,
    ErrorCode.CAPTCHA_INVALID: 400,
    ErrorCode.INVALID_CODE: 400,
    ErrorCode.RECOVERY_EXPIRED: 410,
    ErrorCode.FLOW_EXPIRED: 410,
    ErrorCode.FLOW_STATE_INVALID: 409,
    ErrorCode.CODE_RESEND_TOO_SOON: 429,
    ErrorCode.METHOD_UNAVAILABLE: 422,
    ErrorCode.FACE_QUALITY: 422,
    ErrorCode.LIVENESS_FAILED: 400,
    ErrorCode.FACE_NOT_MATCHED: 400,
    ErrorCode.UPSTREAM_FAILED: 502,
    ErrorCode.UPSTREAM_CANCELLED: 400,
    ErrorCode.UPSTREAM_CPF_MISMATCH: 403,
    ErrorCode.CONTACT_IN_USE: 409,
    ErrorCode.CALLER_CHECK_REQUIRED: 409,
    ErrorCode.REASON_REQUIRED: 422,
    ErrorCode.NO_ACCOUNT: 409,
    ErrorCode.ENROLMENT_EXPIRED: 410,
    ErrorCode.SECOND_FACTOR_INVALID: 400,
    ErrorCode.PASSWORD_CHANGE_REQUIRED: 409,
    ErrorCode.SECOND_STEP_EXPIRED: 410,
    ErrorCode.CONTACT_PROOF_REQUIRED: 422,
    ErrorCode.STEP_UP_REQUIRED: 403,
    ErrorCode.PRIVACY_REQUEST_OPEN: 409,
    ErrorCode.PRIVACY_REQUEST_DECIDED: 409,
    ErrorCode.ACCOUNT_ON_HOLD: 423,
}

MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.VALIDATION_ERROR: "Confira os dados informados.",
    ErrorCode.NOT_FOUND: "Página ou recurso não encontrado.",
    ErrorCode.METHOD_NOT_ALLOWED: "Esta operação não é permitida aqui.",
    ErrorCode.PAYLOAD_TOO_LARGE: "Os dados enviados são grandes demais.",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "Formato de dados não aceito. Envie JSON.",
    ErrorCode.CSRF_FAILED: "A página expirou. Recarregue a página e tente de novo.",
    ErrorCode.UNAUTHENTICATED: "Entre com sua conta para continuar.",
    ErrorCode.FORBIDDEN: "Você não tem permissão para esta operação.",
    ErrorCode.RATE_LIMITED: "Muitas solicitações. Aguarde um pouco e tente de novo.",
    ErrorCode.SERVICE_UNAVAILABLE: "Serviço indisponível no momento. Tente de novo em instantes.",
    ErrorCode.INTERNAL_ERROR: "Erro inesperado. Tente de novo em instantes.",
    ErrorCode.INVALID_CPF: "CPF inválido. Confira os 11 números.",
    ErrorCode.INVALID_CARD_NUMBER: "Número da carteirinha inválido. Confira os números.",
    ErrorCode.INVALID_EMAIL: "E-mail inválido. Confira o endereço.",
    ErrorCode.INVALID_PHONE: "Celular inválido. Informe o DDD e o número.",
    ErrorCode.INVALID_BIRTH_DATE: "Data de nascimento inválida. Use o formato DD/MM/AAAA.",
    ErrorCode.INVALID_IDENTIFIER: "Informe o número da carteirinha, o CPF ou o e-mail.",
    ErrorCode.BENEFICIARY_NOT_MATCHED: (
        "Não encontramos um beneficiário com esses dados. Confira a carteirinha, o CPF e a "
        "data de nascimento, ou ligue para a central de atendimento."
    ),
    ErrorCode.ALREADY_REGISTERED: (
        "Você já tem cadastro. Use 'Entrar' ou, se não lembra a senha, 'Esqueci minha senha'."
    ),
    ErrorCode.PASSWORD_MISMATCH: "As senhas não são iguais. Digite a mesma senha nos dois campos.",
    ErrorCode.WEAK_PASSWORD: "Escolha outra senha.",
    ErrorCode.INVALID_CREDENTIALS: "Identificação ou senha incorretas.",
    ErrorCode.IDENTIFIER_NOT_VERIFIED: (
        "Para entrar com CPF ou e-mail, use antes 'Esqueci minha senha'. "
        "Por enquanto, entre com o número da carteirinha."
    ),
    ErrorCode.TOO_MANY_ATTEMPTS: "Muitas tentativas. Tente de novo mais tarde.",
    ErrorCode.ACCOUNT_LOCKED: (
        "Sua conta está bloqueada. Para desbloquear, ligue para a central de atendimento."
    ),
    ErrorCode.SESSION_EXPIRED: "Sua sessão terminou. Entre de novo.",
    ErrorCode.REAUTHENTICATION_REQUIRED: "Confirme sua senha atual para continuar.",
    ErrorCode.CAPTCHA_INVALID: "Confirme que você não é um robô e tente de novo.",
    ErrorCode.INVALID_CODE: "Código incorreto. Confira o código recebido.",
    ErrorCode.RECOVERY_EXPIRED: "O prazo para recuperar a senha terminou. Comece de novo.",
    ErrorCode.FLOW_EXPIRED: "O prazo desta etapa terminou ou o link não vale mais. Comece de novo.",
    ErrorCode.FLOW_STATE_INVALID: "Esta etapa não está disponível agora. Comece de novo.",
    ErrorCode.CODE_RESEND_TOO_SOON: "Aguarde um minuto antes de pedir outro código.",
    ErrorCode.METHOD_UNAVAILABLE: "Esta forma de recuperação não está disponível.",
    ErrorCode.FACE_QUALITY: "Não conseguimos usar a imagem da câmera. Siga a orientação e tente de novo.",
    ErrorCode.LIVENESS_FAILED: (
        "Não conseguimos confirmar os movimentos pedidos com uma pessoa na frente da câmera. "
        "Faça os movimentos com calma e tente de novo."),
    ErrorCode.FACE_NOT_MATCHED: (
        "Não conseguimos confirmar que o rosto é o da pessoa cadastrada. Você pode tentar de novo, "
        "usar outra forma de recuperação, pedir uma revisão por uma pessoa ou ligar para a central "
        "de atendimento."),
    ErrorCode.UPSTREAM_FAILED: (
        "Não foi possível confirmar sua identidade pelo banco ou pelo gov.br agora. Tente de novo "
        "mais tarde, use outra forma de recuperação ou ligue para a central de atendimento."),
    ErrorCode.UPSTREAM_CANCELLED: (
        "A confirmação no banco ou no gov.br foi cancelada. Você pode tentar de novo ou usar "
        "outra forma de recuperação."),
    ErrorCode.UPSTREAM_CPF_MISMATCH: (
        "O CPF confirmado pelo banco ou pelo gov.br não é o desta conta. Confira se entrou com a "
        "sua própria conta no banco, use outra forma de recuperação ou ligue para a central de "
        "atendimento."),
    ErrorCode.CONTACT_IN_USE: (
        "Este contato já está em outra conta. Use outro ou ligue para a central de atendimento."
    ),
    ErrorCode.CALLER_CHECK_REQUIRED: (
        "Confirme antes a identidade de quem está sendo atendido (conferência de dados)."
    ),
    ErrorCode.REASON_REQUIRED: "Escolha o motivo do atendimento.",
    ErrorCode.NO_ACCOUNT: "Esta pessoa ainda não tem conta. Oriente a fazer o cadastro.",
    ErrorCode.ENROLMENT_EXPIRED: (
        "Este link de ativação não vale mais. Peça um novo link ao administrador."
    ),
    ErrorCode.SECOND_FACTOR_INVALID: (
        "Não foi possível confirmar. Confira o código ou tente de novo com a chave de acesso."
    ),
    ErrorCode.SECOND_STEP_EXPIRED: "O tempo para confirmar terminou. Entre de novo.",
    ErrorCode.PASSWORD_CHANGE_REQUIRED: (
        "Sem a verificação em duas etapas, a senha precisa ter pelo menos 15 caracteres. "
        "Escolha uma senha nova para continuar."
    ),
    ErrorCode.CONTACT_PROOF_REQUIRED: (
        "Esta conta já tem um contato confirmado: o novo contato precisa do código enviado a "
        "ele, ou de uma conferência presencial de documento por um supervisor."
    ),
    ErrorCode.STEP_UP_REQUIRED: (
        "Para continuar, confirme sua identidade de novo: pelo banco, pelo rosto ou numa agência."
    ),
    ErrorCode.PRIVACY_REQUEST_OPEN: (
        "Você já tem um pedido deste tipo em análise. Aguarde a resposta da central de atendimento."
    ),
    ErrorCode.PRIVACY_REQUEST_DECIDED: "Este pedido já foi decidido.",
    ErrorCode.ACCOUNT_ON_HOLD: (
        "Por segurança, esta mudança está bloqueada por algumas horas. Para liberar agora, "
        "confirme sua identidade pelo banco, pelo rosto ou numa agência."
    ),
}

assert set(_STATUS) == set(ErrorCode) == set(MESSAGES), "every code needs a status and a message"


class Message(StrEnum):
    """Fixed sentences that say more than their code's general message, for one situation.

    Raised as ``GuaritaError(code, message=Message.X)``: the code (the API contract) stays the
    general one, the person reads the precise sentence, and the sentence is here, where the
    catalogues find it (``edge.i18n.extract_error_messages``), instead of inline at the call
    site. A message computed from numbers (a wait, the attempts left) stays computed.
    """

    # codes and flows
    CODE_LIMIT_REACHED = (
        "Você já pediu o número máximo de códigos. Comece de novo daqui a pouco ou ligue "
        "para a central de atendimento."
    )
    REGISTRATION_NOT_MATCHED = (
        "Não foi possível fazer o cadastro com esses dados. Confira a carteirinha, o CPF e a data "
        "de nascimento. Se você já tem cadastro, use 'Entrar' ou 'Esqueci minha senha'; se "
        "precisar, ligue para a central de atendimento."
    )
    CODE_DAILY_LIMIT = (
        "Este contato ou esta conta já recebeu o máximo de códigos por hoje. Tente de novo "
        "amanhã ou ligue para a central de atendimento."
    )
    CODE_ATTEMPTS_EXHAUSTED = (
        "Você errou o código muitas vezes. Comece de novo ou ligue para a central de atendimento."
    )
    CHOOSE_EMAIL_OR_PHONE = "Escolha e-mail ou celular."
    # facial validation of a signed-in person (step-up)
    FACE_PROOF_DAILY_LIMIT = (
        "Hoje já foram feitas muitas tentativas de validação facial para esta conta. Tente "
        "amanhã, use outra forma ou ligue para a central de atendimento."
    )
    FACE_PROOF_NOT_MATCHED = (
        "Não conseguimos confirmar que o rosto é o da pessoa cadastrada. Tente de novo com "
        "calma, num lugar claro, ou escolha outra forma de confirmar sua identidade."
    )
    CURRENT_PASSWORD_WRONG = "Senha atual incorreta."
    # Meus dados (docs/privacy.md)
    EXPORT_LINK_GONE = (
        "Este link não vale mais: ele dura 15 minutos e só pode ser usado uma vez. Peça um novo "
        "em Meus dados."
    )
    EXPORT_FORMAT = "Escolha o formato do arquivo: PDF ou JSON."
    PRIVACY_KIND = "Escolha o tipo do pedido: correção ou exclusão."
    PRIVACY_WHAT_REQUIRED = "Diga qual dado está errado e como ele deveria ser."
    PRIVACY_REASON_REQUIRED = "Conte, em poucas palavras, por que quer excluir sua conta."
    PRIVACY_DECISION_REQUIRED = "Escolha: aprovar ou recusar o pedido."
    PRIVACY_DECISION_REASON = "Escreva o motivo da decisão: a pessoa vai recebê-lo."
    # sign-in (SECURITY.md › Throttling and lockout): said only after the password was checked
    TWO_TRIES_LEFT = (
        "Identificação ou senha incorretas. Restam 2 tentativas; depois, será preciso esperar "
        "um pouco para tentar de novo."
    )
    ONE_TRY_LEFT = (
        "Identificação ou senha incorretas. Resta 1 tentativa; depois, será preciso esperar "
        "um pouco para tentar de novo."
    )
    NO_TRIES_LEFT = (
        "Identificação ou senha incorretas. Por segurança, espere um pouco antes de tentar de "
        "novo, ou crie uma senha nova em “Esqueci minha senha”."
    )
    PASSWORD_DISABLED_AFTER_FAILURES = (
        "Sua senha foi desativada depois de muitas tentativas erradas. Crie uma nova em "
        "“Esqueci minha senha” ou ligue para a central de atendimento."
    )
    CARD_OR_EMAIL_REQUIRED = "Informe o número da carteirinha ou o e-mail."
    TOO_MANY_REQUESTS_FROM_ADDRESS = (
        "Muitas solicitações deste endereço. Aguarde alguns minutos e tente de novo."
    )
    CAPTCHA_UNAVAILABLE = "Não foi possível conferir o captcha agora. Tente de novo em instantes."
    # support desk
    BENEFICIARY_NOT_FOUND = "Pessoa não encontrada no cadastro."
    DESCRIBE_REASON = "Descreva o motivo do atendimento (ao menos 10 letras)."
    REASON_HAS_BIDI_CONTROLS = (
        "O motivo tem caracteres de controle de direção do texto; digite-o de novo."
    )
    SEARCH_EMPTY = "Digite o CPF, a carteirinha, o e-mail, o celular ou o nome."
    SEARCH_TOO_LONG = "Busca longa demais."
    SEARCH_KIND_INVALID = "Tipo de busca inválido."
    SEARCH_NUMBER_INVALID = (
        "Esses números não formam um CPF, uma carteirinha nem um celular válidos."
    )
    SEARCH_NAME_TOO_SHORT = "Digite ao menos 3 letras do nome."
    SEARCH_NEEDS_CALL_REASON = (
        "Abra o atendimento antes de buscar por CPF, carteirinha, e-mail ou celular: escolha o "
        "motivo da ligação."
    )
    SEARCH_BUDGET_SPENT = "Muitas buscas seguidas. Aguarde alguns minutos e tente de novo."
    CALLER_CHECK_NEEDS_DOCUMENT = (
        "Digite também o CPF ou o número da carteirinha que a pessoa disser."
    )
    CALLER_CHECK_BLOCKED = (
        "Os dados não conferiram várias vezes. Aguarde uma hora ou passe o atendimento a um "
        "supervisor."
    )
    CHOOSE_DOCUMENT_TYPE = "Escolha o tipo de documento."
    INVALID_DOCUMENT_NUMBER = "Número do documento inválido (4 a 32 letras ou números)."
    CHOOSE_VERIFIED_CONTACT = "Escolha um e-mail ou celular confirmado desta conta."
    CHOOSE_CODE_DESTINATION = "Escolha para qual contato enviar o código."
    CHOOSE_EXISTING_CONTACT = "Escolha um contato confirmado que a pessoa já tinha."
    TYPE_EXISTING_CONTACT_CODE = (
        "Esta conta já tem contato confirmado: digite também o código enviado a ele."
    )
    CONTACT_CHANGE_OVER = "Este cadastro de contato terminou ou venceu. Comece de novo."
    INVALID_ACCOUNT_STATUS = "Situação inválida: use active ou disabled."
    CANNOT_DISABLE_SELF = "Você não pode desativar o seu próprio acesso."
    STAFF_SESSION_ENDED = "Sua sessão no atendimento terminou. Entre de novo."
    SUPPORT_TOKEN_MISSING = "Envie o token da API de atendimento."
    SUPPORT_TOKEN_INVALID = "Token da API de atendimento inválido, vencido ou revogado."
    # the desk's staff
    STAFF_SIGN_IN_FAILED = "E-mail, senha ou código incorretos."
    STAFF_TOO_MANY_ATTEMPTS = (
        "Muitas tentativas. Aguarde alguns minutos ou peça ajuda ao administrador."
    )
    TOTP_CODE_WRONG = "Código incorreto. Digite os 6 números que o aplicativo mostra agora."
    INVALID_ROLE = "Papel inválido: use agent, supervisor ou admin."
    NAME_REQUIRED = "Informe o nome (até 200 caracteres)."
    STAFF_EMAIL_IN_USE = "Já existe alguém da equipe com este e-mail."
    STAFF_NOT_FOUND = "Pessoa da equipe não encontrada."
    TOKEN_NAME_REQUIRED = "Dê um nome ao token (por exemplo, o sistema que vai usá-lo)."
    TOKEN_NOT_FOUND = "Token não encontrado."


def http_status(code: ErrorCode) -> int:
    return _STATUS[code]


@dataclass
class GuaritaError(Exception):
    """A domain failure with a stable code.

    ``field`` names the form field the error belongs to (so pages put the message next to it);
    ``details`` carries extra machine-readable data (``reasons`` of a weak password,
    ``retry_after`` of a throttle, ``attempts_left`` of a code).
    """

    code: ErrorCode
    message: str | None = None
    field: str | None = None
    details: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.message is None:
            self.message = MESSAGES[self.code]
        elif isinstance(self.message, Message):
            self.message = self.message.value  # plain text from here on (JSON, templates, logs)
        super().__init__(self.message)

    @property
    def status(self) -> int:
        return _STATUS[self.code]


class FieldErrors(GuaritaError):
    """Several field errors at once, so a form can mark every wrong field in one answer."""

    def __init__(self, errors: list[GuaritaError]):
        first = errors[0]
        super().__init__(first.code, first.message, first.field, first.details)
        self.errors = errors
