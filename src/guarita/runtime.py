"""What every request and background task shares: settings, the database, the password hasher.

Built once by ``app.create_app`` (the composition root) and by the CLI; services receive it
instead of reaching for globals, so tests build one per database backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from guarita.config import Settings
from guarita.domain.hashing import Hasher
from guarita.storage.database import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database
    hasher: Hasher
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        db = Database(
            settings.database_url, audit_key=settings.audit_key(),
            audit_anchor_every=settings.audit.anchor_every,
            pgbouncer=settings.database_pgbouncer,
        )
        return cls(settings=settings, db=db, hasher=Hasher())

    async def close(self) -> None:
        self.hasher.close()
        await self.db.dispose()
