"""The command line speaks pt-BR and never shows a traceback for a typing mistake; with only
``GUARITA_PORT`` set, the addresses it hands out name that port (README › Configuration)."""

from __future__ import annotations

import re
import subprocess
import tempfile

import pytest

from guarita.config import Settings, served_address
from tests.support.server import GUARITA, ROOT, migrate, server_env


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GUARITA), *args], env=env or None, cwd=ROOT,  # noqa: S603
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("args", "says"), [
    (["staff", "add", "--bogus"], "opção desconhecida: --bogus"),
    (["staff", "add", "--emial", "a@b.c"], "Quis dizer --email"),
    (["staff", "add", "--email"], "a opção --email precisa de um valor"),
    (["staff", "add", "--email", "a@b.c", "--name", "Ana"], "falta a opção obrigatória --role"),
    (["serve", "--port", "abc"], "valor inválido para --port (deve ser um número inteiro)"),
    (["nada"], "comando desconhecido: nada"),
])
def test_usage_errors_are_one_pt_br_line(args, says):
    done = run(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert says in lines[0] and lines[0].startswith("Erro: ") and "--help" in lines[0]
    assert "Traceback" not in done.stderr and "Usage" not in done.stderr


def test_help_is_in_pt_br():
    done = run("staff", "add", "--help")
    assert done.returncode == 0
    text = done.stdout
    for words in ("Uso: guarita staff add", "Opções", "Mostra esta mensagem e sai.",
                  "[obrigatório]"):
        assert words in text, words
    for english in ("Usage", "Options", "Show this message", "[required]"):
        assert english not in text, english
    assert "Comandos" in run("--help").stdout


def test_base_url_follows_the_port_unless_set():
    assert Settings(port=8610).base_url == "http://127.0.0.1:8610"
    assert Settings(host="0.0.0.0", port=9000).base_url == "http://127.0.0.1:9000"  # noqa: S104
    assert served_address("::1", 8000) == "http://[::1]:8000"
    chosen = Settings(port=8610, base_url="https://login.exemplo.gov.br")
    assert chosen.base_url == "https://login.exemplo.gov.br"


def test_staff_enrolment_link_names_the_port_served():
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/c.db"
    migrate(url)
    env = server_env(url, GUARITA_PORT="8610")
    env.pop("GUARITA_BASE_URL", None)
    done = run("staff", "add", "--email", "ana@exemplo.gov.br", "--name", "Ana Lima",
               "--role", "agent", "--json", **env)
    assert done.returncode == 0, done.stderr
    link = re.search(r"https?://[^\s\"]+", done.stdout).group(0)
    assert link.startswith("http://127.0.0.1:8610/"), link


def test_the_demo_summary_is_not_broken_mid_sentence():
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/c.db"
    migrate(url)
    done = run("demo", **server_env(url, COLUMNS="60"))
    assert done.returncode == 0, done.stderr
    summary = next(line for line in done.stdout.splitlines() if "criados" in line)
    assert "recusados." in summary, done.stdout[:600]
