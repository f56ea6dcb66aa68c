"""Line-by-line reconciliation of a partner's statement against ours.

Lines are paired by reference. Within a reference, lines that agree on amount, currency, direction
and booking date pair first (``matched``); the rest pair in booking order as ``amount_mismatch``
(amount, currency or direction differ) or ``date_mismatch`` (only the date differs); what is left
over is ``missing_ours`` (the partner has it, we do not) or ``missing_theirs``. Every input line
appears in exactly one item, so nothing is silently dropped. Amounts compare exactly.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ledger.settlement.statements import StatementLine

__all__ = ["ItemKind", "ReconciliationItem", "ReconciliationReport", "reconcile"]


class ItemKind(StrEnum):
    """How one reference compares between the two statements."""

    MATCHED = "matched"
    MISSING_OURS = "missing_ours"
    MISSING_THEIRS = "missing_theirs"
    AMOUNT_MISMATCH = "amount_mismatch"
    DATE_MISMATCH = "date_mismatch"


@dataclass(frozen=True, slots=True)
class ReconciliationItem:
    """One comparison result: a pair of lines, or a line present on one side only."""

    kind: ItemKind
    """The outcome."""
    reference: str
    """The reference the lines share."""
    ours: StatementLine | None
    """Our line, when we have one."""
    theirs: StatementLine | None
    """The partner's line, when it has one."""

    @property
    def is_exception(self) -> bool:
        """Whether a person has to look at it."""
        return self.kind is not ItemKind.MATCHED

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "reference": self.reference,
            "ours": _line_json(self.ours),
            "theirs": _line_json(self.theirs),
        }


def _line_json(line: StatementLine | None) -> dict[str, Any] | None:
    if line is None:
        return None
    return {
        "amount": line.amount.to_json(),
        "direction": line.direction.value,
        "bookingDate": line.booked_on.isoformat(),
        "entryId": line.entry_id or None,
    }


REPORT_CSV_COLUMNS = (
    "kind",
    "reference",
    "our_amount",
    "our_currency",
    "our_direction",
    "our_booking_date",
    "their_amount",
    "their_currency",
    "their_direction",
    "their_booking_date",
)


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    """Every item of one reconciliation, ordered by reference then kind."""

    items: tuple[ReconciliationItem, ...]
    """The outcome for every line of both statements."""

    def count(self, kind: ItemKind) -> int:
        return sum(1 for item in self.items if item.kind is kind)

    @property
    def summary(self) -> dict[str, int]:
        return {kind.value: self.count(kind) for kind in ItemKind}

    @property
    def is_clean(self) -> bool:
        """True when every line matched."""
        return all(not item.is_exception for item in self.items)

    @property
    def exceptions(self) -> tuple[ReconciliationItem, ...]:
        return tuple(item for item in self.items if item.is_exception)

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary, "items": [item.to_json() for item in self.items]}

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(REPORT_CSV_COLUMNS)
        for item in self.items:
            writer.writerow(
                [item.kind.value, item.reference, *_line_cells(item.ours), *_line_cells(item.theirs)]
            )
        return buffer.getvalue()


def _line_cells(line: StatementLine | None) -> list[str]:
    if line is None:
        return ["", "", "", ""]
    return [str(line.amount.amount), line.amount.currency, line.direction.value, line.booked_on.isoformat()]


def _same_money(a: StatementLine, b: StatementLine) -> bool:
    return a.amount == b.amount and a.direction is b.direction


def _pair_one_reference(
    reference: str, ours: list[StatementLine], theirs: list[StatementLine]
) -> list[ReconciliationItem]:
    items: list[ReconciliationItem] = []
    remaining_theirs = list(theirs)
    unmatched_ours: list[StatementLine] = []
    for line in ours:
        twin = next(
            (t for t in remaining_theirs if _same_money(line, t) and t.booked_on == line.booked_on), None
        )
        if twin is None:
            unmatched_ours.append(line)
        else:
            remaining_theirs.remove(twin)
            items.append(ReconciliationItem(ItemKind.MATCHED, reference, line, twin))
    # What is left pairs in booking order; a pair that agrees on money differs only in its date.
    unmatched_ours.sort(key=lambda line: line.booked_on)
    remaining_theirs.sort(key=lambda line: line.booked_on)
    for line, twin in zip(unmatched_ours, remaining_theirs, strict=False):
        kind = ItemKind.DATE_MISMATCH if _same_money(line, twin) else ItemKind.AMOUNT_MISMATCH
        items.append(ReconciliationItem(kind, reference, line, twin))
    paired = min(len(unmatched_ours), len(remaining_theirs))
    items += [
        ReconciliationItem(ItemKind.MISSING_THEIRS, reference, line, None) for line in unmatched_ours[paired:]
    ]
    items += [
        ReconciliationItem(ItemKind.MISSING_OURS, reference, None, line) for line in remaining_theirs[paired:]
    ]
    return items


def reconcile(ours: Sequence[StatementLine], theirs: Sequence[StatementLine]) -> ReconciliationReport:
    """Compare our lines with the partner's; see the module docstring for the rules."""
    by_reference: dict[str, tuple[list[StatementLine], list[StatementLine]]] = defaultdict(lambda: ([], []))
    for line in ours:
        by_reference[line.reference][0].append(line)
    for line in theirs:
        by_reference[line.reference][1].append(line)
    items: list[ReconciliationItem] = []
    for reference in sorted(by_reference):
        our_lines, their_lines = by_reference[reference]
        items += _pair_one_reference(reference, our_lines, their_lines)
    return ReconciliationReport(tuple(items))
