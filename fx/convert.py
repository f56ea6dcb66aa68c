"""Converting an amount at the mid rate, for limits and thresholds (not for pricing a transfer).

Compliance keeps its limits in one base currency and asks for a ``Converter``
(``(Money, currency) -> Money``); :func:`mid_converter` is that converter over a RateBook, by the
same cross-rate rule and staleness guard as quotes. The result is rounded half-even to the target's
minor unit: a neutral rounding, since a limit check should favour neither side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN

from fx.rates import RateBook
from fx.rounding import WORKING
from ledger.money import Money

__all__ = ["DEFAULT_SOURCES", "Converter", "mid_converter"]

Converter = Callable[[Money, str], Money]
DEFAULT_SOURCES = ("cbar", "ecb", "demo")
"""Sources tried in order when the caller names none: the official ones first."""


def mid_converter(
    rates: RateBook,
    now: datetime,
    *,
    sources: Sequence[str] = DEFAULT_SOURCES,
    max_age: timedelta = timedelta(hours=96),
) -> Converter:
    """A converter at the mid rate in force at ``now``; raises RateStale or RateUnavailable."""

    def convert(amount: Money, currency: str) -> Money:
        if amount.currency == currency:
            return amount
        mid = rates.mid_rate(amount.currency, currency, sources=sources, now=now, max_age=max_age)
        return Money.of(WORKING.multiply(amount.amount, mid.value), currency, rounding=ROUND_HALF_EVEN)

    return convert
