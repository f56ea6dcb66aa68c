"""Rows collected in a deferred-inserts block are written together, in one statement on PostgreSQL,
all or nothing; outside a block (and on SQLite) a row is inserted at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.deferred_inserts import deferred_inserts, deferring, insert_row
from backend.idempotency import idempotency_keys
from backend.transfers.tables import transfer_events
from tests.statements import statements_run

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def reply(key: str) -> dict[str, Any]:
    return {
        "scope": "customer:1",
        "key": key,
        "request_hash": "h" * 64,
        "status_code": 201,
        "body": {"id": key},
        "created_at": NOW,
    }


def timeline_event(status: str) -> dict[str, Any]:
    return {"transfer_id": "tr-1", "status": status, "code": None, "occurred_at": NOW}


async def counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        replies = (await conn.execute(select(func.count()).select_from(idempotency_keys))).scalar_one()
        events = (await conn.execute(select(func.count()).select_from(transfer_events))).scalar_one()
    return replies, events


async def test_rows_of_several_tables_are_written_together(engine: AsyncEngine) -> None:
    async with statements_run(engine) as sent, engine.begin() as conn:
        async with deferred_inserts(conn):
            assert deferring(conn) == (engine.dialect.name == "postgresql")
            for status in ("created", "funds_reserved", "sent_to_partner"):
                await insert_row(conn, transfer_events, timeline_event(status))
            await insert_row(conn, idempotency_keys, reply("k-1"))
        assert not deferring(conn)
    assert await counts(engine) == (1, 3)
    inserts = [statement for statement in sent if "INSERT" in statement]
    assert len(inserts) == (1 if engine.dialect.name == "postgresql" else 4)
    async with engine.connect() as conn:
        by_id = select(transfer_events.c.status).order_by(transfer_events.c.id)
        statuses = list((await conn.execute(by_id)).scalars())
    assert statuses == ["created", "funds_reserved", "sent_to_partner"]  # the timeline keeps its order


async def test_an_error_in_the_block_writes_nothing_and_leaves_no_block_open(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn, deferred_inserts(conn):
            await insert_row(conn, idempotency_keys, reply("k-1"))
            raise RuntimeError("the work failed")
    assert await counts(engine) == (0, 0)
    async with engine.begin() as conn:  # the pooled connection is reused: rows go in at once
        assert not deferring(conn)
        await insert_row(conn, idempotency_keys, reply("k-2"))
    assert await counts(engine) == (1, 0)


async def test_a_refused_row_refuses_the_others_written_with_it(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await insert_row(conn, idempotency_keys, reply("k-1"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn, deferred_inserts(conn):
            await insert_row(conn, transfer_events, timeline_event("created"))
            await insert_row(conn, idempotency_keys, reply("k-1"))  # the key is taken
    assert await counts(engine) == (1, 0)
