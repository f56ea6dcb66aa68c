"""Request and response bodies of the corridor and quote endpoints (JSON in camelCase)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from fx.catalogue import Corridor, PayoutOption
from fx.pricing import Price
from fx.quotes import Quote
from fx.rounding import decimal_text
from ledger.money import Money

__all__ = [
    "CorridorOut",
    "CorridorPage",
    "DeliveryOut",
    "MoneyIn",
    "MoneyOut",
    "PayoutOut",
    "PriceOut",
    "QuoteOut",
    "QuoteRequest",
    "TierOut",
]

AmountText = Annotated[str, msgspec.Meta(pattern=r"^-?[0-9]{1,15}(\.[0-9]{1,6})?$", examples=["200.00"])]
CurrencyCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", examples=["USD"])]


class MoneyIn(msgspec.Struct, forbid_unknown_fields=True):
    """An amount as a decimal string with its ISO 4217 currency."""

    amount: AmountText
    currency: CurrencyCode

    def to_money(self) -> Money:
        return Money(Decimal(self.amount), self.currency)


class MoneyOut(msgspec.Struct):
    """An amount as a decimal string with its ISO 4217 currency."""

    amount: str
    currency: str

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls(amount=str(money.amount), currency=money.currency)


class QuoteRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """Ask for a quote: a corridor, a payout method, and exactly one of the two amounts."""

    corridor: Annotated[str, msgspec.Meta(max_length=32, examples=["RU-AZ-RUB-AZN"])]
    payout_method: Annotated[str, msgspec.Meta(max_length=16, examples=["card"])]
    send_amount: MoneyIn | None = None
    receive_amount: MoneyIn | None = None


class DeliveryOut(msgspec.Struct, rename="camel"):
    """Usual delivery time after the transfer is accepted, in minutes."""

    min_minutes: int
    max_minutes: int


class QuoteOut(msgspec.Struct, rename="camel"):
    """A guaranteed quote: fee and rate shown apart, and the total cost by the World Bank RPW method."""

    id: str
    corridor: str
    payout_method: str
    fixed: Literal["send", "receive"]
    send_amount: MoneyOut
    fee: MoneyOut
    total_to_pay: MoneyOut
    receive_amount: MoneyOut
    mid_rate: str
    rate: str
    fx_margin_pct: str
    total_cost_pct: str
    fx_margin: MoneyOut
    total_cost: MoneyOut
    rate_source: str
    rate_as_of: datetime
    created_at: datetime
    expires_at: datetime
    delivery_estimate: DeliveryOut
    status: Literal["open", "used", "expired"]

    @classmethod
    def of(cls, quote: Quote, now: datetime) -> QuoteOut:
        p = quote.pricing
        return cls(
            id=quote.id,
            corridor=p.corridor.code,
            payout_method=p.payout_method.value,
            fixed=p.fixed_side.value,
            send_amount=MoneyOut.of(p.send_amount),
            fee=MoneyOut.of(p.fee),
            total_to_pay=MoneyOut.of(p.total_to_pay),
            receive_amount=MoneyOut.of(p.receive_amount),
            mid_rate=decimal_text(p.mid_rate),
            rate=decimal_text(p.rate),
            fx_margin_pct=decimal_text(p.fx_margin_pct),
            total_cost_pct=decimal_text(p.total_cost_pct),
            fx_margin=MoneyOut.of(p.fx_margin),
            total_cost=MoneyOut.of(p.total_cost),
            rate_source=p.rate_source,
            rate_as_of=p.rate_as_of,
            created_at=quote.created_at,
            expires_at=quote.expires_at,
            delivery_estimate=DeliveryOut(p.delivery.min_minutes, p.delivery.max_minutes),
            status=quote.status(now),
        )


class TierOut(msgspec.Struct, rename="camel"):
    """Fee and margin for send amounts from ``fromAmount`` up to the next tier."""

    from_amount: MoneyOut
    fixed_fee: MoneyOut
    percent_fee: str
    fx_margin_bps: int


class PriceOut(msgspec.Struct, rename="camel"):
    """The price in force: fee = clamp(fixedFee + percentFee% of the amount, feeMin, feeMax)."""

    effective_from: datetime
    fee_min: MoneyOut
    fee_max: MoneyOut | None
    tiers: list[TierOut]

    @classmethod
    def of(cls, price: Price) -> PriceOut:
        ccy = price.currency
        return cls(
            effective_from=price.effective_from,
            fee_min=MoneyOut.of(Money(price.fee_min, ccy)),
            fee_max=None if price.fee_max is None else MoneyOut.of(Money(price.fee_max, ccy)),
            tiers=[
                TierOut(
                    from_amount=MoneyOut.of(Money(t.from_amount, ccy)),
                    fixed_fee=MoneyOut.of(Money(t.fixed_fee, ccy)),
                    percent_fee=decimal_text(t.percent_fee),
                    fx_margin_bps=t.fx_margin_bps,
                )
                for t in price.tiers
            ],
        )


class PayoutOut(msgspec.Struct, rename="camel"):
    """One way the recipient can be paid, its send limits, delivery time and current price."""

    method: str
    min_send: MoneyOut
    max_send: MoneyOut
    delivery_estimate: DeliveryOut
    price: PriceOut | None

    @classmethod
    def of(cls, option: PayoutOption, now: datetime) -> PayoutOut:
        current = Price.in_force(option.prices, now)
        return cls(
            method=option.method.value,
            min_send=MoneyOut.of(option.limits.minimum),
            max_send=MoneyOut.of(option.limits.maximum),
            delivery_estimate=DeliveryOut(option.delivery.min_minutes, option.delivery.max_minutes),
            price=None if current is None else PriceOut.of(current),
        )


class CorridorOut(msgspec.Struct, rename="camel"):
    """A sending country and currency to a receiving country and currency."""

    code: str
    send_country: str
    send_currency: str
    receive_country: str
    receive_currency: str
    max_rate_age_seconds: int
    payout_methods: list[PayoutOut]

    @classmethod
    def of(cls, corridor: Corridor, now: datetime) -> CorridorOut:
        return cls(
            code=corridor.code,
            send_country=corridor.send_country,
            send_currency=corridor.send_currency,
            receive_country=corridor.receive_country,
            receive_currency=corridor.receive_currency,
            max_rate_age_seconds=int(corridor.max_rate_age.total_seconds()),
            payout_methods=[PayoutOut.of(o, now) for o in corridor.active_payouts()],
        )


class CorridorPage(msgspec.Struct, rename="camel"):
    """A page of corridors; pass ``nextCursor`` as ``cursor`` for the next one."""

    items: list[CorridorOut]
    next_cursor: str | None
