"""Every way of proving something Guarita knows, one line each (DESIGN.md › house rule 2).

Pages, the JSON API, the recovery service, the desk's labels and the dashboard's counts all read
this table, so adding a method is its module plus one line here. Settings that name methods are
checked against it when the server or a command starts (:func:`check_settings`, called by the
composition root: ``app.py`` and ``cli/``), with a plain error that lists what exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from guarita.methods import (
    email_code,
    face,
    kba,
    passkey,
    password,
    recovery_codes,
    sms_code,
    totp,
    upstream,
)
from guarita.methods.base import Method, Purpose

METHODS: dict[str, Method] = {m.id: m for m in (
    password.METHOD,
    email_code.METHOD,
    sms_code.METHOD,
    kba.METHOD,
    totp.METHOD,
    recovery_codes.METHOD,
    passkey.METHOD,
    face.METHOD,
    upstream.BANK,
    upstream.GOVBR,
)}


def get(method_id: str) -> Method | None:
    return METHODS.get(method_id)


def serving(purpose: Purpose) -> list[Method]:
    """The methods that may serve ``purpose``, in registry order."""
    return [m for m in METHODS.values() if purpose in m.purposes]


def unknown_names(names: Iterable[str], purpose: Purpose) -> list[str]:
    """The names in ``names`` that are not a method able to serve ``purpose``."""
    able = {m.id for m in serving(purpose)}
    return [name for name in names if name not in able]


def settings_problems(settings: Any) -> list[str]:
    """Every setting that names a method it should not, one plain sentence each."""
    found = []
    for setting, names, purpose in (
        ("GUARITA_RECOVERY__METHODS", settings.recovery.methods, Purpose.RECOVERY),
    ):
        try:
            check_names(setting, names, purpose)
        except ValueError as problem:
            found.append(str(problem))
    return found


def check_settings(settings: Any) -> None:
    """Raises ``ValueError`` listing :func:`settings_problems`, if any."""
    found = settings_problems(settings)
    if found:
        raise ValueError("Configuração inválida / invalid settings:\n- " + "\n- ".join(found))


def check_names(setting: str, names: Iterable[str], purpose: Purpose) -> None:
    """Raises ``ValueError`` with a pt-BR and English sentence when a name is not a method."""
    names = list(names)
    wrong = unknown_names(names, purpose)
    if wrong:
        able = ", ".join(m.id for m in serving(purpose))
        raise ValueError(
            f"{setting}: método desconhecido ou que não serve para isto: {', '.join(wrong)}. "
            f"Use um destes: {able}. / unknown method or not usable here: {', '.join(wrong)}; "
            f"use one of: {able}."
        )
    if len(set(names)) != len(names):
        raise ValueError(f"{setting}: um método aparece duas vezes. / a method is listed twice.")
