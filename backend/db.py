"""Async database engines for SQLite (the laptop) and PostgreSQL (everything else).

SQLite runs in WAL mode with foreign keys on, and every transaction starts with ``BEGIN IMMEDIATE``
so that concurrent writers queue on the database lock instead of failing half-way with
``database is locked``. PostgreSQL uses asyncpg with a connection pool, and generic plans for the
prepared statements (planned once per connection, not per call).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

__all__ = ["alone", "create_engine", "is_sqlite", "reading", "single_statement", "transaction"]

SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(engine: AsyncEngine | AsyncConnection) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(
    url: str,
    *,
    pool_size: int = 20,
    max_overflow: int | None = None,
    pool_timeout: float = 30.0,
    null_pool: bool = False,
) -> AsyncEngine:
    """An engine for ``url``; on SQLite with the pragmas and locking described above. The pool keeps
    ``pool_size`` connections and opens up to ``max_overflow`` more (default: as many) for bursts,
    closing those again when they come back; past that a caller waits up to ``pool_timeout``
    seconds for one."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            from pathlib import Path

            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **({"poolclass": NullPool} if null_pool else {}),
        )
        _configure_sqlite(engine)
        return engine
    # Every statement is built once and prepared per connection (asyncpg's statement cache). The
    # planner would still plan each of the first executions afresh and may keep doing so whenever it
    # judges a custom plan cheaper; for the ledger's one-statement batches (arrays of rows) that
    # planning cost about a third of a transfer's time (docs/performance.md). Our statements look
    # rows up by key, where the generic plan is the right one.
    options: dict[str, Any] = {
        "pool_pre_ping": False,
        "connect_args": {"server_settings": {"plan_cache_mode": "force_generic_plan"}},
    }
    if null_pool:
        options["poolclass"] = NullPool
    else:
        options.update(
            pool_size=pool_size,
            max_overflow=pool_size if max_overflow is None else max_overflow,
            pool_timeout=pool_timeout,
        )
    return create_async_engine(url, **options)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so that BEGIN IMMEDIATE below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One database transaction: commit on success, roll back on any exception."""
    async with engine.begin() as connection:
        yield connection


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads that need no transaction around them: each statement sees what was
    committed when it started. On PostgreSQL in autocommit mode: a read is one round trip, where
    SQLAlchemy's implicit ``BEGIN``, the read and the ``ROLLBACK`` on leaving take three (measured:
    about 100 µs of the client's CPU and 150-200 µs of time less per read, docs/performance.md).
    For single look-ups run through SQLAlchemy; statements built with :mod:`sqldirect` use
    :func:`alone` instead (no isolation switch). Where several reads must agree with each other,
    read in a transaction instead."""
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")
            return
        yield connection


@asynccontextmanager
async def alone(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for :mod:`sqldirect` statements run with ``alone=True`` (the access token's
    session, the partner key and nonce, a payout's delivery): on PostgreSQL each is a transaction
    of its own, with nothing begun here and no switch to autocommit and back (40-60 µs of the
    client's CPU less than :func:`reading`); on SQLite, where SQLAlchemy runs them, they share a
    transaction committed on leaving (rolled back on an exception)."""
    async with engine.connect() as connection:
        yield connection
        if connection.in_transaction():
            await connection.commit()


@asynccontextmanager
async def single_statement(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for one statement that is atomic by itself, committed on leaving: on PostgreSQL in
    autocommit mode (one round trip, where ``BEGIN``, the statement and ``COMMIT`` take three), on
    SQLite in a transaction of its own (which takes the write lock like any other)."""
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")
            return
        async with connection.begin():
            yield connection
