"""Where /v1/compare gets *our* live price: a small protocol, wired to the quote engine in one place.

The quote engine (``fx``, issue 4) is being built in parallel; until the app sets
``state.our_price_source`` to an adapter over it, :class:`UnwiredOurPrice` answers 503
``pricing_unavailable``. The adapter is small: call ``fx``'s pure ``price(corridor, payout_method,
send_amount, rates, now)`` and copy its ``PriceBreakdown`` into :class:`~fx.market.compare.OurPrice`
(send_amount, fee, receive_amount, mid_rate, rate, fx_margin_pct, total_cost_pct, delivery text,
rate_as_of, and USD per sending unit from the rate store).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from fx.market.compare import OurPrice
from ledger.money import Money

__all__ = ["CorridorNotServed", "OurPriceSource", "PricingUnavailable", "UnwiredOurPrice", "our_price_source"]


class CorridorNotServed(Exception):
    """We do not send money in this corridor (or not with this payout method)."""

    code = "corridor_not_served"
    status = 404


class PricingUnavailable(Exception):
    """Live pricing is not available (not wired, or no current rate)."""

    code = "pricing_unavailable"
    status = 503


class OurPriceSource(Protocol):
    """Our live price for an amount in a corridor."""

    async def our_price(
        self,
        connection: AsyncConnection,
        *,
        send_country: str,
        receive_country: str,
        send_amount: Money,
        payout_method: str | None,
        now: datetime,
    ) -> OurPrice:
        """Price ``send_amount`` (countries ISO alpha-2); raise :class:`CorridorNotServed` if we can't."""
        ...


class UnwiredOurPrice:
    """The default until the quote engine is wired in: says so."""

    async def our_price(
        self,
        connection: AsyncConnection,
        *,
        send_country: str,
        receive_country: str,
        send_amount: Money,
        payout_method: str | None,
        now: datetime,
    ) -> OurPrice:
        raise PricingUnavailable("Live pricing is not connected yet.")


def our_price_source(state: Any) -> OurPriceSource:
    """The app's source of our live price (``state.our_price_source``), or :class:`UnwiredOurPrice`."""
    source: OurPriceSource | None = state.get("our_price_source")
    return source if source is not None else UnwiredOurPrice()
