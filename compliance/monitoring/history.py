"""What a transfer's sender and recipient did before it, read in one statement.

Monitoring rules and tier limits look back over windows of the same table (``monitoring_events``):
what the sender sent in 24 hours and in 30 days, how often near a threshold, to how many other
recipients, how many other senders paid the recipient, whether the sender paid this recipient
before. Each of these once cost a round trip; under load a transfer's time is its round trips
(docs/performance.md, "Whole send flow over HTTP"). Here the rules first say what they need
(:class:`HistoryWanted`), then :func:`read_history` answers all of it with one ``SELECT``: one
scan of the sender's events over the longest window with an aggregate per need (``FILTER``), and
a sub-select each for the recipient's other senders and for an earlier payment to this
recipient. The transfer being checked is left out (by its ``transfer_ref``).

Statements are built once per shape (how many of each need, not their values) and kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, Select, String, and_, bindparam, distinct, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from compliance.clock import as_utc
from compliance.tables import Timestamp, monitoring_events
from sqldirect import DirectStatement, direct

__all__ = ["History", "HistoryWanted", "Sent", "read_history"]


@dataclass(frozen=True, slots=True)
class Sent:
    """What the sender sent in one window (this transfer not included)."""

    count: int
    """Transfers."""
    base_minor: int
    """Their sum in the base currency's minor units."""


@dataclass(slots=True)
class HistoryWanted:
    """The figures the rules in force ask for; filled by each rule, answered by :func:`read_history`."""

    sent_hours: set[int] = field(default_factory=set)
    """Windows (hours) of the sender's count and sum."""
    bands: set[tuple[int, int, int]] = field(default_factory=set)
    """``(hours, low, high)``: the sender's transfers with ``low <= base amount < high``."""
    other_recipients_hours: set[int] = field(default_factory=set)
    """Windows of the sender's distinct recipients other than this one."""
    other_senders_hours: set[int] = field(default_factory=set)
    """Windows of the recipient's distinct senders other than this one."""
    paid_before: bool = False
    """Whether the sender paid this recipient before."""


@dataclass(frozen=True, slots=True)
class History:
    """The answers to a :class:`HistoryWanted`."""

    sent: dict[int, Sent]
    bands: dict[tuple[int, int, int], int]
    other_recipients: dict[int, int]
    other_senders: dict[int, int]
    paid_before: bool

    def sent_in(self, hours: int) -> Sent:
        """What the sender sent in the last ``hours`` (the window must have been wanted)."""
        return self.sent[hours]


_ev = monitoring_events.c
_TRANSFER: BindParameter[str] = bindparam("transfer_ref", type_=String)
_CUSTOMER: BindParameter[str] = bindparam("customer_ref", type_=String)
_RECIPIENT: BindParameter[str] = bindparam("recipient_ref", type_=String)
_UNTIL = bindparam("until", type_=Timestamp)
_OLDEST = bindparam("oldest", type_=Timestamp)


def _since(name: str) -> Any:
    return bindparam(name, type_=Timestamp)


@lru_cache(maxsize=64)
def _statement(
    sent: int, bands: int, recipients: int, senders: int, paid_before: bool
) -> DirectStatement[Select[Any]]:
    """The one statement for a shape of wants; parameters ``s{i}``, ``b{i}``/``bl{i}``/``bh{i}``,
    ``r{i}``, ``f{i}`` in the order :func:`_parameters` gives them."""
    # count(*) makes this an aggregate: exactly one row, also with no history and no other aggregate.
    columns: list[Any] = [func.count()]
    for i in range(sent):
        recent = _ev.created_at > _since(f"s{i}")
        columns += [
            func.count().filter(recent),
            func.coalesce(func.sum(_ev.base_amount_minor).filter(recent), 0),
        ]
    for i in range(bands):
        in_band = and_(
            _ev.created_at > _since(f"b{i}"),
            _ev.base_amount_minor >= bindparam(f"bl{i}"),
            _ev.base_amount_minor < bindparam(f"bh{i}"),
        )
        columns.append(func.count().filter(in_band))
    for i in range(recipients):
        columns.append(
            func.count(distinct(_ev.recipient_ref)).filter(
                and_(_ev.created_at > _since(f"r{i}"), _ev.recipient_ref != _RECIPIENT)
            )
        )
    other = monitoring_events.alias("other")
    for i in range(senders):
        columns.append(
            select(func.count(distinct(other.c.customer_ref)))
            .where(
                other.c.recipient_ref == _RECIPIENT,
                other.c.transfer_ref != _TRANSFER,
                other.c.created_at > _since(f"f{i}"),
                other.c.created_at <= _UNTIL,
                other.c.customer_ref != _CUSTOMER,
            )
            .correlate(None)
            .scalar_subquery()
        )
    if paid_before:
        columns.append(
            exists()
            .where(
                other.c.customer_ref == _CUSTOMER,
                other.c.recipient_ref == _RECIPIENT,
                other.c.transfer_ref != _TRANSFER,
                other.c.created_at <= _UNTIL,
            )
            .correlate(None)
        )
    return direct(
        select(*columns).where(
            _ev.customer_ref == _CUSTOMER,
            _ev.transfer_ref != _TRANSFER,
            _ev.created_at > _OLDEST,
            _ev.created_at <= _UNTIL,
        )
    )


async def read_history(
    conn: AsyncConnection,
    wanted: HistoryWanted,
    *,
    transfer_ref: str,
    customer_ref: str,
    recipient_ref: str,
    now: datetime,
) -> History:
    """Answer ``wanted`` for the transfer ``transfer_ref`` from ``customer_ref`` to ``recipient_ref``."""
    now = as_utc(now)
    if wanted == HistoryWanted():
        return History({}, {}, {}, {}, paid_before=False)
    sent = sorted(wanted.sent_hours)
    bands = sorted(wanted.bands)
    recipients = sorted(wanted.other_recipients_hours)
    senders = sorted(wanted.other_senders_hours)
    windows = [*sent, *(hours for hours, _, _ in bands), *recipients]
    params: dict[str, Any] = {
        "transfer_ref": transfer_ref,
        "customer_ref": customer_ref,
        "recipient_ref": recipient_ref,
        "until": now,
        "oldest": now - timedelta(hours=max(windows, default=0)),
    }
    for i, hours in enumerate(sent):
        params[f"s{i}"] = now - timedelta(hours=hours)
    for i, (hours, low, high) in enumerate(bands):
        params |= {f"b{i}": now - timedelta(hours=hours), f"bl{i}": low, f"bh{i}": high}
    for i, hours in enumerate(recipients):
        params[f"r{i}"] = now - timedelta(hours=hours)
    for i, hours in enumerate(senders):
        params[f"f{i}"] = now - timedelta(hours=hours)
    statement = _statement(len(sent), len(bands), len(recipients), len(senders), wanted.paid_before)
    found = await statement.first(conn, params)
    assert found is not None  # an aggregate: always one row
    row = iter(found[1:])
    return History(
        sent={hours: Sent(int(next(row)), int(next(row))) for hours in sent},
        bands={band: int(next(row)) for band in bands},
        other_recipients={hours: int(next(row)) for hours in recipients},
        other_senders={hours: int(next(row)) for hours in senders},
        paid_before=bool(next(row)) if wanted.paid_before else False,
    )
