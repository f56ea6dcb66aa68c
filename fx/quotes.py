"""Guaranteed quotes: a priced transfer stored with its rate, honoured until it expires, used once.

A :class:`Quote` is a :class:`fx.engine.PriceBreakdown` with an id, a creation time and an expiry
(the guaranteed-rate window). The transfer that a quote funds calls :func:`consume_quote` inside its
own database transaction: one conditional UPDATE marks the quote used only if it is unused and
unexpired, so two transfers racing for one quote cannot both win.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import DateTime, String, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from fx.catalogue import Corridor, CorridorRef, DeliveryEstimate, PayoutMethod, SendLimits
from fx.engine import FixedSide, PriceBreakdown, price
from fx.errors import QuoteAlreadyUsed, QuoteExpired, QuoteNotFound
from fx.rates import RateBook
from fx.rounding import decimal_text
from fx.tables import UtcDateTime, quotes
from ledger.money import Money
from sqldirect import direct

__all__ = [
    "Quote",
    "QuoteStatus",
    "consume_quote",
    "consume_quotes",
    "create_quote",
    "get_quote",
    "new_quote",
    "save_quote",
]

QuoteStatus = Literal["open", "used", "expired"]


@dataclass(frozen=True, slots=True)
class Quote:
    """A stored, guaranteed price for one transfer."""

    id: str
    """Opaque id (a UUID)."""
    pricing: PriceBreakdown
    """What it costs and delivers, and why."""
    created_at: datetime
    """When it was made."""
    expires_at: datetime
    """End of the guaranteed-rate window."""
    customer_id: str | None = None
    """The customer it was made for, when known (anonymous quotes have none)."""
    used_at: datetime | None = None
    """When a transfer consumed it."""

    @property
    def corridor(self) -> CorridorRef:
        return self.pricing.corridor

    @property
    def payout_method(self) -> PayoutMethod:
        return self.pricing.payout_method

    @property
    def send_amount(self) -> Money:
        return self.pricing.send_amount

    @property
    def fee(self) -> Money:
        return self.pricing.fee

    @property
    def total_to_pay(self) -> Money:
        return self.pricing.total_to_pay

    @property
    def receive_amount(self) -> Money:
        return self.pricing.receive_amount

    @property
    def mid_rate(self) -> Decimal:
        return self.pricing.mid_rate

    @property
    def rate(self) -> Decimal:
        return self.pricing.rate

    @property
    def fx_margin(self) -> Money:
        """Revenue of the FX margin in the receive currency: mid-rate receive amount less receive amount."""
        return self.pricing.fx_margin

    def status(self, now: datetime) -> QuoteStatus:
        if self.used_at is not None:
            return "used"
        return "open" if now < self.expires_at else "expired"


def new_quote(
    pricing: PriceBreakdown, now: datetime, ttl: timedelta, customer_id: str | None = None
) -> Quote:
    """A fresh quote for ``pricing`` valid for ``ttl`` from ``now`` (not stored yet)."""
    if ttl <= timedelta(0):
        raise ValueError("a quote's validity must be positive")
    return Quote(
        id=str(uuid.uuid4()),
        pricing=pricing,
        created_at=now,
        expires_at=now + ttl,
        customer_id=customer_id,
    )


def _row(quote: Quote) -> dict[str, Any]:
    p = quote.pricing
    return {
        "id": quote.id,
        "corridor_code": p.corridor.code,
        "payout_method": p.payout_method.value,
        "send_country": p.corridor.send_country,
        "send_currency": p.corridor.send_currency,
        "receive_country": p.corridor.receive_country,
        "receive_currency": p.corridor.receive_currency,
        "fixed_side": p.fixed_side.value,
        "send_minor": p.send_amount.minor_units,
        "fee_minor": p.fee.minor_units,
        "receive_minor": p.receive_amount.minor_units,
        "fx_margin_minor": p.fx_margin.minor_units,
        "total_cost_minor": p.total_cost.minor_units,
        "mid_rate": decimal_text(p.mid_rate),
        "rate": decimal_text(p.rate),
        "fx_margin_bps": p.fx_margin_bps,
        "fx_margin_pct": decimal_text(p.fx_margin_pct),
        "total_cost_pct": decimal_text(p.total_cost_pct),
        "rate_source": p.rate_source,
        "rate_as_of": p.rate_as_of,
        "bulletin_id": p.bulletin_id,
        "price_id": p.price_id,
        "delivery_min_minutes": p.delivery.min_minutes,
        "delivery_max_minutes": p.delivery.max_minutes,
        "customer_id": quote.customer_id,
        "created_at": quote.created_at,
        "expires_at": quote.expires_at,
        "used_at": quote.used_at,
    }


def _from_row(row: RowMapping) -> Quote:
    send_currency, receive_currency = row["send_currency"], row["receive_currency"]
    pricing = PriceBreakdown(
        corridor=CorridorRef(
            code=row["corridor_code"],
            send_country=row["send_country"],
            send_currency=send_currency,
            receive_country=row["receive_country"],
            receive_currency=receive_currency,
        ),
        payout_method=PayoutMethod(row["payout_method"]),
        fixed_side=FixedSide(row["fixed_side"]),
        send_amount=Money.from_minor(row["send_minor"], send_currency),
        fee=Money.from_minor(row["fee_minor"], send_currency),
        receive_amount=Money.from_minor(row["receive_minor"], receive_currency),
        mid_rate=Decimal(row["mid_rate"]),
        rate=Decimal(row["rate"]),
        fx_margin_bps=row["fx_margin_bps"],
        fx_margin_pct=Decimal(row["fx_margin_pct"]),
        total_cost_pct=Decimal(row["total_cost_pct"]),
        fx_margin=Money.from_minor(row["fx_margin_minor"], receive_currency),
        total_cost=Money.from_minor(row["total_cost_minor"], send_currency),
        rate_source=row["rate_source"],
        rate_as_of=row["rate_as_of"],
        bulletin_id=row["bulletin_id"],
        price_id=row["price_id"],
        delivery=DeliveryEstimate(row["delivery_min_minutes"], row["delivery_max_minutes"]),
    )
    return Quote(
        id=row["id"],
        pricing=pricing,
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        customer_id=row["customer_id"],
        used_at=row["used_at"],
    )


_INSERT = quotes.insert()
_SELECT = select(quotes).where(quotes.c.id == bindparam("quote_id"))
_CONSUME = direct(
    quotes.update()
    .where(
        quotes.c.id == bindparam("quote_id"),
        quotes.c.used_at.is_(None),
        quotes.c.expires_at > bindparam("consumed_at", type_=UtcDateTime()),
    )
    .values(used_at=bindparam("consumed_at", type_=UtcDateTime()))
    .returning(*quotes.c)
)

_consumptions = (
    func.unnest(
        bindparam("quote_ids", type_=ARRAY(String)),
        bindparam("consumed_ats", type_=ARRAY(DateTime(timezone=True))),
    )
    .table_valued("id", "consumed_at")
    .render_derived(name="wanted")
)
_CONSUME_MANY = direct(
    quotes.update()
    .where(
        quotes.c.id == _consumptions.c.id,
        quotes.c.used_at.is_(None),
        quotes.c.expires_at > _consumptions.c.consumed_at,
    )
    .values(used_at=_consumptions.c.consumed_at)
    .returning(*quotes.c)
)


async def save_quote(connection: AsyncConnection, quote: Quote) -> None:
    await connection.execute(_INSERT, _row(quote))


async def get_quote(connection: AsyncConnection, quote_id: str) -> Quote:
    """The stored quote ``quote_id``; raises QuoteNotFound."""
    row = (await connection.execute(_SELECT, {"quote_id": quote_id})).mappings().first()
    if row is None:
        raise QuoteNotFound(f"no quote {quote_id}")
    return _from_row(row)


async def consume_quote(connection: AsyncConnection, quote_id: str, now: datetime) -> Quote:
    """Mark ``quote_id`` used by a transfer, atomically; the used quote is returned.

    Raises QuoteNotFound (404), QuoteAlreadyUsed (409) or QuoteExpired (409). Call it inside the
    transaction that creates the transfer, so a rolled-back transfer leaves the quote unused.
    """
    row = await _CONSUME.first(connection, {"quote_id": quote_id, "consumed_at": now})
    if row is not None:
        return _from_row(row._mapping)
    existing = await get_quote(connection, quote_id)
    if existing.used_at is not None:
        raise QuoteAlreadyUsed(f"quote {quote_id} has already funded a transfer; ask for a new quote")
    raise QuoteExpired(
        f"quote {quote_id} expired at {existing.expires_at.isoformat()}; ask for a new quote",
        expiresAt=existing.expires_at.isoformat(),
    )


async def consume_quotes(
    connection: AsyncConnection, wanted: Sequence[tuple[str, datetime]]
) -> dict[str, Quote]:
    """Consume many quotes in one statement (PostgreSQL), each ``(quote id, time of use)``: the
    quotes that were open, by id. A quote left out (unknown, used or expired) consumes nothing:
    :func:`consume_quote` then says why. Same transaction rule as :func:`consume_quote`."""
    if not wanted:
        return {}
    rows = await _CONSUME_MANY.rows(
        connection,
        {"quote_ids": [quote_id for quote_id, _ in wanted], "consumed_ats": [moment for _, moment in wanted]},
    )
    return {row.id: _from_row(row._mapping) for row in rows}


async def create_quote(
    connection: AsyncConnection,
    corridor: Corridor,
    payout_method: PayoutMethod | str,
    *,
    send_amount: Money | None = None,
    receive_amount: Money | None = None,
    rates: RateBook,
    now: datetime,
    ttl: timedelta,
    customer_id: str | None = None,
    limits: SendLimits | None = None,
) -> Quote:
    """Price and store a quote (see :func:`fx.engine.price` for the rules and the errors)."""
    pricing = price(
        corridor,
        payout_method,
        send_amount=send_amount,
        receive_amount=receive_amount,
        rates=rates,
        now=now,
        limits=limits,
    )
    quote = new_quote(pricing, now, ttl, customer_id)
    await save_quote(connection, quote)
    return quote
