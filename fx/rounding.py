"""The rounding rule of every price, written once so that every recomputation agrees.

* Rates carry :data:`RATE_DIGITS` significant digits. The mid rate is rounded half-even; the applied
  rate (mid rate less the FX margin) is rounded down, never in our favour by more than the last digit.
* Fees round **up** to the send currency's minor unit; receive amounts round **down** to the receive
  currency's minor unit. Both are exact ``Decimal`` products first, rounded once.
* Percentages (``fxMarginPct``, ``totalCostPct``) are rounded half-even to :data:`PERCENT_PLACES`
  decimal places, and ``totalCostPct`` is computed from the *published* ``fxMarginPct``, so a client
  recomputing ``fee / sendAmount x 100 + fxMarginPct`` and rounding the same way gets the same digits.

Arithmetic runs in a private context with :data:`WORKING_PRECISION` digits, far more than any amount
times any rate needs, so no intermediate step rounds silently.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal

from ledger.money import Money, exponent

__all__ = [
    "PERCENT_PLACES",
    "RATE_DIGITS",
    "WORKING",
    "WORKING_PRECISION",
    "ceil_money",
    "decimal_text",
    "floor_money",
    "quantum",
    "round_percent",
    "round_rate_down",
    "round_rate_half_even",
]

RATE_DIGITS = 10
"""Significant digits of a published rate."""
PERCENT_PLACES = 4
"""Decimal places of a published percentage."""
WORKING_PRECISION = 60
"""Digits of every intermediate result."""

WORKING = Context(prec=WORKING_PRECISION, rounding=ROUND_HALF_EVEN)
_RATE_HALF_EVEN = Context(prec=RATE_DIGITS, rounding=ROUND_HALF_EVEN)
_RATE_DOWN = Context(prec=RATE_DIGITS, rounding=ROUND_DOWN)
_PERCENT_QUANTUM = Decimal(1).scaleb(-PERCENT_PLACES)
_QUANTA: dict[str, Decimal] = {}


def quantum(currency: str) -> Decimal:
    """One minor unit of ``currency`` (``0.01`` for AZN, ``1`` for JPY, ``0.001`` for KWD)."""
    found = _QUANTA.get(currency)
    if found is None:
        found = _QUANTA[currency] = Decimal(1).scaleb(-exponent(currency))
    return found


def round_rate_half_even(value: Decimal) -> Decimal:
    """A mid rate as published: :data:`RATE_DIGITS` significant digits, half-even."""
    return _RATE_HALF_EVEN.plus(value).normalize(_RATE_HALF_EVEN)


def round_rate_down(value: Decimal) -> Decimal:
    """An applied rate as published: :data:`RATE_DIGITS` significant digits, towards zero."""
    return _RATE_DOWN.plus(value).normalize(_RATE_DOWN)


def floor_money(amount: Decimal, currency: str) -> Money:
    """``amount`` rounded down to the minor unit: the rule for what the recipient gets."""
    return Money(amount.quantize(quantum(currency), rounding=ROUND_FLOOR, context=WORKING), currency)


def ceil_money(amount: Decimal, currency: str) -> Money:
    """``amount`` rounded up to the minor unit: the rule for fees and derived send amounts."""
    return Money(amount.quantize(quantum(currency), rounding=ROUND_CEILING, context=WORKING), currency)


def round_percent(value: Decimal) -> Decimal:
    """A percentage as published: :data:`PERCENT_PLACES` decimal places, half-even."""
    return value.quantize(_PERCENT_QUANTUM, rounding=ROUND_HALF_EVEN, context=WORKING)


def decimal_text(value: Decimal) -> str:
    """Plain positional text of ``value`` (never ``5E+3``): the wire and storage form of rates."""
    return format(value, "f")
