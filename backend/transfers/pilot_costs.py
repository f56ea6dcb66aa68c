"""Our pilot's actual costs for the policy indicators: paid-out transfers, as ``fx.market`` wants them.

This is the transfers capability's :class:`~fx.market.pilot.PilotCostSource`. Each transfer that
reached ``paid_out`` counts once, in the quarter it was created, with its corridor's countries in
ISO alpha-3, its total cost % as quoted (RPW definition: fee % plus FX margin against the mid rate,
stored on the transfer when it was made) and its send amount in USD.

The USD amount is the send amount at the mid rate *in force when the transfer was made*, by the
same rule, sources and staleness limit as the converter that checked its limits then
(:func:`fx.convert.mid_converter`), read from the rate store's history rather than today's rates:
a transfer's weight in the indicators does not drift with the rouble, and the indicators do not
fail when today's rates are late. Transfers made under the same bulletins share one rate lookup.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.clock import as_utc
from backend.transfers.model import TransferStatus
from backend.transfers.tables import transfers
from fx.convert import DEFAULT_SOURCES
from fx.errors import RateStale, RateUnavailable
from fx.market.countries import alpha2, alpha3
from fx.market.indicators import PilotTransferCost
from fx.market.periods import Quarter
from fx.rate_store import load_rate_book_between
from fx.rates import MidRate, RateBook
from fx.rounding import WORKING
from ledger.money import Money

__all__ = ["PilotCostUnavailable", "TransferPilotCosts", "UsdAtMidRate"]

REPORTING_CURRENCY = "USD"
CONVERTER_MAX_AGE = timedelta(hours=96)
"""The oldest rate :func:`fx.convert.mid_converter` accepts by default, so the one used at creation."""

_paid_out = (
    select(
        transfers.c.id,
        transfers.c.send_country,
        transfers.c.receive_country,
        transfers.c.send_currency,
        transfers.c.send_minor,
        transfers.c.total_cost_pct,
        transfers.c.created_at,
    )
    .where(transfers.c.status == TransferStatus.PAID_OUT.value)
    .order_by(transfers.c.created_at, transfers.c.id)
)


def _paid_out_of(by_source: bool, by_destination: bool) -> Select[Any]:
    query = _paid_out
    if by_source:
        query = query.where(transfers.c.send_country == bindparam("source"))
    if by_destination:
        query = query.where(transfers.c.receive_country == bindparam("destination"))
    return query


_QUERIES = {(s, d): _paid_out_of(s, d) for s in (False, True) for d in (False, True)}


class PilotCostUnavailable(Exception):
    """A paid-out transfer whose send currency had no USD mid rate when it was made (the rate store
    lost history it had: the transfer could not have been made without one)."""

    code = "pilot_cost_unavailable"
    status = 503


class UsdAtMidRate:
    """USD amounts at the mid rate in force at given moments, over one rate book of that span.

    The answer for a moment depends only on which bulletins were in force then and which of those
    were already too old, so moments between the same two such events share one lookup.
    """

    def __init__(self, book: RateBook, sources: Sequence[str], max_age: timedelta) -> None:
        self._book = book
        self._sources = tuple(sources)
        self._max_age = max_age
        starts = sorted(b.as_of for source in book.sources for b in book.bulletins(source))
        self._starts = starts
        self._stale_from = [start + max_age for start in starts]
        self._rates: dict[tuple[str, int, int], MidRate] = {}

    def __call__(self, amount: Money, at: datetime) -> Money:
        if amount.currency == REPORTING_CURRENCY:
            return amount
        # in force: as_of <= at; too old: at - as_of > max_age, i.e. as_of + max_age < at.
        key = (
            amount.currency,
            bisect.bisect_right(self._starts, at),
            bisect.bisect_left(self._stale_from, at),
        )
        mid = self._rates.get(key)
        if mid is None:
            mid = self._rates[key] = self._book.mid_rate(
                amount.currency, REPORTING_CURRENCY, sources=self._sources, now=at, max_age=self._max_age
            )
        # The arithmetic of fx.convert.mid_converter: working precision, half-even to the cent.
        return Money.of(
            WORKING.multiply(amount.amount, mid.value), REPORTING_CURRENCY, rounding=ROUND_HALF_EVEN
        )


class TransferPilotCosts:
    """The pilot's completed transfers with their RPW total cost (see the module docstring)."""

    def __init__(
        self, *, sources: Sequence[str] = DEFAULT_SOURCES, max_age: timedelta = CONVERTER_MAX_AGE
    ) -> None:
        self._sources = tuple(sources)
        self._max_age = max_age

    async def completed_transfer_costs(
        self,
        connection: AsyncConnection,
        *,
        source_country: str | None = None,
        destination_country: str | None = None,
    ) -> Sequence[PilotTransferCost]:
        """Paid-out transfers, oldest first, optionally of one corridor (ISO alpha-3 codes)."""
        query = _QUERIES[(source_country is not None, destination_country is not None)]
        params = {
            "source": alpha2(source_country) if source_country else None,
            "destination": alpha2(destination_country) if destination_country else None,
        }
        rows = (await connection.execute(query, params)).all()
        if not rows:
            return ()
        made = [as_utc(row.created_at) for row in rows]
        book = await load_rate_book_between(connection, made[0] - self._max_age, made[-1], self._sources)
        usd = UsdAtMidRate(book, self._sources, self._max_age)
        costs = []
        for row, at in zip(rows, made, strict=True):
            sent = Money.from_minor(row.send_minor, row.send_currency)
            try:
                sent_usd = usd(sent, at)
            except (RateStale, RateUnavailable) as exc:
                raise PilotCostUnavailable(
                    f"transfer {row.id}: no {row.send_currency}/USD mid rate in force at "
                    f"{at.isoformat()} ({exc})"
                ) from exc
            costs.append(
                PilotTransferCost(
                    source_country=alpha3(row.send_country),
                    destination_country=alpha3(row.receive_country),
                    period=Quarter.of(at.date()),
                    send_amount_usd=sent_usd.amount,
                    total_cost_pct=Decimal(row.total_cost_pct),
                )
            )
        return tuple(costs)
