"""Writing workbooks in the RPW layout: the test fixture, and large synthetic files for the memory benchmark.

The World Bank's workbook is not redistributed here, so tests and the benchmark write their own in
its exact layout: a sheet "Dataset (from Q2 2016)" with the 42 columns below in the World Bank's
order. Written with openpyxl's ``write_only`` mode, so a 200,000-row file is written in bounded
memory too. Synthetic rows are labelled as such in their firm names (``Synthetic service N``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook

from fx.market.workbook import DATASET_SHEET

__all__ = ["RPW_HEADER", "synthetic_rows", "write_rpw_workbook"]

RPW_HEADER = (
    "id", "period",
    "source_code", "source_name", "source_region", "source_income", "source_lending", "source_G8G20",
    "destination_code", "destination_name", "destination_region", "destination_income",
    "destination_lending", "destination_G8G20",
    "firm", "firm_type", "payment instrument", "access point", "speed actual",
    "cc1 lcu amount", "cc1 denomination amount", "cc1 lcu code", "cc1 lcu fee", "cc1 lcu fx rate",
    "cc1 fx margin", "cc1 total cost %",
    "cc2 lcu amount", "cc2 denomination amount", "cc2 lcu code", "cc2 lcu fee", "cc2 lcu fx rate",
    "cc2 fx margin", "cc2 total cost %",
    "inter lcu bank fx", "transparent", "Standard Note", "note2",
    "receiving network coverage", "pickup location", "pickup method", "date", "corridor",
)  # fmt: skip
"""The columns of the World Bank's "Dataset (from Q2 2016)" sheet, in its order."""


def write_rpw_workbook(path: Path, rows: Iterable[Mapping[str, object]]) -> int:
    """Write ``rows`` (header name → value; missing names are empty) in the RPW layout; returns the count."""
    workbook = Workbook(write_only=True)
    for name in ("Terms of Use", "Legend", "Countries"):
        workbook.create_sheet(name).append([f"({name}: not reproduced in this layout file)"])
    sheet = workbook.create_sheet(DATASET_SHEET)
    sheet.append(list(RPW_HEADER))
    count = 0
    for row in rows:
        sheet.append([_cell(row.get(name)) for name in RPW_HEADER])
        count += 1
    workbook.save(path)
    return count


def _cell(value: object) -> object:
    # openpyxl writes Decimal as a number cell, which is how the World Bank's file stores them.
    return value


_CORRIDORS = (("RUS", "RUB", "AZE"), ("RUS", "RUB", "UZB"), ("DEU", "EUR", "TUR"), ("USA", "USD", "MEX"))
_SPEEDS = ("Less than one hour", "Same day", "Next day", "2 days", "3-5 days", "6 days or more")


def synthetic_rows(count: int, seed: int = 7) -> Iterator[dict[str, object]]:
    """``count`` plausible rows for the memory benchmark; not market data."""
    rng = random.Random(seed)
    for index in range(count):
        source, currency, destination = _CORRIDORS[index % len(_CORRIDORS)]
        quarter = 1 + (index // 1000) % 4
        per_usd = Decimal(rng.randint(80, 120))
        margin = Decimal(rng.randint(0, 300)) / 100
        fee_pct = Decimal(rng.randint(0, 500)) / 100
        row: dict[str, object] = {
            "id": index + 1,
            "period": f"2024_{quarter}Q",
            "source_code": source,
            "destination_code": destination,
            "firm": f"Synthetic service {index % 400}",
            "firm_type": "Money Transfer Operator",
            "payment instrument": "Cash",
            "access point": "Agent",
            "speed actual": _SPEEDS[index % len(_SPEEDS)],
            "inter lcu bank fx": Decimal("0.0234"),
            "transparent": "yes" if index % 17 else "no",
            "pickup method": "Cash",
            "date": "15/May/2024",
            "corridor": source + destination,
        }
        for tier, usd in (("cc1", 200), ("cc2", 500)):
            amount = per_usd * usd
            row[f"{tier} lcu amount"] = amount
            row[f"{tier} denomination amount"] = usd
            row[f"{tier} lcu code"] = currency
            row[f"{tier} lcu fee"] = amount * fee_pct / 100
            row[f"{tier} lcu fx rate"] = Decimal("0.0234") * (1 - margin / 100)
            row[f"{tier} fx margin"] = margin
            row[f"{tier} total cost %"] = fee_pct + margin
        yield row
