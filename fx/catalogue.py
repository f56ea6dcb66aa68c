"""The corridor catalogue: who can send what to whom, how it is paid out, within which limits.

A :class:`Corridor` joins a sending country and currency to a receiving country and currency, names
the rate sources its mid rate may come from (in order of preference) and how old that rate may be.
Each :class:`PayoutOption` (bank account, card, wallet, cash pickup) has its own send limits,
delivery estimate and price history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from fx.errors import PayoutMethodUnavailable, PriceUnavailable
from fx.pricing import Price
from ledger.money import CurrencyMismatch, Money

__all__ = [
    "Corridor",
    "CorridorRef",
    "DeliveryEstimate",
    "PayoutMethod",
    "PayoutOption",
    "SendLimits",
    "corridor_code",
]


class PayoutMethod(StrEnum):
    """How the recipient gets the money."""

    BANK_ACCOUNT = "bank_account"
    CARD = "card"
    WALLET = "wallet"
    CASH_PICKUP = "cash_pickup"


def corridor_code(send_country: str, receive_country: str, send_currency: str, receive_currency: str) -> str:
    """The catalogue key of a corridor, e.g. ``RU-AZ-RUB-AZN``."""
    return f"{send_country}-{receive_country}-{send_currency}-{receive_currency}"


@dataclass(frozen=True, slots=True)
class SendLimits:
    """The smallest and largest send amount (principal, before fee) allowed.

    ``maximum < minimum`` is an empty range: nothing is allowed (a customer tier that excludes the
    corridor's whole range narrows to that).
    """

    minimum: Money
    """Smallest send amount."""
    maximum: Money
    """Largest send amount."""

    def __post_init__(self) -> None:
        if self.minimum.currency != self.maximum.currency:
            raise CurrencyMismatch("limits must be in one currency")
        if not self.minimum.is_positive():
            raise ValueError("the minimum send amount must be positive")

    def allows(self, amount: Money) -> bool:
        return self.minimum <= amount <= self.maximum

    def narrowed_by(self, other: SendLimits | None) -> SendLimits:
        """The tighter of both (e.g. a corridor's limits and a customer tier's)."""
        if other is None:
            return self
        return SendLimits(max(self.minimum, other.minimum), min(self.maximum, other.maximum))


@dataclass(frozen=True, slots=True)
class DeliveryEstimate:
    """How long the payout usually takes after the transfer is accepted."""

    min_minutes: int
    """Fastest usual delivery."""
    max_minutes: int
    """Slowest usual delivery."""


@dataclass(frozen=True, slots=True)
class PayoutOption:
    """One payout method of a corridor."""

    method: PayoutMethod
    """How the recipient is paid."""
    limits: SendLimits
    """Send limits of this method, in the send currency."""
    delivery: DeliveryEstimate
    """Usual delivery time."""
    prices: tuple[Price, ...] = ()
    """Price history, by ascending ``effective_from``."""
    active: bool = True
    """Inactive options are listed nowhere and quote nothing."""

    def price_at(self, now: datetime) -> Price:
        price = Price.in_force(self.prices, now)
        if price is None:
            raise PriceUnavailable(f"{self.method} has no price in force at {now.isoformat()}")
        return price


@dataclass(frozen=True, slots=True)
class CorridorRef:
    """What a stored quote remembers of its corridor."""

    code: str
    """Catalogue key, e.g. ``RU-AZ-RUB-AZN``."""
    send_country: str
    """ISO 3166-1 alpha-2 of the sender's country."""
    send_currency: str
    """ISO 4217 of what the sender pays."""
    receive_country: str
    """ISO 3166-1 alpha-2 of the recipient's country."""
    receive_currency: str
    """ISO 4217 of what the recipient gets."""


@dataclass(frozen=True, slots=True)
class Corridor:
    """A sending country and currency to a receiving country and currency."""

    send_country: str
    """ISO 3166-1 alpha-2 of the sender's country."""
    send_currency: str
    """ISO 4217 of what the sender pays."""
    receive_country: str
    """ISO 3166-1 alpha-2 of the recipient's country."""
    receive_currency: str
    """ISO 4217 of what the recipient gets."""
    rate_sources: tuple[str, ...]
    """Rate sources to read the mid rate from, most preferred first (see :mod:`fx.rates`)."""
    max_rate_age: timedelta
    """Oldest rate a quote may use; older means the quote is refused."""
    payouts: Mapping[PayoutMethod, PayoutOption] = field(default_factory=dict)
    """Payout options by method."""
    active: bool = True
    """Inactive corridors are listed nowhere and quote nothing."""

    @property
    def code(self) -> str:
        return corridor_code(
            self.send_country, self.receive_country, self.send_currency, self.receive_currency
        )

    @property
    def ref(self) -> CorridorRef:
        return CorridorRef(
            self.code, self.send_country, self.send_currency, self.receive_country, self.receive_currency
        )

    def payout(self, method: PayoutMethod | str) -> PayoutOption:
        """The active payout option for ``method``, or PayoutMethodUnavailable."""
        try:
            option = self.payouts.get(PayoutMethod(method))
        except ValueError:
            option = None
        if option is None or not option.active:
            offered = ", ".join(sorted(m.value for m, o in self.payouts.items() if o.active))
            raise PayoutMethodUnavailable(
                f"corridor {self.code} does not pay out by {method!s}; it offers {offered or 'nothing'}",
                offered=sorted(m.value for m, o in self.payouts.items() if o.active),
            )
        return option

    def active_payouts(self) -> Sequence[PayoutOption]:
        return [o for m, o in sorted(self.payouts.items()) if o.active]
