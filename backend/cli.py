"""The ``korpu`` command: serve, migrate, seed, and the operators' tools of each capability.

Configuration problems end the command with one line on stderr and exit status 2, never a
traceback: an operator should read what to fix, not where Python was.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from backend.bench import bench
from backend.ledger_cli import ledger
from backend.settings import ConfigError, Settings

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])


def _settings() -> Settings:
    return Settings.from_env()


def _fail(message: str) -> None:
    click.echo(f"korpu: error: {message}", err=True)
    sys.exit(2)


@click.group()
def cli() -> None:
    """Körpü remittance backend."""


@cli.command()
@click.option("--host", default=None, help="Bind address (default KORPU_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default KORPU_PORT or 8000).")
@click.option("--workers", type=int, default=None, help="Server processes (default KORPU_WORKERS or 1).")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the HTTP API."""
    import uvicorn

    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    _check_port_free(host, port)
    _check_database_reachable(settings)
    if workers > 1:
        _prepare_multiprocess_metrics(settings)
    uvicorn.run(
        "backend.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        # Only a configured balancer may say who the client is; anyone else could dodge the limits.
        proxy_headers=settings.trusted_proxies is not None,
        forwarded_allow_ips=settings.trusted_proxies,
    )


def _prepare_multiprocess_metrics(settings: Settings) -> None:
    """Each worker writes its samples to a shared folder that /metrics aggregates; start it empty."""
    import os
    import shutil

    folder = settings.var_dir / "prometheus"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder.resolve())


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                _fail(f"port {port} on {host} is already in use; set KORPU_PORT or stop the other server")
            _fail(f"cannot listen on {host}:{port}: {exc.strerror}")


def _check_database_reachable(settings: Settings) -> None:
    from sqlalchemy import text

    from backend.db import create_engine

    async def probe() -> None:
        engine = create_engine(settings.database_url, null_pool=True)
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    try:
        asyncio.run(probe())
    except Exception as exc:
        _fail(f"database unreachable at KORPU_DATABASE_URL: {type(exc).__name__}: {str(exc).splitlines()[0]}")


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from backend.migrate import upgrade

    settings = _settings()
    try:
        upgrade(settings.database_url, revision)
    except OSError as exc:
        _fail(f"database unreachable at KORPU_DATABASE_URL: {exc}")
    click.echo(f"database at revision {revision}")


@cli.group()
def demo() -> None:
    """Demo data for a laptop."""


@demo.command("seed")
def demo_seed() -> None:
    """Load demo data (idempotent)."""
    from backend.db import create_engine
    from backend.demo import seed

    settings = _settings()

    async def run() -> list[str]:
        engine = create_engine(settings.database_url, null_pool=True)
        try:
            return await seed(engine, settings)
        finally:
            await engine.dispose()

    for line in asyncio.run(run()):
        click.echo(line)
    click.echo("demo data ready")


def _register_capabilities() -> None:
    """Command groups of each capability, one line each."""
    from backend.bench_e2e.cli import bench_crash, bench_e2e
    from backend.bench_quotes import quotes as bench_quotes
    from backend.compliance_cli import compliance
    from backend.fx_cli import fx
    from backend.partners.cli import outbox, partners, settlement, worker
    from backend.policy.cli import prices
    from backend.staff.cli import staff

    cli.add_command(staff)
    cli.add_command(compliance)
    cli.add_command(fx)
    cli.add_command(prices)
    cli.add_command(ledger)
    cli.add_command(bench)
    bench.add_command(bench_quotes)
    bench.add_command(bench_e2e)
    bench.add_command(bench_crash)
    cli.add_command(partners)
    cli.add_command(worker)
    cli.add_command(outbox)
    cli.add_command(settlement)


_register_capabilities()


@demo.command("run")
@click.option("--bank-port", type=int, default=8100, show_default=True, help="Port of the mock partner bank.")
def demo_run(bank_port: int) -> None:
    """Dev only: the API plus its companions, the mock partner bank and an outbox worker."""
    import subprocess

    settings = _settings()
    if settings.env != "dev":
        _fail("korpu demo run is for KORPU_ENV=dev; in prod run korpu serve and korpu worker separately")
    _check_port_free(settings.host, bank_port)
    api_url = f"http://{settings.host}:{settings.port}"
    me = [sys.executable, "-m", "backend.cli"]
    companions = [
        subprocess.Popen([*me, "partners", "mock-bank", "--port", str(bank_port), "--api-url", api_url]),  # noqa: S603
        subprocess.Popen([*me, "worker"]),  # noqa: S603
    ]
    try:
        serve.main(args=[], standalone_mode=False)
    finally:
        for process in companions:
            process.terminate()
        for process in companions:
            process.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``korpu`` console script."""
    try:
        cli.main(args=argv, prog_name="korpu", standalone_mode=True)
    except ConfigError as exc:
        _fail(str(exc))


if __name__ == "__main__":
    main()
