"""``/policy/v1``: corridors, time series, indicator tables and CSV export, for the policy_analyst role."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.params import Parameter

from backend.policy.schemas import (
    CorridorPage,
    CorridorSeriesOut,
    IndicatorTableOut,
    corridor_page,
    indicator_table_out,
    series_out,
)
from backend.policy.service import PolicyService, parse_corridor, parse_period
from backend.problems import Problem
from backend.staff.guards import require_roles

__all__ = ["POLICY_ROLES", "PolicyApiController", "indicators_csv"]

POLICY_ROLES = ("policy_analyst",)
"""Roles admitted to the policy API and dashboard (admin always passes)."""

_CSV_COLUMNS = (
    "period", "corridor", "avgCost200Pct", "avgCost500Pct", "avgFxMargin200Pct", "smartPct", "services",
    "servicesSurveyed", "aboveSdgCeiling", "dataset", "basis", "pilotAvgCostPct", "pilotTransfers",
)  # fmt: skip


def indicators_csv(table: IndicatorTableOut) -> str:
    """The indicator table as CSV, one corridor per line, with the source of every figure."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for item in table.items:
        data = item.model_dump(by_alias=True)
        writer.writerow([table.period if name == "period" else data.get(name) for name in _CSV_COLUMNS])
    return out.getvalue()


class PolicyApiController(Controller):
    path = "/policy/v1"
    tags = ["policy"]
    guards = [require_roles(*POLICY_ROLES)]

    @get("/periods", summary="Quarters with market data")
    async def periods(self, state: State) -> dict[str, list[str]]:
        return {"items": [period.label for period in await PolicyService(state).periods()]}

    @get("/corridors", summary="Corridors with market data, their span and latest figure")
    async def corridors(
        self,
        state: State,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        cursor: Annotated[str | None, Parameter(max_length=6)] = None,
    ) -> CorridorPage:
        return corridor_page(await PolicyService(state).corridors(), cursor, limit)

    @get("/corridors/{corridor:str}/series", summary="A corridor's cost over time: market and pilot")
    async def series(self, state: State, corridor: str) -> CorridorSeriesOut:
        source, destination = parse_corridor(corridor)
        series = await PolicyService(state).series(source, destination)
        if not series.market and not series.pilot:
            raise Problem(
                404, "corridor_not_found", f"No market or pilot data for corridor {source}{destination}."
            )
        return series_out(series)

    @get("/indicators", summary="Every corridor in one quarter, SDG 10.c status and savings to migrants")
    async def indicators(
        self,
        state: State,
        period: Annotated[str | None, Parameter(description="e.g. 2021_4Q; default the latest")] = None,
        weighted: Annotated[bool, Parameter(description="weight the average by bilateral flows")] = False,
    ) -> IndicatorTableOut:
        return indicator_table_out(await PolicyService(state).indicators(parse_period(period), weighted))

    @get("/indicators.csv", summary="The indicator table as CSV", media_type="text/csv")
    async def indicators_export(
        self, state: State, period: str | None = None, weighted: bool = False
    ) -> Response[str]:
        table = indicator_table_out(await PolicyService(state).indicators(parse_period(period), weighted))
        name = f"korpu-indicators-{table.period or 'none'}.csv"
        return Response(
            indicators_csv(table),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
