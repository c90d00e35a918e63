"""What an import of the beneficiary registry reports (docs/registry-import.md › Counts, Output).

``ImportReport`` is what ``registry_import.import_beneficiaries`` returns and what
``guarita import-beneficiaries`` prints (``--json`` prints ``as_json()``). The counts are always
complete; the rejected and warned lines are listed up to ``LISTED_MAX`` each, in file order.
``BatchResult`` is one batch's share, merged into the report as the import goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from guarita.services.registry_rows import RegistryRow

# Rejections and warnings kept in the report (the counts are always complete).
LISTED_MAX = 1000



@dataclass(frozen=True)
class RowNote:
    """A rejected row, or a warning about an imported one."""

    line: int
    card_number: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "card_number": self.card_number, "reason": self.reason}

    def __str__(self) -> str:
        card = f" (carteirinha {self.card_number})" if self.card_number else ""
        return f"linha {self.line}{card}: {self.reason}"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warned: int = 0
    legacy_accounts_created: int = 0
    legacy_passwords_updated: int = 0
    rejections: list[RowNote] = field(default_factory=list)
    warnings: list[RowNote] = field(default_factory=list)
    file_sha256: str = ""
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "warned": self.warned,
            "legacy_accounts_created": self.legacy_accounts_created,
            "legacy_passwords_updated": self.legacy_passwords_updated,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            **self.counts(),
            "rejections": [note.as_json() for note in self.rejections],
            "rejections_truncated": self.rejected > len(self.rejections),
            "warnings": [note.as_json() for note in self.warnings],
            "warnings_truncated": self.warned > len(self.warnings),
            "file_sha256": self.file_sha256,
            "seconds": round(self.seconds, 3),
        }

    def merge(self, batch: BatchResult) -> None:
        self.created += batch.created
        self.updated += batch.updated
        self.unchanged += batch.unchanged
        self.rejected += len(batch.rejections)
        self.warned += len(batch.warnings)
        self.legacy_accounts_created += len(batch.legacy_account_ids)
        self.legacy_passwords_updated += batch.legacy_passwords_updated
        # Each check of a batch rejects in its own pass: put the lines back in file order.
        by_line = attrgetter("line")
        room = LISTED_MAX - len(self.rejections)
        self.rejections.extend(sorted(batch.rejections, key=by_line)[: max(room, 0)])
        room = LISTED_MAX - len(self.warnings)
        self.warnings.extend(sorted(batch.warnings, key=by_line)[: max(room, 0)])


@dataclass
class BatchResult:
    """What one batch (one transaction) did; ``ImportReport.merge`` adds it to the report."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    legacy_passwords_updated: int = 0
    rejections: list[RowNote] = field(default_factory=list)
    warnings: list[RowNote] = field(default_factory=list)
    legacy_account_ids: list[str] = field(default_factory=list)

    def reject(self, line: int, card: str, reason: str) -> None:
        self.rejections.append(RowNote(line, card, reason))

    def warn(self, row: RegistryRow, reason: str) -> None:
        self.warnings.append(RowNote(row.line, row.card_number, reason))
