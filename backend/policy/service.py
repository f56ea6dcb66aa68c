"""The policy capability's service layer: one place that opens connections for the HTTP and CLI faces.

It hands ``fx.market`` a connection and the pilot's cost source (``state.pilot_costs`` when the
transfers capability has set one, otherwise :class:`~fx.market.pilot.NoPilotCosts`).
"""

from __future__ import annotations

import re
from typing import Any

from backend.problems import Problem
from fx.market.analytics import CorridorOverview, CorridorSeries, IndicatorTable, MarketAnalytics
from fx.market.countries import UnknownCountry, alpha3
from fx.market.periods import InvalidPeriod, Quarter
from fx.market.pilot import NoPilotCosts, PilotCostSource

__all__ = ["PolicyService", "parse_corridor", "parse_period", "pilot_source"]

_CORRIDOR = re.compile(r"^[A-Za-z]{6}$")


def pilot_source(state: Any) -> PilotCostSource:
    """The pilot's completed-transfer costs, as wired by the app (none until transfers provide them)."""
    source: PilotCostSource | None = state.get("pilot_costs")
    return source if source is not None else NoPilotCosts()


def parse_corridor(code: str) -> tuple[str, str]:
    """``RUSAZE`` (RPW's spelling, ISO alpha-3 twice) → (``RUS``, ``AZE``); a 422 problem otherwise."""
    if not _CORRIDOR.match(code):
        raise Problem(422, "invalid_corridor", "A corridor is two ISO alpha-3 codes, e.g. RUSAZE.")
    try:
        return alpha3(code[:3]), alpha3(code[3:])
    except UnknownCountry as exc:
        raise Problem(422, "invalid_corridor", str(exc)) from None


def parse_period(text: str | None) -> Quarter | None:
    if not text:
        return None
    try:
        return Quarter.parse(text)
    except InvalidPeriod as exc:
        raise Problem(422, exc.code, str(exc)) from None


class PolicyService:
    """Reads for the policy API and dashboard, each in its own read-only connection."""

    def __init__(self, state: Any) -> None:
        self.engine = state.engine
        self.pilot = pilot_source(state)

    async def periods(self) -> list[Quarter]:
        async with self.engine.connect() as connection:
            return await MarketAnalytics(connection, self.pilot).periods()

    async def corridors(self) -> list[CorridorOverview]:
        async with self.engine.connect() as connection:
            return await MarketAnalytics(connection, self.pilot).corridors()

    async def series(self, source: str, destination: str) -> CorridorSeries:
        async with self.engine.connect() as connection:
            return await MarketAnalytics(connection, self.pilot).corridor_series(source, destination)

    async def indicators(self, period: Quarter | None, weighted: bool) -> IndicatorTable:
        async with self.engine.connect() as connection:
            return await MarketAnalytics(connection, self.pilot).indicator_table(period, weighted=weighted)
