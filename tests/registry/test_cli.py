"""``guarita import-beneficiaries`` and ``guarita demo`` as an operator runs them (subprocess).

A real process, so what is checked is what a person sees: exit codes, one pt-BR line on stderr
for an unusable file, never a traceback, and ``--json`` that parses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from guarita.storage.migrate import upgrade
from tests.registry.helpers import person, write_csv
from tests.support.factories import make_cpf

GUARITA = Path(sys.executable).parent / "guarita"


@pytest.fixture
def cli(tmp_path):
    """Runs ``guarita`` against a migrated SQLite file in ``tmp_path`` (also its working dir)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'guarita.db'}"
    upgrade(url)
    env = {
        **os.environ, "GUARITA_ENV": "test", "GUARITA_DATABASE_URL": url,
        "GUARITA_SECRET_KEY": "k" * 48, "COLUMNS": "200",
    }

    def run(*args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(  # noqa: S603 - our own console script
            [str(GUARITA), *args], cwd=tmp_path, env={**env, **overrides},
            capture_output=True, text=True, timeout=120, check=False,
        )
        assert "Traceback" not in result.stdout + result.stderr, result.stderr
        return result

    return run


def test_import_json_report_and_exit_zero_with_rejected_rows(cli, tmp_path):
    path = write_csv(tmp_path / "cadastro.csv", [
        person("300000001", cpf=make_cpf(1)),
        person("300000002", cpf="123.456.789-00"),
    ])
    result = cli("import-beneficiaries", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {k: report[k] for k in ("created", "updated", "unchanged", "rejected")} == {
        "created": 1, "updated": 0, "unchanged": 0, "rejected": 1,
    }
    assert report["rejections"] == [
        {"line": 3, "card_number": "300000002", "reason": "CPF inválido"}
    ]

    again = json.loads(cli("import-beneficiaries", str(path), "--json").stdout)
    assert (again["created"], again["unchanged"]) == (0, 1)


def test_import_prints_a_summary_and_the_rejected_lines(cli, tmp_path):
    path = write_csv(tmp_path / "cadastro.csv", [person("300000001", birth_date="31/02/1950")])
    result = cli("import-beneficiaries", str(path))
    assert result.returncode == 0
    assert "Recusados" in result.stdout
    assert "linha 2 (carteirinha 300000001): data de nascimento inválida" in result.stdout
    assert "Importando" not in result.stdout  # no progress bar when stdout is not a terminal


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d, "é uma pasta"),
        (lambda d: d / "latin1.csv", "não está em UTF-8"),
        (lambda d: d / "cabecalho.csv", "Cabeçalho inválido"),
    ],
    ids=["folder", "latin-1", "header"],  # the other cases: test_import.py, same code path
)
def test_an_unusable_file_ends_with_one_message_and_exit_one(cli, tmp_path, make, message):
    (tmp_path / "latin1.csv").write_bytes(
        "card_number,cpf,birth_date,name,email,phone,legacy_password_hash\n"
        "300000001,,1950-01-01,José,,,\n".encode("latin-1")
    )
    (tmp_path / "cabecalho.csv").write_text("carteirinha;cpf;nascimento\n", encoding="utf-8")
    result = cli("import-beneficiaries", str(make(tmp_path)), "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    # One message (rich may wrap it on a narrow terminal), never a traceback (checked by ``cli``).
    assert result.stderr.count("Erro:") == 1 and message in result.stderr


def test_a_database_that_was_never_migrated_is_a_message_not_a_traceback(cli, tmp_path):
    path = write_csv(tmp_path / "cadastro.csv", [person()])
    blank = f"sqlite+aiosqlite:///{tmp_path / 'nunca-migrado.db'}"
    result = cli("import-beneficiaries", str(path), GUARITA_DATABASE_URL=blank)
    assert result.returncode == 1
    assert "Não foi possível usar o banco de dados" in result.stderr


def test_demo_if_empty_loads_once(cli):
    first = cli("demo", "--if-empty", "--json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["loaded"] is True and data["import"]["created"] == 8
    assert data["legacy_password"] == "senha antiga do portal 2019"  # noqa: S105 - the demo's
    assert sum(p["cpf"] is None for p in data["people"]) == 1
    assert sum(p["email"] is None and p["phone"] is None for p in data["people"]) == 1
    assert all(p["email"] is None or p["email"].endswith("@example.com") for p in data["people"])

    second = json.loads(cli("demo", "--if-empty", "--json").stdout)
    assert second["loaded"] is False and second["present"] is True and second["import"] is None

    again = cli("demo", "--if-empty")
    assert "A demonstração já estava carregada." in again.stdout
    assert "senha antiga do portal 2019" in again.stdout
    assert "200100033" in again.stdout  # the table of what to type


def test_demo_if_empty_leaves_a_real_registry_alone(cli, tmp_path):
    cli("import-beneficiaries", str(write_csv(tmp_path / "real.csv", [person()])))
    result = cli("demo", "--if-empty")
    assert result.returncode == 0
    assert "a demonstração não foi carregada" in result.stdout


def test_demo_refuses_production(cli):
    result = cli("demo", GUARITA_ENV="production")
    assert result.returncode == 1
    assert "não pode ser carregada em produção" in result.stderr
