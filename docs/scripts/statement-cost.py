"""CPU per statement: SQLAlchemy Core over asyncpg (as the service runs its statements) against
asyncpg alone, a primary-key read and an UPDATE, 5,000 of each on one connection. Needs the
PostgreSQL of the tests (``test`` database on 127.0.0.1, trust auth); makes and drops a table
``sa_probe``. Run from the repository root:

    .venv/bin/python docs/scripts/statement-cost.py

Session 7 (docs/performance.md): SQLAlchemy Core 243-270 us per statement, asyncpg alone 52-74 us.
"""

import time

import sqlalchemy as sa
import uvloop
from sqlalchemy.ext.asyncio import create_async_engine

URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
md = sa.MetaData()
t = sa.Table(
    "sa_probe",
    md,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("amount", sa.BigInteger),
)
N = 5000


async def main():
    eng = create_async_engine(
        URL, pool_size=2, connect_args={"server_settings": {"plan_cache_mode": "force_generic_plan"}}
    )
    async with eng.begin() as c:
        await c.run_sync(md.drop_all)
        await c.run_sync(md.create_all)
        await c.execute(t.insert(), [{"id": i, "name": f"n{i}", "amount": i} for i in range(100)])
    stmt = sa.select(t.c.name, t.c.amount).where(t.c.id == sa.bindparam("id"))
    upd = t.update().where(t.c.id == sa.bindparam("pid")).values(amount=t.c.amount + 1)
    for _round in range(2):
        async with eng.connect() as c:
            c2 = await c.execution_options(isolation_level="AUTOCOMMIT")
            for i in range(300):
                (await c2.execute(stmt, {"id": i % 100})).first()
            t0 = time.process_time()
            for i in range(N):
                (await c2.execute(stmt, {"id": i % 100})).first()
            print("SA core select autocommit", round((time.process_time() - t0) / N * 1e6), "us")
        async with eng.connect() as c:
            t0 = time.process_time()
            for _ in range(N // 10):
                async with c.begin():
                    for j in range(10):
                        await c.execute(upd, {"pid": j})
            print("SA core update in tx (per stmt, 10/tx)", round((time.process_time() - t0) / N * 1e6), "us")
        async with eng.connect() as c:
            raw = (await c.get_raw_connection()).driver_connection
            ps = await raw.prepare("SELECT name, amount FROM sa_probe WHERE id=$1")
            t0 = time.process_time()
            for i in range(N):
                await ps.fetchrow(i % 100)
            print("asyncpg prepared fetchrow", round((time.process_time() - t0) / N * 1e6), "us")
            t0 = time.process_time()
            for i in range(N):
                await raw.fetchrow("SELECT name, amount FROM sa_probe WHERE id=$1", i % 100)
            print("asyncpg fetchrow (stmt cache)", round((time.process_time() - t0) / N * 1e6), "us")
    async with eng.begin() as c:
        await c.run_sync(md.drop_all)
    await eng.dispose()


uvloop.run(main())
