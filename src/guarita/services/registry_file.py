"""The beneficiary CSV as a file: is it usable, and its rows one at a time.

DESIGN.md › Contracts › Beneficiary CSV: UTF-8 with a header row naming exactly the columns
``card_number,cpf,birth_date,name,email,phone,legacy_password_hash`` (any order). A file that
cannot be used at all (missing, a folder, empty, not UTF-8, wrong header) is refused *before*
anything is written, with one plain pt-BR sentence (:class:`RegistryFileError`); problems of one
row are the row's business (``registry_rows``).

:func:`check_file` reads the file once, in fixed-size chunks, to prove it decodes as UTF-8 (a
Latin-1 export from a spreadsheet is the usual mistake, and finding it on line 700,000 after
699,999 rows were committed would leave a half import), to fingerprint it (SHA-256, for the audit
log) and to know its size (for the progress bar). :func:`read_rows` then streams it with the
``csv`` module; neither ever holds more than one chunk or one row in memory.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

COLUMNS: tuple[str, ...] = (
    "card_number",
    "cpf",
    "birth_date",
    "name",
    "email",
    "phone",
    "legacy_password_hash",
)
HEADER = ",".join(COLUMNS)
# Columns a file may add: ``photo`` is a reference photo's path relative to the CSV
# (docs/face.md › Reference photos), read by the photo pass (services/face_import.py);
# ``social_name`` is the person's nome social (Decreto 8.727/2016, docs/registry-import.md).
OPTIONAL_COLUMNS: tuple[str, ...] = ("photo", "social_name")
# Other spellings of a header, as pt-BR registries export them → the contract's name.
ALIASES: dict[str, str] = {"nome_social": "social_name", "nome social": "social_name"}

_CHUNK = 1 << 20
_BOM = codecs.BOM_UTF8
# The first bytes of an .xlsx/.ods (zip) and of an old .xls (OLE2): a spreadsheet saved as is.
_SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")


class RegistryFileError(Exception):
    """The file as a whole cannot be imported; the message is one pt-BR sentence."""


@dataclass(frozen=True)
class CheckedFile:
    path: Path
    size: int
    sha256: str
    delimiter: str
    # position of each contract column in the file's rows, and of each optional one it has
    positions: dict[str, int]
    width: int


@dataclass(frozen=True)
class RawRow:
    """One data row as read: its first physical line and its fields (stripped)."""

    line: int
    fields: list[str] | None  # None: the csv module could not split the line
    problem: str | None = None


def check_file(path: str | os.PathLike[str]) -> CheckedFile:
    """Refuses a file that cannot be imported at all; see the module docstring."""
    path = Path(path)
    name = path.name or str(path)
    if not path.exists():
        raise RegistryFileError(f"Arquivo não encontrado: {path}")
    if path.is_dir():
        raise RegistryFileError(f"{path} é uma pasta, não um arquivo CSV.")
    if not path.is_file():  # a pipe or a device would be read twice, or forever
        raise RegistryFileError(f"{path} não é um arquivo comum.")
    try:
        size, digest = _scan_utf8(path)
    except PermissionError as exc:
        raise RegistryFileError(f"Sem permissão para ler o arquivo {path}.") from exc
    except OSError as exc:
        raise RegistryFileError(
            f"Não foi possível ler o arquivo {path} ({exc.strerror or exc.__class__.__name__})."
        ) from exc
    delimiter, positions, width = _read_header(path, name)
    return CheckedFile(path, size, digest, delimiter, positions, width)


def _scan_utf8(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    size = 0
    lines_before = 0
    with path.open("rb") as handle:
        first = True
        while chunk := handle.read(_CHUNK):
            if first and chunk.startswith(_SPREADSHEET_MAGIC):
                raise RegistryFileError(
                    f"O arquivo {path.name} parece uma planilha (Excel ou similar), não um CSV. "
                    "Abra-o na planilha e use 'Salvar como' › 'CSV UTF-8'."
                )
            first = False
            digest.update(chunk)
            size += len(chunk)
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line = lines_before + chunk.count(b"\n", 0, max(exc.start, 0)) + 1
                raise RegistryFileError(_not_utf8(path, line)) from exc
            lines_before += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise RegistryFileError(_not_utf8(path, lines_before + 1)) from exc
    return size, digest.hexdigest()


def _not_utf8(path: Path, line: int) -> str:
    return (
        f"O arquivo {path.name} não está em UTF-8 (primeiro problema na linha {line}). "
        "Salve-o como 'CSV UTF-8' e importe de novo."
    )


def _read_header(path: Path, name: str) -> tuple[str, dict[str, int], int]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        first_line = ""
        for line in handle:
            if line.strip():
                first_line = line
                break
    if not first_line:
        raise RegistryFileError(f"O arquivo {name} está vazio.")
    # Spreadsheets in pt-BR save "CSV" with semicolons (the comma is the decimal separator);
    # the header tells which one this file uses, and nothing else is guessed.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    header = next(csv.reader([first_line], delimiter=delimiter))
    names = [column.strip().lower() for column in header]
    names = [ALIASES.get(column, column) for column in names]
    missing = [column for column in COLUMNS if column not in names]
    known = COLUMNS + OPTIONAL_COLUMNS
    unknown = [column for column in names if column not in known]
    repeated = sorted({column for column in names if column in known and names.count(column) > 1})
    problems = []
    if missing:
        problems.append("faltam as colunas " + ", ".join(missing))
    if unknown:
        problems.append("colunas desconhecidas: " + ", ".join(c or "(sem nome)" for c in unknown))
    if repeated:
        problems.append("colunas repetidas: " + ", ".join(repeated))
    if problems:
        raise RegistryFileError(
            f"Cabeçalho inválido em {name}: {'; '.join(problems)}. "
            f"A primeira linha deve ser: {HEADER}"
        )
    present = COLUMNS + tuple(column for column in OPTIONAL_COLUMNS if column in names)
    return delimiter, {column: names.index(column) for column in present}, len(names)


def read_rows(checked: CheckedFile) -> Iterator[tuple[RawRow, int]]:
    """Yields each data row with the number of bytes read so far (for a progress bar).

    Blank lines are skipped. Line numbers count physical lines from 1 (the header), so a quoted
    field spanning lines still points the operator at where its row starts. A field longer than
    the ``csv`` module's limit (128 KiB) makes a rejected row, never a big allocation.
    """
    with checked.path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=checked.delimiter, strict=False)
        raw = handle.buffer
        header_seen = False
        while True:
            start = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield RawRow(start, None, f"linha malformada ({exc})"), raw.tell()
                continue
            except UnicodeDecodeError as exc:  # the file changed after check_file
                raise RegistryFileError(_not_utf8(checked.path, start)) from exc
            if not fields or not any(field.strip() for field in fields):
                continue
            if not header_seen:
                header_seen = True
                continue
            yield RawRow(start, [field.strip() for field in fields]), raw.tell()
