"""The ledger benchmark behind ``korpu bench ledger``.

Workers (asyncio tasks) post transfers for a fixed time, each waiting for its own result before
posting the next, as concurrent HTTP requests would. Half are 2-leg fee entries (a customer's USD
wallet to ``revenue:fees:USD``), half 4-leg FX entries (a customer's USD wallet to
``fx:position:USD``, and ``fx:position:AZN`` to ``partner:kapital:payable:AZN``), so every
transfer touches a random customer account and shared hot accounts. Transfers go through the
:class:`~ledger.batching.Batcher` (group commit) unless ``batching`` is off, in which case each
transfer is its own transaction (one statement on PostgreSQL when it is accepted). The run ends
with ``ledger verify``.

The journal can first be grown to a given number of postings (bulk-loaded balanced entries between
two history accounts) to measure how the rate and latency change with the journal's size. Like
pgbench, it vacuums the tables it updates before measuring.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.accounts import open_account
from ledger.batching import Batcher, BatcherConfig
from ledger.journal import post_entries, post_entries_at_once, post_entry
from ledger.model import AccountFlags, EntryRequest, Side
from ledger.money import Money
from ledger.retry import in_transaction
from ledger.tables import accounts, entries, postings
from ledger.verify import verify

__all__ = ["LedgerBenchConfig", "run_ledger_bench"]

_NAMESPACE = uuid.UUID("0b6b0b9e-5a53-4c1c-9f0e-3e1c2d4b5a69")
_FUNDING = Money(Decimal("1000000000.00"), "USD")


@dataclass(frozen=True, slots=True)
class LedgerBenchConfig:
    """One benchmark run."""

    workers: int = 16
    """Concurrent callers."""
    seconds: float = 10.0
    """How long to post transfers."""
    customers: int = 10_000
    """Customer wallets the transfers pick from at random."""
    shards: int = 16
    """Shards of each hot account (1 measures the unsharded design)."""
    batching: bool = True
    """Group commit through the Batcher; off: one transaction per transfer."""
    max_batch: int = 64
    """Most transfers per transaction when batching."""
    in_flight: int | None = None
    """Batches in flight at once (default: the Batcher's)."""
    journal_postings: int = 0
    """Grow the journal to at least this many postings before measuring."""
    run_verify: bool = True
    """Run ``ledger verify`` after the run."""


def _hot(shards: int, name: str) -> str:
    return f"bench:s{shards}:{name}"


async def _setup(engine: AsyncEngine, config: LedgerBenchConfig) -> None:
    """Open the accounts and fund the customers (idempotent, so reruns reuse them)."""

    async def hot_accounts(conn: AsyncConnection) -> None:
        await open_account(conn, "bench:funding:USD", "USD", Side.DEBIT, shards=1)
        for name, currency, side in (
            ("revenue:fees:USD", "USD", Side.CREDIT),
            ("fx:position:USD", "USD", Side.DEBIT),
            ("fx:position:AZN", "AZN", Side.DEBIT),
            ("partner:kapital:payable:AZN", "AZN", Side.CREDIT),
        ):
            await open_account(conn, _hot(config.shards, name), currency, side, shards=config.shards)

    await in_transaction(engine, hot_accounts)

    async def already_funded(conn: AsyncConnection) -> bool:
        last = f"bench:customer:{config.customers - 1}:wallet:USD"
        return bool(
            (await conn.execute(select(accounts.c.credits_posted).where(accounts.c.code == last))).scalar()
        )

    if await in_transaction(engine, already_funded):
        return
    wallet = AccountFlags(debits_must_not_exceed_credits=True)
    chunk = 500
    for start in range(0, config.customers, chunk):
        numbers = range(start, min(start + chunk, config.customers))

        async def customers(conn: AsyncConnection, numbers: range = numbers) -> None:
            for number in numbers:
                await open_account(conn, f"bench:customer:{number}:wallet:USD", "USD", Side.CREDIT, wallet)
            await post_entries(
                conn,
                [
                    EntryRequest(
                        id=uuid.uuid5(_NAMESPACE, f"funding:{number}"),
                        postings=[
                            ("bench:funding:USD", Side.DEBIT, _FUNDING),
                            (f"bench:customer:{number}:wallet:USD", Side.CREDIT, _FUNDING),
                        ],
                    )
                    for number in numbers
                ],
            )

        await in_transaction(engine, customers)


async def _grow_journal(engine: AsyncEngine, target: int) -> None:
    """Bulk-load balanced 2-leg entries until the journal holds ``target`` postings."""
    chunk_entries = 50_000

    async def count(conn: AsyncConnection) -> int:
        return int((await conn.execute(select(func.count()).select_from(postings))).scalar_one())

    async def open_history(conn: AsyncConnection) -> tuple[int, int]:
        debit = await open_account(conn, "bench:history:a", "USD", Side.DEBIT, shards=1)
        credit = await open_account(conn, "bench:history:b", "USD", Side.CREDIT, shards=1)
        return debit.id, credit.id

    debit_id, credit_id = await in_transaction(engine, open_history)
    while (missing := target - await in_transaction(engine, count)) > 0:
        n = min(chunk_entries, (missing + 1) // 2)

        async def load(conn: AsyncConnection, n: int = n) -> None:
            await _bulk_entries(conn, n, debit_id, credit_id)

        await in_transaction(engine, load)


_PG_BULK_ENTRIES = text(
    "INSERT INTO ledger_entries (id, kind, metadata, request_hash, effective_at, created_at, tx_id) "
    "SELECT gen_random_uuid(), 'standard', '{\"bench\": \"history\"}'::jsonb, 'bulk', now(), now(), "
    "pg_current_xact_id()::text::bigint FROM generate_series(1, :n)"
)
_PG_BULK_POSTINGS = text(
    "INSERT INTO ledger_postings (entry_seq, account_id, currency, side, phase, amount, created_at) "
    "SELECT e.seq, x.account, 'USD', x.side, 'posted', :amount, now() FROM ledger_entries e "
    "CROSS JOIN (VALUES (CAST(:debit AS bigint), 'debit'), (CAST(:credit AS bigint), 'credit')) "
    "AS x(account, side) WHERE e.tx_id = pg_current_xact_id()::text::bigint ORDER BY e.seq"
)


async def _bulk_entries(conn: AsyncConnection, n: int, debit_id: int, credit_id: int) -> None:
    """``n`` entries of 1.00 USD from ``debit_id`` to ``credit_id``, written the way the journal
    writes (so every trigger checks them), with the counters updated once."""
    amount = 100
    if conn.dialect.name == "postgresql":
        await conn.execute(_PG_BULK_ENTRIES, {"n": n})
        await conn.execute(_PG_BULK_POSTINGS, {"amount": amount, "debit": debit_id, "credit": credit_id})
    else:
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        first = int((await conn.execute(select(func.coalesce(func.max(entries.c.seq), 0)))).scalar_one()) + 1
        seqs = range(first, first + n)
        await conn.execute(
            postings.insert(),
            [
                {
                    "entry_seq": seq,
                    "account_id": account,
                    "currency": "USD",
                    "side": side,
                    "phase": "posted",
                    "amount": amount,
                    "created_at": now,
                }
                for seq in seqs
                for account, side in ((debit_id, "debit"), (credit_id, "credit"))
            ],
        )
        await conn.execute(
            entries.insert(),
            [
                {
                    "seq": seq,
                    "tx_id": seq,
                    "id": uuid.uuid4(),
                    "kind": "standard",
                    "metadata": {"bench": "history"},
                    "request_hash": "bulk",
                    "effective_at": now,
                    "created_at": now,
                }
                for seq in seqs
            ],
        )
    total = n * amount
    await conn.execute(
        text("UPDATE ledger_accounts SET debits_posted = debits_posted + :total WHERE id = :id"),
        {"total": total, "id": debit_id},
    )
    await conn.execute(
        text("UPDATE ledger_accounts SET credits_posted = credits_posted + :total WHERE id = :id"),
        {"total": total, "id": credit_id},
    )


def _transfer(config: LedgerBenchConfig, rng: random.Random) -> EntryRequest:
    customer = f"bench:customer:{rng.randrange(config.customers)}:wallet:USD"
    if rng.random() < 0.5:
        fee = Money.from_minor(rng.randrange(50, 500), "USD")
        legs = [(customer, Side.DEBIT, fee), (_hot(config.shards, "revenue:fees:USD"), Side.CREDIT, fee)]
    else:
        cents = rng.randrange(1_000, 100_000)
        usd = Money.from_minor(cents, "USD")
        azn = Money.from_minor(cents * 17 // 10, "AZN")
        legs = [
            (customer, Side.DEBIT, usd),
            (_hot(config.shards, "fx:position:USD"), Side.CREDIT, usd),
            (_hot(config.shards, "fx:position:AZN"), Side.DEBIT, azn),
            (_hot(config.shards, "partner:kapital:payable:AZN"), Side.CREDIT, azn),
        ]
    return EntryRequest(id=uuid.uuid4(), postings=legs, metadata={"bench": "transfer"})


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


async def _vacuum(engine: AsyncEngine) -> None:
    """As pgbench does before each run: clear dead row versions and refresh the planner's statistics.

    The journal tables are analysed too: a freshly created journal has no statistics until
    autovacuum gets to it, and plans made without them (the triggers' look-ups among them) halve
    the rate of a first run.
    """
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(
            text(
                "VACUUM ANALYZE ledger_accounts, ledger_account_shards, ledger_open_holds,"
                " ledger_entries, ledger_postings"
            )
        )


async def run_ledger_bench(engine: AsyncEngine, config: LedgerBenchConfig) -> dict[str, Any]:
    """Set up, optionally grow the journal, run the workers, verify; the figures as a dict."""
    await _setup(engine, config)
    if config.journal_postings:
        await _grow_journal(engine, config.journal_postings)
    await _vacuum(engine)

    async def count(conn: AsyncConnection) -> int:
        return int((await conn.execute(select(func.count()).select_from(postings))).scalar_one())

    postings_before = await in_transaction(engine, count)
    batcher = Batcher(engine, BatcherConfig(max_batch=config.max_batch, max_in_flight=config.in_flight))
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + config.seconds

    async def worker(seed: int) -> None:
        nonlocal failures
        rng = random.Random(seed)
        while time.perf_counter() < deadline:
            request = _transfer(config, rng)
            started = time.perf_counter()
            try:
                if config.batching:
                    await batcher.post(request)
                elif await post_entries_at_once(engine, [request]) is None:

                    async def one(conn: AsyncConnection, request: EntryRequest = request) -> None:
                        await post_entry(conn, request)

                    await in_transaction(engine, one)
            except Exception:
                failures += 1
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(seed) for seed in range(config.workers)))
    elapsed = time.perf_counter() - started
    await batcher.close()
    latencies.sort()
    result: dict[str, Any] = {
        "benchmark": "ledger",
        "database": engine.dialect.name,
        "workers": config.workers,
        "seconds": round(elapsed, 2),
        "transfers": len(latencies),
        "failed": failures,
        "transfers_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "batching": config.batching,
        "batches": batcher.batches,
        "mean_batch": round(batcher.units / batcher.batches, 1) if batcher.batches else None,
        "hot_account_shards": config.shards,
        "customers": config.customers,
        "journal_postings_before": postings_before,
    }
    if config.run_verify:
        verify_started = time.perf_counter()

        async def check(conn: AsyncConnection) -> list[str]:
            return [str(violation) for violation in (await verify(conn)).violations]

        violations = await in_transaction(engine, check)
        result["verify_ok"] = not violations
        result["verify_s"] = round(time.perf_counter() - verify_started, 2)
        if violations:
            result["first_violation"] = violations[0]
    return result
