"""Typed settings, read from ``GUARITA_*`` environment variables (12-factor).

Nested groups use a double underscore: ``GUARITA_RECOVERY__KBA_ONLY=true``,
``GUARITA_OIDC__CODE_TTL_SECONDS=60``.
Every default is the safe one (``../shared/SECURITY.md``); ``problems()`` lists what is unsafe
for the chosen environment so that ``guarita check`` and the production start-up can refuse it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import warnings
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

VAR_DIR = Path("var")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class SmtpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 1025
    user: str | None = None
    password: SecretStr | None = None
    security: Literal["none", "starttls", "tls"] = "none"
    sender: str = "Guarita <nao-responda@guarita.localhost>"
    timeout_seconds: float = 10.0


class SmsSettings(BaseModel):
    adapter: Literal["log", "webhook", "zenvia", "twilio"] = "log"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    zenvia_url: str = "https://api.zenvia.com/v2/channels/sms/messages"
    zenvia_token: SecretStr | None = None
    zenvia_from: str = "guarita"
    twilio_url: str = "https://api.twilio.com"
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = None
    timeout_seconds: float = 10.0


class OutboxSettings(BaseModel):
    """How the outbox worker retries (docs/messaging.md): 30 s doubling up to 1 h, 8 attempts."""

    max_attempts: int = 8
    first_retry_seconds: float = 30.0
    max_retry_seconds: float = 3600.0
    poll_seconds: float = 1.0
    concurrency: int = 5
    # A delivered message keeps its codes and links in the database, where a reader of a
    # backup or a replica could use them; blank them once sent (LGPD art. 6 III, necessity).
    # None: blank them in production; keep them where /dev/outbox exists (development, test).
    keep_sent_text: bool | None = None
    # Months of messages kept (by ``created_at``, besides the current month); older months are
    # dropped once none of their messages is pending or being sent. None: keep everything
    # (docs/messaging.md › Retention).
    retention_months: int | None = Field(default=None, ge=1)


class HttpSettings(BaseModel):
    """Limits applied to every request before any parsing (SECURITY.md › Data)."""

    max_body_bytes: int = 64 * 1024


class MetricsSettings(BaseModel):
    """Where Prometheus metrics are served (SECURITY.md › Data: never public).

    ``port``: a separate listener on ``host`` (loopback by default) serves ``/metrics``; the
    public application then answers 404 there. ``token``: the public ``/metrics`` answers only
    ``Authorization: Bearer <token>``. In production without either, metrics are not served.
    """

    port: int | None = None
    host: str = "127.0.0.1"
    token: SecretStr | None = None


class AuditSettings(BaseModel):
    """The keyed audit chain and its anchors (SECURITY.md › Data).

    ``key``: the HMAC key of the chain; derived from ``GUARITA_SECRET_KEY`` when unset, never
    stored in the database. The head ``{seq, hash}`` is logged every ``anchor_every`` events and
    at least every ``anchor_seconds``, so that the logs shipped elsewhere can prove history.
    """

    key: SecretStr | None = None
    anchor_every: int = 1000
    anchor_seconds: float = 3600
    # Months of events kept besides the current one; older months are removed after a checkpoint
    # (docs/scale.md › Partitioning the audit and outbox tables by month). None: keep everything
    # — how long is the controller's decision under its legal basis (LGPD art. 16), not ours.
    retention_months: int | None = Field(default=None, ge=1)


class PasswordPolicy(BaseModel):
    """SECURITY.md › Passwords (NIST SP 800-63B-4 §3.1.1.2)."""

    min_length_single_factor: int = 15
    min_length_multi_factor: int = 8
    max_length: int = 128
    # A wrong password is answered no sooner than this: legacy hashes (PBKDF2 600k ≈ 200 ms,
    # bcrypt) cost more than the argon2id dummy of unknown identifiers, and the difference
    # would tell which CPFs have an imported account (SECURITY.md › Account enumeration).
    failure_floor_ms: int = 400


class LockoutPolicy(BaseModel):
    """SECURITY.md › Throttling and lockout (NIST SP 800-63B-4 §3.2.2)."""

    free_failures: int = 5
    first_wait_seconds: int = 60
    max_wait_seconds: int = 3600
    disable_after_failures: int = 100


class SessionPolicy(BaseModel):
    """SECURITY.md › Sessions and cookies. The desk's members get a policy of their own
    (shorter idle time, their own cookie) through the same session mechanism."""

    idle_minutes: int = 30
    absolute_hours: int = 12
    # The cookie's name; ``__Host-`` is prefixed when the base URL is https.
    cookie: str = "guarita_session"
    # Optional: a local MaxMind-format city database (GeoLite2-City.mmdb or GeoIP2-City.mmdb,
    # which the organisation obtains and updates itself; Guarita never downloads one). When set,
    # Minha conta shows near which city each session is (docs/security.md › Sessions).
    geoip_city_database: str | None = None


class RateLimits(BaseModel):
    """Requests per client IP and action: ``"<count>/<seconds>"`` (SECURITY.md › Throttling).

    Shared by every worker through the database. Generous enough for an agency where many
    people sign in from one public IP; tight enough to slow a credential-stuffing run.
    """

    login: str = "60/300"
    registration: str = "20/300"
    recovery: str = "20/300"
    code: str = "30/300"

    def parse(self, action: str) -> tuple[int, int]:
        count, _, seconds = getattr(self, action).partition("/")
        return int(count), int(seconds)


class CodePolicy(BaseModel):
    """SECURITY.md › One-time codes."""

    digits: int = 6
    lifetime_seconds: int = 600
    max_attempts: int = 5
    max_codes: int = 3
    resend_after_seconds: int = 60
    # Daily caps across flows (services/code_caps.py): each flow allows 3 codes and 5 wrong
    # answers, but flows are cheap, so a guess spread over many flows, and a flood of SMS to
    # one number through many flows or accounts, stop here.
    per_account_per_day: int = 10
    per_destination_per_day: int = 10
    recovery_flows_per_account_per_day: int = 10


class RecoverySettings(BaseModel):
    flow_minutes: int = 30
    lock_link_days: int = 7
    show_masked_contacts: bool = False
    kba_only: bool = False
    # The methods offered after the identifier, in order: ids of ``methods/registry.py``,
    # checked against it when the server or a command starts (``registry.check_settings``).
    # ``bank`` is offered only while a bank is enabled (``guarita upstreams add``).
    methods: list[str] = ["email", "sms", "bank"]
    # A contact added by the desk or the person, not proven by an existing contact, receives
    # no recovery code for this long (SECURITY.md › Recovery).
    new_contact_cooling_off_hours: int = 72


class GuardSettings(BaseModel):
    """The fraud guard (``docs/fraud-guard.md``): ``GUARITA_GUARD__<NAME>``.

    After a recovery, a desk contact change or a sign-in from a new device on a new network, the
    changes that could lock the owner out are held for ``hold_hours`` (0 turns the guard off).
    ``<trigger>_hold_hours`` overrides it for one trigger (``None``: use ``hold_hours``).
    """

    hold_hours: int = 24
    recovery_hold_hours: int | None = None
    desk_contact_hold_hours: int | None = None
    new_device_hold_hours: int | None = None
    # A network (IPv4 /24, IPv6 /48) is "new" when no session of the account came from it in
    # this many days.
    known_network_days: int = 90

    def hours_for(self, trigger: str) -> int:
        own = getattr(self, f"{trigger}_hold_hours", None)
        return max(0, self.hold_hours if own is None else own)


class MfaSettings(BaseModel):
    """Two-step verification (docs/two-step.md; NIST SP 800-63B-4 §2.2, §3.1.3.3)."""

    # A code by e-mail or SMS as second factor: off by default (NIST 800-63B-4 restricts SMS;
    # a mailbox is reachable by whoever resets it).
    allow_code_factor: bool = False
    pending_minutes: int = 5        # how long "Confirme que é você" waits
    reauth_minutes: int = 5         # enrol, remove and regenerate need a sign-in this recent
    enrolment_minutes: int = 10     # a TOTP secret shown, waiting for its first code
    challenge_minutes: int = 5      # a WebAuthn challenge
    rp_name: str | None = None      # the name authenticators show; default: organisation_name
    max_passkeys: int = 10
class FaceSettings(BaseModel):
    """Facial validation (``docs/face.md``): ``GUARITA_FACE__<NAME>``.

    ``provider`` is who compares the selfie: ``offline`` (dlib, against the reference photos
    of the registry or of an agency) or ``datavalid`` (SERPRO, against the CNH photo of the
    person's CPF). The method is offered only when ``face`` is in ``GUARITA_RECOVERY__METHODS``.
    """

    provider: Literal["offline", "datavalid"] = "offline"
    key: SecretStr | None = None
    keep_photos: bool = False
    # Calibrated on the package photos (docs/face.md › Threshold): same person 0.00–0.23,
    # different people 0.61–0.71.
    threshold: float = 0.5
    workers: int = 2
    max_upload_bytes: int = 4 * 1024 * 1024
    max_frames: int = 16
    min_frames_per_movement: int = 3
    movements: int = 2
    challenge_seconds: int = 180
    attempts_per_flow: int = 5
    attempts_per_day: int = 10
    min_face_px: int = 80
    import_batch: int = 16
    datavalid_token_url: str = "https://gateway.apiserpro.gov.br/token"  # noqa: S105 - a URL
    datavalid_url: str = "https://gateway.apiserpro.gov.br/datavalid/v4/pf-facial"
    datavalid_consumer_key: str | None = None
    datavalid_consumer_secret: SecretStr | None = None
    datavalid_timeout_seconds: float = 10.0
    # Datavalid's similarity (0–1) at or above which a selfie matches the CNH photo.
    datavalid_min_similarity: float = 0.90
    # Only outside production: the browser tests' fake camera plays a clip filmed for known
    # movements. Refused in production (problems()), where movements are always random.
    fixed_movements: list[str] = []


class StepUpSettings(BaseModel):
    """Confirming one's identity again before a service or an action (``docs/trust-levels.md`` ›
    Step-up): ``GUARITA_STEP_UP__<NAME>``.

    ``actions`` names the actions inside Guarita that need a fresh proof of identity, with the
    level from which the rule applies: an account at that level or above must have proven its
    identity strongly (bank, face, agency, gov.br) within ``fresh_minutes`` before the action,
    because a stolen password alone must not be enough to change how a proven account is
    reached. ``contact_change`` (adding or replacing an e-mail or phone in Minha conta) is the
    one applied today; ``off`` (or removing the entry) turns a rule off.
    """

    actions: dict[str, str] = {"contact_change": "prata"}
    fresh_minutes: int = 15
    # How long "Para continuar, confirme sua identidade" waits for the person to come back.
    ticket_minutes: int = 30
    # "Vá a uma agência": the addresses shown on the page (one line each), none by default.
    agencies: list[str] = []


def _default_trust_rules() -> dict[str, list[list[str]]]:
    from guarita.domain.trust_levels import DEFAULT_RULES

    return {level: [list(rule) for rule in rules] for level, rules in DEFAULT_RULES.items()}


def N_(message: str) -> str:  # noqa: N802 - gettext's marker name, read by the extractor
    """Marks a default text for the catalogues; the pages translate it when they show it."""
    return message


def _default_level_opens() -> dict[str, list[str]]:
    # pt-BR; the pages translate these defaults (``web/locale``), an organisation's own text is
    # shown as written.
    return {
        "bronze": [N_("Ver seus dados e a carteirinha"), N_("Acompanhar seus pedidos")],
        "prata": [N_("Autorizar empréstimo consignado"),
                  N_("Pedir segunda via de documentos")],
        "ouro": [N_("Trocar a conta bancária do benefício"), N_("Todos os serviços")],
    }


class TrustSettings(BaseModel):
    """Trust levels from evidence (``docs/trust-levels.md``): ``GUARITA_TRUST__<NAME>``.

    ``rules`` is the table of ``domain/trust_levels.py`` (JSON: level → list of rules, each a
    list of evidence names that must all be present); a level left out keeps its default rules.
    An organisation may tighten it, not loosen it (``problems()``).
    """

    rules: dict[str, list[list[str]]] = Field(default_factory=_default_trust_rules)
    # Days after which evidence of a kind stops counting (absent or 0: never), e.g.
    # ``{"bank": 730, "face": 365}``.
    expiry_days: dict[str, int] = Field(default_factory=dict)
    # A recovery by a code sent by e-mail or SMS proves the mailbox or the phone, not the
    # person: by default it keeps the level; set a level to cap the account at it.
    recovery_code_lowers_to: Literal["bronze", "prata"] | None = None
    # A contact changed by the desk without an in-person document check is how takeovers
    # start: it caps the account (None: keeps the level).
    desk_contact_change_lowers_to: Literal["bronze", "prata"] | None = "bronze"
    # What each level opens, shown in Minha conta (the organisation's services).
    level_opens: dict[str, list[str]] = Field(default_factory=_default_level_opens)

    @model_validator(mode="after")
    def _complete_and_known(self) -> TrustSettings:
        from guarita.domain.trust_levels import rule_problems

        self.rules = {**_default_trust_rules(), **self.rules}
        problems = rule_problems(self.rules)
        if problems:
            raise ValueError(" ".join(problems))
        return self


class SupportSettings(BaseModel):
    """The support desk's numbers (docs/support-desk.md › Settings and numbers).

    ``GUARITA_SUPPORT__<NAME>``, e.g. ``GUARITA_SUPPORT__STAFF_IDLE_MINUTES=10``.
    """

    # Staff sessions end after 15 idle minutes and at most after one working shift.
    staff_idle_minutes: int = 15
    staff_absolute_hours: int = 12
    # Enrolment links are single use and valid 24 h.
    enrolment_hours: int = 24
    recovery_codes: int = 10
    # A passing caller check opens the person for this actor for the length of a call.
    grant_minutes: int = 15
    # Failed caller checks for one person by one actor before the desk must wait (guessing a
    # birth date by phone is the attack this stops).
    caller_check_failures: int = 5
    caller_check_window_minutes: int = 60
    # A contact registration waits this long for the code the caller reads back.
    contact_change_minutes: int = 30
    # A supervisor's in-person document check stands in for an existing contact's proof, for
    # contact changes started this long after it (one shift).
    in_person_check_hours: int = 8
    # API tokens: default and longest lifetime.
    token_default_days: int = 90
    token_max_days: int = 366
    # Search answers at most this many people.
    search_limit: int = 25
    # Searches per actor ("<count>/<seconds>"): masked answers are still an oracle when asked
    # hundreds of times (a full CPF rebuilt from ~900 exact searches). API tokens get fewer.
    search_rate_staff: str = "60/600"
    search_rate_token: str = "20/600"  # noqa: S105 - a rate, not a secret
    # More searches than this by one actor in 24 h show on the supervisor dashboard.
    search_alert_per_day: int = 200
    # The dashboard window.
    dashboard_days: int = 30


class OidcSettings(BaseModel):
    """Lifetimes and algorithms of the OpenID provider (``GUARITA_OIDC__<NAME>``).

    Defaults are the safe ones of SECURITY.md › OpenID provider. Until this group joined the
    settings tree the names had one underscore (``GUARITA_OIDC_CODE_TTL_SECONDS``); those are
    still read, below the new names, with a deprecation warning (``former_oidc_names``).
    """

    # RFC 6749 §4.1.2 says at most 10 minutes; SECURITY.md says at most 60 seconds.
    code_ttl_seconds: int = 60
    # RFC 9068 access tokens cannot be recalled once copied, so they live briefly.
    access_token_ttl_seconds: int = 300
    id_token_ttl_seconds: int = 3600
    # A refresh token unused for this long dies; the whole family dies at the absolute limit.
    refresh_token_idle_seconds: int = 14 * 24 * 3600
    refresh_token_absolute_seconds: int = 30 * 24 * 3600
    # Long enough for an elderly person to find the card and type a long password phrase.
    interaction_ttl_seconds: int = 30 * 60
    id_token_alg: Literal["RS256", "ES256"] = "RS256"  # noqa: S105 - an algorithm name
    access_token_alg: Literal["ES256", "RS256"] = "ES256"  # noqa: S105 - an algorithm name
    # Access tokens name Guarita as their audience unless the organisation's APIs want another.
    access_token_audience: str | None = None
    # A new key is published this long before it signs, so that relying parties that cached the
    # JWKS see it before the first token it signs; it is also the JWKS Cache-Control max-age.
    jwks_max_age_seconds: int = 300
    discovery_max_age_seconds: int = 3600
    # A client assertion (private_key_jwt) may not live longer than this (RFC 7523 §3).
    # Ten minutes, pyoidc's default lifetime; its single-use ``jti`` is what stops a replay.
    client_assertion_max_age_seconds: int = 600
    clock_skew_seconds: int = 30
    # Back-Channel Logout 1.0: one POST of a logout token to a client; a slower client is a
    # failure, retried by the outbox. The token lives this long (§2.4 recommends about two
    # minutes), signed afresh at each attempt.
    backchannel_logout_timeout_seconds: float = 5.0
    logout_token_ttl_seconds: int = 120


class UpstreamSettings(BaseModel):
    """Guarita as a relying party of banks and gov.br (``GUARITA_UPSTREAM__<NAME>``;
    ``docs/upstreams.md``). Every call to a provider is bounded (SECURITY.md › Reliability)."""

    # One HTTP exchange (connect, send, read) with a provider; a slower provider is a failure.
    timeout_seconds: float = 5.0
    # Everything the callback asks of the provider together (token, JWKS, userinfo).
    total_seconds: float = 12.0
    # How long the person has to sign in at the bank and come back (state, nonce, verifier).
    request_minutes: int = 10
    discovery_max_age_seconds: int = 3600
    jwks_max_age_seconds: int = 3600
    # A JWKS is fetched again for an unknown ``kid`` at most this often (key rotation without a
    # flood of fetches from forged tokens).
    jwks_refresh_min_seconds: int = 10
    clock_skew_seconds: int = 60
    # An ID token issued longer ago than this is refused, whatever its ``exp`` says.
    max_id_token_age_seconds: int = 600
    max_logo_bytes: int = 100_000


def former_oidc_names(environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """``{field: (old name, value)}`` for every ``GUARITA_OIDC_<NAME>`` set in ``environ``."""
    fields = {f"GUARITA_OIDC_{name.upper()}": name for name in OidcSettings.model_fields}
    return {
        fields[key.upper()]: (key, value) for key, value in environ.items() if key.upper() in fields
    }


class _FormerOidcNames(PydanticBaseSettingsSource):
    """Reads the former ``GUARITA_OIDC_<NAME>`` variables into the ``oidc`` group, warning once
    per variable; the sources list puts it below the environment, so a new name wins."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything happens in __call__

    def __call__(self) -> dict[str, Any]:
        found = former_oidc_names(os.environ)
        for name, (old, _value) in found.items():
            warnings.warn(
                f"{old} está obsoleta; use GUARITA_OIDC__{name.upper()}.",
                DeprecationWarning,
                stacklevel=2,
            )
        return {"oidc": {name: value for name, (_old, value) in found.items()}} if found else {}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GUARITA_", env_nested_delimiter="__", extra="ignore"
    )

    env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///var/guarita.db"
    # PostgreSQL reached through PgBouncer in transaction mode: no prepared statement survives
    # a transaction (storage/database.py). ``?pgbouncer=true`` in the URL does the same.
    database_pgbouncer: bool = False
    # Where people reach Guarita: links in messages, the OpenID issuer, enrolment links. Unset,
    # it is the address ``guarita serve`` listens on (GUARITA_HOST and GUARITA_PORT), so
    # ``GUARITA_PORT=8610 make run`` never hands out links to port 8000.
    base_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: SecretStr | None = None
    captcha: Literal["altcha", "hcaptcha", "recaptcha", "turnstile", "off"] = "altcha"
    captcha_site_key: str | None = None
    captcha_secret: SecretStr | None = None
    captcha_verify_url: str | None = None
    captcha_cost: int = 5000
    organisation_name: str = "Instituto de Previdência Demonstração"
    organisation_logo: str = "/static/img/logo.svg"
    support_phone: str = "0800 000 0000"
    # The central answers day and night: pages say "Central de atendimento 24 horas".
    support_24h: bool = False
    timezone: str = "America/Sao_Paulo"
    card_min_length: int = 6
    card_max_length: int = 20
    run_worker_in_server: bool = True
    # ``guarita serve --workers N``: seconds uvicorn's supervisor waits for a worker process to
    # answer its health ping before killing it and starting another. uvicorn's own 5 s is shorter
    # than a worker's cold start on a busy machine (the spawned interpreter imports the CLI, ~4
    # CPU-seconds, before it can answer), so every worker was killed and respawned forever and the
    # server never started; a hung worker is still replaced, only later.
    worker_healthcheck_seconds: int = Field(default=60, ge=5)
    log_level: str = "INFO"
    trusted_proxies: list[str] = Field(default_factory=list)

    smtp: SmtpSettings = SmtpSettings()
    sms: SmsSettings = SmsSettings()
    outbox: OutboxSettings = OutboxSettings()
    password: PasswordPolicy = PasswordPolicy()
    lockout: LockoutPolicy = LockoutPolicy()
    session: SessionPolicy = SessionPolicy()
    recovery: RecoverySettings = RecoverySettings()
    rate_limits: RateLimits = RateLimits()
    codes: CodePolicy = CodePolicy()
    oidc: OidcSettings = OidcSettings()
    upstream: UpstreamSettings = UpstreamSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: the new GUARITA_OIDC__<NAME> over the former GUARITA_OIDC_<NAME>.
        return (
            init_settings,
            env_settings,
            _FormerOidcNames(settings_cls),
            dotenv_settings,
            file_secret_settings,
        )
    support: SupportSettings = SupportSettings()
    mfa: MfaSettings = MfaSettings()
    http: HttpSettings = HttpSettings()
    metrics: MetricsSettings = MetricsSettings()
    audit: AuditSettings = AuditSettings()

    @model_validator(mode="after")
    def _base_url_defaults_to_the_served_address(self) -> Settings:
        if not self.base_url:
            self.base_url = served_address(self.host, self.port)
        return self
    face: FaceSettings = FaceSettings()
    step_up: StepUpSettings = StepUpSettings()
    trust: TrustSettings = TrustSettings()
    guard: GuardSettings = GuardSettings()

    @property
    def development(self) -> bool:
        return self.env is Environment.DEVELOPMENT

    @property
    def production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def dev_routes(self) -> bool:
        """``/dev/outbox`` exists only outside production (DESIGN.md › Contracts)."""
        return not self.production

    def local_time(self, moment: datetime) -> str:
        """A moment as people in the organisation read it: ``21/11/2026 às 18:30``."""
        return moment.astimezone(ZoneInfo(self.timezone)).strftime("%d/%m/%Y às %H:%M")

    def secret(self) -> bytes:
        """The key that signs captchas and HMACs codes.

        Development and test: generated once into ``var/secret_key`` and reused, so that
        restarts keep sessions and codes valid. Production: must be set (``problems()``).
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        return _development_secret()

    def deprecations(self) -> list[str]:
        """Setting names still in use that will stop working, one pt-BR sentence each (logged at
        start-up and shown by ``guarita check``)."""
        return [
            f"{old} está obsoleta; use GUARITA_OIDC__{name.upper()}."
            for name, (old, _value) in former_oidc_names(os.environ).items()
        ]

    def audit_key(self) -> bytes:
        """The key of the audit chain's HMAC: set on its own, or derived from the secret key
        (a separate value, so that the one key never serves two purposes)."""
        if self.audit.key is not None:
            return self.audit.key.get_secret_value().encode()
        return hmac.new(self.secret(), b"guarita audit chain v1", hashlib.sha256).digest()

    @property
    def keep_sent_text(self) -> bool:
        if self.outbox.keep_sent_text is not None:
            return self.outbox.keep_sent_text
        return self.dev_routes

    def problems(self) -> list[str]:
        """Unsafe or broken settings, in plain pt-BR, one sentence each."""
        found: list[str] = []
        geoip = self.session.geoip_city_database
        if geoip and not Path(geoip).is_file():
            found.append(
                f"GUARITA_SESSION__GEOIP_CITY_DATABASE aponta para {geoip}, que não é um arquivo."
            )
        if self.production:
            if self.secret_key is None or len(self.secret_key.get_secret_value()) < 32:
                found.append(
                    "GUARITA_SECRET_KEY é obrigatória em produção e deve ter ao menos 32 caracteres."
                )
            if not self.base_url.startswith("https://"):
                found.append("GUARITA_BASE_URL deve começar com https:// em produção.")
            if self.captcha == "off":
                found.append("O captcha não pode ser desligado em produção (GUARITA_CAPTCHA).")
            if self.face.fixed_movements:
                found.append("GUARITA_FACE__FIXED_MOVEMENTS não pode ser usada em produção.")
            if self.sms.adapter == "log":
                found.append(
                    "O envio de SMS está no modo 'log' (não envia de verdade); "
                    "configure GUARITA_SMS__ADAPTER."
                )
        if self.captcha in ("hcaptcha", "recaptcha", "turnstile") and (
            not self.captcha_site_key or self.captcha_secret is None
        ):
            found.append(
                f"O captcha {self.captcha} precisa de GUARITA_CAPTCHA_SITE_KEY e "
                "GUARITA_CAPTCHA_SECRET."
            )
        from guarita.domain.trust_levels import tighter_or_equal

        for loose in tighter_or_equal(self.trust.rules):
            found.append(f"GUARITA_TRUST__RULES afrouxa a tabela de níveis ({loose}); "
                         "só é possível exigir mais evidências.")
        if self.sms.adapter == "webhook" and not self.sms.webhook_url:
            found.append("O SMS por webhook precisa de GUARITA_SMS__WEBHOOK_URL.")
        if self.face.provider == "datavalid" and (
            not self.face.datavalid_consumer_key or self.face.datavalid_consumer_secret is None
        ):
            found.append(
                "A validação facial pelo Datavalid precisa de GUARITA_FACE__DATAVALID_CONSUMER_KEY "
                "e GUARITA_FACE__DATAVALID_CONSUMER_SECRET."
            )
        if self.card_min_length < 1 or self.card_min_length > self.card_max_length:
            found.append("Os limites de tamanho da carteirinha estão invertidos ou inválidos.")
        if not self.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            found.append(
                "GUARITA_DATABASE_URL deve começar com sqlite+aiosqlite:// ou postgresql+asyncpg://."
            )
        return found


def served_address(host: str, port: int) -> str:
    """The http address of ``guarita serve`` on ``host:port``, as a browser on this machine
    types it (a wildcard bind is reached through loopback)."""
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming the wildcard, not binding to it
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _development_secret() -> bytes:
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip().encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once agree on whichever wrote first.
    try:
        with path.open("x") as handle:
            handle.write(value)
        path.chmod(0o600)
    except FileExistsError:
        return path.read_text().strip().encode()
    return value.encode()


def explain(error: ValidationError) -> str:
    """A settings error as plain sentences, one per wrong setting, without pydantic's noise."""
    lines = []
    for item in error.errors():
        message = str(item.get("msg", "")).removeprefix("Value error, ")
        where = "GUARITA_" + "__".join(str(p).upper() for p in item.get("loc", ()))
        lines.append(message if message.startswith("GUARITA_") else f"{where}: {message}")
    return "Configuração inválida / invalid settings:\n- " + "\n- ".join(lines)


@lru_cache
def get_settings() -> Settings:
    return Settings()
