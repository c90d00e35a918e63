"""Settings that name methods are checked against the registry when they are read."""

from __future__ import annotations

import subprocess
import tempfile

import pytest
from pydantic import ValidationError

from guarita.config import RecoverySettings, Settings, explain
from guarita.methods import registry
from guarita.methods.base import Purpose
from tests.support.server import GUARITA, ROOT, migrate, server_env


def test_default_recovery_methods_are_registered_recovery_methods():
    offered = RecoverySettings().methods
    assert offered == ["email", "sms"]
    assert all(Purpose.RECOVERY in registry.METHODS[m].purposes for m in offered)


def test_an_unknown_method_is_refused_with_a_plain_sentence(monkeypatch):
    monkeypatch.setenv("GUARITA_RECOVERY__METHODS", '["email", "fax"]')
    with pytest.raises(ValidationError) as raised:
        Settings()
    text = explain(raised.value)
    assert "GUARITA_RECOVERY__METHODS" in text
    assert "fax" in text and "método desconhecido" in text and "unknown method" in text
    # It lists what exists, so the operator can fix it without reading code.
    assert "email, sms" in text


def test_a_method_that_cannot_serve_recovery_is_refused():
    # The password proves who signs in; it is no way to recover a forgotten password.
    with pytest.raises(ValidationError, match="password"):
        RecoverySettings(methods=["password"])
    with pytest.raises(ValidationError, match="duas vezes"):
        RecoverySettings(methods=["sms", "sms"])


def test_order_is_kept():
    assert RecoverySettings(methods=["sms", "email"]).methods == ["sms", "email"]


def test_guarita_check_prints_the_error_without_a_traceback():
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/c.db"
    migrate(url)
    env = server_env(url, GUARITA_RECOVERY__METHODS='["email","pombo"]')
    result = subprocess.run(  # noqa: S603 - our own CLI
        [str(GUARITA), "check"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "pombo" in result.stderr and "GUARITA_RECOVERY__METHODS" in result.stderr
    assert "Traceback" not in result.stderr
