"""Repository of the market tables: records in, records out, statements built once at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from fx.market.periods import Quarter
from fx.market.records import Basis, BilateralFlow, CorridorQuarter, Dataset, PricePoint, ServicePrice
from fx.market.tables import bilateral_flows, corridor_quarters, market_imports, service_prices

__all__ = ["MarketStore"]

_TIERS = ("200", "500")

_insert_import = insert(market_imports).returning(market_imports.c.id)
_find_import = select(market_imports.c.id, market_imports.c.rows).where(
    market_imports.c.dataset == bindparam("dataset"), market_imports.c.sha256 == bindparam("sha256")
)
_insert_services = insert(service_prices)
_insert_quarters = insert(corridor_quarters)
_insert_flows = insert(bilateral_flows)
_delete_flows_of_year = delete(bilateral_flows).where(bilateral_flows.c.year == bindparam("year"))
_services_of_corridor = (
    select(service_prices)
    .where(
        service_prices.c.source_country == bindparam("source"),
        service_prices.c.destination_country == bindparam("destination"),
    )
    .order_by(service_prices.c.period, service_prices.c.id)
)
_latest_service_period = select(func.max(service_prices.c.period)).where(
    service_prices.c.source_country == bindparam("source"),
    service_prices.c.destination_country == bindparam("destination"),
    service_prices.c.dataset == bindparam("dataset"),
)
_services_in_period = (
    select(service_prices)
    .where(
        service_prices.c.source_country == bindparam("source"),
        service_prices.c.destination_country == bindparam("destination"),
        service_prices.c.dataset == bindparam("dataset"),
        service_prices.c.period == bindparam("period"),
    )
    .order_by(service_prices.c.id)
)
_quarters_of_corridor = (
    select(corridor_quarters)
    .where(
        corridor_quarters.c.source_country == bindparam("source"),
        corridor_quarters.c.destination_country == bindparam("destination"),
    )
    .order_by(corridor_quarters.c.period)
)
_quarters_in_period = select(corridor_quarters).where(corridor_quarters.c.period == bindparam("period"))
_all_periods = select(corridor_quarters.c.period).distinct().order_by(corridor_quarters.c.period)
_surveyed_periods = (
    select(corridor_quarters.c.period)
    .where(corridor_quarters.c.basis != Basis.ILLUSTRATIVE.value)
    .distinct()
    .order_by(corridor_quarters.c.period)
)
_corridor_summary = (
    select(
        corridor_quarters.c.source_country,
        corridor_quarters.c.destination_country,
        func.min(corridor_quarters.c.period).label("first_period"),
        func.max(corridor_quarters.c.period).label("last_period"),
        func.count().label("points"),
    )
    .group_by(corridor_quarters.c.source_country, corridor_quarters.c.destination_country)
    .order_by(corridor_quarters.c.source_country, corridor_quarters.c.destination_country)
)
_flows_latest_year = select(func.max(bilateral_flows.c.year))
_flows_of_year = select(
    bilateral_flows.c.source_country, bilateral_flows.c.destination_country, bilateral_flows.c.usd_millions
).where(bilateral_flows.c.year == bindparam("year"))


def _service_values(service: ServicePrice, import_id: int) -> dict[str, Any]:
    values: dict[str, Any] = {
        "import_id": import_id,
        "dataset": service.dataset.value,
        "period": service.period.label,
        "source_country": service.source_country,
        "destination_country": service.destination_country,
        "firm": service.firm[:200],
        "firm_type": service.firm_type[:100],
        "payment_instrument": service.payment_instrument[:200],
        "pickup_method": service.pickup_method[:200],
        "speed": service.speed[:60],
        "send_currency": service.send_currency[:8],
        "receive_currency": service.receive_currency,
        "interbank_rate": service.interbank_rate,
        "fee_fixed": service.fee_fixed,
        "fee_percent": service.fee_percent,
        "fx_margin_pct": service.fx_margin_pct,
        "transparent": service.transparent,
        "observed_on": service.observed_on,
        "basis": service.basis.value,
        "source": service.source,
    }
    for tier, point in zip(_TIERS, (service.at_200, service.at_500), strict=True):
        values[f"amount_{tier}"] = point.amount if point else None
        values[f"fee_{tier}"] = point.fee if point else None
        values[f"fx_rate_{tier}"] = point.fx_rate if point else None
        values[f"fx_margin_{tier}_pct"] = point.fx_margin_pct if point else None
        values[f"total_cost_{tier}_pct"] = point.total_cost_pct if point else None
    return values


def _service_of(row: RowMapping) -> ServicePrice:
    points: list[PricePoint | None] = []
    for tier in _TIERS:
        amount = row[f"amount_{tier}"]
        points.append(
            None
            if amount is None
            else PricePoint(
                amount=amount,
                fee=row[f"fee_{tier}"],
                fx_rate=row[f"fx_rate_{tier}"],
                fx_margin_pct=row[f"fx_margin_{tier}_pct"],
                total_cost_pct=row[f"total_cost_{tier}_pct"],
            )
        )
    return ServicePrice(
        dataset=Dataset(row["dataset"]),
        period=Quarter.parse(row["period"]),
        source_country=row["source_country"],
        destination_country=row["destination_country"],
        firm=row["firm"],
        firm_type=row["firm_type"],
        payment_instrument=row["payment_instrument"],
        pickup_method=row["pickup_method"],
        speed=row["speed"],
        send_currency=row["send_currency"],
        receive_currency=row["receive_currency"],
        at_200=points[0],
        at_500=points[1],
        interbank_rate=row["interbank_rate"],
        fee_fixed=row["fee_fixed"],
        fee_percent=row["fee_percent"],
        fx_margin_pct=row["fx_margin_pct"],
        transparent=bool(row["transparent"]),
        observed_on=row["observed_on"],
        basis=Basis(row["basis"]),
        source=row["source"],
    )


def _quarter_values(row: CorridorQuarter, import_id: int) -> dict[str, Any]:
    return {
        "import_id": import_id,
        "dataset": row.dataset.value,
        "period": row.period.label,
        "source_country": row.source_country,
        "destination_country": row.destination_country,
        "avg_cost_200_pct": row.avg_cost_200_pct,
        "avg_cost_500_pct": row.avg_cost_500_pct,
        "avg_fx_margin_200_pct": row.avg_fx_margin_200_pct,
        "avg_fx_margin_500_pct": row.avg_fx_margin_500_pct,
        "smart_pct": row.smart_pct,
        "services": row.services,
        "services_surveyed": row.services_surveyed,
        "basis": row.basis.value,
    }


def _quarter_of(row: RowMapping) -> CorridorQuarter:
    return CorridorQuarter(
        dataset=Dataset(row["dataset"]),
        period=Quarter.parse(row["period"]),
        source_country=row["source_country"],
        destination_country=row["destination_country"],
        avg_cost_200_pct=row["avg_cost_200_pct"],
        avg_cost_500_pct=row["avg_cost_500_pct"],
        avg_fx_margin_200_pct=row["avg_fx_margin_200_pct"],
        avg_fx_margin_500_pct=row["avg_fx_margin_500_pct"],
        smart_pct=row["smart_pct"],
        services=row["services"],
        services_surveyed=row["services_surveyed"],
        basis=Basis(row["basis"]),
    )


class MarketStore:
    """Reads and writes the market tables on the caller's connection (the caller owns the transaction)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def find_import(self, kind: str, sha256: str) -> int | None:
        row = (await self.connection.execute(_find_import, {"dataset": kind, "sha256": sha256})).first()
        return None if row is None else int(row.id)

    async def add_import(self, kind: str, file_name: str, sha256: str, now: datetime) -> int:
        result = await self.connection.execute(
            _insert_import,
            {
                "dataset": kind,
                "file_name": file_name[:255],
                "sha256": sha256,
                "rows": 0,
                "skipped": 0,
                "imported_at": now,
            },
        )
        return int(result.scalar_one())

    async def finish_import(self, import_id: int, rows: int, skipped: int) -> None:
        await self.connection.execute(
            market_imports.update().where(market_imports.c.id == import_id).values(rows=rows, skipped=skipped)
        )

    async def add_services(self, import_id: int, services: Sequence[ServicePrice]) -> None:
        if services:
            await self.connection.execute(_insert_services, [_service_values(s, import_id) for s in services])

    async def add_quarters(self, import_id: int, rows: Sequence[CorridorQuarter]) -> None:
        if rows:
            await self.connection.execute(_insert_quarters, [_quarter_values(row, import_id) for row in rows])

    async def drop_services(
        self, dataset: Dataset, *, keep_import: int, periods: Iterable[Quarter] | None
    ) -> None:
        """Delete services of ``dataset`` from other imports (in ``periods`` only, when given)."""
        condition = and_(service_prices.c.dataset == dataset.value, service_prices.c.import_id != keep_import)
        if periods is not None:
            condition = and_(condition, service_prices.c.period.in_([period.label for period in periods]))
        await self.connection.execute(delete(service_prices).where(condition))

    async def drop_quarters(self, dataset: Dataset, periods: Iterable[Quarter] | None = None) -> None:
        condition = corridor_quarters.c.dataset == dataset.value
        if periods is not None:
            condition = and_(condition, corridor_quarters.c.period.in_([period.label for period in periods]))
        await self.connection.execute(delete(corridor_quarters).where(condition))

    async def stream_services(
        self, dataset: Dataset, periods: Iterable[Quarter] | None = None
    ) -> AsyncIterator[ServicePrice]:
        """Services of ``dataset`` ordered by quarter and corridor, streamed from the database."""
        statement = select(service_prices).where(service_prices.c.dataset == dataset.value)
        if periods is not None:
            statement = statement.where(service_prices.c.period.in_([period.label for period in periods]))
        statement = statement.order_by(
            service_prices.c.period,
            service_prices.c.source_country,
            service_prices.c.destination_country,
            service_prices.c.id,
        )
        result = await self.connection.stream(statement.execution_options(yield_per=2000))
        async for row in result.mappings():
            yield _service_of(row)

    async def replace_flows(self, import_id: int, flows: Sequence[BilateralFlow]) -> None:
        for year in {flow.year for flow in flows}:
            await self.connection.execute(_delete_flows_of_year, {"year": year})
        if flows:
            await self.connection.execute(
                _insert_flows,
                [
                    {
                        "year": flow.year,
                        "source_country": flow.source_country,
                        "destination_country": flow.destination_country,
                        "import_id": import_id,
                        "usd_millions": flow.usd_millions,
                    }
                    for flow in flows
                ],
            )

    async def corridor_quarters(self, source: str, destination: str) -> list[CorridorQuarter]:
        """Every figure of a corridor, all datasets, oldest quarter first."""
        rows = await self.connection.execute(
            _quarters_of_corridor, {"source": source, "destination": destination}
        )
        return [_quarter_of(row) for row in rows.mappings()]

    async def quarters_in(self, period: Quarter) -> list[CorridorQuarter]:
        """Every corridor's figures in one quarter, all datasets."""
        rows = await self.connection.execute(_quarters_in_period, {"period": period.label})
        return [_quarter_of(row) for row in rows.mappings()]

    async def periods(self, *, with_real_prices: bool = False) -> list[Quarter]:
        """Quarters with figures (only those with survey or published prices, if asked)."""
        rows = await self.connection.execute(_surveyed_periods if with_real_prices else _all_periods)
        return [Quarter.parse(row[0]) for row in rows]

    async def corridor_summaries(self) -> list[RowMapping]:
        return list((await self.connection.execute(_corridor_summary)).mappings())

    async def latest_services(self, source: str, destination: str, dataset: Dataset) -> list[ServicePrice]:
        """The services of the latest quarter ``dataset`` has for a corridor."""
        params = {"source": source, "destination": destination, "dataset": dataset.value}
        period = (await self.connection.execute(_latest_service_period, params)).scalar()
        if period is None:
            return []
        rows = await self.connection.execute(_services_in_period, {**params, "period": period})
        return [_service_of(row) for row in rows.mappings()]

    async def services_of_corridor(self, source: str, destination: str) -> list[ServicePrice]:
        rows = await self.connection.execute(
            _services_of_corridor, {"source": source, "destination": destination}
        )
        return [_service_of(row) for row in rows.mappings()]

    async def flow_weights(
        self, year: int | None = None
    ) -> tuple[int | None, dict[tuple[str, str], Decimal]]:
        """Bilateral flows of ``year`` (default: the latest imported) by (source, destination)."""
        if year is None:
            year = (await self.connection.execute(_flows_latest_year)).scalar()
        if year is None:
            return None, {}
        rows = await self.connection.execute(_flows_of_year, {"year": year})
        return year, {(row.source_country, row.destination_country): row.usd_millions for row in rows}
