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

from backend.outbox.worker import _claim_and_lease
from backend.partners.auth import _sweep_and_remember
from backend.transfers.repository import _by_payout
from ledger.journal import post_entry
from ledger.store_pg import _HOLDS
from ledger.store_pg_at_once import _AT_ONCE_SQL
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
        plan = await generic_plan(conn, _AT_ONCE_SQL)
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


async def outbox_of(engine: AsyncEngine, delivered: int, pending: int) -> None:
    """``delivered`` delivered events and ``pending`` due ones (four per transfer, as the send flow
    writes them), then ANALYZE."""
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(
            text(
                "INSERT INTO outbox_events (id, aggregate_type, aggregate_id, sequence, topic, destination,"
                " payload, status, attempts, next_attempt_at, created_at)"
                " SELECT 'msg_' || i, 'transfer', 'TR-' || (i / 4), i % 4 + 1, 'transfer.status',"
                " 'webhook:ptn_' || (i % 4), '{}',"
                " CASE WHEN i < :delivered THEN 'delivered' ELSE 'pending' END, 0,"
                " now() - interval '1 minute', now() - interval '1 minute'"
                " FROM generate_series(0, :total - 1) i"
            ),
            {"delivered": delivered, "total": delivered + pending},
        )
        await autocommit.exec_driver_sql("ANALYZE outbox_events")


@pytest.mark.parametrize(("delivered", "pending"), [(1000, 0), (1000, 40), (4000, 400)])
async def test_the_outbox_claim_probes_each_streams_earlier_events_by_key(
    engine: AsyncEngine, delivered: int, pending: int
) -> None:
    """Planned on statistics that say (nearly) nothing is pending, the claim's check for an earlier
    undelivered event of the same stream was a scan of the whole outbox for every candidate: 200 ms
    a claim at 1,700 events in ``korpu bench e2e``."""
    await outbox_of(engine, delivered, pending)
    async with engine.connect() as conn:
        plan = await generic_plan(conn, _claim_and_lease)
    assert "Seq Scan on outbox_events earlier" not in plan, plan
    assert "Index Scan using ix_outbox_events_stream on outbox_events earlier" in plan, plan


async def test_the_outbox_claim_leases_the_claimed_events_by_key(engine: AsyncEngine) -> None:
    """As ``id IN (sub-select)`` the lease joined the claim to a scan of every event, delivered
    ones included."""
    await outbox_of(engine, 4000, 400)
    async with engine.connect() as conn:
        plan = await generic_plan(conn, _claim_and_lease)
    assert scans(plan, ("outbox_events",)) == [], plan
