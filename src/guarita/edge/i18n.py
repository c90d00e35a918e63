"""Language of a request: pt-BR first, en and es through Babel catalogues.

Order: ``?lang=`` (the language switch, remembered in a cookie), the cookie, then
``Accept-Language``. Catalogues live in ``web/locale/<lang>/LC_MESSAGES/messages.po``; ``make
translations`` compiles them to ``.mo``. When a ``.mo`` is missing or older than its ``.po`` (a
fresh checkout, a catalogue just edited), the ``.po`` is compiled in memory instead, so a page
is never silently shown in Portuguese because a build step was skipped.
``scripts/update-translations.sh`` extracts new strings (``babel.cfg``) and merges them into the
catalogues (docs/pages-and-i18n.md).
"""

from __future__ import annotations

import ast
import io
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from markupsafe import Markup

from guarita.domain.text import Sentences

# The catalogues are data of the HTML edge, kept beside its templates in web/.
LOCALE_DIR = Path(__file__).parents[1] / "web" / "locale"
SUPPORTED = ("pt_BR", "en", "es")
DEFAULT = "pt_BR"
HTML_LANG = {"pt_BR": "pt-BR", "en": "en", "es": "es"}
COOKIE = "guarita_lang"
DOMAIN = "messages"


def normalize(tag: str | None) -> str | None:
    if not tag:
        return None
    tag = tag.strip().replace("-", "_").lower()
    if tag.startswith("pt"):
        return "pt_BR"
    if tag.startswith("en"):
        return "en"
    if tag.startswith("es"):
        return "es"
    return None


def from_accept_language(header: str | None) -> str | None:
    if not header:
        return None
    weighted: list[tuple[float, str]] = []
    for part in header.split(","):
        lang, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality > 0:  # RFC 9110 §12.5.4: q=0 means "not acceptable"
            weighted.append((quality, lang))
    for _, lang in sorted(weighted, key=lambda item: -item[0]):
        found = normalize(lang)
        if found:
            return found
    return None


def negotiate(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    return normalize(query) or normalize(cookie) or from_accept_language(accept_language) or DEFAULT


def _catalogue_files(locale: str) -> tuple[Path, Path]:
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    return folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"


@lru_cache
def translations(locale: str) -> NullTranslations:
    if locale == DEFAULT or locale not in SUPPORTED:
        return NullTranslations()
    po, mo = _catalogue_files(locale)
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return Translations(handle, domain=DOMAIN)
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries left out, exactly as `pybabel compile` does
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


# A moment as people of each language write it, in the organisation's time zone; the comma
# keeps date and time apart without "às", and pages keep the whole on one line (nowrap).
WHEN_PATTERNS = {"pt_BR": "dd/MM/yyyy, HH:mm", "es": "dd/MM/yyyy, HH:mm", "en": "MMM d, yyyy, h:mm a"}


def when(moment: Any, locale: str, timezone: str) -> str:
    """``25/11/2026, 08:42`` (pt-BR, es) or ``Nov 25, 2026, 8:42 AM`` (en)."""
    from zoneinfo import ZoneInfo

    from babel.dates import format_datetime

    if moment is None:
        return ""
    pattern = WHEN_PATTERNS.get(locale, WHEN_PATTERNS[DEFAULT])
    return format_datetime(moment, pattern, tzinfo=ZoneInfo(timezone),
                           locale="pt_BR" if locale == DEFAULT else locale)


@lru_cache
def translator(locale: str) -> Callable[[Any], Any]:
    """``translate(text)`` for templates: text that comes from Python, not from the template.

    Domain error messages (``GuaritaError.message``) are pt-BR strings chosen at run time; the
    catalogues carry them (see :func:`extract_error_messages`). Unlike Jinja's new-style ``_()``,
    the result is plain text that autoescaping still escapes, and a ``%`` in it is not a format
    directive, so a message that carries user input can never become markup or break a page.
    Markup (already translated by the template) passes through unchanged.
    """
    gettext = translations(locale).gettext

    def translate(text: Any) -> Any:
        if text is None or isinstance(text, Markup) or not isinstance(text, str):
            return text
        if isinstance(text, Sentences):
            return " ".join(str(gettext(s)) % text.values for s in text.sentences)
        return str(gettext(text)) if text else text

    return translate


# --- extraction -------------------------------------------------------------------------------


def extract_error_messages(
    fileobj: Any, keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel extractor for ``domain/errors.py``: every value of the ``MESSAGES`` dict and every
    member of the ``Message`` enum (the fixed sentences more precise than their code's).

    The domain keeps its messages as plain pt-BR (it imports no i18n); pages translate them with
    ``translate()``. Registered in ``babel.cfg`` under ``[extractors]``.
    """
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "Message":
            for item in node.body:
                if (
                    isinstance(item, ast.Assign)
                    and isinstance(item.value, ast.Constant)
                    and isinstance(item.value.value, str)
                ):
                    yield item.lineno, None, item.value.value, ["Mensagem de erro (domain/errors.py)"]
            continue
        target = None
        if isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        if not (isinstance(target, ast.Name) and target.id == "MESSAGES"):
            continue
        if not isinstance(value, ast.Dict):
            continue
        for item in value.values:
            if isinstance(item, ast.Constant) and isinstance(item.value, str):
                yield item.lineno, None, item.value, ["Mensagem de erro (domain/errors.py)"]
