"""The transfer history monitoring and limits read: one compact row per accepted transfer.

The transfer flow calls :func:`record_event` in the same database transaction that accepts a
transfer (allowed or held for review; a blocked transfer is not recorded), after
:func:`compliance.monitoring.evaluate` has looked at the history without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from compliance.clock import as_utc, utc_now
from compliance.rows import RowInsert
from compliance.tables import monitoring_events
from ledger.money import Money

__all__ = ["RowInsert", "TransferFacts", "record_event"]


@dataclass(frozen=True, slots=True)
class TransferFacts:
    """What monitoring knows about one transfer."""

    transfer_ref: str
    """The transfer's id; recorded once."""
    customer_ref: str
    """The sender."""
    recipient_ref: str
    """The recipient as one identity across senders (a wallet or customer id, or the blind index of
    the payout account), so that fan-in sees many senders paying the same person."""
    amount: Money
    """The send amount in the send currency."""
    base_amount: Money
    """The same amount converted to the base currency of the limits (USD)."""
    country: str
    """ISO 3166-1 alpha-2 of the destination."""
    tier: int
    """The sender's KYC tier."""
    origin_country: str | None = None
    """ISO 3166-1 alpha-2 where the sender sends from, when known."""


_INSERT = insert(monitoring_events)


async def record_event(
    conn: AsyncConnection,
    facts: TransferFacts,
    now: datetime | None = None,
    *,
    insert_row: RowInsert | None = None,
) -> None:
    """Append ``facts`` to the history at ``now`` (default: the current time), through
    ``insert_row`` when given (nothing reads the row back in the transaction that writes it)."""
    row = {
        "transfer_ref": facts.transfer_ref,
        "customer_ref": facts.customer_ref,
        "recipient_ref": facts.recipient_ref,
        "base_amount_minor": facts.base_amount.minor_units,
        "base_currency": facts.base_amount.currency,
        "amount_minor": facts.amount.minor_units,
        "currency": facts.amount.currency,
        "country": facts.country,
        "created_at": as_utc(now or utc_now()),
    }
    if insert_row is None:
        await conn.execute(_INSERT, row)
    else:
        await insert_row(conn, monitoring_events, row)
