"""One small ``Money`` type: an exact amount in one currency, refusing mixed-currency arithmetic.

Amounts are ``Decimal`` in code and integers of minor units in storage. A ``Money`` always sits on
its currency's minor unit (ISO 4217 exponent: AZN 2, JPY 0, KWD 3); anything finer must be rounded
explicitly with :meth:`Money.of` and a rounding mode, because every rounding in a remittance is a
business rule (fees round up, receive amounts round down). Floats are refused outright.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, Inexact, InvalidOperation, Rounded
from functools import total_ordering

from babel.numbers import format_currency

__all__ = ["CurrencyMismatch", "InvalidAmount", "Money", "UnknownCurrency", "exponent"]

# ISO 4217 minor-unit exponents for the currencies the pilot and its comparison data touch.
_EXPONENTS: dict[str, int] = {
    "AZN": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "RUB": 2,
    "TRY": 2,
    "GEL": 2,
    "KZT": 2,
    "UAH": 2,
    "UZS": 2,
    "TJS": 2,
    "KGS": 2,
    "AMD": 2,
    "BYN": 2,
    "MDL": 2,
    "CHF": 2,
    "CNY": 2,
    "AED": 2,
    "SAR": 2,
    "ILS": 2,
    "PLN": 2,
    "CZK": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "HUF": 2,
    "RON": 2,
    "BGN": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "INR": 2,
    "PKR": 2,
    "BDT": 2,
    "PHP": 2,
    "THB": 2,
    "MYR": 2,
    "SGD": 2,
    "HKD": 2,
    "IRR": 2,
    "TMT": 2,
    "EGP": 2,
    "MXN": 2,
    "BRL": 2,
    "ZAR": 2,
    "IDR": 2,
    "XDR": 2,
    "QAR": 2,
    "LBP": 2,
    "SYP": 2,
    "AFN": 2,
    "MNT": 2,
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "UGX": 0,
    "XOF": 0,
    "XAF": 0,
    "KWD": 3,
    "BHD": 3,
    "OMR": 3,
    "JOD": 3,
    "IQD": 3,
    "LYD": 3,
    "TND": 3,
}


_EXACT = Context(prec=40, traps=[Inexact, Rounded, InvalidOperation])
"""Where sums and differences are computed: whatever the thread's decimal context says, they are
exact (40 digits hold any two amounts of the ledger's 64-bit minor units) or raise, never rounded."""


class UnknownCurrency(ValueError):
    code = "unknown_currency"
    status = 422


class CurrencyMismatch(ValueError):
    code = "currency_mismatch"
    status = 422


class InvalidAmount(ValueError):
    code = "invalid_amount"
    status = 422


def exponent(currency: str) -> int:
    """The ISO 4217 minor-unit exponent of ``currency``."""
    try:
        return _EXPONENTS[currency]
    except KeyError:
        raise UnknownCurrency(f"unknown currency {currency!r}") from None


def _to_decimal(value: Decimal | int | str) -> Decimal:
    if isinstance(value, (float, bool)):
        raise InvalidAmount("amounts are Decimal, int or str, never float")
    try:
        result = Decimal(value)
    except (InvalidOperation, ValueError):
        raise InvalidAmount(f"not an amount: {value!r}") from None
    if not result.is_finite():
        raise InvalidAmount(f"not a finite amount: {value!r}")
    return result


@total_ordering
@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount of one currency on its minor unit."""

    amount: Decimal
    """The amount, with no more decimal places than the currency's exponent."""
    currency: str
    """ISO 4217 alphabetic code."""

    def __post_init__(self) -> None:
        amount = _to_decimal(self.amount)
        quantum = Decimal(1).scaleb(-exponent(self.currency))
        if amount != amount.quantize(quantum):
            raise InvalidAmount(
                f"{amount} has more decimal places than {self.currency} allows ({exponent(self.currency)})"
            )
        object.__setattr__(self, "amount", amount.quantize(quantum))

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str, rounding: str = ROUND_HALF_EVEN) -> Money:
        """``amount`` rounded to ``currency``'s minor unit with ``rounding`` (a ``decimal`` mode)."""
        quantum = Decimal(1).scaleb(-exponent(currency))
        return cls(_to_decimal(amount).quantize(quantum, rounding=rounding), currency)

    @classmethod
    def from_minor(cls, minor_units: int, currency: str) -> Money:
        """The amount stored as ``minor_units`` integer units (e.g. cents)."""
        if not isinstance(minor_units, int) or isinstance(minor_units, bool):
            raise InvalidAmount("minor units are an int")
        # Exact by construction: an integer scaled by the exponent sits on the minor unit.
        return cls._on_minor_unit(Decimal(minor_units).scaleb(-exponent(currency)), currency)

    @classmethod
    def _on_minor_unit(cls, amount: Decimal, currency: str) -> Money:
        """``amount`` known to sit on ``currency``'s minor unit already, without the checks of
        ``__post_init__``: the ledger builds and adds many of these per transfer. The exact sum,
        difference or negation of amounts on one minor unit is on it too (see ``_EXACT``)."""
        money = object.__new__(cls)
        object.__setattr__(money, "amount", amount)
        object.__setattr__(money, "currency", currency)
        return money

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @property
    def minor_units(self) -> int:
        """The integer stored in the database."""
        return int(self.amount.scaleb(exponent(self.currency)))

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money._on_minor_unit(_EXACT.add(self.amount, self._same(other).amount), self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money._on_minor_unit(_EXACT.subtract(self.amount, self._same(other).amount), self.currency)

    def __neg__(self) -> Money:
        return Money._on_minor_unit(self.amount.copy_negate(), self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __bool__(self) -> bool:
        return bool(self.amount)

    def is_positive(self) -> bool:
        return self.amount > 0

    def format(self, locale: str = "en") -> str:
        """The amount as people of ``locale`` write it, e.g. ``1 234,50 ₼`` in ``az``."""
        return str(format_currency(self.amount, self.currency, locale=locale))

    def to_json(self) -> dict[str, str]:
        """The wire form: ``{"amount": "200.00", "currency": "USD"}``."""
        return {"amount": str(self.amount), "currency": self.currency}

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
