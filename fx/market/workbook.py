"""Streaming reader of the full RPW workbook, sheet "Dataset (from Q2 2016)".

The World Bank's workbook is about 50 MB (some 200,000 service rows whose sheet XML unpacks to
~300 MB), so it is read with openpyxl's ``read_only`` mode, which parses the sheet XML as a stream:
memory stays bounded by one row, whatever the file's size. Columns are found by their header names
(case and spacing ignored), so added, reordered or unlabelled trailing columns do not matter.
The columns read are: period, source_code, destination_code, firm, firm_type, payment instrument,
pickup method, speed actual, cc1/cc2 lcu amount, lcu code, lcu fee, lcu fx rate, fx margin, total
cost %, inter lcu bank fx, transparent and (when present) date.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from fx.market.countries import UnknownCountry, alpha3
from fx.market.parsing import MalformedFile, SkipLog, cell_bool, cell_date, cell_decimal, cell_text
from fx.market.periods import InvalidPeriod, Quarter
from fx.market.records import Dataset, PricePoint, ServicePrice

__all__ = ["DATASET_SHEET", "WORKBOOK_COLUMNS", "read_rpw_workbook"]

DATASET_SHEET = "Dataset (from Q2 2016)"
WORKBOOK_COLUMNS = (
    "period",
    "source_code",
    "destination_code",
    "firm",
    "firm_type",
    "payment instrument",
    "pickup method",
    "speed actual",
    *(f"{tier} {field}" for tier in ("cc1", "cc2") for field in (
        "lcu amount", "lcu code", "lcu fee", "lcu fx rate", "fx margin", "total cost %"
    )),
    "inter lcu bank fx",
    "transparent",
)  # fmt: skip
"""Columns the reader needs; the real sheet has 42, the rest are ignored."""
_HEADER_SEARCH_ROWS = 10


def _normalise(name: object) -> str:
    return " ".join(cell_text(name).lower().split())


def _columns(header: tuple[Any, ...]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        found.setdefault(_normalise(name), index)
    return found


def read_rpw_workbook(path: Path, skipped: SkipLog | None = None) -> Iterator[ServicePrice]:
    """Every service row of the workbook's current dataset sheet, one at a time."""
    skipped = skipped if skipped is not None else SkipLog()
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        if DATASET_SHEET not in workbook.sheetnames:
            raise MalformedFile(
                f"{path.name}: no sheet {DATASET_SHEET!r} (sheets: {', '.join(workbook.sheetnames)})"
            )
        rows = workbook[DATASET_SHEET].iter_rows(values_only=True)
        columns: dict[str, int] = {}
        header_line = 0
        for header in rows:
            header_line += 1
            columns = _columns(header)
            if ("period" in columns and "source_code" in columns) or header_line >= _HEADER_SEARCH_ROWS:
                break
        missing = [name for name in WORKBOOK_COLUMNS if name not in columns]
        if missing:
            raise MalformedFile(f"{path.name}: sheet {DATASET_SHEET!r} lacks columns {', '.join(missing)}")
        date_at = columns.get("date")
        for line, row in enumerate(rows, start=header_line + 1):
            if not any(cell is not None for cell in row):
                continue
            where = f"{path.name} row {line}"
            try:
                yield _service(row, columns, date_at, where)
            except (MalformedFile, UnknownCountry, InvalidPeriod) as exc:
                skipped.note(f"{where}: {exc}")
    finally:
        workbook.close()


def _service(row: tuple[Any, ...], columns: dict[str, int], date_at: int | None, where: str) -> ServicePrice:
    def cell(name: str) -> Any:
        index = columns[name]
        return row[index] if index < len(row) else None

    def point(tier: str) -> PricePoint | None:
        amount = cell_decimal(cell(f"{tier} lcu amount"), where)
        if amount is None or amount <= 0:
            return None
        return PricePoint(
            amount=amount,
            fee=cell_decimal(cell(f"{tier} lcu fee"), where),
            fx_rate=cell_decimal(cell(f"{tier} lcu fx rate"), where),
            fx_margin_pct=cell_decimal(cell(f"{tier} fx margin"), where),
            total_cost_pct=cell_decimal(cell(f"{tier} total cost %"), where),
        )

    firm = cell_text(cell("firm"))
    if not firm:
        raise MalformedFile("no firm")
    return ServicePrice(
        dataset=Dataset.RPW_WORKBOOK,
        period=Quarter.parse(cell_text(cell("period"))),
        source_country=alpha3(cell_text(cell("source_code"))),
        destination_country=alpha3(cell_text(cell("destination_code"))),
        firm=firm,
        firm_type=cell_text(cell("firm_type")),
        payment_instrument=cell_text(cell("payment instrument")),
        pickup_method=cell_text(cell("pickup method")),
        speed=cell_text(cell("speed actual")),
        send_currency=cell_text(cell("cc1 lcu code")) or cell_text(cell("cc2 lcu code")),
        at_200=point("cc1"),
        at_500=point("cc2"),
        interbank_rate=cell_decimal(cell("inter lcu bank fx"), where),
        transparent=cell_bool(cell("transparent"), where),
        observed_on=cell_date(row[date_at], where) if date_at is not None and date_at < len(row) else None,
    )
