"""``korpu bench e2e`` and ``korpu bench crash``: the click commands (registered in ``korpu bench``)."""

from __future__ import annotations

from typing import Any

import click

from backend.bench import echo_result, run_async
from backend.bench_e2e.stack import StackConfig

__all__ = ["bench_e2e"]


@click.command("e2e")
@click.option("--server-workers", default=4, show_default=True, help="korpu serve --workers.")
@click.option("--connections", default=32, show_default=True, help="Requests in flight (wrk -c).")
@click.option("--threads", default=2, show_default=True, help="wrk threads.")
@click.option("--seconds", default=30, show_default=True, help="Measured load time.")
@click.option("--warmup", default=5, show_default=True, help="Seconds of load before measuring.")
@click.option("--senders", default=200, show_default=True, help="Signed-in, funded senders.")
@click.option("--max-rate", default=700, show_default=True, help="Transfers/s the quote supply is sized for.")
@click.option("--pool-size", default=5, show_default=True, help="KORPU_DB_POOL_SIZE per server process.")
@click.option("--pgbench-seconds", default=30, show_default=True, help="pgbench -T (0: skip the reference).")
@click.option("--log-level", default="WARNING", show_default=True, help="KORPU_LOG_LEVEL of the stack.")
@click.option("--keep-db", is_flag=True, help="Leave the benchmark database behind.")
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
    keep_db: bool,
    as_json: bool,
) -> None:
    """POST /v1/transfers over HTTP with wrk against korpu serve on a fresh PostgreSQL database,
    beside pgbench TPC-B measured in the same run (loopback only; stops all it starts)."""
    from backend.bench_e2e.e2e import E2EConfig, run_e2e

    config = E2EConfig(
        stack=StackConfig(
            server_workers=server_workers, db_pool_size=pool_size, log_level=log_level, keep_database=keep_db
        ),
        seconds=seconds,
        warmup_seconds=warmup,
        connections=connections,
        threads=threads,
        senders=senders,
        max_rate=max_rate,
        pgbench_seconds=pgbench_seconds,
    )

    def say(line: Any) -> None:
        click.echo(str(line), err=True)

    echo_result(run_async(run_e2e(config, say=say)), as_json)
