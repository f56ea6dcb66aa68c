"""Price schedules of a corridor's payout method: fees by amount tier, FX margin, effective dates.

A :class:`Price` is in force from its ``effective_from`` until the next one of the same corridor
and payout method starts; old prices stay, so every past quote can be explained. Within a price,
the :class:`FeeTier` whose ``from_amount`` is the largest not above the send amount applies:

    fee  = clamp(fixed_fee + send_amount x percent_fee / 100, fee_min, fee_max), rounded up
    rate = mid_rate x (10000 - fx_margin_bps) / 10000, rounded down (see :mod:`fx.rounding`)

All amounts are in the corridor's send currency. A higher tier never has a larger FX margin than a
lower one, so sending more never delivers less.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from fx.rounding import WORKING, ceil_money, quantum, round_rate_down
from ledger.money import Money

__all__ = ["FeeTier", "Price", "applied_rate"]

_BPS = Decimal(10000)
_HUNDRED = Decimal(100)


def applied_rate(mid_rate: Decimal, fx_margin_bps: int) -> Decimal:
    """The rate the customer gets: the mid rate less the margin, rounded down to the rate precision."""
    return round_rate_down(WORKING.divide(WORKING.multiply(mid_rate, _BPS - fx_margin_bps), _BPS))


@dataclass(frozen=True, slots=True)
class FeeTier:
    """The fee and margin for send amounts from ``from_amount`` up to the next tier."""

    from_amount: Decimal
    """Smallest send amount of the tier (inclusive), in the send currency."""
    fixed_fee: Decimal
    """Fee charged whatever the amount, in the send currency."""
    percent_fee: Decimal
    """Fee in percent of the send amount (``0.5`` is half a percent)."""
    fx_margin_bps: int
    """Margin under the mid rate in basis points (``50`` is 0.50%)."""

    def __post_init__(self) -> None:
        if self.from_amount < 0 or self.fixed_fee < 0 or self.percent_fee < 0:
            raise ValueError("tier amounts and percentages cannot be negative")
        if not 0 <= self.fx_margin_bps < 10000:
            raise ValueError(f"fx_margin_bps must be in [0, 10000), not {self.fx_margin_bps}")


@dataclass(frozen=True, slots=True)
class Price:
    """A corridor and payout method's fees and margin, in force from ``effective_from``."""

    currency: str
    """The send currency every amount here is in."""
    effective_from: datetime
    """When the price starts to apply (UTC)."""
    fee_min: Decimal
    """The least fee charged."""
    fee_max: Decimal | None
    """The most fee charged, or no cap."""
    tiers: tuple[FeeTier, ...]
    """Tiers by ascending ``from_amount``; the first starts at 0."""
    id: int | None = None
    """Row id once stored."""
    _starts: tuple[Decimal, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.tiers or self.tiers[0].from_amount != 0:
            raise ValueError("a price needs tiers, the first one from 0")
        starts = tuple(t.from_amount for t in self.tiers)
        if any(a >= b for a, b in itertools.pairwise(starts)):
            raise ValueError("tiers must start at strictly increasing amounts")
        if any(a.fx_margin_bps < b.fx_margin_bps for a, b in itertools.pairwise(self.tiers)):
            # Otherwise sending more could deliver less, and "the least amount that delivers R" would
            # not be the amount a fixed-send quote of R's sender gets.
            raise ValueError("a larger amount must not get a larger FX margin")
        step = quantum(self.currency)
        extra = () if self.fee_max is None else (self.fee_max,)
        for amount in (*starts, self.fee_min, *extra, *(t.fixed_fee for t in self.tiers)):
            if amount % step:
                raise ValueError(f"{amount} is not a whole number of {self.currency} minor units")
        if self.fee_min < 0 or (self.fee_max is not None and self.fee_max < self.fee_min):
            raise ValueError("fee_min must be >= 0 and fee_max >= fee_min")
        if self.effective_from.tzinfo is None:
            raise ValueError("effective_from must be time-zone aware")
        object.__setattr__(self, "_starts", starts)

    def tier_index(self, send_amount: Decimal) -> int:
        """Index of the tier that applies to ``send_amount``."""
        return max(bisect.bisect_right(self._starts, send_amount) - 1, 0)

    def tier_bounds(self, index: int) -> tuple[Decimal, Decimal | None]:
        """``[from, to)`` of the tier at ``index``; ``to`` is None for the last one."""
        upper = self._starts[index + 1] if index + 1 < len(self._starts) else None
        return self._starts[index], upper

    def fee(self, send_amount: Money, tier: FeeTier) -> Money:
        """The fee on ``send_amount`` under ``tier``: clamped to [fee_min, fee_max], rounded up."""
        raw = WORKING.add(
            tier.fixed_fee, WORKING.divide(WORKING.multiply(send_amount.amount, tier.percent_fee), _HUNDRED)
        )
        if raw < self.fee_min:
            raw = self.fee_min
        elif self.fee_max is not None and raw > self.fee_max:
            raw = self.fee_max
        return ceil_money(raw, self.currency)

    @staticmethod
    def in_force(prices: Sequence[Price], now: datetime) -> Price | None:
        """The price of ``prices`` (sorted by ``effective_from``) that applies at ``now``."""
        found = None
        for candidate in prices:
            if candidate.effective_from > now:
                break
            found = candidate
        return found
