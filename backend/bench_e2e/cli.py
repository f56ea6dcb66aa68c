"""``korpu bench e2e`` and ``korpu bench crash``: the click commands (registered in ``korpu bench``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from backend.bench import echo_result
from backend.bench_e2e.stack import StackConfig
from backend.event_loop import run_async

__all__ = ["bench_crash", "bench_e2e"]


@click.command("e2e")
@click.option("--server-workers", default=2, show_default=True, help="korpu serve --workers.")
@click.option(
    "--connections", default=16, show_default=True, help="Requests in flight (wrk -c; pgbench's -c is 16)."
)
@click.option("--threads", default=2, show_default=True, help="wrk threads.")
@click.option("--seconds", default=30, show_default=True, help="Measured load time.")
@click.option("--warmup", default=5, show_default=True, help="Seconds of load before measuring.")
@click.option("--senders", default=200, show_default=True, help="Signed-in, funded senders.")
@click.option(
    "--max-rate", default=1500, show_default=True, help="Transfers/s the quote supply is sized for."
)
@click.option("--pool-size", default=12, show_default=True, help="KORPU_DB_POOL_SIZE per server process.")
@click.option("--pgbench-seconds", default=30, show_default=True, help="pgbench -T (0: skip the reference).")
@click.option("--log-level", default="WARNING", show_default=True, help="KORPU_LOG_LEVEL of the stack.")
@click.option(
    "--list",
    "lists",
    multiple=True,
    help="Sanctions list to screen against, format:path (default: the test data's OFAC tiny and UN lists).",
)
@click.option(
    "--payouts-after",
    is_flag=True,
    help="Pause the outbox worker while measuring; time the payouts' delivery afterwards.",
)
@click.option("--keep-db", is_flag=True, help="Leave the benchmark database behind.")
@click.option(
    "--profile",
    "profile_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Profile the server's CPU time during the measured load; profiles go to this folder.",
)
@click.option("--json", "as_json", is_flag=True, help="End with one JSON object on the last line.")
def bench_e2e(
    server_workers: int,
    connections: int,
    threads: int,
    seconds: int,
    warmup: int,
    senders: int,
    max_rate: int,
    pool_size: int,
    pgbench_seconds: int,
    log_level: str,
    lists: tuple[str, ...],
    payouts_after: bool,
    keep_db: bool,
    profile_dir: Path | None,
    as_json: bool,
) -> None:
    """POST /v1/transfers over HTTP with wrk against korpu serve on a fresh PostgreSQL database,
    beside pgbench TPC-B measured in the same run (loopback only; stops all it starts)."""
    from backend.bench_e2e.e2e import E2EConfig, run_e2e
    from backend.bench_e2e.world import DEFAULT_LISTS

    config = E2EConfig(
        stack=StackConfig(
            server_workers=server_workers,
            db_pool_size=pool_size,
            log_level=log_level,
            keep_database=keep_db,
            profile_dir=profile_dir.resolve() if profile_dir else None,
        ),
        seconds=seconds,
        warmup_seconds=warmup,
        connections=connections,
        threads=threads,
        senders=senders,
        max_rate=max_rate,
        pgbench_seconds=pgbench_seconds,
        lists=lists or DEFAULT_LISTS,
        payouts_after=payouts_after,
    )

    def say(line: Any) -> None:
        click.echo(str(line), err=True)

    echo_result(run_async(run_e2e(config, say=say)), as_json)


@click.command("crash")
@click.option("--server-workers", default=2, show_default=True, help="korpu serve --workers.")
@click.option("--seconds", default=60, show_default=True, help="How long clients send transfers.")
@click.option("--kills", default=8, show_default=True, help="kill -9 events during the load.")
@click.option("--concurrency", default=16, show_default=True, help="Clients sending at once.")
@click.option("--senders", default=40, show_default=True, help="Signed-in, funded senders.")
@click.option("--transfers", default=6000, show_default=True, help="Most transfers the run may send.")
@click.option("--drain-seconds", default=120, show_default=True, help="Wait for the outbox and bank after.")
@click.option(
    "--list",
    "lists",
    multiple=True,
    help="Sanctions list to screen against, format:path (default: the test data's OFAC tiny and UN lists).",
)
@click.option("--keep-db", is_flag=True, help="Leave the database behind.")
@click.option("--json", "as_json", is_flag=True, help="End with one JSON object on the last line.")
def bench_crash(
    server_workers: int,
    seconds: int,
    kills: int,
    concurrency: int,
    senders: int,
    transfers: int,
    drain_seconds: int,
    lists: tuple[str, ...],
    keep_db: bool,
    as_json: bool,
) -> None:
    """kill -9 the server and the outbox worker under load, restart them, then check that every
    acknowledged transfer exists once, every hold is accounted for, the ledger verifies and the
    mock bank paid nothing twice. Exits 1 on any violation (loopback only; stops all it starts)."""
    import sys

    from backend.bench_e2e.crash import CrashConfig, run_crash
    from backend.bench_e2e.world import DEFAULT_LISTS

    config = CrashConfig(
        stack=StackConfig(server_workers=server_workers, keep_database=keep_db),
        seconds=seconds,
        kills=kills,
        concurrency=concurrency,
        senders=senders,
        transfers=transfers,
        drain_seconds=drain_seconds,
        lists=lists or DEFAULT_LISTS,
    )

    def say(line: Any) -> None:
        click.echo(str(line), err=True)

    result = run_async(run_crash(config, say=say))
    echo_result(result, as_json)
    if not result["ok"]:
        sys.exit(1)
