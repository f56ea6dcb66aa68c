"""Statements run through sqldirect behave as SQLAlchemy's own execution does: the same values in
and out (types' processors included), inside the caller's transaction, the same errors, and seen by
statement listeners; on SQLite SQLAlchemy runs them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    TypeDecorator,
    Uuid,
    bindparam,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.sqltypes import UtcDateTime
from sqldirect import direct
from tests.probe_support import probe_tables
from tests.statements import statements_run


class Cents(TypeDecorator[Decimal]):
    """Stored as integer cents, read back as a Decimal: both directions need a processor."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> int | None:
        return None if value is None else int(value * 100)

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value) / 100


metadata = MetaData()
probe = Table(
    "sqldirect_probe",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ref", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("amount", Cents, nullable=False),
    Column("rate", Numeric(18, 6), nullable=False),
    Column("doc", JSON, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("status", String(20), nullable=False),
)

INSERT = direct(
    insert(probe)
    .values(
        id=bindparam("id"),
        ref=bindparam("ref"),
        name=bindparam("name"),
        amount=bindparam("amount"),
        rate=bindparam("rate"),
        doc=bindparam("doc"),
        at=bindparam("at"),
        status="live",  # a literal of the statement, not a parameter of the call
    )
    .returning(probe.c.id, probe.c.amount, probe.c.doc)
)
BY_ID = select(probe).where(probe.c.id == bindparam("id"), probe.c.status == "live")
DIRECT_BY_ID = direct(BY_ID)
COUNT = direct(select(func.count()).select_from(probe))
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
async def table(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    async with probe_tables(engine, metadata):
        yield engine


def values(id_: int, **changes: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "ref": uuid.UUID(int=id_),
        "name": f"Nərgiz {id_}",
        "amount": Decimal("12.34"),
        "rate": Decimal("1.700125"),
        "doc": {"legs": [id_, "AZN"], "note": "ə"},
        "at": NOW,
    } | changes


async def test_a_row_reads_the_same_as_through_sqlalchemy(table: AsyncEngine) -> None:
    async with table.begin() as conn:
        returned = await INSERT.first(conn, values(1))
    assert returned is not None
    assert (returned.id, returned.amount, returned.doc) == (
        1,
        Decimal("12.34"),
        {"legs": [1, "AZN"], "note": "ə"},
    )
    async with table.connect() as conn:
        ours = await DIRECT_BY_ID.first(conn, {"id": 1})
        theirs = (await conn.execute(BY_ID, {"id": 1})).one()
    assert ours is not None
    assert tuple(ours) == tuple(theirs)
    assert ours._mapping == dict(theirs._mapping)
    assert ours.amount == Decimal("12.34") and ours.ref == uuid.UUID(int=1)
    with pytest.raises(AttributeError):
        _ = ours.no_such_column


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cents=st.integers(min_value=-(10**15), max_value=10**15),
    rate=st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False),
    name=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=50),
    seconds=st.integers(min_value=0, max_value=10**8),
)
async def test_any_value_goes_in_and_comes_out_unchanged(
    table: AsyncEngine, cents: int, rate: Decimal, name: str, seconds: int
) -> None:
    row_id = abs(hash((cents, rate, name, seconds))) % 2**31
    written = values(
        row_id, amount=Decimal(cents) / 100, rate=rate, name=name, at=NOW + timedelta(seconds=seconds)
    )
    async with table.begin() as conn:
        await conn.execute(probe.delete().where(probe.c.id == row_id))
        await INSERT.rows(conn, written)
    async with table.connect() as conn:
        read = await DIRECT_BY_ID.first(conn, {"id": row_id})
    assert read is not None
    assert (read.amount, read.rate, read.name, read.at) == (written["amount"], rate, name, written["at"])


async def test_it_runs_in_the_callers_transaction(table: AsyncEngine) -> None:
    async with table.connect() as conn:
        async with conn.begin() as transaction:
            # The first statement of the transaction: sqldirect begins it as SQLAlchemy would.
            await INSERT.rows(conn, values(7))
            assert await COUNT.scalar(conn) == 1
            await transaction.rollback()
        assert await COUNT.scalar(conn) == 0
    async with table.begin() as conn:
        await INSERT.rows(conn, values(8))
    async with table.connect() as conn:
        assert await COUNT.scalar(conn) == 1


async def test_errors_are_sqlalchemys_and_the_transaction_is_undone(table: AsyncEngine) -> None:
    async with table.begin() as conn:
        await INSERT.rows(conn, values(3))
    with pytest.raises(IntegrityError) as raised:
        async with table.begin() as conn:
            await INSERT.rows(conn, values(4))
            await INSERT.rows(conn, values(3))  # the same key again
    if table.dialect.name == "postgresql":
        assert raised.value.orig.sqlstate == "23505"  # type: ignore[union-attr]
    async with table.connect() as conn:
        assert await COUNT.scalar(conn) == 1  # row 4 went with the failed transaction
        # The connection is still good for the next statement.
        assert (await DIRECT_BY_ID.first(conn, {"id": 3})) is not None


async def test_statement_listeners_see_each_statement(table: AsyncEngine) -> None:
    async with statements_run(table) as sent, table.begin() as conn:
        await INSERT.rows(conn, values(5))
        await DIRECT_BY_ID.first(conn, {"id": 5})
    assert [statement.split()[0] for statement in sent if not statement.startswith("BEGIN")] == [
        "INSERT",
        "SELECT",
    ]


async def test_a_statement_without_rows_returns_none(table: AsyncEngine) -> None:
    delete = direct(probe.delete().where(probe.c.id == bindparam("id")))
    async with table.begin() as conn:
        assert await delete.rows(conn, {"id": 99}) == []
        assert await delete.first(conn, {"id": 99}) is None


@pytest.mark.postgres_only
async def test_a_text_statement_reads_its_columns_by_name(table: AsyncEngine) -> None:
    statement = direct(text("SELECT CAST(:n AS integer) + 1 AS next, CAST(:label AS text) AS label"))
    async with table.connect() as conn:
        row = await statement.first(conn, {"n": 41, "label": "x"})
    assert row is not None and (row.next, row.label, row._mapping) == (42, "x", {"next": 42, "label": "x"})


@pytest.mark.postgres_only
async def test_statements_sqlalchemy_rewrites_per_call_are_refused(table: AsyncEngine) -> None:
    expanding = direct(select(probe.c.id).where(probe.c.id.in_(bindparam("ids", expanding=True))))
    async with table.connect() as conn:
        with pytest.raises(ValueError, match="array"):
            await expanding.rows(conn, {"ids": [1, 2]})


async def test_an_insert_without_values_sets_the_columns_its_parameters_name(table: AsyncEngine) -> None:
    plain = direct(insert(probe))
    async with table.begin() as conn:
        await plain.rows(conn, values(10, status="live"))
        # Another set of names: a statement of its own (here the default of nothing: a NOT NULL error).
        with pytest.raises(IntegrityError):
            async with conn.begin_nested():
                await plain.rows(conn, {"id": 11, "ref": uuid.UUID(int=11)})
    async with table.connect() as conn:
        found = await DIRECT_BY_ID.first(conn, {"id": 10})
    assert found is not None and found.name == "Nərgiz 10"


async def test_a_connection_without_begin_commits_what_ran_here(table: AsyncEngine) -> None:
    # As with SQLAlchemy's own execute: the statement begins the transaction ("autobegin") and
    # the connection's commit ends it; without the commit, closing rolls it back.
    async with table.connect() as conn:
        await INSERT.rows(conn, values(20))
        await conn.commit()
    async with table.connect() as conn:
        await INSERT.rows(conn, values(21))
    async with table.connect() as conn:
        assert await COUNT.scalar(conn) == 1


@pytest.mark.postgres_only
async def test_alone_a_statement_is_its_own_transaction_without_begin_or_commit(table: AsyncEngine) -> None:
    async with statements_run(table) as sent, table.connect() as conn:
        inserted = await INSERT.first(conn, values(30), alone=True)
        assert inserted is not None and inserted.amount == Decimal("12.34")
        assert not conn.in_transaction()  # nothing for SQLAlchemy to commit or roll back
    # Closed without a commit, and the row is there: the statement committed when it ended.
    assert not any(statement.startswith(("BEGIN", "COMMIT")) for statement in sent)
    async with table.connect() as conn:
        assert await COUNT.scalar(conn, alone=True) == 1
        # The connection is still good for a transaction afterwards.
        async with conn.begin():
            await INSERT.rows(conn, values(31))
    async with table.connect() as conn:
        assert await COUNT.scalar(conn) == 2


async def test_alone_inside_an_open_transaction_runs_in_it(table: AsyncEngine) -> None:
    async with table.connect() as conn:
        async with conn.begin() as transaction:
            await INSERT.rows(conn, values(32), alone=True)
            assert await COUNT.scalar(conn, alone=True) == 1
            await transaction.rollback()
        assert await COUNT.scalar(conn, alone=True) == 0  # rolled back with the transaction
    async with table.connect() as conn:
        with pytest.raises(IntegrityError):
            async with conn.begin():
                await INSERT.rows(conn, values(33))
                await INSERT.rows(conn, values(33), alone=True)  # in the transaction: undone with it
    async with table.connect() as conn:
        assert await COUNT.scalar(conn) == 0
