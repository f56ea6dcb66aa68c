"""Settlement windows per partner and currency: OPEN, then CLOSED (statement frozen), then SETTLED.

A window collects a partner's movements from ``opened_at`` until its cut-off. Closing it freezes
its lines, computes ``closing = opening + credits - debits`` (a database constraint holds the same
equation), checks that closing against the source's own balance at the cut-off (a movement booked
back into a closed period would break it, and the close is refused), and opens the next window at the
cut-off with the closing balance as its opening. So windows tile time without gap or overlap and each
opening is the previous closing.

The cut-off of a close by hand is a little in the past (``in_flight_allowance``), because a
movement is timestamped when its transaction starts and may commit a moment later; a scheduled
close cuts at the end of the period, once that allowance has passed. Only one window per partner
and currency is OPEN at a time (a unique partial index).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.money import Money
from ledger.settlement.source import PositionSource
from ledger.settlement.statements import Direction, Statement, StatementLine
from ledger.settlement.tables import settlement_statement_lines, settlement_windows

__all__ = [
    "BalanceMismatch",
    "SettlementError",
    "Window",
    "WindowNotFound",
    "WindowNotOpen",
    "close_due_windows",
    "close_window",
    "get_window",
    "list_windows",
    "open_window",
    "position",
    "settle_window",
    "statement_of",
]

IN_FLIGHT_ALLOWANCE = timedelta(seconds=30)


class SettlementError(Exception):
    code = "settlement_error"
    status = 409


class WindowNotFound(SettlementError):
    code = "window_not_found"
    status = 404


class WindowNotOpen(SettlementError):
    code = "window_not_open"
    status = 409


class BalanceMismatch(SettlementError):
    """The source's balance at the cut-off is not the window's closing: something was back-dated."""

    code = "settlement_balance_mismatch"
    status = 409


def time_ordered_id(prefix: str) -> str:
    """``prefix`` + 12 hex digits of milliseconds + 12 random hex digits: ids sort by creation."""
    return f"{prefix}{int(time.time() * 1000):012x}{uuid.uuid4().hex[:12]}"


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """One settlement window."""

    id: str
    """``sw_...``; also the statement id."""
    partner_id: str
    """Whose window."""
    currency: str
    """Its one currency."""
    sequence: int
    """1, 2, ... per partner and currency."""
    status: str
    """``OPEN``, ``CLOSED`` or ``SETTLED``."""
    opened_at: datetime
    """Start (inclusive)."""
    closed_at: datetime | None
    """Cut-off (exclusive), once closed."""
    settled_at: datetime | None
    """When the net amount was paid."""
    opening: Money
    """Balance at ``opened_at``."""
    credits: Money | None
    """Sum of credit lines, once closed."""
    debits: Money | None
    """Sum of debit lines, once closed."""
    closing: Money | None
    """``opening + credits - debits``, once closed."""
    line_count: int | None
    """Number of lines, once closed."""
    settlement_reference: str | None
    """Reference of the payment that settled it."""

    @classmethod
    def from_row(cls, row: RowMapping) -> Window:
        currency = row["currency"]

        def money(value: int | None) -> Money | None:
            return None if value is None else Money.from_minor(value, currency)

        return cls(
            id=row["id"],
            partner_id=row["partner_id"],
            currency=currency,
            sequence=row["sequence"],
            status=row["status"],
            opened_at=_utc(row["opened_at"]),  # type: ignore[arg-type]
            closed_at=_utc(row["closed_at"]),
            settled_at=_utc(row["settled_at"]),
            opening=Money.from_minor(row["opening_minor"], currency),
            credits=money(row["credits_minor"]),
            debits=money(row["debits_minor"]),
            closing=money(row["closing_minor"]),
            line_count=row["line_count"],
            settlement_reference=row["settlement_reference"],
        )

    def to_json(self) -> dict[str, Any]:
        def amount(value: Money | None) -> dict[str, str] | None:
            return None if value is None else value.to_json()

        return {
            "id": self.id,
            "currency": self.currency,
            "sequence": self.sequence,
            "status": self.status,
            "openedAt": self.opened_at.isoformat(),
            "closedAt": self.closed_at.isoformat() if self.closed_at else None,
            "settledAt": self.settled_at.isoformat() if self.settled_at else None,
            "opening": self.opening.to_json(),
            "credits": amount(self.credits),
            "debits": amount(self.debits),
            "closing": amount(self.closing),
            "lineCount": self.line_count,
            "settlementReference": self.settlement_reference,
        }


_by_id = select(settlement_windows).where(settlement_windows.c.id == bindparam("window_id"))
_open_one = select(settlement_windows).where(
    settlement_windows.c.partner_id == bindparam("partner_id"),
    settlement_windows.c.currency == bindparam("currency"),
    settlement_windows.c.status == "OPEN",
)
_last_sequence = select(func.coalesce(func.max(settlement_windows.c.sequence), 0)).where(
    settlement_windows.c.partner_id == bindparam("partner_id"),
    settlement_windows.c.currency == bindparam("currency"),
)
_close = (
    update(settlement_windows)
    .where(settlement_windows.c.id == bindparam("window_id"), settlement_windows.c.status == "OPEN")
    .values(
        status="CLOSED",
        closed_at=bindparam("cutoff"),
        credits_minor=bindparam("credits"),
        debits_minor=bindparam("debits"),
        closing_minor=bindparam("closing"),
        line_count=bindparam("lines"),
        closed_by=bindparam("by"),
    )
)
_lines = (
    select(settlement_statement_lines)
    .where(settlement_statement_lines.c.window_id == bindparam("window_id"))
    .order_by(settlement_statement_lines.c.line_no)
)


async def get_window(conn: AsyncConnection, window_id: str, partner_id: str | None = None) -> Window:
    row = (await conn.execute(_by_id, {"window_id": window_id})).mappings().first()
    if row is None or (partner_id is not None and row["partner_id"] != partner_id):
        raise WindowNotFound(f"no settlement window {window_id}")
    return Window.from_row(row)


async def open_window(
    conn: AsyncConnection, partner_id: str, currency: str, source: PositionSource, *, now: datetime
) -> Window:
    """The partner's OPEN window in ``currency``, opened now (opening = the source's balance) if none is."""
    keys = {"partner_id": partner_id, "currency": currency}
    row = (await conn.execute(_open_one, keys)).mappings().first()
    if row is not None:
        return Window.from_row(row)
    opening = await source.balance_at(conn, partner_id, currency, now)
    return await _insert_window(conn, partner_id, currency, now, opening)


async def _insert_window(
    conn: AsyncConnection, partner_id: str, currency: str, opened_at: datetime, opening: Money
) -> Window:
    sequence = (
        await conn.execute(_last_sequence, {"partner_id": partner_id, "currency": currency})
    ).scalar_one()
    window_id = time_ordered_id("sw_")
    await conn.execute(
        insert(settlement_windows).values(
            id=window_id,
            partner_id=partner_id,
            currency=currency,
            sequence=sequence + 1,
            status="OPEN",
            opened_at=opened_at,
            opening_minor=opening.minor_units,
        )
    )
    return await get_window(conn, window_id)


async def close_window(
    conn: AsyncConnection,
    window_id: str,
    source: PositionSource,
    *,
    cutoff: datetime,
    closed_by: str,
) -> tuple[Window, Window]:
    """Close the OPEN window ``window_id`` at ``cutoff``; return it and its successor."""
    window = await get_window(conn, window_id)
    if window.status != "OPEN":
        raise WindowNotOpen(f"window {window_id} is {window.status}")
    if cutoff <= window.opened_at:
        raise SettlementError(f"the cut-off must be after the window opened ({window.opened_at.isoformat()})")
    lines = await source.movements(conn, window.partner_id, window.currency, window.opened_at, cutoff)
    statement = Statement(
        statement_id=window.id,
        account=window.id,
        account_name="",
        currency=window.currency,
        period_start=window.opened_at,
        period_end=cutoff,
        opening=window.opening,
        lines=tuple(lines),
        created_at=cutoff,
    )
    expected = await source.balance_at(conn, window.partner_id, window.currency, cutoff)
    if expected != statement.closing:
        raise BalanceMismatch(
            f"window {window_id}: opening + credits - debits = {statement.closing}, the books say {expected}"
        )
    result = await conn.execute(
        _close,
        {
            "window_id": window_id,
            "cutoff": cutoff,
            "credits": statement.credits.minor_units,
            "debits": statement.debits.minor_units,
            "closing": statement.closing.minor_units,
            "lines": len(lines),
            "by": closed_by[:80],
        },
    )
    if not result.rowcount:  # another closer won the race
        raise WindowNotOpen(f"window {window_id} was closed meanwhile")
    if lines:
        await conn.execute(
            insert(settlement_statement_lines),
            [
                {
                    "window_id": window_id,
                    "line_no": number,
                    "reference": line.reference,
                    "direction": line.direction.value,
                    "amount_minor": line.amount.minor_units,
                    "booked_on": line.booked_on,
                    "description": line.description[:140],
                    "entry_id": line.entry_id[:64],
                }
                for number, line in enumerate(lines, start=1)
            ],
        )
    successor = await _insert_window(conn, window.partner_id, window.currency, cutoff, statement.closing)
    return await get_window(conn, window_id), successor


async def close_due_windows(
    conn: AsyncConnection,
    source: PositionSource,
    period_of: dict[str, timedelta],
    *,
    now: datetime,
    allowance: timedelta = IN_FLIGHT_ALLOWANCE,
) -> list[Window]:
    """Close every OPEN window whose period ended at least ``allowance`` ago, at the period's end.

    ``period_of`` gives each partner's window length; a partner missing from it is left alone.
    A window overdue by several periods is closed period by period.
    """
    closed: list[Window] = []
    rows = (
        await conn.execute(select(settlement_windows).where(settlement_windows.c.status == "OPEN"))
    ).mappings()
    for window in [Window.from_row(row) for row in rows]:
        period = period_of.get(window.partner_id)
        current = window
        while period is not None and current.opened_at + period + allowance <= now:
            done, current = await close_window(
                conn, current.id, source, cutoff=current.opened_at + period, closed_by="schedule"
            )
            closed.append(done)
    return closed


async def settle_window(
    conn: AsyncConnection, window_id: str, *, reference: str, settled_by: str, now: datetime
) -> Window:
    """Record that the closed window's net amount was paid (``reference`` of that payment)."""
    result = await conn.execute(
        update(settlement_windows)
        .where(settlement_windows.c.id == window_id, settlement_windows.c.status == "CLOSED")
        .values(
            status="SETTLED", settled_at=now, settled_by=settled_by[:80], settlement_reference=reference[:64]
        )
    )
    if not result.rowcount:
        window = await get_window(conn, window_id)
        raise SettlementError(f"window {window_id} is {window.status}; only a CLOSED window can be settled")
    return await get_window(conn, window_id)


async def statement_of(
    conn: AsyncConnection, window: Window, *, account: str, account_name: str
) -> Statement:
    """The frozen statement of a closed window."""
    if window.closed_at is None:
        raise WindowNotOpen(f"window {window.id} is still open: its statement is not final")
    rows = (await conn.execute(_lines, {"window_id": window.id})).mappings()
    lines = tuple(
        StatementLine(
            reference=row["reference"],
            amount=Money.from_minor(row["amount_minor"], window.currency),
            direction=Direction(row["direction"]),
            booked_on=row["booked_on"],
            description=row["description"],
            entry_id=row["entry_id"],
        )
        for row in rows
    )
    statement = Statement(
        statement_id=window.id,
        account=account[:34],
        account_name=account_name,
        currency=window.currency,
        period_start=window.opened_at,
        period_end=window.closed_at,
        opening=window.opening,
        lines=lines,
        created_at=window.closed_at,
    )
    if statement.closing != window.closing:
        raise SettlementError(
            f"window {window.id}: its frozen lines do not add up to its stored closing balance"
        )
    return statement


async def list_windows(
    conn: AsyncConnection,
    partner_id: str | None = None,
    *,
    currency: str | None = None,
    status: str | None = None,
    limit: int = 50,
    after: str = "",
) -> tuple[list[Window], str | None]:
    """A page of windows in the order they were opened, and the cursor of the next page."""
    query = select(settlement_windows).where(settlement_windows.c.id > after)
    if partner_id is not None:
        query = query.where(settlement_windows.c.partner_id == partner_id)
    if currency is not None:
        query = query.where(settlement_windows.c.currency == currency)
    if status is not None:
        query = query.where(settlement_windows.c.status == status)
    rows = (await conn.execute(query.order_by(settlement_windows.c.id).limit(limit + 1))).mappings()
    page = [Window.from_row(row) for row in rows]
    return page[:limit], (page[limit - 1].id if len(page) > limit else None)


async def position(conn: AsyncConnection, window: Window, source: PositionSource, *, now: datetime) -> Money:
    """The net position now: what Körpü owes the partner (negative: what the partner owes Körpü)."""
    return await source.balance_at(conn, window.partner_id, window.currency, now)
