"""Reads and writes of transfers and their timeline (SQLAlchemy Core, statements built once)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ARRAY, CTE, Insert, String, and_, any_, bindparam, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.deferred_inserts import deferring, insert_row
from backend.transfers.model import TimelineEvent, Transfer, TransferNotFound, TransferStatus
from backend.transfers.tables import transfer_events, transfers
from compliance.privacy import Sealer
from ledger.money import Money
from sqldirect import direct

__all__ = [
    "RECIPIENT_CONTEXT",
    "add_event",
    "decode_cursor",
    "encode_cursor",
    "find_by_id",
    "find_by_payout",
    "insert_transfer",
    "list_for_customer",
    "load",
    "set_status",
    "transfer_from_values",
]

RECIPIENT_CONTEXT = "transfers.recipient"

_insert_transfer = insert(transfers)
_insert_event = insert(transfer_events)
_by_id = select(transfers).where(transfers.c.id == bindparam("transfer_id"))
_by_payout = select(transfers).where(transfers.c.payout_id == bindparam("payout_id"))
_events = (
    select(transfer_events.c.status, transfer_events.c.occurred_at, transfer_events.c.code)
    .where(transfer_events.c.transfer_id == bindparam("transfer_id"))
    .order_by(transfer_events.c.id)
)
_set_status = (
    update(transfers)
    .where(
        transfers.c.id == bindparam("transfer_id"),
        transfers.c.status.in_(bindparam("expected", expanding=True)),
    )
    .values(
        status=bindparam("new_status"),
        failure_code=bindparam("new_failure_code"),
        updated_at=bindparam("now"),
    )
    .returning(transfers.c.id)
)


def _log_moved(moved: CTE) -> Insert:
    """The timeline event of each transfer ``moved`` (a status change's RETURNING, as a CTE) moved."""
    return insert(transfer_events).from_select(
        ["transfer_id", "status", "code", "occurred_at"],
        select(
            moved.c.id,
            bindparam("new_status", type_=transfer_events.c.status.type),
            bindparam("new_failure_code", type_=transfer_events.c.code.type),
            bindparam("now", type_=transfer_events.c.occurred_at.type),
        ),
    )


_set_status_and_log = _log_moved(_set_status.cte("moved")).returning(transfer_events.c.transfer_id)
"""PostgreSQL: the compare-and-set and its timeline event in one statement (no event if not moved)."""
_move_by_payout = (
    update(transfers)
    .where(
        # (Not "payout_id": a parameter named after a column is taken as that column's new value.)
        transfers.c.payout_id == bindparam("b_payout_id"),
        # An array, not an expanding IN: the statement's SQL stays fixed (run through sqldirect).
        transfers.c.status == any_(bindparam("expected", type_=ARRAY(String))),
    )
    .values(
        status=bindparam("new_status"),
        failure_code=bindparam("new_failure_code"),
        updated_at=bindparam("now"),
    )
    .returning(transfers.c.id, transfers.c.customer_id, transfers.c.hold_entry_id)
    .cte("moved")
)
_move_by_payout_and_log = select(
    _move_by_payout.c.id, _move_by_payout.c.customer_id, _move_by_payout.c.hold_entry_id
).add_cte(_log_moved(_move_by_payout).cte("logged"))
"""PostgreSQL: a payout's transfer moved on (compare-and-set) with its timeline event, read back."""


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def insert_transfer(
    conn: AsyncConnection, row: dict[str, Any], timeline: Sequence[TimelineEvent] = ()
) -> None:
    """A new transfer and the events of its timeline so far: inside a
    :func:`backend.deferred_inserts.deferred_inserts` block (a transfer's creation on PostgreSQL)
    with the block's other rows, elsewhere one statement for the transfer and one for the events."""
    if deferring(conn):
        await insert_row(conn, transfers, row)
        for event in timeline:
            await insert_row(conn, transfer_events, _event_row(row["id"], event))
        return
    await conn.execute(_insert_transfer, row)
    if timeline:
        await conn.execute(_insert_event, [_event_row(row["id"], event) for event in timeline])


def _event_row(transfer_id: str, event: TimelineEvent) -> dict[str, Any]:
    return {
        "transfer_id": transfer_id,
        "status": event.status.value,
        "code": event.code,
        "occurred_at": event.at,
    }


async def add_event(
    conn: AsyncConnection, transfer_id: str, status: TransferStatus, now: datetime, code: str | None = None
) -> None:
    await conn.execute(
        _insert_event, {"transfer_id": transfer_id, "status": status.value, "code": code, "occurred_at": now}
    )


async def set_status(
    conn: AsyncConnection,
    transfer_id: str,
    expected: Sequence[TransferStatus],
    new_status: TransferStatus,
    now: datetime,
    *,
    failure_code: str | None = None,
) -> bool:
    """Move the transfer on if it is in one of ``expected`` (a compare-and-set); log the event."""
    values = {"transfer_id": transfer_id, **_move(expected, new_status, now, failure_code)}
    if conn.dialect.name == "postgresql":
        return (await conn.execute(_set_status_and_log, values)).first() is not None
    moved = (await conn.execute(_set_status, values)).first()
    if moved is not None:
        await add_event(conn, transfer_id, new_status, now, failure_code)
    return moved is not None


def _move(
    expected: Sequence[TransferStatus], new_status: TransferStatus, now: datetime, failure_code: str | None
) -> dict[str, Any]:
    """The parameters of a status change (its compare-and-set and its timeline event)."""
    return {
        "expected": [status.value for status in expected],
        "new_status": new_status.value,
        "new_failure_code": failure_code,
        "now": now,
    }


_MOVE_BY_PAYOUT_AND_LOG = direct(_move_by_payout_and_log)


async def move_by_payout(
    conn: AsyncConnection,
    payout_id: str,
    expected: Sequence[TransferStatus],
    new_status: TransferStatus,
    now: datetime,
) -> Mapping[Any, Any] | None:
    """Move the transfer paid by ``payout_id`` on if it is in one of ``expected``, and log the
    event: its ``id``, ``customer_id`` and ``hold_entry_id``, or ``None`` when it did not move (or
    there is none). On PostgreSQL one statement, where finding it and moving it took two."""
    if conn.dialect.name == "postgresql":
        values = {"b_payout_id": payout_id, **_move(expected, new_status, now, None)}
        moved = await _MOVE_BY_PAYOUT_AND_LOG.first(conn, values)
        return None if moved is None else moved._mapping
    row = await find_by_payout(conn, payout_id)
    if row is None or not await set_status(conn, row["id"], expected, new_status, now):
        return None
    return row


def _from_row(row: RowMapping, sealer: Sealer, timeline: tuple[TimelineEvent, ...] = ()) -> Transfer:
    recipient = json.loads(sealer.open_text(row["recipient_sealed"], RECIPIENT_CONTEXT))
    return transfer_from_values(row, recipient, timeline)


def transfer_from_values(
    row: Mapping[Any, Any], recipient: dict[str, Any], timeline: tuple[TimelineEvent, ...] = ()
) -> Transfer:
    """The transfer of a row's values (read, or about to be inserted) and its opened recipient."""
    send, receive = row["send_currency"], row["receive_currency"]
    return Transfer(
        id=row["id"],
        customer_id=row["customer_id"],
        recipient_id=row["recipient_id"],
        recipient=recipient,
        quote_id=row["quote_id"],
        corridor=f"{row['send_country']}-{row['receive_country']}-{send}-{receive}",
        payout_method=row["payout_method"],
        send_amount=Money.from_minor(row["send_minor"], send),
        fee=Money.from_minor(row["fee_minor"], send),
        total_to_pay=Money.from_minor(row["total_minor"], send),
        receive_amount=Money.from_minor(row["receive_minor"], receive),
        fx_margin=Money.from_minor(row["fx_margin_minor"], receive),
        mid_rate=row["mid_rate"],
        rate=row["rate"],
        total_cost_pct=row["total_cost_pct"],
        purpose=row["purpose"],
        status=TransferStatus(row["status"]),
        failure_code=row["failure_code"],
        partner_id=row["partner_id"],
        payout_id=row["payout_id"],
        hold_entry_id=row["hold_entry_id"],
        recipient_customer_id=row["recipient_customer_id"],
        created_at=_aware(row["created_at"]),
        updated_at=_aware(row["updated_at"]),
        timeline=timeline,
    )


async def find_by_id(conn: AsyncConnection, transfer_id: str) -> RowMapping | None:
    return (await conn.execute(_by_id, {"transfer_id": transfer_id})).mappings().first()


async def find_by_payout(conn: AsyncConnection, payout_id: str) -> RowMapping | None:
    return (await conn.execute(_by_payout, {"payout_id": payout_id})).mappings().first()


async def load(
    conn: AsyncConnection, sealer: Sealer, transfer_id: str, *, customer_id: int | None = None
) -> Transfer:
    """The transfer with its timeline; another customer's transfer is reported as not found."""
    row = await find_by_id(conn, transfer_id)
    if row is None or (customer_id is not None and row["customer_id"] != customer_id):
        raise TransferNotFound(f"no transfer {transfer_id}")
    events = (await conn.execute(_events, {"transfer_id": transfer_id})).all()
    timeline = tuple(TimelineEvent(TransferStatus(e.status), _aware(e.occurred_at), e.code) for e in events)
    return _from_row(row, sealer, timeline)


def encode_cursor(created_at: datetime, transfer_id: str) -> str:
    raw = json.dumps([_aware(created_at).isoformat(), transfer_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str] | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, transfer_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(created_at), str(transfer_id)
    except (ValueError, TypeError):
        return None


async def list_for_customer(
    conn: AsyncConnection, sealer: Sealer, customer_id: int, *, limit: int, after: tuple[datetime, str] | None
) -> list[Transfer]:
    """Newest first; ``after`` is the (created_at, id) of the last item of the previous page."""
    query = (
        select(transfers)
        .where(transfers.c.customer_id == customer_id)
        .order_by(transfers.c.created_at.desc(), transfers.c.id.desc())
        .limit(limit)
    )
    if after is not None:
        created_at, transfer_id = after
        query = query.where(
            or_(
                transfers.c.created_at < created_at,
                and_(transfers.c.created_at == created_at, transfers.c.id < transfer_id),
            )
        )
    rows = (await conn.execute(query)).mappings().all()
    return [_from_row(row, sealer) for row in rows]
