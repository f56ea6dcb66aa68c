"""Reader of the policy team's provider price list (CSV), for corridors RPW does not cover.

One row per provider product, as a fee schedule, with where the numbers come from on every row::

    date,source_country,destination_country,firm,firm_type,payment_instrument,pickup_method,speed,
    send_currency,receive_currency,fee_fixed,fee_percent,fx_margin_pct,transparent,send_per_usd,
    basis,source,note

``fee_fixed`` is in the sending currency, ``fee_percent`` and ``fx_margin_pct`` are percent
(margin against the interbank mid rate), ``basis`` is ``published``, ``survey`` or
``illustrative``, and ``source`` says where the numbers are from (a URL and the day it was read, or
why there is none). ``send_per_usd`` (sending-currency units per USD on ``date``) lets the row be
priced at USD 200 and 500, the RPW way, so that it counts in the corridor indicators; without it the
row serves comparisons only.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from fx.market.countries import UnknownCountry, alpha3
from fx.market.indicators import total_cost_pct
from fx.market.parsing import MalformedFile, SkipLog, cell_bool, cell_date, cell_decimal, cell_text
from fx.market.periods import Quarter
from fx.market.records import Basis, Dataset, PricePoint, ServicePrice

__all__ = ["PROVIDER_LIST_COLUMNS", "price_point", "read_provider_list"]

PROVIDER_LIST_COLUMNS = (
    "date",
    "source_country",
    "destination_country",
    "firm",
    "firm_type",
    "payment_instrument",
    "pickup_method",
    "speed",
    "send_currency",
    "receive_currency",
    "fee_fixed",
    "fee_percent",
    "fx_margin_pct",
    "transparent",
    "send_per_usd",
    "basis",
    "source",
    "note",
)


def price_point(amount: Decimal, fee_fixed: Decimal, fee_percent: Decimal, margin_pct: Decimal) -> PricePoint:
    """A fee schedule priced at one amount."""
    fee = fee_fixed + amount * fee_percent / 100
    return PricePoint(
        amount=amount,
        fee=fee,
        fx_rate=None,
        fx_margin_pct=margin_pct,
        total_cost_pct=total_cost_pct(fee, amount, margin_pct),
    )


def read_provider_list(path: Path, skipped: SkipLog | None = None) -> Iterator[ServicePrice]:
    """Rows of the provider price list as services, priced at USD 200 and 500 when they can be."""
    skipped = skipped if skipped is not None else SkipLog()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in PROVIDER_LIST_COLUMNS if name not in (reader.fieldnames or [])]
        if missing:
            raise MalformedFile(
                f"{path.name}: not a provider price list, missing columns {', '.join(missing)}"
            )
        for line, row in enumerate(reader, start=2):
            where = f"{path.name} line {line}"
            if not any(cell_text(value) for value in row.values()):
                continue
            try:
                yield _service(row, where)
            except (MalformedFile, UnknownCountry) as exc:
                skipped.note(f"{where}: {exc}")


def _required_decimal(row: dict[str, str], name: str, where: str) -> Decimal:
    value = cell_decimal(row[name], where)
    if value is None or value < 0:
        raise MalformedFile(f"{where}: {name} must be a number of at least 0")
    return value


def _service(row: dict[str, str], where: str) -> ServicePrice:
    observed = cell_date(row["date"], where)
    if observed is None:
        raise MalformedFile(f"{where}: every row needs a date")
    source = cell_text(row["source"])
    if not source:
        raise MalformedFile(f"{where}: every row needs a source (say 'none' and use basis illustrative)")
    try:
        basis = Basis(cell_text(row["basis"]).lower())
    except ValueError:
        raise MalformedFile(f"{where}: basis must be one of {', '.join(Basis)}") from None
    fee_fixed = _required_decimal(row, "fee_fixed", where)
    fee_percent = _required_decimal(row, "fee_percent", where)
    margin = cell_decimal(row["fx_margin_pct"], where)
    if margin is None:
        raise MalformedFile(f"{where}: fx_margin_pct is required")
    send_per_usd = cell_decimal(row["send_per_usd"], where)
    at_200 = at_500 = None
    if send_per_usd is not None and send_per_usd > 0:
        at_200 = price_point(200 * send_per_usd, fee_fixed, fee_percent, margin)
        at_500 = price_point(500 * send_per_usd, fee_fixed, fee_percent, margin)
    note = cell_text(row["note"])
    return ServicePrice(
        dataset=Dataset.PROVIDER_LIST,
        period=Quarter.of(observed),
        source_country=alpha3(row["source_country"]),
        destination_country=alpha3(row["destination_country"]),
        firm=cell_text(row["firm"]),
        firm_type=cell_text(row["firm_type"]),
        payment_instrument=cell_text(row["payment_instrument"]),
        pickup_method=cell_text(row["pickup_method"]),
        speed=cell_text(row["speed"]),
        send_currency=cell_text(row["send_currency"]).upper(),
        receive_currency=cell_text(row["receive_currency"]).upper() or None,
        at_200=at_200,
        at_500=at_500,
        interbank_rate=None,
        transparent=cell_bool(row["transparent"], where),
        observed_on=observed,
        source=f"{source} ({note})" if note else source,
        basis=basis,
        fee_fixed=fee_fixed,
        fee_percent=fee_percent,
        fx_margin_pct=margin,
    )
