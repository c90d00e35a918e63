"""What Minha conta says about the trust level (``docs/trust-levels.md`` › Minha conta): the
level now (recomputed when an expiry passed), whether a lowering holds it down, what each level
opens (``GUARITA_TRUST__LEVEL_OPENS``), and the ways this deployment offers to reach the next
level — a bank, the face, an agency (``GUARITA_STEP_UP__AGENCIES``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from guarita.domain.accounts import TrustLevel
from guarita.domain.evidence import EvidenceKind
from guarita.methods.face import Source
from guarita.runtime import Runtime
from guarita.services import face_references, step_up, trust
from guarita.storage.tables import IdentityEvidence


@dataclass
class LevelSection:
    level: TrustLevel
    next: TrustLevel | None
    # Lowered: proof older than the last cap counts at most up to it (``level_cap`` rows).
    capped: bool
    cap_reason: str | None
    opens: dict[str, list[str]]
    banks: list[dict] = field(default_factory=list)   # to /conta/bancos (proofing by a bank)
    face: bool = False                                # through "Confirme sua identidade"
    agencies: list[str] = field(default_factory=list)
    # For ouro: the document was already seen at an agency and the photo taken there.
    document_checked: bool = False
    photo_in_person: bool = False


async def section(runtime: Runtime, account_id: str) -> LevelSection:
    settings = runtime.settings
    async with runtime.db.transaction() as session:
        level = await trust.current_level(session, settings, account_id)
        found = await trust.assessment(session, settings, account_id)
        caps = (await session.execute(
            select(IdentityEvidence.method).where(
                IdentityEvidence.account_id == account_id,
                IdentityEvidence.kind == EvidenceKind.LEVEL_CAP.value)
            .order_by(IdentityEvidence.recorded_at.desc(), IdentityEvidence.id.desc())
            .limit(1))).scalar_one_or_none()
        checked = (await session.execute(
            select(IdentityEvidence.id).where(
                IdentityEvidence.account_id == account_id,
                IdentityEvidence.kind == EvidenceKind.IN_PERSON_DOCUMENT.value).limit(1))).first()
        beneficiary_id = await face_references.beneficiary_of_account(session, account_id)
        reference = (await face_references.reference_of(session, beneficiary_id)
                     if beneficiary_id is not None else None)
    higher = [lv for lv in TrustLevel if lv.rank > level.rank]
    result = LevelSection(
        level=level, next=higher[0] if higher else None, capped=found.capped,
        cap_reason=caps if found.capped else None, opens=settings.trust.level_opens,
        document_checked=checked is not None,
        photo_in_person=reference is not None and reference.source == Source.IN_PERSON)
    if result.next is None:
        return result
    # The step-up page's own choice: only what, added to the account's evidence, reaches the
    # next level under the table (a bank: prata at most; a registry photo: nothing).
    offered = await step_up.options(runtime, account_id, result.next)
    result.banks, result.face, result.agencies = offered.banks, offered.face, offered.agencies
    return result
