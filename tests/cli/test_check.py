"""``guarita check`` and the production start-up refuse unsafe settings (DESIGN.md › Contracts; SECURITY.md)."""

from __future__ import annotations

import json
import subprocess
import tempfile

from tests.support.server import GUARITA, ROOT, migrate, server_env


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GUARITA), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_check_lists_every_production_problem_in_plain_words():
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/c.db"
    migrate(url)
    env = server_env(url, GUARITA_ENV="production", GUARITA_BASE_URL="http://exemplo.gov.br",
                     GUARITA_CAPTCHA="off")
    env.pop("GUARITA_SECRET_KEY")
    result = run("check", "--json", **env)
    assert result.returncode == 1
    problems = " ".join(json.loads(result.stdout)["problems"])
    for words in ("GUARITA_SECRET_KEY", "https://", "captcha", "SMS"):
        assert words in problems, words
    assert "Traceback" not in result.stderr


def test_production_refuses_demo_data_and_serve_refuses_to_start():
    directory = tempfile.mkdtemp()
    url = f"sqlite+aiosqlite:///{directory}/c.db"
    migrate(url)
    assert run("demo", "--if-empty", **server_env(url)).returncode == 0
    env = server_env(url, GUARITA_ENV="production", GUARITA_BASE_URL="https://exemplo.gov.br",
                     GUARITA_SMS__ADAPTER="webhook", GUARITA_SMS__WEBHOOK_URL="https://sms.exemplo.gov.br/x")
    result = run("check", **env)
    assert result.returncode == 1 and "demonstração" in result.stdout
    served = run("serve", "--port", "1", **env)
    assert served.returncode == 1 and "insegura" in served.stderr and "Traceback" not in served.stderr


def test_check_passes_in_development_and_reports_an_unreachable_database():
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/c.db"
    migrate(url)
    assert run("check", **server_env(url, GUARITA_ENV="development")).returncode == 0
    down = run("check", **server_env("postgresql+asyncpg://x@127.0.0.1:9/nada"))
    assert down.returncode == 1 and "não responde" in down.stdout and "Traceback" not in down.stderr


def test_development_mode_serves_only_on_loopback():
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/c.db"
    result = run("serve", "--host", "0.0.0.0", "--port", "1", **server_env(url, GUARITA_ENV="development"))
    assert result.returncode == 1 and "127.0.0.1" in result.stderr and "Traceback" not in result.stderr


def test_check_names_former_setting_names_without_failing():
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/c.db"
    migrate(url)
    env = server_env(url, GUARITA_OIDC_CODE_TTL_SECONDS="30")
    result = run("check", "--json", **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["deprecations"] == [
        "GUARITA_OIDC_CODE_TTL_SECONDS está obsoleta; use GUARITA_OIDC__CODE_TTL_SECONDS."
    ]
    shown = run("check", **env)
    assert shown.returncode == 0 and "GUARITA_OIDC__CODE_TTL_SECONDS" in shown.stdout
