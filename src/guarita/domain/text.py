"""Rules for free text that people and registries write (names, reasons).

Bidirectional-control characters (Unicode UAX #9 §2: the embeddings and overrides U+202A–202E
and the isolates U+2066–2069) reorder what is displayed without changing what is stored: a name
shown as "Maria Silva" can hold other letters, and a reason in the audit log can read backwards
(CVE-2021-42574, "Trojan Source"). Names and reasons never need them; they are refused.

Also the shape of a message built at run time from catalogue sentences (:class:`Sentences`),
which any layer may raise and the edge translates (docs/pages-and-i18n.md).
"""

from __future__ import annotations

import re
from typing import Any

BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def has_bidi_controls(text: str | None) -> bool:
    return bool(text) and BIDI_CONTROLS.search(text) is not None


class Sentences(str):
    """A message made of several catalogue sentences with ``%(name)s`` values, translated one
    sentence at a time (a joined pt-BR string would never be found in a catalogue).

    It is a ``str`` (the pt-BR text), so code that does not translate still shows something."""

    def __new__(cls, sentences: list[str], values: dict[str, Any]) -> Sentences:
        made = super().__new__(cls, " ".join(s % values for s in sentences))
        made.sentences = list(sentences)
        made.values = dict(values)
        return made
