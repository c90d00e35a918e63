"""Language of a request: pt-BR first, en and es through Babel catalogues.

Order: ``?lang=`` (the language switch, remembered in a cookie), the cookie, then
``Accept-Language``. Catalogues live in ``web/locale/<lang>/LC_MESSAGES/messages.po`` and are
compiled to ``.mo`` by ``make`` (``pybabel compile``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
SUPPORTED = ("pt_BR", "en", "es")
DEFAULT = "pt_BR"
HTML_LANG = {"pt_BR": "pt-BR", "en": "en", "es": "es"}
COOKIE = "guarita_lang"


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
        weighted.append((quality, lang))
    for _, lang in sorted(weighted, key=lambda item: -item[0]):
        found = normalize(lang)
        if found:
            return found
    return None


def negotiate(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    return normalize(query) or normalize(cookie) or from_accept_language(accept_language) or DEFAULT


@lru_cache
def translations(locale: str) -> NullTranslations:
    if locale == DEFAULT:
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [locale], domain="messages")
