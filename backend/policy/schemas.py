"""JSON shapes of the policy API (camelCase), and how market records become them.

Percentages are decimal strings rounded half-even to 4 places (RPW publishes 2 to 4); money is
``{"amount": "...", "currency": "USD"}``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from fx.market.analytics import CorridorOverview, CorridorSeries, IndicatorRow, IndicatorTable
from fx.market.indicators import SDG_CORRIDOR_CEILING_PCT, SDG_TARGET_PCT, PilotQuarterCost, SdgStatus
from fx.market.records import CorridorQuarter
from ledger.money import Money

__all__ = [
    "CamelModel",
    "CorridorPage",
    "CorridorSeriesOut",
    "IndicatorTableOut",
    "corridor_page",
    "indicator_table_out",
    "pct",
    "series_out",
]


def pct(value: Decimal | None) -> str | None:
    """A percentage as a 4-place decimal string."""
    return None if value is None else str(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))


class CamelModel(BaseModel):
    """Base of the policy API's replies: camelCase on the wire (the app dumps models by alias)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class MarketPoint(CamelModel):
    corridor: str
    period: str
    avg_cost_200_pct: str | None
    avg_cost_500_pct: str | None
    avg_fx_margin_200_pct: str | None
    smart_pct: str | None
    services: int | None
    services_surveyed: int | None
    dataset: str
    basis: str
    above_sdg_ceiling: bool | None


class PilotPoint(CamelModel):
    corridor: str
    period: str
    transfers: int
    sent_usd: dict[str, str]
    avg_cost_pct: str
    amount_weighted_cost_pct: str


class CorridorOut(CamelModel):
    corridor: str
    source_country: str
    destination_country: str
    first_period: str
    last_period: str
    latest: MarketPoint | None


class CorridorPage(CamelModel):
    items: list[CorridorOut]
    next_cursor: str | None


class CorridorSeriesOut(CamelModel):
    corridor: str
    market: list[MarketPoint]
    pilot: list[PilotPoint]
    all_sources: list[MarketPoint]
    sdg_target_pct: str
    sdg_corridor_ceiling_pct: str


class SdgOut(CamelModel):
    period: str
    average_pct: str | None
    weighted: bool
    corridors: int
    meets_average_target: bool | None
    corridors_above_ceiling: list[str]
    meets_corridor_ceiling: bool
    target_pct: str
    corridor_ceiling_pct: str


class SavingsOut(CamelModel):
    total: dict[str, str]
    transfers_counted: int
    transfers_without_market: int
    transfers_compared_with_earlier_quarter: int


class IndicatorRowOut(MarketPoint):
    pilot_avg_cost_pct: str | None
    pilot_transfers: int


class IndicatorTableOut(CamelModel):
    period: str | None
    sdg: SdgOut | None
    weights_year: int | None
    savings: SavingsOut
    items: list[IndicatorRowOut]


def market_point(row: CorridorQuarter) -> MarketPoint:
    return MarketPoint(
        corridor=row.corridor,
        period=row.period.label,
        avg_cost_200_pct=pct(row.avg_cost_200_pct),
        avg_cost_500_pct=pct(row.avg_cost_500_pct),
        avg_fx_margin_200_pct=pct(row.avg_fx_margin_200_pct),
        smart_pct=pct(row.smart_pct),
        services=row.services,
        services_surveyed=row.services_surveyed,
        dataset=row.dataset.value,
        basis=row.basis.value,
        above_sdg_ceiling=None
        if row.avg_cost_200_pct is None
        else row.avg_cost_200_pct > SDG_CORRIDOR_CEILING_PCT,
    )


def pilot_point(row: PilotQuarterCost) -> PilotPoint:
    return PilotPoint(
        corridor=row.corridor,
        period=row.period.label,
        transfers=row.transfers,
        sent_usd=Money.of(row.sent_usd, "USD").to_json(),
        avg_cost_pct=pct(row.avg_cost_pct) or "0",
        amount_weighted_cost_pct=pct(row.amount_weighted_cost_pct) or "0",
    )


def corridor_page(overviews: list[CorridorOverview], cursor: str | None, limit: int) -> CorridorPage:
    after = [
        item
        for item in overviews
        if cursor is None or item.source_country + item.destination_country > cursor
    ]
    page = after[:limit]
    items = [
        CorridorOut(
            corridor=item.source_country + item.destination_country,
            source_country=item.source_country,
            destination_country=item.destination_country,
            first_period=item.first_period.label,
            last_period=item.last_period.label,
            latest=market_point(item.latest) if item.latest else None,
        )
        for item in page
    ]
    more = len(after) > limit
    return CorridorPage(items=items, next_cursor=items[-1].corridor if more and items else None)


def series_out(series: CorridorSeries) -> CorridorSeriesOut:
    return CorridorSeriesOut(
        corridor=series.source_country + series.destination_country,
        market=[market_point(row) for row in series.market],
        pilot=[pilot_point(row) for row in series.pilot],
        all_sources=[market_point(row) for row in series.all_sources],
        sdg_target_pct=str(SDG_TARGET_PCT),
        sdg_corridor_ceiling_pct=str(SDG_CORRIDOR_CEILING_PCT),
    )


def sdg_out(status: SdgStatus) -> SdgOut:
    return SdgOut(
        period=status.period.label,
        average_pct=pct(status.average_pct),
        weighted=status.weighted,
        corridors=status.corridors,
        meets_average_target=status.meets_average_target,
        corridors_above_ceiling=list(status.corridors_above_ceiling),
        meets_corridor_ceiling=status.meets_corridor_ceiling,
        target_pct=str(SDG_TARGET_PCT),
        corridor_ceiling_pct=str(SDG_CORRIDOR_CEILING_PCT),
    )


def _row_out(row: IndicatorRow) -> IndicatorRowOut:
    base = market_point(row.market)
    return IndicatorRowOut(
        **base.model_dump(),
        pilot_avg_cost_pct=pct(row.pilot.avg_cost_pct) if row.pilot else None,
        pilot_transfers=row.pilot.transfers if row.pilot else 0,
    )


def indicator_table_out(table: IndicatorTable) -> IndicatorTableOut:
    return IndicatorTableOut(
        period=table.period.label if table.period else None,
        sdg=sdg_out(table.sdg) if table.sdg else None,
        weights_year=table.weights_year,
        savings=SavingsOut(
            total=Money.of(table.savings.total_usd, "USD").to_json(),
            transfers_counted=table.savings.transfers_counted,
            transfers_without_market=table.savings.transfers_without_market,
            transfers_compared_with_earlier_quarter=table.savings_carried_forward,
        ),
        items=[_row_out(row) for row in table.rows],
    )
