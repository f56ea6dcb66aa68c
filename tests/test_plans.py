"""Look-ups by key stay probes of an index whatever the statistics say (PostgreSQL).

The service runs every statement with a generic plan (``backend/db.py``), made on a connection's
first use and kept. Planned while a table was small, a join may be turned into a scan of the whole
table, and that plan then stays while the table grows: in ``korpu bench e2e`` every payout outcome
read the whole ``transfers`` table, every confirmation every posting, every new entry the whole
journal (docs/performance.md, "Plans that scanned"). Each test here makes the tables small and
analysed, the case that misled the planner, and reads the generic plan.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable

from backend.partners.auth import _sweep_and_remember
from backend.transfers.repository import _by_payout
from ledger.journal import post_entry
from ledger.store_pg import _HOLDS
from ledger.store_pg_at_once import _AT_ONCE
from tests.ledger.helpers import ALICE, BANK, BOB, open_basic_accounts, transfer, tx, usd

pytestmark = pytest.mark.postgres_only

JOURNAL_TABLES = ("ledger_entries", "ledger_postings")


async def generic_plan(conn: AsyncConnection, statement: Executable) -> str:
    """The plan PostgreSQL keeps for ``statement`` under ``plan_cache_mode = force_generic_plan``."""
    compiled = statement.compile(dialect=conn.dialect)
    parameters = len(compiled.positiontup or ())
    await conn.exec_driver_sql(f"PREPARE plan_check AS {compiled}")
    try:
        await conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        arguments = ", ".join(["NULL"] * parameters)
        rows = await conn.exec_driver_sql(
            f"EXPLAIN EXECUTE plan_check({arguments})" if parameters else "EXPLAIN EXECUTE plan_check"
        )
        return "\n".join(row[0] for row in rows)
    finally:
        await conn.exec_driver_sql("DEALLOCATE plan_check")


def scans(plan: str, tables: tuple[str, ...]) -> list[str]:
    return [line.strip() for line in plan.splitlines() if any(f"Seq Scan on {t}" in line for t in tables)]


async def small_analysed_journal(engine: AsyncEngine, pairs: int = 500) -> None:
    """``pairs`` entries and as many holds, then ANALYZE: the statistics of a young journal (each
    plan below went wrong at some such size: the postings check at 300 entries, the at-once check
    at 1,000)."""
    await open_basic_accounts(engine)

    later = datetime.now(UTC) + timedelta(days=1)

    async def fill(conn: AsyncConnection) -> None:
        await post_entry(conn, transfer(BANK, ALICE, usd("5000.00")))
        for _ in range(pairs):
            await post_entry(conn, transfer(ALICE, BOB, usd("1.00")))
            await post_entry(conn, transfer(ALICE, BOB, usd("1.00"), pending=True, expires_at=later))

    await tx(engine, fill)
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql("ANALYZE")


async def test_a_holds_postings_are_read_by_its_entry(engine: AsyncEngine) -> None:
    await small_analysed_journal(engine)
    async with engine.connect() as conn:
        plan = await generic_plan(conn, _HOLDS)
    # (The few entries themselves may be found by a scan while the journal is this small.)
    assert scans(plan, ("ledger_postings",)) == [], plan
    assert "Index Scan using ix_ledger_postings_entry_seq" in plan, plan


async def test_new_entries_are_checked_against_the_journal_by_key(engine: AsyncEngine) -> None:
    await small_analysed_journal(engine)
    async with engine.connect() as conn:
        plan = await generic_plan(conn, _AT_ONCE)
    assert scans(plan, JOURNAL_TABLES) == [], plan


async def test_the_postings_check_probes_each_entry_by_key(engine: AsyncEngine) -> None:
    """The trigger's own query: its plan is read through ``auto_explain`` on the connection."""
    await small_analysed_journal(engine, pairs=150)
    notices: list[str] = []
    async with engine.connect() as conn:
        raw: Any = (await conn.get_raw_connection()).driver_connection
        raw.add_log_listener(lambda _conn, message: notices.append(str(message.message)))
        for setting in (
            "LOAD 'auto_explain'",
            "SET auto_explain.log_min_duration = 0",
            "SET auto_explain.log_nested_statements = on",
            "SET client_min_messages = log",
        ):
            await conn.exec_driver_sql(setting)
        await post_entry(conn, transfer(ALICE, BOB, usd("1.00")))
        await conn.commit()
    checks = [notice for notice in notices if "new_postings" in notice and "entry_seq" in notice]
    assert checks, notices
    assert all(scans(notice, ("ledger_entries",)) == [] for notice in checks), checks


async def test_a_payout_outcome_finds_its_transfer_by_key(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        plan = await generic_plan(conn, _by_payout)
    assert scans(plan, ("transfers",)) == [], plan


async def test_the_nonce_sweep_finds_expired_nonces_through_their_index(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(
            text(
                "INSERT INTO partner_request_nonces (key_id, signature, expires_at) "
                "SELECT 'kpk_x', md5(i::text), now() + interval '5 minutes' FROM generate_series(1, 500) i"
            )
        )
        await autocommit.exec_driver_sql("ANALYZE partner_request_nonces")
        plan = await generic_plan(autocommit, _sweep_and_remember)
    assert "Index Scan using ix_partner_request_nonces_expires_at" in plan, plan
