"""Calendar quarters as RPW labels them (``2021_4Q``), with the other spellings the files use.

RPW's workbook and averages file write ``2021_4Q``; the DataBank export writes ``2021Q4 [YR2021Q4]``;
people write ``2021Q4`` or ``2021-Q4``. :meth:`Quarter.parse` reads all of them and
:attr:`Quarter.label` always writes the RPW form, which is also what the tables store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["InvalidPeriod", "Quarter"]

_PATTERNS = (
    re.compile(r"^(?P<year>\d{4})_(?P<q>[1-4])Q$"),
    re.compile(r"^(?P<year>\d{4})-?Q(?P<q>[1-4])(?:\s*\[YR\d{4}Q[1-4]\])?$"),
)


class InvalidPeriod(ValueError):
    """A period label that is not a calendar quarter."""

    code = "invalid_period"
    status = 422


@dataclass(frozen=True, slots=True, order=True)
class Quarter:
    """One calendar quarter; ordered in time."""

    year: int
    """Calendar year, e.g. 2021."""
    number: int
    """Quarter of the year, 1 to 4."""

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4 or not 1900 <= self.year <= 2999:
            raise InvalidPeriod(f"not a quarter: {self.year} Q{self.number}")

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """``2021_4Q``, ``2021Q4``, ``2021-Q4`` or ``2021Q4 [YR2021Q4]``."""
        cleaned = text.strip()
        for pattern in _PATTERNS:
            match = pattern.match(cleaned)
            if match:
                return cls(int(match["year"]), int(match["q"]))
        raise InvalidPeriod(f"not a quarter label: {text!r} (expected e.g. 2021_4Q)")

    @classmethod
    def of(cls, day: date) -> Quarter:
        """The quarter that contains ``day``."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def label(self) -> str:
        """The RPW spelling, ``2021_4Q``."""
        return f"{self.year}_{self.number}Q"

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        """The last day of the quarter."""
        return self.next().start - timedelta(days=1)

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    def __str__(self) -> str:
        return self.label
