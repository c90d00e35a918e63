"""Reference photos from the registry: the CSV's ``photo`` column and ``--photos DIR``, in
batches, idempotent by digest, rejections by line; the demo ships one package photo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from sqlalchemy import select

from guarita.services.face_import import import_photos
from guarita.services.registry_import import import_beneficiaries
from guarita.storage.migrate import upgrade
from guarita.storage.tables import Beneficiary, FaceReference
from tests.support import faces
from tests.support.factories import make_cpf

GUARITA = Path(sys.executable).parent / "guarita"
HEADER = "card_number,cpf,birth_date,name,email,phone,legacy_password_hash,photo\n"


def _row(card: str, seed: int, photo: str = "") -> str:
    return f"{card},{make_cpf(seed)},1950-01-0{seed % 9 + 1},Pessoa {seed} Teste,,,,{photo}\n"


async def _references(runtime) -> dict[str, FaceReference]:  # noqa: ANN001
    async with runtime.db.transaction() as session:
        rows = (await session.execute(select(Beneficiary.card_number, FaceReference)
                                      .join(FaceReference,
                                            FaceReference.beneficiary_id == Beneficiary.id))).all()
        return {card: ref for card, ref in rows}


async def test_photo_column_and_folder_idempotent_with_rejections(runtime, tmp_path):
    (tmp_path / "fotos").mkdir()
    (tmp_path / "fotos" / "a.jpg").write_bytes(faces.jpeg(faces.astronaut()))
    (tmp_path / "fotos" / "nada.jpg").write_bytes(faces.jpeg(faces.astronaut()[:60, :60].copy()))
    two = np.concatenate([faces.astronaut()[:480, :480], faces.grace()[:480, :480]], axis=1)
    (tmp_path / "fotos" / "dois.png").write_bytes(faces.png(two))
    folder = tmp_path / "pasta"
    folder.mkdir()
    (folder / "100000004.jpg").write_bytes(faces.jpeg(faces.grace()))
    (folder / "999999999.jpg").write_bytes(faces.jpeg(faces.grace()))
    csv_path = tmp_path / "cadastro.csv"
    csv_path.write_text(HEADER + _row("100000001", 1, "fotos/a.jpg") + _row("100000002", 2, "fotos/nada.jpg")
                        + _row("100000003", 3, "fotos/dois.png") + _row("100000004", 4)
                        + _row("100000005", 5, "fotos/falta.jpg"), encoding="utf-8")
    rows = await import_beneficiaries(runtime, csv_path)
    assert rows.created == 5 and rows.rejected == 0
    calls: list[tuple[int, int]] = []
    report = await import_photos(runtime, csv_path, folder, progress=lambda d, t: calls.append((d, t)))
    assert (report.created, report.updated, report.unchanged, report.rejected) == (2, 0, 0, 4)
    reasons = {(n.where, n.reason) for n in report.rejections}
    assert ("linha 3", "nenhum rosto encontrado na foto") in reasons
    assert ("linha 4", "mais de um rosto na foto") in reasons
    assert ("linha 6", "arquivo de foto não encontrado") in reasons
    assert ("999999999.jpg", "carteirinha não encontrada no cadastro") in reasons
    assert calls[-1] == (6, 6)
    stored = await _references(runtime)
    assert set(stored) == {"100000001", "100000004"}
    assert stored["100000001"].source == "registry" and stored["100000001"].photo is None
    assert len(stored["100000001"].template) < 600  # a sealed template, not a photo
    again = await import_photos(runtime, csv_path, folder)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    (tmp_path / "fotos" / "a.jpg").write_bytes(faces.jpeg(faces.astronaut(), quality=70))
    changed = await import_photos(runtime, csv_path, folder)
    assert (changed.created, changed.updated, changed.unchanged, changed.rejected) == (0, 1, 1, 4), changed.rejections


def test_cli_import_with_photos_and_the_demo_photo(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'guarita.db'}"
    upgrade(url)
    env = {**os.environ, "GUARITA_ENV": "test", "GUARITA_DATABASE_URL": url,
           "GUARITA_SECRET_KEY": "k" * 48, "COLUMNS": "200"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(GUARITA), *args], cwd=tmp_path, env=env,  # noqa: S603
                                capture_output=True, text=True, timeout=300, check=False)
        assert "Traceback" not in result.stdout + result.stderr, result.stderr
        return result

    folder = tmp_path / "fotos"
    folder.mkdir()
    (folder / "100000001.jpg").write_bytes(faces.jpeg(faces.grace()))
    csv_path = tmp_path / "c.csv"
    csv_path.write_text(HEADER.replace(",photo", "") + _row("100000001", 1).replace(",,,,\n", ",,,\n"),
                        encoding="utf-8")
    result = cli("import-beneficiaries", str(csv_path), "--photos", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["created"] == 1 and found["photos"]["created"] == 1
    plain = cli("import-beneficiaries", str(csv_path), "--photos", str(folder))
    assert "Fotos de referência" in plain.stdout and "Sem mudança" in plain.stdout
    missing = cli("import-beneficiaries", str(csv_path), "--photos", str(tmp_path / "nada"))
    assert missing.returncode == 1 and "pasta de fotos" in missing.stderr.lower()
    demo = cli("demo", "--json")
    assert demo.returncode == 0, demo.stderr
    assert (tmp_path / "var" / "demo-fotos" / "200100076.jpg").exists()
    counted = subprocess.run([sys.executable, "-c", (
        "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);"
        "print(c.execute('select b.card_number from face_references f join beneficiaries b "
        "on b.id=f.beneficiary_id').fetchall())"), str(tmp_path / "guarita.db")],
        capture_output=True, text=True, check=True)
    assert "200100076" in counted.stdout
