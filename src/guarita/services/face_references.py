"""Reference faces: sealed templates of registry people, their use and their deletion
(``docs/face.md`` › Reference photos; LGPD art. 11 and 18 VI: biometric data is sensitive and
the person may have it deleted).

A reference is computed from a photo (the registry's, or a supervisor's capture after an
in-person document check), kept only as its sealed 128-number template (the photo too only with
``GUARITA_FACE__KEEP_PHOTOS``), and tied to the registry person (and so to their account).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from guarita.methods import face_engine as engine
from guarita.methods import face_templates
from guarita.methods.face import Reference
from guarita.runtime import Runtime
from guarita.storage.tables import Account, Beneficiary, FaceReference
from guarita.storage.types import utcnow


def key(runtime: Runtime) -> bytes:
    face = runtime.settings.face
    return face_templates.key_from(runtime.settings.secret(),
                                   face.key.get_secret_value() if face.key else None)


def photo_digest(photo: bytes) -> str:
    return hashlib.sha256(photo).hexdigest()


@dataclass
class AccountFaces:
    """The face port of one account for the face method (``methods/face.FacePort``)."""

    runtime: Runtime
    account_id: str | None

    async def _beneficiary(self, session: AsyncSession) -> Beneficiary | None:
        if not self.account_id:
            return None
        account = await session.get(Account, self.account_id)
        if account is None or account.beneficiary_id is None:
            return None
        return await session.get(Beneficiary, account.beneficiary_id)

    async def reference(self) -> Reference | None:
        async with self.runtime.db.read() as session:
            beneficiary = await self._beneficiary(session)
            if beneficiary is None:
                return None
            row = await reference_of(session, beneficiary.id)
            if row is None:
                return None
            descriptor = face_templates.unseal_template(key(self.runtime), row.template,
                                                        owner=str(beneficiary.id))
            if descriptor is None:
                return None
            return Reference(descriptor=descriptor, source=row.source)

    async def cpf(self) -> str | None:
        async with self.runtime.db.read() as session:
            beneficiary = await self._beneficiary(session)
            return beneficiary.cpf if beneficiary is not None else None


async def reference_of(session: AsyncSession, beneficiary_id: int) -> FaceReference | None:
    return (await session.execute(select(FaceReference).where(
        FaceReference.beneficiary_id == beneficiary_id))).scalar_one_or_none()


async def has_reference(session: AsyncSession, beneficiary_id: int | None) -> bool:
    if beneficiary_id is None:
        return False
    return await reference_of(session, beneficiary_id) is not None


def template_row_values(runtime: Runtime, beneficiary_id: int, descriptor: np.ndarray,
                        photo: bytes, source: str, now: datetime,
                        captured_by: str | None = None) -> dict:
    """The columns of a reference row: the sealed template, the digest, the photo if kept."""
    master = key(runtime)
    owner = str(beneficiary_id)
    kept = (face_templates.seal_bytes(master, photo, owner=owner, what=b"photo")
            if runtime.settings.face.keep_photos else None)
    return {"beneficiary_id": beneficiary_id, "source": source,
            "template": face_templates.seal_template(master, descriptor, owner=owner),
            "photo_digest": photo_digest(photo), "photo": kept, "captured_by": captured_by,
            "created_at": now, "updated_at": now}


async def put_reference(session: AsyncSession, runtime: Runtime, beneficiary_id: int,
                        descriptor: np.ndarray, photo: bytes, source: str,
                        captured_by: str | None = None) -> FaceReference:
    now = utcnow()
    values = template_row_values(runtime, beneficiary_id, descriptor, photo, source, now,
                                 captured_by)
    row = await reference_of(session, beneficiary_id)
    if row is None:
        row = FaceReference(**values)
        session.add(row)
    else:
        for name, value in values.items():
            if name != "created_at":
                setattr(row, name, value)
    await session.flush()
    return row


async def remove_reference(session: AsyncSession, beneficiary_id: int) -> bool:
    removed = await session.execute(delete(FaceReference).where(
        FaceReference.beneficiary_id == beneficiary_id))
    return removed.rowcount > 0


async def template_from_photo(runtime: Runtime, photo: bytes) -> np.ndarray:
    """The descriptor of a reference photo, computed on the face pool, or ``face_quality``."""
    from guarita.methods.face import quality_error

    limits = engine.QualityLimits(min_face_px=runtime.settings.face.min_face_px)
    descriptor, problem = await engine.run(engine.template_of, photo, limits)
    if problem is not None or descriptor is None:
        raise quality_error(problem or engine.QualityProblem.NO_FACE)
    return descriptor


async def beneficiary_of_account(session: AsyncSession, account_id: str) -> int | None:
    account = await session.get(Account, account_id)
    return account.beneficiary_id if account is not None else None


async def account_has_reference(runtime: Runtime, account_id: str) -> bool:
    async with runtime.db.read() as session:
        return await has_reference(session, await beneficiary_of_account(session, account_id))


async def delete_own(runtime: Runtime, account_id: str, context: Any) -> bool:
    """The person deletes their own reference (LGPD art. 18 VI); audited, never the template."""
    from guarita.domain.audit_tags import AuditTag
    from guarita.storage.audit import record

    async with runtime.db.transaction() as session:
        beneficiary_id = await beneficiary_of_account(session, account_id)
        removed = beneficiary_id is not None and await remove_reference(session, beneficiary_id)
        if removed:
            await record(session, AuditTag.FACE_REFERENCE_DELETED, subject=account_id,
                         context=context, details={"by": "self"})
        return removed
