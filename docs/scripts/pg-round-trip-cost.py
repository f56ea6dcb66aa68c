"""PostgreSQL's own CPU per round trip and per committed write transaction, on this machine.

What a transfer's statements cost PostgreSQL besides their work: each round trip (a prepared
primary-key read) and each transaction that writes a row and commits. Four asyncpg connections
run the loop concurrently; PostgreSQL's CPU is read from /proc for their server processes
(Linux only). Needs the PostgreSQL of the tests (``test`` database on 127.0.0.1, trust auth);
makes and drops a table ``rt_probe``. Run from the repository root:

    .venv/bin/python docs/scripts/pg-round-trip-cost.py

Session 9 (docs/performance-history.md, "What the target would take (session 9)"): see the figures there.
"""

import asyncio
import os
import time
from pathlib import Path

import asyncpg
import uvloop

DSN = "postgresql://postgres@127.0.0.1:5432/test"
CONNECTIONS = 4
N = 5000


def ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


async def measure(conns: list[asyncpg.Connection], pids: list[int], work: str) -> float:
    async def loop(conn: asyncpg.Connection, offset: int) -> None:
        read = await conn.prepare("SELECT v FROM rt_probe WHERE id = $1")
        for i in range(N):
            if work == "read":
                await read.fetchval((offset + i) % 100)
            else:
                async with conn.transaction():
                    await conn.execute("INSERT INTO rt_log (v) VALUES ($1)", i)

    before = sum(ticks(pid) for pid in pids)
    await asyncio.gather(*(loop(conn, n * 25) for n, conn in enumerate(conns)))
    used = (sum(ticks(pid) for pid in pids) - before) / os.sysconf("SC_CLK_TCK")
    return used / (N * CONNECTIONS) * 1e6


async def main() -> None:
    setup = await asyncpg.connect(DSN)
    await setup.execute(
        "DROP TABLE IF EXISTS rt_probe, rt_log;"
        "CREATE TABLE rt_probe (id int PRIMARY KEY, v text);"
        "INSERT INTO rt_probe SELECT g, 'v' || g FROM generate_series(0, 99) g;"
        "CREATE TABLE rt_log (id bigserial PRIMARY KEY, v int)"
    )
    conns = [await asyncpg.connect(DSN) for _ in range(CONNECTIONS)]
    pids = [conn.get_server_pid() for conn in conns]
    try:
        for _ in range(3):
            started = time.perf_counter()
            read = await measure(conns, pids, "read")
            write = await measure(conns, pids, "write")
            print(
                f"PostgreSQL CPU: {read:.0f} µs per round trip (prepared primary-key read), "
                f"{write:.0f} µs per transaction of one insert (BEGIN, INSERT, COMMIT: three round trips); "
                f"{time.perf_counter() - started:.1f} s"
            )
    finally:
        for conn in conns:
            await conn.close()
        await setup.execute("DROP TABLE IF EXISTS rt_probe, rt_log")
        await setup.close()


uvloop.run(main())
