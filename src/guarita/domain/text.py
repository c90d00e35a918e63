"""Rules for free text that people and registries write (names, reasons).

Bidirectional-control characters (Unicode UAX #9 §2: the embeddings and overrides U+202A–202E
and the isolates U+2066–2069) reorder what is displayed without changing what is stored: a name
shown as "Maria Silva" can hold other letters, and a reason in the audit log can read backwards
(CVE-2021-42574, "Trojan Source"). Names and reasons never need them; they are refused.
"""

from __future__ import annotations

import re

BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def has_bidi_controls(text: str | None) -> bool:
    return bool(text) and BIDI_CONTROLS.search(text) is not None
