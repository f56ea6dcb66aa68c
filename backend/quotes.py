"""The quote service: corridors and guaranteed quotes for the HTTP API, over the fx library.

It keeps the corridor catalogue and the recent rate bulletins in memory for a few seconds (so a
quote costs one INSERT), asks an optional hook for the customer's tier limits, and stores each
quote in its own transaction. A new bulletin or price is seen within ``cache_ttl``; staleness is
always judged against the moment of the quote, never against the cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db import reading
from fx.catalogue import Corridor, PayoutMethod, PayoutOption, SendLimits
from fx.catalogue_store import load_catalogue
from fx.convert import Converter, mid_converter
from fx.engine import PriceBreakdown, price
from fx.errors import UnknownCorridor
from fx.quotes import Quote, create_quote, get_quote
from fx.rate_store import load_rate_book
from fx.rates import RateBook
from ledger.money import Money

__all__ = ["QuoteService", "TierLimits", "quote_service"]

TierLimits = Callable[[AsyncConnection, str, Corridor, PayoutOption], Awaitable[SendLimits | None]]
"""Hook: the send limits of this customer's KYC tier for a corridor and payout method (None: no extra
limit). Called only for quotes made for a known customer; the identity capability plugs it in."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Snapshot:
    catalogue: Mapping[str, Corridor]
    rates: RateBook
    loaded_at: datetime


class QuoteService:
    """Corridors and quotes, with the catalogue and rates cached briefly."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        quote_ttl: timedelta,
        cache_ttl: timedelta = timedelta(seconds=30),
        tier_limits: TierLimits | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._engine = engine
        self._quote_ttl = quote_ttl
        self._cache_ttl = cache_ttl
        self._tier_limits = tier_limits
        self._clock = clock
        self._snapshot: _Snapshot | None = None
        self._lock = asyncio.Lock()

    async def _current(self, now: datetime) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is not None and now - snapshot.loaded_at < self._cache_ttl:
            return snapshot
        async with self._lock:
            snapshot = self._snapshot
            if snapshot is None or now - snapshot.loaded_at >= self._cache_ttl:
                async with self._engine.connect() as connection:
                    catalogue = await load_catalogue(connection)
                    rates = await load_rate_book(connection)
                snapshot = self._snapshot = _Snapshot(catalogue, rates, now)
            return snapshot

    def invalidate(self) -> None:
        """Forget the cached catalogue and rates (after a refresh or a price change in this process)."""
        self._snapshot = None

    async def corridors(self) -> list[Corridor]:
        """Active corridors with at least one active payout option, by code."""
        snapshot = await self._current(self._clock())
        return [c for code, c in sorted(snapshot.catalogue.items()) if c.active and c.active_payouts()]

    async def corridor(self, code: str) -> Corridor:
        snapshot = await self._current(self._clock())
        corridor = snapshot.catalogue.get(code)
        if corridor is None or not corridor.active:
            raise UnknownCorridor(f"no corridor {code!r}; GET /v1/corridors lists them", corridor=code)
        return corridor

    async def quote(
        self,
        corridor_code: str,
        payout_method: PayoutMethod | str,
        *,
        send_amount: Money | None = None,
        receive_amount: Money | None = None,
        customer_id: str | None = None,
    ) -> Quote:
        """Price and store a quote guaranteed for the configured time; raises fx errors."""
        now = self._clock()
        snapshot = await self._current(now)
        corridor = await self.corridor(corridor_code)
        async with self._engine.begin() as connection:
            limits = None
            if customer_id is not None and self._tier_limits is not None:
                limits = await self._tier_limits(
                    connection, customer_id, corridor, corridor.payout(payout_method)
                )
            return await create_quote(
                connection,
                corridor,
                payout_method,
                send_amount=send_amount,
                receive_amount=receive_amount,
                rates=snapshot.rates,
                now=now,
                ttl=self._quote_ttl,
                customer_id=customer_id,
                limits=limits,
            )

    async def price(
        self,
        corridor_code: str,
        payout_method: PayoutMethod | str,
        *,
        send_amount: Money | None = None,
        receive_amount: Money | None = None,
        check_limits: bool = False,
    ) -> PriceBreakdown:
        """Price a hypothetical amount at the current rates, storing nothing (cost comparisons)."""
        now = self._clock()
        snapshot = await self._current(now)
        return price(
            await self.corridor(corridor_code),
            payout_method,
            send_amount=send_amount,
            receive_amount=receive_amount,
            rates=snapshot.rates,
            now=now,
            check_limits=check_limits,
        )

    async def converter(self) -> Converter:
        """Converts amounts at the mid rate in force now (compliance limits, thresholds)."""
        now = self._clock()
        return mid_converter((await self._current(now)).rates, now)

    async def get(self, quote_id: str) -> Quote:
        async with reading(self._engine) as connection:
            return await get_quote(connection, quote_id)

    def now(self) -> datetime:
        return self._clock()


def quote_service(state: State) -> QuoteService:
    """The application's QuoteService, made on first use from ``state.engine`` and ``state.settings``."""
    service: Any = state.get("quote_service")
    if service is None:
        service = QuoteService(state.engine, quote_ttl=timedelta(seconds=state.settings.quote_ttl_seconds))
        state["quote_service"] = service
    assert isinstance(service, QuoteService)
    return service
