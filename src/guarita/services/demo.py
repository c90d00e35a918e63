"""The demonstration registry: eight fictitious beneficiaries, one per path worth trying.

``make run`` loads it into an empty database (``guarita demo --if-empty``) so that a fresh
checkout can be tried at once (DESIGN.md › Contracts). It is written as a beneficiary CSV under
``var/`` and imported by ``registry_import.import_beneficiaries``, the same code an operator
runs, so the demo can never drift from a real import. Everything is fixed (CPFs from a seeded
generator, the legacy hashes below), so the file is byte-for-byte the same on every run and a
second load reports every row *unchanged*.

The people are invented; the CPFs are valid by their check digits only; e-mails use the
``example.com`` domain reserved by RFC 2606; phones are DDD 61 mobile numbers.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from sqlalchemy import select

from guarita.config import VAR_DIR
from guarita.runtime import Runtime
from guarita.services.registry_file import COLUMNS
from guarita.services.registry_import import ImportReport, import_beneficiaries
from guarita.storage.audit import RequestContext
from guarita.storage.tables import Beneficiary

# The old portal's password of every demo legacy account (documented in docs/registry-import.md).
DEMO_LEGACY_PASSWORD = "senha antiga do portal 2019"  # noqa: S105 - public on purpose
# bcrypt cost 10 and Django PBKDF2-SHA256 (600,000 iterations) of DEMO_LEGACY_PASSWORD, computed
# once with a fixed salt so the demo file never changes (tests/registry checks they verify).
DEMO_BCRYPT_HASH = "$2b$10$/xM9MEI2n8DC1QaLOTNwe.2ei0QtqmDvmBsCRvrZ5nOgCjKmxDGO."
DEMO_PBKDF2_HASH = (
    "pbkdf2_sha256$600000$demoGuarita2019$BFxZn4ObyyZr50q8Sj1DR1uHHoH4OaHjkTzMFZ8SUok="
)
DEMO_CSV_NAME = "demo-beneficiarios.csv"
_SEED = 2019


class DemoNotAllowed(Exception):
    """The demo never goes into a production database."""


def cpf_check_digits(base: str) -> str:
    """The two check digits of a 9-digit CPF base (Receita Federal, modulo 11)."""
    digits = [int(ch) for ch in base]
    for weights_from in (10, 11):
        total = sum(d * w for d, w in zip(digits, range(weights_from, 1, -1), strict=True))
        digits.append((total * 10) % 11 % 10)
    return f"{digits[-2]}{digits[-1]}"


def cpf_from_number(number: int) -> str:
    """The CPF whose first nine digits are ``number`` (0 ≤ number < 10⁹)."""
    base = f"{number:09d}"
    return base + cpf_check_digits(base)


def generate_cpf(rng: random.Random) -> str:
    """A valid CPF; never one repeated digit (those pass the check but are never issued)."""
    while True:
        cpf = cpf_from_number(rng.randrange(10**9))
        if len(set(cpf)) > 1:
            return cpf


@dataclass(frozen=True)
class DemoPerson:
    card_number: str
    cpf: str | None
    birth_date: date
    name: str
    email: str | None
    phone: str | None
    legacy_password_hash: str | None
    path: str  # what this person lets you try, as the table shows it
    photo: bool = False  # ships a reference photo (a package photo, see demo_photo)

    @property
    def legacy(self) -> bool:
        return self.legacy_password_hash is not None


def demo_people() -> list[DemoPerson]:
    rng = random.Random(_SEED)
    cpf = [generate_cpf(rng) for _ in range(8)]
    return [
        DemoPerson("200100017", cpf[0], date(1948, 5, 12), "Maria da Conceição Silva",
                   "maria.silva@example.com", "(61) 99123-4501", None,
                   "Cadastro (carteirinha, CPF e data de nascimento)"),
        DemoPerson("200100025", None, date(1952, 11, 3), "José Antônio Pereira",
                   None, "(61) 98765-4302", None,
                   "Cadastro sem CPF (marque 'Não possui CPF')"),
        DemoPerson("200100033", cpf[2], date(1944, 1, 27), "Ana Lúcia Gonçalves",
                   "ana.goncalves@example.com", "(61) 99234-5603", DEMO_BCRYPT_HASH,
                   "Entrar com a carteirinha (conta antiga) e a senha antiga"),
        DemoPerson("200100041", cpf[3], date(1950, 8, 19), "Sebastião Araújo Brandão",
                   "sebastiao.brandao@example.com", None, DEMO_PBKDF2_HASH,
                   "Esqueci minha senha por e-mail (conta antiga)"),
        DemoPerson("200100050", cpf[4], date(1957, 2, 8), "Luzia de Fátima Ribeiro",
                   None, "(61) 98111-2204", DEMO_BCRYPT_HASH,
                   "Esqueci minha senha por SMS (conta antiga)"),
        DemoPerson("200100068", cpf[5], date(1939, 12, 25), "Benedito Conceição dos Santos",
                   None, None, DEMO_BCRYPT_HASH,
                   "Sem e-mail nem celular: Esqueci minha senha indica ligar para a central"),
        DemoPerson("200100076", cpf[6], date(1961, 6, 30), "Raimunda Nonata Lima",
                   "raimunda.lima@example.com", "(61) 99999-0005", None,
                   "Cadastro, depois Entrar com o CPF ou o e-mail; tem foto de referência "
                   "para a validação facial", photo=True),
        DemoPerson("200100084", cpf[7], date(1946, 9, 14), "Antônio Luís Magalhães",
                   "antonio.magalhaes@example.com", None, None,
                   "Cadastro, depois Esqueci minha senha por e-mail"),
    ]


def demo_csv_text(people: list[DemoPerson] | None = None) -> str:
    """The demo as a beneficiary CSV.

    Every other row writes its CPF with punctuation and its date as DD/MM/AAAA, so the demo
    also shows both accepted formats (and that they import to the same values).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*COLUMNS, "photo"))
    for index, person in enumerate(people or demo_people()):
        spelled = index % 2 == 1
        cpf = person.cpf or ""
        if cpf and spelled:
            cpf = f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"
        birth = person.birth_date.strftime("%d/%m/%Y" if spelled else "%Y-%m-%d")
        writer.writerow([
            person.card_number, cpf, birth, person.name, person.email or "", person.phone or "",
            person.legacy_password_hash or "",
            f"{DEMO_PHOTOS}/{person.card_number}.jpg" if person.photo else "",
        ])
    return out.getvalue()


DEMO_PHOTOS = "demo-fotos"


def demo_photo() -> bytes | None:
    """A face photo that ships inside a package (never downloaded): scikit-image's astronaut
    (Eileen Collins, NASA, public domain), cropped to the face and enlarged as a phone selfie
    would show it; matplotlib's Grace Hopper sample when scikit-image is not installed; None
    when neither is (the demo then has no reference photo)."""


    from PIL import Image

    try:
        from skimage import data

        image = Image.fromarray(data.astronaut()).crop((100, 0, 340, 240))
        image = image.resize((480, 480), Image.Resampling.LANCZOS)
    except ImportError:
        try:
            import matplotlib.cbook as cbook
        except ImportError:
            return None
        image = Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    return out.getvalue()


def write_demo_csv(directory: Path = VAR_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    people = demo_people()
    photo = demo_photo() if any(p.photo for p in people) else None
    if photo is None:
        people = [replace(p, photo=False) for p in people]
    else:
        (directory / DEMO_PHOTOS).mkdir(exist_ok=True)
        for person in people:
            if person.photo:
                (directory / DEMO_PHOTOS / f"{person.card_number}.jpg").write_bytes(photo)
    path = directory / DEMO_CSV_NAME
    path.write_text(demo_csv_text(people), encoding="utf-8")
    return path


@dataclass
class DemoResult:
    loaded: bool  # False: --if-empty found beneficiaries already
    people: list[DemoPerson]
    report: ImportReport | None
    csv_path: Path | None


async def registry_is_empty(runtime: Runtime) -> bool:
    async with runtime.db.transaction() as session:
        first = await session.execute(select(Beneficiary.id).limit(1))
        return first.first() is None


async def demo_present(runtime: Runtime) -> bool:
    """Whether every demo card is in the registry (a previous ``guarita demo`` ran)."""
    cards = [person.card_number for person in demo_people()]
    async with runtime.db.transaction() as session:
        found = await session.execute(
            select(Beneficiary.card_number).where(Beneficiary.card_number.in_(cards))
        )
        return len(found.all()) == len(cards)


async def load_demo(
    runtime: Runtime,
    *,
    if_empty: bool = False,
    directory: Path = VAR_DIR,
    context: RequestContext | None = None,
) -> DemoResult:
    """Writes the demo CSV and imports it; with ``if_empty``, only into an empty registry."""
    if runtime.settings.production:
        raise DemoNotAllowed(
            "A demonstração não pode ser carregada em produção (GUARITA_ENV=production)."
        )
    people = demo_people()
    if if_empty and not await registry_is_empty(runtime):
        return DemoResult(loaded=False, people=people, report=None, csv_path=None)
    path = write_demo_csv(directory)
    report = await import_beneficiaries(runtime, path, context=context)
    from guarita.services.face_import import csv_has_photos, import_photos

    if csv_has_photos(path):
        await import_photos(runtime, path, context=context)
    return DemoResult(loaded=True, people=people, report=report, csv_path=path)
