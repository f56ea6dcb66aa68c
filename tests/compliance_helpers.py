"""Shared helpers for the compliance tests: a fixed converter, transfer facts, a recording sink."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from compliance.monitoring import TransferFacts
from ledger.money import Money

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

# CBAR quotes 1.7000 AZN per USD; EUR at an illustrative 1.08 USD.
_USD_PER = {
    "USD": Decimal(1),
    "AZN": Decimal(1) / Decimal("1.7"),
    "EUR": Decimal("1.08"),
    "RUB": Decimal("0.0125"),
}


def convert(amount: Money, currency: str) -> Money:
    """A fixed-rate converter standing in for fx."""
    usd = amount.amount * _USD_PER[amount.currency]
    return Money.of(usd / _USD_PER[currency], currency)


_refs = itertools.count(1)


def facts(
    amount: str = "100.00",
    *,
    currency: str = "USD",
    customer: str = "cust-1",
    recipient: str = "rcpt-1",
    country: str = "AZ",
    origin: str | None = "RU",
    tier: int = 2,
    ref: str | None = None,
) -> TransferFacts:
    money = Money(Decimal(amount), currency)
    return TransferFacts(
        transfer_ref=ref or f"tr-{next(_refs)}",
        customer_ref=customer,
        recipient_ref=recipient,
        amount=money,
        base_amount=convert(money, "USD"),
        country=country,
        tier=tier,
        origin_country=origin,
    )


@dataclass
class RecordingSink:
    """A TransferDecisionSink that remembers what it was told."""

    calls: list[tuple[str, str]] = field(default_factory=list)

    async def on_release(self, conn: AsyncConnection, transfer_ref: str) -> None:
        self.calls.append(("release", transfer_ref))

    async def on_hold(self, conn: AsyncConnection, transfer_ref: str) -> None:
        self.calls.append(("hold", transfer_ref))

    async def on_block(self, conn: AsyncConnection, transfer_ref: str) -> None:
        self.calls.append(("block", transfer_ref))
