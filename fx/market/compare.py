"""Our live price beside the market's, for one amount: the comparison a migrant sees before sending.

Each provider's price for the asked amount is *estimated* from what was surveyed, the way
certified comparison sites present it (fee, rate against mid, total cost, amount received,
speed, transparency, date of the data):

* a fee schedule (provider list): fee = fixed + percent x amount, margin as published;
* an RPW service priced at USD 200 and USD 500: the fee is the straight line through the two
  surveyed points (a fixed part plus a percentage, never below zero) and the margin is the
  surveyed one, linear between the two amounts and flat outside them.

The amount received is (amount - fee) x mid rate x (1 - margin), rounded down to the receiving
currency's minor unit, with *our* mid rate for everyone, so that only price differences show.
A service that does not disclose its rate gets no estimate of the amount received.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from fx.market.indicators import market_cost_at, mean
from fx.market.records import Basis, CorridorQuarter, ServicePrice
from ledger.money import Money

__all__ = [
    "CompareConfig",
    "Comparison",
    "MarketStatus",
    "OurPrice",
    "ProviderEstimate",
    "compare",
    "estimate",
]

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class CompareConfig:
    """How the comparison judges its data."""

    stale_after_days: int = 183
    """Market data older than this (from the end of its quarter, or its collection day) is stale."""


@dataclass(frozen=True, slots=True)
class OurPrice:
    """Our live price for the amount (from the quote engine)."""

    send_amount: Money
    """What the sender sends, before the fee."""
    fee: Money
    """Our fee, sending currency."""
    receive_amount: Money
    """What the recipient gets."""
    mid_rate: Decimal
    """Interbank mid rate, receiving currency per sending unit."""
    rate: Decimal
    """The rate we apply."""
    fx_margin_pct: Decimal
    """Our margin against mid, percent."""
    total_cost_pct: Decimal
    """Fee % plus margin %, the RPW definition."""
    delivery: str
    """Delivery estimate, e.g. ``Less than one hour``."""
    rate_as_of: datetime
    """When the mid rate was published."""
    usd_per_send_unit: Decimal | None = None
    """USD per unit of the sending currency at mid (to place the amount between USD 200 and 500)."""
    quote_id: str | None = None
    """The stored quote, when one was made."""


class MarketStatus(StrEnum):
    OK = "ok"
    """Recent market data."""
    STALE = "stale"
    """Market data exists but is older than :attr:`CompareConfig.stale_after_days`."""
    MISSING = "missing"
    """No market data for this corridor."""


@dataclass(frozen=True, slots=True)
class ProviderEstimate:
    """One row of the comparison."""

    provider: str
    """Provider's name (``Körpü`` for us)."""
    is_us: bool
    """True on our own row."""
    fee: Money
    """Fee for this amount, sending currency."""
    rate: Decimal | None
    """Rate applied, receiving per sending unit (``None`` when not disclosed)."""
    fx_margin_pct: Decimal | None
    """Margin against mid, percent (``None`` when not disclosed)."""
    total_cost_pct: Decimal | None
    """Fee % plus margin % (``None`` when the rate is not disclosed)."""
    receive_amount: Money | None
    """Estimated amount received (``None`` when the rate is not disclosed)."""
    speed: str
    """Delivery time as the source states it."""
    transparent: bool
    """Whether the provider discloses its rate."""
    data_date: date
    """Day the price describes."""
    stale: bool
    """True when :attr:`data_date` is older than the configured limit."""
    dataset: str
    """``live`` for us, else the market dataset."""
    basis: str
    """``live``, ``survey``, ``published`` or ``illustrative``."""
    source: str
    """Citation of the price."""
    payment_instrument: str = ""
    """How the sender pays."""
    pickup_method: str = ""
    """How the recipient is paid."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """Our price and the market's for one amount, best amount received first."""

    send_amount: Money
    """The amount compared."""
    rows: list[ProviderEstimate]
    """Sorted by amount received, highest first; undisclosed rates last."""
    market_status: MarketStatus
    """Whether market data exists and is recent."""
    market_average: CorridorQuarter | None
    """The corridor figure the saving is measured against (``None``: the providers' mean was used)."""
    market_average_pct: Decimal | None
    """The market's average cost at this amount (USD 200 and 500 figures, linear between)."""
    saving: Money | None
    """(market average % - our %) x amount, sending currency; negative if we cost more."""
    notes: list[str] = field(default_factory=list)
    """Plain-language remarks (stale data, services that could not be estimated)."""


def _between(low_x: Decimal, low_y: Decimal, high_x: Decimal, high_y: Decimal, x: Decimal) -> Decimal:
    if high_x == low_x:
        return low_y
    return low_y + (high_y - low_y) * (x - low_x) / (high_x - low_x)


def estimate(service: ServicePrice, amount: Decimal) -> tuple[Decimal, Decimal | None] | None:
    """(fee, margin %) of ``service`` for ``amount`` of its sending currency; ``None`` if not priceable."""
    if service.fee_fixed is not None and service.fee_percent is not None:
        return service.fee_fixed + amount * service.fee_percent / _HUNDRED, service.fx_margin_pct
    points = [
        point for point in (service.at_200, service.at_500) if point is not None and point.fee is not None
    ]
    if not points:
        return None
    if len(points) == 1:
        low = high = points[0]
    else:
        low, high = sorted(points, key=lambda point: point.amount)
    fee = max(Decimal(0), _between(low.amount, low.fee, high.amount, high.fee, amount))  # type: ignore[arg-type]
    if low.fx_margin_pct is None or high.fx_margin_pct is None:
        return fee, None
    clamped = min(max(amount, low.amount), high.amount)
    return fee, _between(low.amount, low.fx_margin_pct, high.amount, high.fx_margin_pct, clamped)


def _stale(day: date, today: date, config: CompareConfig) -> bool:
    return (today - day).days > config.stale_after_days


def compare(
    our: OurPrice,
    services: Sequence[ServicePrice],
    corridor_average: CorridorQuarter | None,
    *,
    today: date,
    config: CompareConfig = CompareConfig(),
) -> Comparison:
    """Our row and an estimate for each service, best amount received first, and the saving."""
    amount = our.send_amount
    receive_currency = our.receive_amount.currency
    rows = [
        ProviderEstimate(
            provider="Körpü",
            is_us=True,
            fee=our.fee,
            rate=our.rate,
            fx_margin_pct=our.fx_margin_pct,
            total_cost_pct=our.total_cost_pct,
            receive_amount=our.receive_amount,
            speed=our.delivery,
            transparent=True,
            data_date=our.rate_as_of.date(),
            stale=False,
            dataset="live",
            basis="live",
            source="Körpü live quote",
        )
    ]
    notes: list[str] = []
    for service in services:
        if service.send_currency.upper() != amount.currency:
            notes.append(
                f"{service.firm}: priced in {service.send_currency}, not comparable with {amount.currency}"
            )
            continue
        priced = estimate(service, amount.amount)
        if priced is None:
            notes.append(f"{service.firm}: no fee on record")
            continue
        fee, margin = priced
        if fee >= amount.amount:
            notes.append(f"{service.firm}: its fee would exceed the amount")
            continue
        disclosed = service.transparent and margin is not None
        rate = our.mid_rate * (1 - margin / _HUNDRED) if disclosed and margin is not None else None
        rows.append(
            ProviderEstimate(
                provider=service.firm,
                is_us=False,
                fee=Money.of(fee, amount.currency, ROUND_HALF_EVEN),
                rate=rate,
                fx_margin_pct=margin if disclosed else None,
                total_cost_pct=fee / amount.amount * _HUNDRED + margin
                if disclosed and margin is not None
                else None,
                receive_amount=Money.of((amount.amount - fee) * rate, receive_currency, ROUND_FLOOR)
                if rate
                else None,
                speed=service.speed,
                transparent=service.transparent,
                data_date=service.data_date,
                stale=_stale(service.data_date, today, config),
                dataset=service.dataset.value,
                basis=service.basis.value,
                source=service.source,
                payment_instrument=service.payment_instrument,
                pickup_method=service.pickup_method,
            )
        )
    rows.sort(
        key=lambda row: (
            row.receive_amount is None,
            -(row.receive_amount.amount if row.receive_amount else 0),
        )
    )
    return _with_market(our, rows, corridor_average, today, config, notes)


def _with_market(
    our: OurPrice,
    rows: list[ProviderEstimate],
    average: CorridorQuarter | None,
    today: date,
    config: CompareConfig,
    notes: list[str],
) -> Comparison:
    amount = our.send_amount
    others = [row for row in rows if not row.is_us and row.total_cost_pct is not None]
    if average is None and not others:
        notes.append("No market price data for this corridor.")
        return Comparison(amount, rows, MarketStatus.MISSING, None, None, None, notes)
    if average is not None:
        amount_usd = amount.amount * our.usd_per_send_unit if our.usd_per_send_unit else None
        market_pct = market_cost_at(amount_usd, average.avg_cost_200_pct, average.avg_cost_500_pct)
        stale = _stale(average.period.end, today, config)
        if stale:
            notes.append(f"The latest market average for this corridor is from {average.period.label}.")
        illustrative = average.basis is Basis.ILLUSTRATIVE
    else:
        # No corridor average on file: the mean of the estimates above, at this very amount.
        market_pct = mean(row.total_cost_pct for row in others if row.total_cost_pct is not None)
        stale = all(row.stale for row in others)
        illustrative = any(row.basis == Basis.ILLUSTRATIVE.value for row in others)
        notes.append("The market average is the mean of the providers listed, at this amount.")
    if illustrative:
        notes.append(
            "The market figures for this corridor are illustrative placeholders, not surveyed prices."
        )
    status = MarketStatus.STALE if stale else MarketStatus.OK
    saving = (
        Money.of(
            (market_pct - our.total_cost_pct) * amount.amount / _HUNDRED, amount.currency, ROUND_HALF_EVEN
        )
        if market_pct is not None
        else None
    )
    return Comparison(amount, rows, status, average, market_pct, saving, notes)
