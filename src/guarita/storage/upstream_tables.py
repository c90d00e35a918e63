"""Outside OpenID providers and the accounts they confirmed (``docs/upstreams.md``).

``upstream_providers`` holds one provider per row as ``guarita upstreams add`` registered it: its
issuer and client id, how Guarita authenticates at its token endpoint, the client secret sealed
with AES-256-GCM under ``GUARITA_SECRET_KEY`` (bound to the row, never in clear) or, for
``private_key_jwt``, the sealed private key whose public half Guarita publishes as a JWKS.
``upstream_links`` remembers which provider subject (issuer, ``sub``) was confirmed as which
account, once its CPF matched (OpenID Connect Core §5.7: ``sub`` is unique per issuer only).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from guarita.storage.tables import Base, BigId
from guarita.storage.types import UtcDateTime, utcnow


class UpstreamProvider(Base):
    __tablename__ = "upstream_providers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # bank | govbr | oidc
    name: Mapped[str] = mapped_column(String(80))
    code: Mapped[str | None] = mapped_column(String(8))  # a bank's COMPE code: amr bankNNN
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_method: Mapped[str] = mapped_column(String(32))
    secret_sealed: Mapped[str | None] = mapped_column(Text)
    private_key_sealed: Mapped[str | None] = mapped_column(Text)
    public_jwk: Mapped[str | None] = mapped_column(Text)  # the JSON of the public half
    scopes: Mapped[str] = mapped_column(String(255))
    cpf_claim: Mapped[str] = mapped_column(String(64))
    require_par: Mapped[bool] = mapped_column(Boolean, default=False)
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_type: Mapped[str | None] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class UpstreamLink(Base):
    __tablename__ = "upstream_links"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_upstream_links_subject"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[str] = mapped_column(
        ForeignKey("upstream_providers.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
