"""Client CPU per statement, three ways: SQLAlchemy Core's execute, the same statement through
sqldirect (compiled once, run on asyncpg under SQLAlchemy's connection), and asyncpg alone; then
what a transaction around one statement costs the client (SQLAlchemy's connect, begin, commit and
close), a read in autocommit mode (connect, switch the isolation level, close) and the same read
alone (sqldirect's ``alone``: no switch). A primary-key read, 5,000 times on one connection, three
rounds. Needs the PostgreSQL of the tests (``test`` database on 127.0.0.1, trust auth); makes and
drops a table ``direct_probe``.
Run from the repository root:

    .venv/bin/python docs/scripts/direct-cost.py

Session 8 (docs/performance.md, "Statements on the driver"): SQLAlchemy 172-240 µs, sqldirect
67-73 µs; a transaction around one statement 549-569 µs, an autocommit read 262-340 µs.
Session 9, a slower hour (sqldirect 136-176 µs): an autocommit read 352-366 µs, the same read alone
306-328 µs.
"""

import time

import sqlalchemy as sa
import uvloop
from sqlalchemy.ext.asyncio import create_async_engine

from sqldirect import direct

URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
N = 5000
metadata = sa.MetaData()
probe = sa.Table(
    "direct_probe",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("amount", sa.BigInteger),
    sa.Column("status", sa.Text),
)


def per_call(started: float, calls: int = N) -> str:
    return f"{(time.process_time() - started) / calls * 1e6:.0f} µs"


async def main() -> None:
    engine = create_async_engine(URL, pool_size=2)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
        await conn.execute(
            probe.insert(), [{"id": i, "name": f"n{i}", "amount": i, "status": "a"} for i in range(100)]
        )
    statement = sa.select(probe.c.name, probe.c.amount).where(
        probe.c.id == sa.bindparam("id"), probe.c.status == "a"
    )
    fast = direct(statement)
    one = direct(sa.text("SELECT 1"))
    try:
        for _ in range(3):
            async with engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                for i in range(300):
                    await fast.first(autocommit, {"id": i % 100})
                started = time.process_time()
                for i in range(N):
                    (await autocommit.execute(statement, {"id": i % 100})).first()
                sqlalchemy_cost = per_call(started)
                started = time.process_time()
                for i in range(N):
                    await fast.first(autocommit, {"id": i % 100})
                direct_cost = per_call(started)
                raw = (await autocommit.get_raw_connection()).driver_connection
                sql = "SELECT name, amount FROM direct_probe WHERE id = $1 AND status = $2"
                started = time.process_time()
                for i in range(N):
                    await raw.fetchrow(sql, i % 100, "a")
                asyncpg_cost = per_call(started)
            calls = N // 2
            started = time.process_time()
            for _ in range(calls):
                async with engine.begin() as conn:
                    await one.first(conn)
            transaction_cost = per_call(started, calls)
            started = time.process_time()
            for _ in range(calls):
                async with engine.connect() as conn:
                    await one.first(await conn.execution_options(isolation_level="AUTOCOMMIT"))
            read_cost = per_call(started, calls)
            started = time.process_time()
            for _ in range(calls):
                async with engine.connect() as conn:
                    await one.first(conn, alone=True)
            alone_cost = per_call(started, calls)
            print(
                f"SQLAlchemy {sqlalchemy_cost}, sqldirect {direct_cost}, asyncpg alone {asyncpg_cost}; "
                f"transaction around one statement {transaction_cost}, autocommit read {read_cost}, "
                f"read alone {alone_cost}"
            )
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
        await engine.dispose()


uvloop.run(main())
