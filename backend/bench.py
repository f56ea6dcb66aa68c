"""``korpu bench ...``: benchmarks against the configured database (not timed tests).

Each subcommand prints a human summary and, with ``--json``, one JSON object on its last line so
that scripts and docs/performance.md can quote it. Capabilities add their own subcommands here.
"""

from __future__ import annotations

import json
from typing import Any

import click

from backend.event_loop import run_async
from backend.settings import Settings

__all__ = ["bench"]


def echo_result(result: dict[str, Any], as_json: bool) -> None:
    for key, value in result.items():
        click.echo(f"{key}: {value}")
    if as_json:
        click.echo(json.dumps(result, separators=(",", ":")))


@click.group()
def bench() -> None:
    """Benchmarks (run against KORPU_DATABASE_URL)."""


@bench.command("ledger")
@click.option("--workers", default=16, show_default=True, help="Concurrent callers.")
@click.option("--seconds", default=10.0, show_default=True, help="How long to post transfers.")
@click.option("--customers", default=10_000, show_default=True, help="Customer wallets to pick from.")
@click.option("--shards", default=16, show_default=True, help="Shards per hot account (1: unsharded).")
@click.option("--batching/--no-batching", default=True, show_default=True, help="Group commit.")
@click.option("--max-batch", default=64, show_default=True, help="Most transfers per transaction.")
@click.option("--in-flight", type=int, default=None, help="Batches in flight (default 2 on PostgreSQL).")
@click.option("--journal-postings", default=0, show_default=True, help="Grow the journal to this first.")
@click.option("--verify/--no-verify", default=True, show_default=True, help="Run ledger verify after.")
@click.option("--json", "as_json", is_flag=True, help="End with one JSON object on the last line.")
def bench_ledger(
    workers: int,
    seconds: float,
    customers: int,
    shards: int,
    batching: bool,
    max_batch: int,
    in_flight: int | None,
    journal_postings: int,
    verify: bool,
    as_json: bool,
) -> None:
    """Post 2-leg fee and 4-leg FX entries from N workers for S seconds, then verify."""
    from backend.db import create_engine
    from backend.ledger_bench import LedgerBenchConfig, run_ledger_bench

    settings = Settings.from_env()
    config = LedgerBenchConfig(
        workers=workers,
        seconds=seconds,
        customers=customers,
        shards=shards,
        batching=batching,
        max_batch=max_batch,
        in_flight=in_flight,
        journal_postings=journal_postings,
        run_verify=verify,
    )

    async def main() -> dict[str, Any]:
        engine = create_engine(settings.database_url, pool_size=max(workers, 4))
        try:
            return await run_ledger_bench(engine, config)
        finally:
            await engine.dispose()

    echo_result(run_async(main()), as_json)
