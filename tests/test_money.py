"""Money arithmetic: exact, currency-checked, rounded only on purpose."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_UP, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.money import CurrencyMismatch, InvalidAmount, Money, UnknownCurrency

currencies = st.sampled_from(["AZN", "USD", "JPY", "KWD", "RUB"])


@given(st.integers(min_value=-(10**15), max_value=10**15), currencies)
def test_minor_units_round_trip(units: int, currency: str) -> None:
    assert Money.from_minor(units, currency).minor_units == units


@given(st.integers(-(10**12), 10**12), st.integers(-(10**12), 10**12), currencies)
def test_addition_is_exact_in_minor_units(a: int, b: int, currency: str) -> None:
    total = Money.from_minor(a, currency) + Money.from_minor(b, currency)
    assert total.minor_units == a + b
    assert (total - Money.from_minor(b, currency)).minor_units == a


_BIGINT = st.integers(-(2**63) + 1, 2**63 - 1)
"""Every amount the ledger's 64-bit minor-unit columns can hold."""


@given(_BIGINT, _BIGINT, currencies, st.booleans())
def test_arithmetic_lands_on_the_minor_unit_as_a_checked_amount_would(
    a: int, b: int, currency: str, rounded: bool
) -> None:
    """Sums, differences and negations skip the constructor's checks; what they build must be the
    very amount the checked constructor builds, on the currency's minor unit."""
    first = Money.from_minor(a, currency)
    # Amounts reach arithmetic from the database (from_minor) and from rounding (of): both kinds.
    second = (
        Money.of(Money.from_minor(b, currency).amount, currency) if rounded else Money.from_minor(b, currency)
    )
    for result, minor in ((first + second, a + b), (first - second, a - b), (-first, -a)):
        checked = Money(result.amount, currency)
        assert result == checked
        assert result.amount.as_tuple() == checked.amount.as_tuple()
        assert result.minor_units == minor


@given(_BIGINT, _BIGINT, currencies)
def test_arithmetic_is_exact_whatever_the_decimal_context(a: int, b: int, currency: str) -> None:
    """A caller's coarse decimal context (here five digits) must not round a sum of amounts."""
    first, second = Money.from_minor(a, currency), Money.from_minor(b, currency)
    with localcontext() as coarse:
        coarse.prec = 5
        total, difference = first + second, first - second
    assert (total.minor_units, difference.minor_units) == (a + b, a - b)


def test_mixed_currencies_are_refused() -> None:
    with pytest.raises(CurrencyMismatch):
        _ = Money(Decimal("1.00"), "USD") + Money(Decimal("1.00"), "AZN")
    with pytest.raises(CurrencyMismatch):
        _ = Money(Decimal("1.00"), "USD") < Money(Decimal("1.00"), "AZN")


def test_floats_and_excess_precision_are_refused() -> None:
    with pytest.raises(InvalidAmount):
        Money(0.1, "USD")  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount):
        Money(Decimal("1.001"), "USD")
    with pytest.raises(InvalidAmount):
        Money(Decimal("1.5"), "JPY")
    with pytest.raises(UnknownCurrency):
        Money(Decimal(1), "XXX")


def test_explicit_rounding_modes() -> None:
    assert Money.of("1.001", "USD", ROUND_UP).amount == Decimal("1.01")
    assert Money.of("1.009", "USD", ROUND_DOWN).amount == Decimal("1.00")
    assert Money.of("1.0005", "KWD", ROUND_UP).minor_units == 1001


def test_formatting_per_locale() -> None:
    amount = Money(Decimal("1234.50"), "AZN")
    assert amount.format("az").replace("\xa0", " ") == "1.234,50 ₼"
    assert amount.format("ru").replace("\xa0", " ") == "1 234,50 AZN"
    assert amount.format("en") == "AZN1,234.50"
    assert amount.to_json() == {"amount": "1234.50", "currency": "AZN"}
