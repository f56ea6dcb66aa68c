"""Dates of birth as the lists write them: ``28 Jul 1963``, ``Jul 1963``, ``1963``, ``circa 1958``,
``1960 to 1962`` (OFAC remarks) and the UN's ``DATE``/``YEAR``/``FROM_YEAR``-``TO_YEAR`` elements."""

from __future__ import annotations

import re

from compliance.screening.model import DateOfBirth

__all__ = ["parse_dob_text", "parse_iso_dob"]

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_POINT = re.compile(r"^(?:(\d{1,2})\s+)?(?:([A-Za-z]{3})[a-z]*\.?\s+)?(\d{4})$")
_CIRCA_SPREAD = 1


def parse_dob_text(text: str) -> DateOfBirth | None:
    """One OFAC-style date of birth; ``None`` for text that is not one."""
    text = text.strip().rstrip(".").strip()
    circa = text.lower().startswith("circa ")
    if circa:
        text = text[6:].strip()
    if " to " in text:
        start_text, _, end_text = text.partition(" to ")
        start, end = _point(start_text), _point(end_text)
        if start is None or end is None:
            return None
        return DateOfBirth(min(start[0], end[0]), max(start[0], end[0]))
    point = _point(text)
    if point is None:
        return None
    year, month, day = point
    if circa:
        return DateOfBirth(year - _CIRCA_SPREAD, year + _CIRCA_SPREAD)
    return DateOfBirth(year, year, month, day)


def _point(text: str) -> tuple[int, int | None, int | None] | None:
    found = _POINT.match(text.strip())
    if not found:
        return None
    day_text, month_text, year_text = found.groups()
    month = _MONTHS.get(month_text.lower()[:3]) if month_text else None
    if month_text and month is None:
        return None
    day = int(day_text) if day_text and month else None
    if day is not None and not 1 <= day <= 31:
        return None
    return int(year_text), month, day


def parse_iso_dob(text: str) -> DateOfBirth | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (zeros for unknown parts are accepted)."""
    parts = text.strip().split("-")
    if not parts or not parts[0].isdigit() or len(parts[0]) != 4:
        return None
    try:
        numbers = [int(part) for part in parts[:3]]
    except ValueError:
        return None
    year = numbers[0]
    month = numbers[1] if len(numbers) > 1 and 1 <= numbers[1] <= 12 else None
    day = numbers[2] if len(numbers) > 2 and month and 1 <= numbers[2] <= 31 else None
    return DateOfBirth(year, year, month, day)
