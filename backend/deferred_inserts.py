"""Rows of one transaction written together: one INSERT statement for several tables (PostgreSQL).

Creating a transfer inserts its payout, its outbox events, the transfer with its timeline and the
idempotency reply: five statements and five round trips, and nothing in the creation reads any of
those rows back. Inside :func:`deferred_inserts`, :func:`insert_row` only collects a row; when the
block ends, all of them are written by one statement, each table's rows in a data-modifying CTE
(PostgreSQL runs every one of them, and checks constraints at the end of the statement as it would
for separate ones). The statement for each shape of rows (which tables, which columns, how many
rows) is built once and kept, compiled once per process and run on the driver (:mod:`sqldirect`):
SQLAlchemy does not cache the SQL of a multi-row ``VALUES`` (it recompiled this statement for
every transfer, a fifth of the server's CPU under load).

Outside such a block, and always on SQLite, :func:`insert_row` inserts at once. Rows collected in a
block are invisible to reads until it ends: use it only around work that does not read them back
(the transfer's creation, :mod:`backend.transfers.service`).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Insert, Table, bindparam, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from sqldirect import DirectStatement, direct

__all__ = ["deferred_inserts", "deferring", "insert_row"]

_PENDING = "korpu.deferred_inserts"
"""Key in the connection's ``info`` of the rows collected by the open block."""

_Shape = tuple[tuple[Table, tuple[str, ...], int], ...]
"""Per table (in order of first use): the table, its columns, the number of rows."""


def deferring(conn: AsyncConnection) -> bool:
    """Whether a :func:`deferred_inserts` block is open on ``conn``."""
    return _PENDING in conn.info


async def insert_row(conn: AsyncConnection, table: Table, row: Mapping[str, Any]) -> None:
    """Insert ``row`` into ``table``: at once, or with the others when a block is open."""
    pending: list[tuple[Table, Mapping[str, Any]]] | None = conn.info.get(_PENDING)
    if pending is None:
        await conn.execute(_plain_insert(table), dict(row))
        return
    pending.append((table, row))


@asynccontextmanager
async def deferred_inserts(conn: AsyncConnection) -> AsyncIterator[None]:
    """Collect the rows :func:`insert_row` is given in the block; write them in one statement when
    it ends without an exception (on SQLite, or inside another block, rows are written as usual)."""
    if conn.dialect.name != "postgresql" or deferring(conn):
        yield
        return
    pending: list[tuple[Table, Mapping[str, Any]]] = []
    conn.info[_PENDING] = pending
    try:
        yield
    finally:
        # The info dict belongs to the pooled connection: never leave the marker behind.
        del conn.info[_PENDING]
    await _write(conn, pending)


async def _write(conn: AsyncConnection, pending: list[tuple[Table, Mapping[str, Any]]]) -> None:
    if not pending:
        return
    groups: dict[tuple[Table, tuple[str, ...]], list[Mapping[str, Any]]] = {}
    for table, row in pending:
        groups.setdefault((table, tuple(sorted(row))), []).append(row)
    shape: _Shape = tuple((table, columns, len(rows)) for (table, columns), rows in groups.items())
    values = [row[column] for (_, columns), rows in groups.items() for row in rows for column in columns]
    await _combined(shape).rows(conn, dict(zip(_names(shape), values, strict=True)))


def _name(group: int, index: int, column: str) -> str:
    return f"w{group}_{index}_{column}"


@functools.cache
def _names(shape: _Shape) -> tuple[str, ...]:
    """The parameter names of a shape's statement, in the order :func:`_write` lists the values
    (a transfer's statement has about a hundred: formatted once, not per transfer)."""
    return tuple(
        _name(group, index, column)
        for group, (_, columns, count) in enumerate(shape)
        for index in range(count)
        for column in columns
    )


@functools.cache
def _plain_insert(table: Table) -> Insert:
    return insert(table)


@functools.cache
def _combined(shape: _Shape) -> DirectStatement[Insert]:
    """One INSERT for rows of this shape: the last table's as the statement, the others as CTEs."""
    inserts = [
        insert(table).values(
            [
                {
                    column: bindparam(_name(group, index, column), type_=table.c[column].type)
                    for column in columns
                }
                for index in range(count)
            ]
        )
        for group, (table, columns, count) in enumerate(shape)
    ]
    *others, last = inserts
    # Compiled once per shape and process (SQLAlchemy would compile a multi-row VALUES on every
    # execution: it gives such a statement no cache key).
    return direct(last.add_cte(*(other.cte(f"w{group}") for group, other in enumerate(others))))
