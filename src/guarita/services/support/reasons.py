"""Why the desk acts: one reason of a short list, with free text (docs/support-desk.md › What an
agent does). Every action and every caller check records its reason in the audit log (LGPD art. 37:
the record of each processing operation)."""

from __future__ import annotations

from dataclasses import dataclass

from guarita.domain.errors import ErrorCode, GuaritaError, Message
from guarita.domain.text import has_bidi_controls
from guarita.services.support import labels


@dataclass(frozen=True)
class Reason:
    code: str
    text: str | None

    @property
    def label(self) -> str:
        return labels.REASONS[self.code]

    def details(self) -> dict[str, str]:
        found = {"reason": self.code}
        if self.text:
            found["reason_text"] = self.text
        return found


def parse_reason(code: str | None, text: str | None) -> Reason:
    """One reason of the short list; free text optional, required (10+ letters) for "outro"."""
    clean_code = (code or "").strip()
    clean_text = " ".join((text or "").split())[:500] or None
    if clean_code not in labels.REASONS:
        raise GuaritaError(ErrorCode.REASON_REQUIRED, field="reason")
    if has_bidi_controls(clean_text):
        # The audit log and the supervisor's screens must show what was typed (domain/text.py).
        raise GuaritaError(
            ErrorCode.VALIDATION_ERROR,
            field="reason_text",
            message=Message.REASON_HAS_BIDI_CONTROLS,
        )
    if clean_code == "outro" and (clean_text is None or len(clean_text) < 10):
        raise GuaritaError(
            ErrorCode.REASON_REQUIRED,
            field="reason_text",
            message=Message.DESCRIBE_REASON,
        )
    return Reason(clean_code, clean_text)
