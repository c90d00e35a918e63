"""Reading HTML forms: CSRF check, the error list the templates show next to each field."""

from __future__ import annotations

from fastapi import Request

from guarita.domain.errors import ErrorCode, FieldErrors, GuaritaError
from guarita.domain.passwords import REASON_TEXT, WeakReason
from guarita.edge import csrf
from guarita.edge.i18n import Sentences

MAX_FIELD = 1024  # no legitimate field is longer; longer values are cut, not processed


async def read(request: Request) -> dict[str, str]:
    """The submitted fields (first value of each), after the CSRF check."""
    form = await request.form()
    values = {k: (v if isinstance(v, str) else "")[:MAX_FIELD] for k, v in form.items()}
    csrf.check(request, request.app.state.runtime.settings.secret(), values.get(csrf.FIELD))
    return values


def field_errors(error: GuaritaError) -> dict[str, str]:
    """``{field: message}``; errors without a field go under ``""`` (the top of the form)."""
    items = error.errors if isinstance(error, FieldErrors) else [error]
    found: dict[str, str] = {}
    for item in items:
        found.setdefault(item.field or "", _message(item))
    return found


def _message(error: GuaritaError) -> str:
    """The text shown for one error; a weak password's reasons stay separate sentences so
    each is translated (docs/pages-and-i18n.md)."""
    details = error.details or {}
    if error.code is ErrorCode.WEAK_PASSWORD and details.get("reasons"):
        sentences = [REASON_TEXT[WeakReason(r)] for r in details["reasons"]]
        return Sentences(sentences, {"min": details.get("min_length", 15),
                                     "max": details.get("max_length", 128)})
    return error.message or ""


def summary(errors: dict[str, str]) -> list[tuple[str, str]]:
    return [(name, message) for name, message in errors.items() if name]
