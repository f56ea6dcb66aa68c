"""Cell parsing shared by the importers: decimals without floats, booleans, dates, and one error type.

Spreadsheet cells arrive as text, ``int``, ``float`` (openpyxl reads numeric cells as float) or
``datetime``. A float is turned into a ``Decimal`` through its shortest ``repr`` so that a cell
that shows ``1.765`` becomes ``Decimal("1.765")``, never ``1.76499999999999990230037...``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

__all__ = ["MalformedFile", "SkipLog", "cell_bool", "cell_date", "cell_decimal", "cell_text"]

_MISSING = {"", "..", "n/a", "na", "n.a.", "-", "none", "null"}
_TRUE = {"yes", "y", "true", "1"}
_FALSE = {"no", "n", "false", "0"}


class MalformedFile(ValueError):
    """A price file that is not in the expected layout; says which file, line and column."""

    code = "malformed_price_file"
    status = 422


class SkipLog:
    """Rows an importer left out, with the first few reasons kept for the operator."""

    def __init__(self, keep: int = 20) -> None:
        self.count = 0
        self.examples: list[str] = []
        self._keep = keep

    def note(self, reason: str) -> None:
        self.count += 1
        if len(self.examples) < self._keep:
            self.examples.append(reason)


def cell_text(value: object) -> str:
    """The cell as trimmed text (``""`` for an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def cell_decimal(value: object, where: str) -> Decimal | None:
    """A number, or ``None`` for an empty or ``..`` cell; anything else is :class:`MalformedFile`."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = str(value).strip().replace("\u00a0", "")
    if text.lower() in _MISSING:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise MalformedFile(f"{where}: not a number: {text!r}") from None
    if not number.is_finite():
        raise MalformedFile(f"{where}: not a finite number: {text!r}")
    return number


def cell_bool(value: object, where: str) -> bool:
    """``yes``/``Yes``/``no`` (RPW's ``transparent``) and the usual spellings of true and false."""
    text = cell_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise MalformedFile(f"{where}: expected yes or no, not {text!r}")


def cell_date(value: object, where: str) -> date | None:
    """An Excel date, ISO ``2021-11-15``, or RPW's text ``15/Nov/2021``; ``None`` when empty."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    if text.lower() in _MISSING:
        return None
    for layout in ("%Y-%m-%d", "%d/%b/%Y", "%d/%m/%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            continue
    raise MalformedFile(f"{where}: not a date: {text!r}")
