"""Reader of the World Bank's bilateral remittance matrix (xlsx), the weights of volume-weighted averages.

The matrix (e.g. "Bilateral Remittance Estimates for 2017 ... (millions of US$)") has sending
countries down and receiving countries across, named the World Bank's way; a ``WORLD`` row and
column hold totals, and notes follow the table. Read in streaming mode; zero cells are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from fx.market.countries import alpha3_of_world_bank_name
from fx.market.parsing import MalformedFile, SkipLog, cell_decimal, cell_text
from fx.market.records import BilateralFlow

__all__ = ["read_bilateral_matrix"]

_YEAR = re.compile(r"\b(19|20)\d{2}\b")
_CORNER = "receiving (across) / sending (down)"


def read_bilateral_matrix(path: Path, skipped: SkipLog | None = None) -> Iterator[BilateralFlow]:
    """Non-zero flows of the first sheet whose header row has the matrix's corner label."""
    skipped = skipped if skipped is not None else SkipLog()
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        year: int | None = None
        receivers: list[str | None] = []
        for row in rows:
            first = cell_text(row[0] if row else None)
            if year is None and (found := _YEAR.search(first)):
                year = int(found.group(0))
            if first.lower().startswith(_CORNER.split("/")[0].strip()):
                receivers = [alpha3_of_world_bank_name(cell_text(name)) for name in row[1:]]
                break
        if not receivers or year is None:
            raise MalformedFile(f"{path.name}: not a bilateral remittance matrix (no year or corner label)")
        for line, row in enumerate(rows, start=3):
            sender = alpha3_of_world_bank_name(cell_text(row[0] if row else None))
            if sender is None:
                continue  # the WORLD total and the notes
            for receiver, value in zip(receivers, row[1:], strict=False):
                if receiver is None:
                    continue
                try:
                    amount = cell_decimal(value, f"{path.name} row {line}")
                except MalformedFile as exc:
                    skipped.note(str(exc))
                    continue
                if amount is not None and amount > Decimal(0):
                    yield BilateralFlow(year, sender, receiver, amount)
    finally:
        workbook.close()
