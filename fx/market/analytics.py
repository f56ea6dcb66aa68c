"""The policy team's questions, answered from the market tables and our completed transfers.

When several sources have a figure for the same corridor and quarter, the most direct one wins
(:class:`~fx.market.records.Dataset` order: figures computed here from RPW's service rows, then RPW's
averages file, then DataBank, then the provider list). Savings compare each pilot transfer with
the market figure of its corridor for its quarter or, when the market was not surveyed that
quarter, the latest quarter before it (and say how many transfers needed that).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from fx.market.indicators import (
    PilotQuarterCost,
    PilotTransferCost,
    Savings,
    SdgStatus,
    pilot_quarter_costs,
    savings_to_migrants,
    sdg_status,
)
from fx.market.periods import Quarter
from fx.market.pilot import PilotCostSource
from fx.market.records import Basis, CorridorQuarter
from fx.market.store import MarketStore

__all__ = [
    "CorridorOverview",
    "CorridorSeries",
    "IndicatorRow",
    "IndicatorTable",
    "MarketAnalytics",
    "best_per_period",
]


def best_per_period(rows: Iterable[CorridorQuarter]) -> list[CorridorQuarter]:
    """One figure per (corridor, quarter): the most direct source's; sorted by corridor then quarter."""
    best: dict[tuple[str, str, Quarter], CorridorQuarter] = {}
    for row in rows:
        key = (row.source_country, row.destination_country, row.period)
        if row.avg_cost_200_pct is None and row.avg_cost_500_pct is None:
            continue
        if key not in best or row.dataset.rank < best[key].dataset.rank:
            best[key] = row
    return [best[key] for key in sorted(best)]


@dataclass(frozen=True, slots=True)
class CorridorOverview:
    """A corridor with market data: its span and its latest figure."""

    source_country: str
    """Sending country, ISO alpha-3."""
    destination_country: str
    """Receiving country, ISO alpha-3."""
    first_period: Quarter
    """Earliest quarter with a figure."""
    last_period: Quarter
    """Latest quarter with a figure."""
    latest: CorridorQuarter | None
    """The latest figure (most direct source)."""


@dataclass(frozen=True, slots=True)
class CorridorSeries:
    """One corridor over time: the market (best source per quarter) and our pilot."""

    source_country: str
    """Sending country, ISO alpha-3."""
    destination_country: str
    """Receiving country, ISO alpha-3."""
    market: list[CorridorQuarter]
    """Best figure per quarter, oldest first."""
    all_sources: list[CorridorQuarter]
    """Every source's figure, for cross-checking."""
    pilot: list[PilotQuarterCost]
    """Our pilot's actual cost per quarter."""


@dataclass(frozen=True, slots=True)
class IndicatorRow:
    """One corridor in the indicator table."""

    market: CorridorQuarter
    """The market's figures for the table's quarter."""
    pilot: PilotQuarterCost | None
    """Our pilot's actual cost in that corridor and quarter."""


@dataclass(frozen=True, slots=True)
class IndicatorTable:
    """Every corridor in one quarter, SDG 10.c status and savings to migrants."""

    period: Quarter | None
    """The quarter (unless asked, the latest with survey or published prices)."""
    rows: list[IndicatorRow]
    """One per corridor with a figure in that quarter."""
    sdg: SdgStatus | None
    """SDG 10.c status of those corridors, illustrative figures left out."""
    weights_year: int | None
    """Year of the bilateral estimates used as weights, when weighted."""
    savings: Savings
    """Savings to migrants over all our completed transfers."""
    savings_carried_forward: int
    """Transfers compared with an earlier quarter's market figure, the market not being surveyed in theirs."""


class MarketAnalytics:
    """Indicators over the market tables and the pilot's completed transfers."""

    def __init__(self, connection: AsyncConnection, pilot: PilotCostSource) -> None:
        self.connection = connection
        self.store = MarketStore(connection)
        self.pilot = pilot

    async def periods(self) -> list[Quarter]:
        return await self.store.periods()

    async def corridors(self) -> list[CorridorOverview]:
        overviews = []
        for summary in await self.store.corridor_summaries():
            source, destination = summary["source_country"], summary["destination_country"]
            last = Quarter.parse(summary["last_period"])
            latest = best_per_period(
                row
                for row in await self.store.quarters_in(last)
                if row.source_country == source and row.destination_country == destination
            )
            overviews.append(
                CorridorOverview(
                    source,
                    destination,
                    Quarter.parse(summary["first_period"]),
                    last,
                    latest[0] if latest else None,
                )
            )
        return overviews

    async def corridor_series(self, source: str, destination: str) -> CorridorSeries:
        rows = await self.store.corridor_quarters(source, destination)
        transfers = await self.pilot.completed_transfer_costs(
            self.connection, source_country=source, destination_country=destination
        )
        return CorridorSeries(
            source, destination, best_per_period(rows), rows, pilot_quarter_costs(transfers)
        )

    async def indicator_table(
        self, period: Quarter | None = None, *, weighted: bool = False
    ) -> IndicatorTable:
        if period is None:
            periods = await self.store.periods(with_real_prices=True)
            period = periods[-1] if periods else None
        transfers = list(await self.pilot.completed_transfer_costs(self.connection))
        savings, carried = await self._savings(transfers)
        if period is None:
            return IndicatorTable(None, [], None, None, savings, carried)
        market = best_per_period(await self.store.quarters_in(period))
        pilot = {
            (row.source_country, row.destination_country): row
            for row in pilot_quarter_costs(transfers)
            if row.period == period
        }
        weights_year, weights = await self.store.flow_weights() if weighted else (None, None)
        return IndicatorTable(
            period=period,
            rows=[
                IndicatorRow(row, pilot.get((row.source_country, row.destination_country))) for row in market
            ],
            sdg=sdg_status(period, [row for row in market if row.basis is not Basis.ILLUSTRATIVE], weights),
            weights_year=weights_year,
            savings=savings,
            savings_carried_forward=carried,
        )

    async def _savings(self, transfers: Sequence[PilotTransferCost]) -> tuple[Savings, int]:
        series: dict[tuple[str, str], list[CorridorQuarter]] = {}
        market: dict[tuple[str, str, Quarter], CorridorQuarter] = {}
        carried = 0
        for transfer in transfers:
            corridor = (transfer.source_country, transfer.destination_country)
            if corridor not in series:
                series[corridor] = best_per_period(await self.store.corridor_quarters(*corridor))
            earlier = [row for row in series[corridor] if row.period <= transfer.period]
            if earlier:
                market[(*corridor, transfer.period)] = earlier[-1]
                carried += earlier[-1].period != transfer.period
        return savings_to_migrants(transfers, market), carried
