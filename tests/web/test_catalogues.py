"""The en and es catalogues: complete, in step with the code, and safe to format."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from guarita.edge import i18n

ROOT = Path(__file__).resolve().parents[2]
LOCALE = i18n.LOCALE_DIR
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")
IGNORED = ".* _* frontend node_modules var artifacts tests bench docs scripts"  # as the script
FIX = "run scripts/update-translations.sh, translate what it lists, then make translations"


def catalogue(path: Path):  # noqa: ANN201
    with path.open("rb") as handle:
        return read_po(handle)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_string_is_translated_and_keeps_its_placeholders(lang):
    po = catalogue(LOCALE / lang / "LC_MESSAGES" / "messages.po")
    template = {m.id for m in catalogue(LOCALE / "messages.pot") if m.id}
    translated = {m.id: m for m in po if m.id}
    missing = sorted(template - {k for k, m in translated.items() if m.string and not m.fuzzy})
    assert not missing, f"{lang}: untranslated or fuzzy: {missing[:5]} … ({FIX})"
    for msgid, message in translated.items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(message.string)), (
            f"{lang}: {msgid!r} → {message.string!r} changes the %(name)s placeholders"
        )


def test_the_template_catalogue_is_in_step_with_the_code(tmp_path):
    """Every _() and {% trans %} of the code is in messages.pot (and nothing stale is)."""
    out = tmp_path / "messages.pot"
    subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
         "-o", str(out), "--ignore-dirs", IGNORED, "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    fresh = {m.id for m in catalogue(out) if m.id}
    stored = {m.id for m in catalogue(LOCALE / "messages.pot") if m.id}
    assert fresh == stored, (
        f"new: {sorted(fresh - stored)[:5]}, gone: {sorted(stored - fresh)[:5]} ({FIX})"
    )


def test_domain_error_messages_are_extracted():
    from guarita.domain.errors import MESSAGES, Message

    stored = {m.id for m in catalogue(LOCALE / "messages.pot") if m.id}
    assert set(MESSAGES.values()) <= stored
    assert {m.value for m in Message} <= stored


def test_catalogues_load_even_without_compiled_files(tmp_path, monkeypatch):
    """A fresh checkout has no .mo: the .po is compiled in memory instead of showing pt-BR."""
    lang = tmp_path / "en" / "LC_MESSAGES"
    lang.mkdir(parents=True)
    (lang / "messages.po").write_bytes((LOCALE / "en" / "LC_MESSAGES" / "messages.po").read_bytes())
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        assert i18n.translations("en").gettext("Esqueci minha senha") == "I forgot my password"
    finally:
        i18n.translations.cache_clear()


def test_negotiation_order_and_normalisation():
    assert i18n.negotiate("en", "es", "es") == "en"
    assert i18n.negotiate(None, "es", "en") == "es"
    assert i18n.negotiate(None, None, "fr, es-MX;q=0.8, en;q=0.5") == "es"
    assert i18n.negotiate(None, None, "pt-PT") == "pt_BR"
    assert i18n.negotiate("zz", None, None) == "pt_BR"
    assert i18n.negotiate(None, None, "en;q=0, es;q=0.1") == "es"


def test_text_built_in_python_for_pages_is_in_the_catalogues():
    """The consent page's and "Aplicativos conectados"' data labels, and the fraud guard's
    refusal (built from whole sentences), are shown through ``translate()``: each must be a
    catalogue entry, or en and es pages show Portuguese."""
    from guarita.oidc.claims import SCOPE_LABELS
    from guarita.services import guard

    stored = {m.id for m in catalogue(LOCALE / "messages.pot") if m.id}
    built = {*SCOPE_LABELS.values(), *guard.REFUSALS.values(), guard.LIFT_NOW, guard.NOT_YOU}
    assert built <= stored, sorted(built - stored)[:3]
    english = i18n.translator("en")
    assert english(SCOPE_LABELS["cpf"]) == "Your CPF"
