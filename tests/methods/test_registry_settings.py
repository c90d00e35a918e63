"""Settings that name methods are checked against the registry when Guarita starts."""

from __future__ import annotations

import subprocess
import tempfile

import pytest

from guarita.app import create_app
from guarita.config import RecoverySettings, Settings
from guarita.methods import registry
from guarita.methods.base import Purpose
from tests.support.server import GUARITA, ROOT, migrate, server_env


def test_default_recovery_methods_are_registered_recovery_methods():
    settings = Settings()
    # The bank is listed and offered only while a bank is enabled (docs/upstreams.md).
    assert settings.recovery.methods == ["email", "sms", "bank"]
    assert all(Purpose.RECOVERY in registry.METHODS[m].purposes for m in settings.recovery.methods)
    assert registry.settings_problems(settings) == []


def test_an_unknown_method_is_refused_with_a_plain_sentence(monkeypatch):
    monkeypatch.setenv("GUARITA_RECOVERY__METHODS", '["email", "fax"]')
    settings = Settings()
    [problem] = registry.settings_problems(settings)
    assert "GUARITA_RECOVERY__METHODS" in problem
    assert "fax" in problem and "método desconhecido" in problem and "unknown method" in problem
    # It lists what exists, so the operator can fix it without reading code.
    assert "email, sms" in problem
    with pytest.raises(ValueError, match="fax"):
        create_app(settings)  # the server does not start with it


def test_a_method_that_cannot_serve_recovery_is_refused():
    # The password proves who signs in; it is no way to recover a forgotten password.
    wrong = Settings(recovery=RecoverySettings(methods=["password"]))
    assert "password" in registry.settings_problems(wrong)[0]
    twice = Settings(recovery=RecoverySettings(methods=["sms", "sms"]))
    assert "duas vezes" in registry.settings_problems(twice)[0]


def test_order_is_kept():
    assert registry.settings_problems(Settings(recovery=RecoverySettings(methods=["sms", "email"]))) == []


def test_guarita_check_and_serve_print_the_error_without_a_traceback():
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/c.db"
    migrate(url)
    env = server_env(url, GUARITA_RECOVERY__METHODS='["email","pombo"]')
    for command in (["check"], ["serve", "--port", "1"]):
        result = subprocess.run(  # noqa: S603 - our own CLI
            [str(GUARITA), *command], env=env, cwd=ROOT, capture_output=True, text=True,
            timeout=120)
        assert result.returncode == 1, command
        assert "pombo" in result.stderr and "GUARITA_RECOVERY__METHODS" in result.stderr
        assert "Traceback" not in result.stderr
