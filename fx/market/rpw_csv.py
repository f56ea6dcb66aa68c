"""Readers of the World Bank's corridor-level price files: the RPW averages file and DataBank's export.

* RPW corridor x quarter averages (``rpw-corridor-quarter-averages-*.csv``): one row per corridor and
  quarter with ``period, source_code, destination_code, avg_cost_pct_200usd, avg_cost_pct_500usd,
  avg_fx_margin_200usd, avg_fx_margin_500usd, num_providers``.
* DataBank export of series ``ATCR.CORR`` ("Average Total Cost to remit in corridor"), exactly as a
  policy analyst downloads it: one row per corridor, one column per quarter (``2011Q1 [YR2011Q1]``),
  ``..`` for no data, a byte-order mark, and a footer naming the database.

Both stream: they yield one :class:`CorridorQuarter` at a time. A row that cannot be read (an
unknown country code, a non-number) is left out and noted in ``skipped``; a file in the wrong
layout is refused whole with :class:`MalformedFile`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from fx.market.countries import UnknownCountry, alpha3
from fx.market.parsing import MalformedFile, SkipLog, cell_decimal, cell_text
from fx.market.periods import InvalidPeriod, Quarter
from fx.market.records import CorridorQuarter, Dataset

__all__ = ["ATCR_SERIES", "read_corridor_averages", "read_databank_atcr"]

ATCR_SERIES = "ATCR.CORR"
_AVERAGES_COLUMNS = (
    "period",
    "source_code",
    "destination_code",
    "avg_cost_pct_200usd",
    "avg_cost_pct_500usd",
    "avg_fx_margin_200usd",
    "avg_fx_margin_500usd",
    "num_providers",
)


def read_corridor_averages(path: Path, skipped: SkipLog | None = None) -> Iterator[CorridorQuarter]:
    """Rows of the RPW corridor x quarter averages file."""
    skipped = skipped if skipped is not None else SkipLog()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in _AVERAGES_COLUMNS if name not in (reader.fieldnames or [])]
        if missing:
            raise MalformedFile(
                f"{path.name}: not an RPW averages file, missing columns {', '.join(missing)}"
            )
        for line, row in enumerate(reader, start=2):
            where = f"{path.name} line {line}"
            try:
                services = cell_decimal(row["num_providers"], where)
                yield CorridorQuarter(
                    dataset=Dataset.RPW_AVERAGES,
                    period=Quarter.parse(row["period"]),
                    source_country=alpha3(row["source_code"]),
                    destination_country=alpha3(row["destination_code"]),
                    avg_cost_200_pct=cell_decimal(row["avg_cost_pct_200usd"], where),
                    avg_cost_500_pct=cell_decimal(row["avg_cost_pct_500usd"], where),
                    avg_fx_margin_200_pct=cell_decimal(row["avg_fx_margin_200usd"], where),
                    avg_fx_margin_500_pct=cell_decimal(row["avg_fx_margin_500usd"], where),
                    services=int(services) if services is not None else None,
                )
            except (MalformedFile, UnknownCountry, InvalidPeriod) as exc:
                skipped.note(f"{where}: {exc}")


def read_databank_atcr(path: Path, skipped: SkipLog | None = None) -> Iterator[CorridorQuarter]:
    """Non-empty cells of a DataBank ATCR.CORR export, one corridor-quarter each."""
    skipped = skipped if skipped is not None else SkipLog()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        if "Series Code" not in header:
            raise MalformedFile(f"{path.name}: not a DataBank export (no 'Series Code' column)")
        codes = [index for index, name in enumerate(header) if name.endswith("Code")]
        if len(codes) != 3:
            raise MalformedFile(f"{path.name}: expected sending, series and receiving code columns")
        source_at, series_at, destination_at = codes
        quarters: list[tuple[int, Quarter]] = []
        for index, name in enumerate(header):
            try:
                quarters.append((index, Quarter.parse(name)))
            except InvalidPeriod:
                continue
        if not quarters:
            raise MalformedFile(f"{path.name}: no quarter columns such as '2011Q1 [YR2011Q1]'")
        for line, row in enumerate(reader, start=2):
            if len(row) <= destination_at or not cell_text(row[source_at]):
                continue  # blank separator lines and the "Data from database" footer
            if cell_text(row[series_at]) != ATCR_SERIES:
                continue
            where = f"{path.name} line {line}"
            try:
                source = alpha3(row[source_at])
                destination = alpha3(row[destination_at])
                values = [
                    (period, cell_decimal(row[index] if index < len(row) else None, where))
                    for index, period in quarters
                ]
            except (MalformedFile, UnknownCountry) as exc:
                skipped.note(f"{where}: {exc}")
                continue
            for period, value in values:
                if value is not None:
                    yield CorridorQuarter(
                        dataset=Dataset.DATABANK_ATCR,
                        period=period,
                        source_country=source,
                        destination_country=destination,
                        avg_cost_200_pct=value,
                    )
