"""The pricing engine: what a send amount costs and delivers in a corridor, without storing anything.

:func:`price` is pure (no I/O): give it a corridor from the catalogue, a payout method, either the
amount to send or the amount to deliver, a :class:`fx.rates.RateBook` and the moment, and it
returns a :class:`PriceBreakdown` with every field of a quote. Quotes (:mod:`fx.quotes`) store one;
the cost comparison prices hypothetical amounts with it directly.

The rules, with the rounding of :mod:`fx.rounding`:

* ``sendAmount`` is the principal that is converted; the ``fee`` is charged on top;
  ``totalToPay = sendAmount + fee``.
* ``receiveAmount = sendAmount x rate``, rounded down to the receive currency's minor unit.
* Fixed receive amount ``R``: ``sendAmount`` is the *smallest* amount on the send currency's minor
  unit (under the tier it falls in) whose ``receiveAmount`` reaches ``R``. The recipient gets
  ``R``, or a little more when one minor unit of the send currency buys more than one minor unit of
  the receive currency, and the quote is exactly the fixed-send quote of that ``sendAmount``.
* ``fxMarginPct = (1 - rate / midRate) x 100``; ``totalCostPct = fee / sendAmount x 100 + fxMarginPct``
  (World Bank RPW definition), both rounded to 4 places, the second from the published first.
* ``fxMargin`` (receive currency) = ``sendAmount x midRate`` rounded down, less ``receiveAmount``:
  what the margin earns, booked apart from the fee. ``totalCost`` (send currency) = fee +
  ``sendAmount x (1 - rate / midRate)`` rounded up: the RPW total cost in money.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from fx.catalogue import Corridor, CorridorRef, DeliveryEstimate, PayoutMethod, SendLimits
from fx.errors import AmountNotPositive, AmountOutsideLimits
from fx.pricing import FeeTier, Price, applied_rate
from fx.rates import MidRate, RateBook
from fx.rounding import WORKING, ceil_money, floor_money, quantum, round_percent
from ledger.money import CurrencyMismatch, Money

__all__ = ["FixedSide", "PriceBreakdown", "price"]

_HUNDRED = Decimal(100)
_ONE = Decimal(1)


class FixedSide(StrEnum):
    """Which amount the customer fixed."""

    SEND = "send"
    RECEIVE = "receive"


@dataclass(frozen=True, slots=True)
class PriceBreakdown:
    """Everything a quote shows, priced but not stored."""

    corridor: CorridorRef
    """The corridor priced."""
    payout_method: PayoutMethod
    """How the recipient is paid."""
    fixed_side: FixedSide
    """Whether the customer fixed the send or the receive amount."""
    send_amount: Money
    """The principal that is converted (send currency)."""
    fee: Money
    """Charged on top of the principal (send currency)."""
    receive_amount: Money
    """What the recipient gets (receive currency)."""
    mid_rate: Decimal
    """Receive units per send unit at the mid rate."""
    rate: Decimal
    """Receive units per send unit applied to this transfer."""
    fx_margin_bps: int
    """The margin of the tier, in basis points under the mid rate."""
    fx_margin_pct: Decimal
    """``(1 - rate / midRate) x 100``, 4 places."""
    total_cost_pct: Decimal
    """``fee / sendAmount x 100 + fxMarginPct``, 4 places (RPW)."""
    fx_margin: Money
    """Revenue from the margin (receive currency)."""
    total_cost: Money
    """Fee plus the margin's cost, in the send currency (RPW total cost in money)."""
    rate_source: str
    """Source of the mid rate."""
    rate_as_of: datetime
    """When that rate came into force."""
    bulletin_id: int | None
    """Stored bulletin the rate came from."""
    price_id: int | None
    """Stored price that applied."""
    delivery: DeliveryEstimate
    """Usual delivery time of the payout method."""

    @property
    def total_to_pay(self) -> Money:
        return self.send_amount + self.fee


def price(
    corridor: Corridor,
    payout_method: PayoutMethod | str,
    *,
    send_amount: Money | None = None,
    receive_amount: Money | None = None,
    rates: RateBook,
    now: datetime,
    limits: SendLimits | None = None,
    check_limits: bool = True,
) -> PriceBreakdown:
    """Price ``send_amount`` or ``receive_amount`` (exactly one) in ``corridor`` at ``now``.

    ``limits`` narrows the payout method's own send limits (a customer tier's, say); set
    ``check_limits=False`` to price a hypothetical amount outside them (comparisons).
    Raises, from :mod:`fx.errors`: PayoutMethodUnavailable, PriceUnavailable, RateStale,
    RateUnavailable, AmountOutsideLimits, AmountNotPositive; and ``ledger.money.CurrencyMismatch``
    for an amount in the wrong currency.
    """
    if (send_amount is None) == (receive_amount is None):
        raise ValueError("give exactly one of send_amount and receive_amount")
    option = corridor.payout(payout_method)
    schedule = option.price_at(now)
    mid = rates.mid_rate(
        corridor.send_currency,
        corridor.receive_currency,
        sources=corridor.rate_sources,
        now=now,
        max_age=corridor.max_rate_age,
    )
    if send_amount is not None:
        _check_amount(send_amount, corridor.send_currency, "send")
        tier = schedule.tiers[schedule.tier_index(send_amount.amount)]
        rate = applied_rate(mid.value, tier.fx_margin_bps)
        fixed_side = FixedSide.SEND
    else:
        assert receive_amount is not None
        _check_amount(receive_amount, corridor.receive_currency, "receive")
        send_amount, tier, rate = _send_for_receive(schedule, mid.value, receive_amount)
        fixed_side = FixedSide.RECEIVE
    if check_limits:
        allowed = option.limits.narrowed_by(limits)
        if not allowed.allows(send_amount):
            raise AmountOutsideLimits(
                f"{corridor.code} by {option.method} sends from {allowed.minimum} to {allowed.maximum}, "
                f"not {send_amount}",
                minimum=allowed.minimum.to_json(),
                maximum=allowed.maximum.to_json(),
            )
    return _breakdown(
        corridor, option.method, fixed_side, schedule, tier, mid, rate, send_amount, option.delivery
    )


def _check_amount(amount: Money, currency: str, side: str) -> None:
    if amount.currency != currency:
        raise CurrencyMismatch(f"the {side} amount must be in {currency}, not {amount.currency}")
    if not amount.is_positive():
        raise AmountNotPositive(f"the {side} amount must be more than zero, not {amount}")


def _receive_for(send: Decimal, rate: Decimal, currency: str) -> Money:
    return floor_money(WORKING.multiply(send, rate), currency)


def _send_for_receive(schedule: Price, mid_rate: Decimal, wanted: Money) -> tuple[Money, FeeTier, Decimal]:
    """The smallest send amount whose receive amount reaches ``wanted``, with its tier and rate.

    Each tier has its own rate, so each tier proposes the least amount inside its own bounds that
    delivers ``wanted``; the smallest proposal wins (it is the least send amount overall).
    """
    step = quantum(schedule.currency)
    best: tuple[Money, FeeTier, Decimal] | None = None
    for index, tier in enumerate(schedule.tiers):
        rate = applied_rate(mid_rate, tier.fx_margin_bps)
        needed = ceil_money(WORKING.divide(wanted.amount, rate), schedule.currency).amount
        # The division is rounded at working precision; settle on the exact least amount.
        while _receive_for(needed, rate, wanted.currency) < wanted:
            needed += step
        while needed > step and _receive_for(needed - step, rate, wanted.currency) >= wanted:
            needed -= step
        lower, upper = schedule.tier_bounds(index)
        candidate = max(needed, lower, step)
        if upper is not None and candidate >= upper:
            continue
        if best is None or candidate < best[0].amount:
            best = (Money(candidate, schedule.currency), tier, rate)
    assert best is not None  # the last tier has no upper bound
    return best


def _breakdown(
    corridor: Corridor,
    method: PayoutMethod,
    fixed_side: FixedSide,
    schedule: Price,
    tier: FeeTier,
    mid: MidRate,
    rate: Decimal,
    send_amount: Money,
    delivery: DeliveryEstimate,
) -> PriceBreakdown:
    receive_currency = corridor.receive_currency
    receive_amount = _receive_for(send_amount.amount, rate, receive_currency)
    if not receive_amount.is_positive():
        raise AmountNotPositive(
            f"{send_amount} would deliver nothing in {receive_currency}; send more",
            receiveAmount=receive_amount.to_json(),
        )
    fee = schedule.fee(send_amount, tier)
    margin_share = WORKING.subtract(_ONE, WORKING.divide(rate, mid.value))
    fx_margin_pct = round_percent(WORKING.multiply(margin_share, _HUNDRED))
    fee_pct = WORKING.divide(WORKING.multiply(fee.amount, _HUNDRED), send_amount.amount)
    total_cost_pct = round_percent(WORKING.add(fee_pct, fx_margin_pct))
    at_mid = _receive_for(send_amount.amount, mid.value, receive_currency)
    fx_cost = ceil_money(WORKING.multiply(send_amount.amount, margin_share), send_amount.currency)
    return PriceBreakdown(
        corridor=corridor.ref,
        payout_method=method,
        fixed_side=fixed_side,
        send_amount=send_amount,
        fee=fee,
        receive_amount=receive_amount,
        mid_rate=mid.value,
        rate=rate,
        fx_margin_bps=tier.fx_margin_bps,
        fx_margin_pct=fx_margin_pct,
        total_cost_pct=total_cost_pct,
        fx_margin=at_mid - receive_amount,
        total_cost=fee + fx_cost,
        rate_source=mid.source,
        rate_as_of=mid.as_of,
        bulletin_id=mid.bulletin_id,
        price_id=schedule.id,
        delivery=delivery,
    )
