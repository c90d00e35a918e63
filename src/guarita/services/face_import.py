"""Reference photos from the registry (``docs/face.md`` › Reference photos).

After the rows of a beneficiary CSV are imported, this pass reads the photos named by its
optional ``photo`` column (a path relative to the CSV) and/or a folder given with
``--photos DIR`` (files named by card number, ``.jpg``/``.jpeg``/``.png``), and keeps for each
person the sealed template of their face (``services/face_references.py``).

- In batches (``GUARITA_FACE__IMPORT_BATCH``): one query finds the batch's people and their
  stored references, the templates are computed on the face pool (bounded, off the event loop),
  one transaction writes them.
- Idempotent: a photo whose SHA-256 equals the stored digest is *unchanged* and costs no face
  work at all.
- A photo without exactly one usable face, an unreadable file or a card not in the registry is
  *rejected* with its line (or file name) and a pt-BR reason; the pass never stops at one.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from guarita.domain.audit_tags import AuditTag
from guarita.methods import face_engine as engine
from guarita.methods.face import Source
from guarita.runtime import Runtime
from guarita.services import face_references
from guarita.storage.audit import RequestContext, record
from guarita.storage.tables import Beneficiary, FaceReference

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
MAX_PHOTO_BYTES = 10 * 1024 * 1024
LISTED_MAX = 1000

Progress = Callable[[int, int], None]  # (photos done, photos in all)


@dataclass(frozen=True)
class PhotoNote:
    where: str  # "linha 12" or the file's name
    card_number: str
    reason: str


@dataclass
class PhotoReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[PhotoNote] = field(default_factory=list)

    @property
    def photos(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected

    def as_json(self) -> dict[str, Any]:
        return {"photos": self.photos, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "rejected": self.rejected,
                "rejections": [n.__dict__ for n in self.rejections]}

    def reject(self, note: PhotoNote) -> None:
        self.rejected += 1
        if len(self.rejections) < LISTED_MAX:
            self.rejections.append(note)


@dataclass(frozen=True)
class _Wanted:
    where: str
    card_number: str
    path: Path


REASONS = {
    engine.QualityProblem.NO_FACE: "nenhum rosto encontrado na foto",
    engine.QualityProblem.MANY_FACES: "mais de um rosto na foto",
    engine.QualityProblem.FACE_TOO_SMALL: "o rosto é pequeno demais",
    engine.QualityProblem.TOO_DARK: "a foto está escura demais",
    engine.QualityProblem.TOO_BLURRY: "a foto está desfocada",
    engine.QualityProblem.EYES_NOT_VISIBLE: "os olhos não aparecem",
    engine.QualityProblem.UNREADABLE: "o arquivo não é uma imagem JPEG ou PNG legível",
}


def csv_has_photos(csv_path: str | Path) -> bool:
    with Path(csv_path).open(encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return "photo" in [c.strip().lower() for c in next(csv.reader([first], delimiter=delimiter))]


def _from_csv(csv_path: Path) -> Iterator[_Wanted]:
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
        delimiter = ";" if first.count(";") > first.count(",") else ","
        names = [c.strip().lower() for c in next(csv.reader([first], delimiter=delimiter))]
        if "photo" not in names:
            return
        card_at, photo_at = names.index("card_number"), names.index("photo")
        reader = csv.reader(handle, delimiter=delimiter, strict=False)
        for fields in reader:
            line = reader.line_num + 1  # the header was read before the reader started
            if len(fields) != len(names):
                continue  # the row import reports it
            relative = fields[photo_at].strip()
            if relative:
                yield _Wanted(f"linha {line}", "".join(ch for ch in fields[card_at] if ch.isdigit()),
                              csv_path.parent / relative)


def _from_folder(folder: Path) -> Iterator[_Wanted]:
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in PHOTO_SUFFIXES and path.is_file():
            yield _Wanted(path.name, "".join(ch for ch in path.stem if ch.isdigit()), path)


def wanted_photos(csv_path: str | Path | None, folder: str | Path | None) -> list[_Wanted]:
    """Every photo to consider, the CSV's first; one per card (the first named wins)."""
    found: dict[str, _Wanted] = {}
    sources: list[Iterator[_Wanted]] = []
    if csv_path is not None:
        sources.append(_from_csv(Path(csv_path)))
    if folder is not None:
        sources.append(_from_folder(Path(folder)))
    extra: list[_Wanted] = []
    for source in sources:
        for item in source:
            if item.card_number in found:
                continue
            if not item.card_number:
                extra.append(item)
                continue
            found[item.card_number] = item
    return list(found.values()) + extra


def _read(path: Path) -> bytes | str:
    try:
        if path.stat().st_size > MAX_PHOTO_BYTES:
            return "a foto passa de 10 MB"
        return path.read_bytes()
    except FileNotFoundError:
        return "arquivo de foto não encontrado"
    except OSError:
        return "não foi possível ler o arquivo de foto"


async def import_photos(runtime: Runtime, csv_path: str | Path | None = None,
                        folder: str | Path | None = None, *, progress: Progress | None = None,
                        context: RequestContext | None = None) -> PhotoReport:
    if folder is not None and not await asyncio.to_thread(Path(folder).is_dir):
        from guarita.services.registry_file import RegistryFileError

        raise RegistryFileError(f"A pasta de fotos {folder} não existe.")
    report = PhotoReport()
    wanted = await asyncio.to_thread(wanted_photos, csv_path, folder)
    size = max(1, runtime.settings.face.import_batch)
    limits = engine.QualityLimits(min_face_px=runtime.settings.face.min_face_px)
    done = 0
    for start in range(0, len(wanted), size):
        await _batch(runtime, wanted[start:start + size], limits, report)
        done = min(len(wanted), start + size)
        if progress is not None:
            progress(done, len(wanted))
    if report.photos and context is not None:
        async with runtime.db.transaction() as session:
            await record(session, AuditTag.REGISTRY_IMPORTED, context=context,
                         details={"photos": {k: v for k, v in report.as_json().items()
                                             if k != "rejections"}})
    return report


async def _batch(runtime: Runtime, batch: list[_Wanted], limits: engine.QualityLimits,
                 report: PhotoReport) -> None:
    cards = [w.card_number for w in batch if w.card_number]
    async with runtime.db.read() as session:
        people = {b.card_number: b.id for b in (await session.execute(
            select(Beneficiary.card_number, Beneficiary.id)
            .where(Beneficiary.card_number.in_(cards)))).all()} if cards else {}
        stored = {r.beneficiary_id: r.photo_digest for r in (await session.execute(
            select(FaceReference.beneficiary_id, FaceReference.photo_digest)
            .where(FaceReference.beneficiary_id.in_(list(people.values()))))).all()} if people else {}
    todo: list[tuple[_Wanted, int, bytes, bool]] = []
    for item in batch:
        person = people.get(item.card_number)
        if person is None:
            report.reject(PhotoNote(item.where, item.card_number,
                                    "carteirinha não encontrada no cadastro"))
            continue
        data = await asyncio.to_thread(_read, item.path)
        if isinstance(data, str):
            report.reject(PhotoNote(item.where, item.card_number, data))
            continue
        digest = face_references.photo_digest(data)
        if stored.get(person) == digest:
            report.unchanged += 1
            continue
        todo.append((item, person, data, person in stored))
    results = await asyncio.gather(*(engine.run(engine.template_of, data, limits)
                                     for _, _, data, _ in todo))
    async with runtime.db.transaction() as session:
        for (item, person, data, existed), (descriptor, problem) in zip(todo, results, strict=True):
            if problem is not None or descriptor is None:
                reason = REASONS.get(problem or engine.QualityProblem.NO_FACE, "foto inválida")
                report.reject(PhotoNote(item.where, item.card_number, reason))
                continue
            await face_references.put_reference(session, runtime, person, descriptor, data,
                                                Source.REGISTRY)
            if existed:
                report.updated += 1
            else:
                report.created += 1
