"""Our live price for /v1/compare, from the quote engine (``backend.quotes.QuoteService``).

The comparison prices the amount exactly as a quote would, at the rates in force, without storing
a quote. When no payout method is asked for, the corridor's cheapest active method for that
amount is shown, since that is what a migrant comparing providers would pick.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.policy.our_price import CorridorNotServed
from backend.quotes import QuoteService
from fx.catalogue import Corridor
from fx.engine import PriceBreakdown
from fx.errors import FxError, RateStale, RateUnavailable
from fx.market.compare import OurPrice
from ledger.money import Money

__all__ = ["QuoteEngineOurPrice"]

_USD_PROBE = Decimal(10_000)


class QuoteEngineOurPrice:
    """:class:`~backend.policy.our_price.OurPriceSource` over the quote engine."""

    def __init__(self, service: QuoteService) -> None:
        self._service = service

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
        corridor = await self._corridor(send_country, receive_country, send_amount.currency)
        methods = [option.method for option in corridor.active_payouts()]
        if payout_method is not None:
            methods = [method for method in methods if method == payout_method]
        priced: list[PriceBreakdown] = []
        refusal: FxError | None = None
        for method in methods:
            try:
                priced.append(await self._service.price(corridor.code, method, send_amount=send_amount))
            except FxError as exc:
                refusal = exc
        if not priced and isinstance(refusal, RateStale | RateUnavailable):
            raise refusal  # a rate problem is ours to say, not "we do not serve this corridor"
        if not priced:
            raise CorridorNotServed(
                f"we do not price {send_amount} from {send_country} to {receive_country}"
                + (f" by {payout_method}" if payout_method else "")
            )
        best = max(priced, key=lambda breakdown: breakdown.receive_amount.amount)
        return OurPrice(
            send_amount=best.send_amount,
            fee=best.fee,
            receive_amount=best.receive_amount,
            mid_rate=best.mid_rate,
            rate=best.rate,
            fx_margin_pct=best.fx_margin_pct,
            total_cost_pct=best.total_cost_pct,
            delivery=_delivery_text(best),
            rate_as_of=best.rate_as_of,
            usd_per_send_unit=await self._usd_per_unit(send_amount.currency),
        )

    async def _corridor(self, send_country: str, receive_country: str, send_currency: str) -> Corridor:
        for corridor in await self._service.corridors():
            if (corridor.send_country, corridor.receive_country, corridor.send_currency) == (
                send_country,
                receive_country,
                send_currency,
            ):
                return corridor
        raise CorridorNotServed(f"we do not send {send_currency} from {send_country} to {receive_country}")

    async def _usd_per_unit(self, currency: str) -> Decimal | None:
        if currency == "USD":
            return Decimal(1)
        try:
            convert = await self._service.converter()
            return convert(Money(_USD_PROBE, currency), "USD").amount / _USD_PROBE
        except (FxError, ValueError):
            return None


def _delivery_text(breakdown: PriceBreakdown) -> str:
    minutes = breakdown.delivery.max_minutes
    if minutes <= 60:
        return "Less than one hour"
    if minutes <= 24 * 60:
        return "Same day"
    return f"{-(-minutes // (24 * 60))} days"
