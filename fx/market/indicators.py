"""The RPW indicators, as pure functions over prices (World Bank, Remittance Prices Worldwide method).

* total cost % = fee / amount sent x 100 + FX margin %, with FX margin % = (1 - applied rate /
  interbank mid rate) x 100;
* a corridor's average total cost at USD 200 (and 500) is the simple mean over its *transparent*
  services (those that disclose their rate);
* SmaRT is the mean total cost at USD 200 of the 3 cheapest services that are transparent and
  arrive within 5 days (RPW also asks that they be accessible, which its dataset does not record);
* SDG 10.c: the average cost below 3 % and no corridor above 5 %.

Everything is ``Decimal``; nothing here rounds except where said.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from fx.market.periods import Quarter
from fx.market.records import Basis, CorridorQuarter, Dataset, ServicePrice

__all__ = [
    "SDG_CORRIDOR_CEILING_PCT",
    "SDG_TARGET_PCT",
    "SMART_MAX_DAYS",
    "PilotQuarterCost",
    "PilotTransferCost",
    "Savings",
    "SdgStatus",
    "corridor_indicators",
    "fx_margin_pct",
    "market_cost_at",
    "mean",
    "pilot_quarter_costs",
    "savings_to_migrants",
    "sdg_status",
    "smart",
    "speed_days",
    "total_cost_pct",
    "weakest_basis",
]

SDG_TARGET_PCT = Decimal(3)
"""SDG 10.c: reduce the average transaction cost of migrant remittances to less than 3 %."""
SDG_CORRIDOR_CEILING_PCT = Decimal(5)
"""SDG 10.c: eliminate remittance corridors with costs higher than 5 %."""
SMART_MAX_DAYS = 5
"""SmaRT counts services that deliver within this many days."""
SMART_SERVICES = 3
_HUNDRED = Decimal(100)


def fx_margin_pct(applied_rate: Decimal, interbank_rate: Decimal) -> Decimal:
    """Percent the applied rate falls short of the interbank mid rate."""
    if interbank_rate <= 0:
        raise ValueError("interbank rate must be positive")
    return (1 - applied_rate / interbank_rate) * _HUNDRED


def total_cost_pct(fee: Decimal, amount: Decimal, margin_pct: Decimal) -> Decimal:
    """Fee as a percent of the amount sent, plus the FX margin in percent."""
    if amount <= 0:
        raise ValueError("amount sent must be positive")
    return fee / amount * _HUNDRED + margin_pct


def mean(values: Iterable[Decimal]) -> Decimal | None:
    """Arithmetic mean, or ``None`` for no values."""
    items = list(values)
    return sum(items, Decimal(0)) / len(items) if items else None


_DAYS = re.compile(r"(\d+)\s*(?:-\s*(\d+))?\s*days?")


def speed_days(speed: str) -> int | None:
    """Longest delivery time of an RPW speed category, in days; ``None`` if it cannot be read."""
    text = speed.strip().lower()
    if not text:
        return None
    if "hour" in text or "minute" in text or text == "same day":
        return 0
    if text == "next day":
        return 1
    if "or more" in text or "more than" in text:
        match = _DAYS.search(text)
        return max(int(match.group(1)), SMART_MAX_DAYS + 1) if match else SMART_MAX_DAYS + 1
    match = _DAYS.search(text)
    if match:
        return int(match.group(2) or match.group(1))
    return None


def _total_at_200(service: ServicePrice) -> Decimal | None:
    return service.at_200.total_cost_pct if service.at_200 else None


def smart(services: Iterable[ServicePrice]) -> Decimal | None:
    """Mean cost at USD 200 of the 3 cheapest transparent services delivering within 5 days.

    ``None`` when fewer than 3 services qualify, as RPW publishes no SmaRT for such corridors.
    """
    qualifying = sorted(
        cost
        for service in services
        if service.transparent
        and (days := speed_days(service.speed)) is not None
        and days <= SMART_MAX_DAYS
        and (cost := _total_at_200(service)) is not None
    )
    if len(qualifying) < SMART_SERVICES:
        return None
    return mean(qualifying[:SMART_SERVICES])


def corridor_indicators(
    dataset: Dataset, period: Quarter, source: str, destination: str, services: Sequence[ServicePrice]
) -> CorridorQuarter:
    """The RPW averages of one corridor in one quarter, from its surveyed services."""
    transparent = [service for service in services if service.transparent]

    def average(pick: str) -> Decimal | None:
        values = []
        for service in transparent:
            point = service.at_200 if pick.endswith("200") else service.at_500
            value = None
            if point is not None:
                value = point.total_cost_pct if pick.startswith("cost") else point.fx_margin_pct
            if value is not None:
                values.append(value)
        return mean(values)

    return CorridorQuarter(
        dataset=dataset,
        period=period,
        source_country=source,
        destination_country=destination,
        avg_cost_200_pct=average("cost200"),
        avg_cost_500_pct=average("cost500"),
        avg_fx_margin_200_pct=average("margin200"),
        avg_fx_margin_500_pct=average("margin500"),
        smart_pct=smart(services),
        services=len(transparent),
        services_surveyed=len(services),
        basis=weakest_basis(service.basis for service in services),
    )


def weakest_basis(bases: Iterable[Basis]) -> Basis:
    """Illustrative if any price is; else published if any is; else survey."""
    found = set(bases)
    for basis in (Basis.ILLUSTRATIVE, Basis.PUBLISHED):
        if basis in found:
            return basis
    return Basis.SURVEY


def market_cost_at(
    amount_usd: Decimal | None, cost_200: Decimal | None, cost_500: Decimal | None
) -> Decimal | None:
    """The market's cost % for an amount: the USD 200 and 500 figures, linear in between.

    Below USD 200 the USD 200 figure holds, above USD 500 the USD 500 one (RPW surveys only those
    two amounts, and extrapolating a percentage past them would invent a trend).
    """
    if cost_200 is None or cost_500 is None or amount_usd is None:
        return cost_200 if cost_200 is not None else cost_500
    if amount_usd <= 200:
        return cost_200
    if amount_usd >= 500:
        return cost_500
    return cost_200 + (cost_500 - cost_200) * (amount_usd - 200) / 300


@dataclass(frozen=True, slots=True)
class SdgStatus:
    """Where a set of corridors stands against SDG 10.c in one quarter."""

    period: Quarter
    """The quarter."""
    average_pct: Decimal | None
    """Average cost at USD 200: simple mean over corridors, or weighted by flows when asked."""
    weighted: bool
    """True when ``average_pct`` is weighted by bilateral remittance estimates."""
    corridors: int
    """Corridors counted."""
    corridors_above_ceiling: tuple[str, ...]
    """Corridor codes whose average exceeds 5 %."""

    @property
    def meets_average_target(self) -> bool | None:
        """True when the average is below 3 %; ``None`` without data."""
        return None if self.average_pct is None else self.average_pct < SDG_TARGET_PCT

    @property
    def meets_corridor_ceiling(self) -> bool:
        return not self.corridors_above_ceiling


def sdg_status(
    period: Quarter,
    corridors: Iterable[CorridorQuarter],
    weights: Mapping[tuple[str, str], Decimal] | None = None,
) -> SdgStatus:
    """SDG 10.c status of ``corridors`` (their USD 200 averages) in ``period``.

    With ``weights`` (USD flows by (source, destination)), the average is flow-weighted over the
    corridors that have a weight; corridors without one are left out of that average but still
    checked against the 5 % ceiling.
    """
    costed = [row for row in corridors if row.avg_cost_200_pct is not None]
    above = tuple(sorted(row.corridor for row in costed if row.avg_cost_200_pct > SDG_CORRIDOR_CEILING_PCT))  # type: ignore[operator]
    if weights is None:
        average = mean(row.avg_cost_200_pct for row in costed)  # type: ignore[misc]
        counted = len(costed)
    else:
        pairs = [
            (row.avg_cost_200_pct, weights[(row.source_country, row.destination_country)])
            for row in costed
            if weights.get((row.source_country, row.destination_country), Decimal(0)) > 0
        ]
        total_weight = sum((weight for _, weight in pairs), Decimal(0))
        average = (
            sum((cost * weight for cost, weight in pairs), Decimal(0)) / total_weight  # type: ignore[operator]
            if total_weight
            else None
        )
        counted = len(pairs)
    return SdgStatus(period, average, weights is not None, counted, above)


@dataclass(frozen=True, slots=True)
class PilotTransferCost:
    """One completed pilot transfer, as the cost indicators need it."""

    source_country: str
    """Sending country, ISO alpha-3."""
    destination_country: str
    """Receiving country, ISO alpha-3."""
    period: Quarter
    """Quarter the transfer completed in."""
    send_amount_usd: Decimal
    """Amount sent, converted to USD at the mid rate of the day."""
    total_cost_pct: Decimal
    """Its total cost by the RPW definition (fee % plus FX margin against mid)."""


@dataclass(frozen=True, slots=True)
class PilotQuarterCost:
    """Our pilot's actual cost in one corridor and quarter."""

    source_country: str
    """Sending country, ISO alpha-3."""
    destination_country: str
    """Receiving country, ISO alpha-3."""
    period: Quarter
    """The quarter."""
    transfers: int
    """Completed transfers counted."""
    sent_usd: Decimal
    """Their total amount, USD."""
    avg_cost_pct: Decimal
    """Simple mean of their total cost %, comparable with RPW's mean over services."""
    amount_weighted_cost_pct: Decimal
    """Total cost paid over total amount sent, percent."""

    @property
    def corridor(self) -> str:
        return self.source_country + self.destination_country


def pilot_quarter_costs(transfers: Iterable[PilotTransferCost]) -> list[PilotQuarterCost]:
    """Group completed transfers by corridor and quarter; sorted by corridor, then quarter."""
    groups: dict[tuple[str, str, Quarter], list[PilotTransferCost]] = {}
    for transfer in transfers:
        key = (transfer.source_country, transfer.destination_country, transfer.period)
        groups.setdefault(key, []).append(transfer)
    result = []
    for (source, destination, period), rows in sorted(groups.items()):
        sent = sum((row.send_amount_usd for row in rows), Decimal(0))
        paid = sum((row.send_amount_usd * row.total_cost_pct for row in rows), Decimal(0))
        result.append(
            PilotQuarterCost(
                source_country=source,
                destination_country=destination,
                period=period,
                transfers=len(rows),
                sent_usd=sent,
                avg_cost_pct=mean(row.total_cost_pct for row in rows) or Decimal(0),
                amount_weighted_cost_pct=paid / sent if sent else Decimal(0),
            )
        )
    return result


@dataclass(frozen=True, slots=True)
class Savings:
    """What migrants kept by sending through the pilot instead of at the market's average cost."""

    total_usd: Decimal
    """Sum over transfers of (market cost % - our cost %) x amount / 100, USD."""
    by_corridor_quarter: dict[tuple[str, str, Quarter], Decimal]
    """The same sum per (source, destination, quarter)."""
    transfers_counted: int
    """Transfers whose corridor and quarter had a market average."""
    transfers_without_market: int
    """Transfers left out because no market average existed for their corridor and quarter."""


def savings_to_migrants(
    transfers: Iterable[PilotTransferCost], market: Mapping[tuple[str, str, Quarter], CorridorQuarter]
) -> Savings:
    """Savings to migrants, against each transfer's corridor-quarter market average at its amount."""
    by_key: dict[tuple[str, str, Quarter], Decimal] = {}
    counted = missing = 0
    for transfer in transfers:
        key = (transfer.source_country, transfer.destination_country, transfer.period)
        row = market.get(key)
        market_pct = (
            market_cost_at(transfer.send_amount_usd, row.avg_cost_200_pct, row.avg_cost_500_pct)
            if row
            else None
        )
        if market_pct is None:
            missing += 1
            continue
        counted += 1
        saved = (market_pct - transfer.total_cost_pct) * transfer.send_amount_usd / _HUNDRED
        by_key[key] = by_key.get(key, Decimal(0)) + saved
    return Savings(sum(by_key.values(), Decimal(0)), by_key, counted, missing)
