"""``korpu ledger ...``: the operators' ledger tools (verify, checkpoint, expire holds).

``verify`` exits 0 when every invariant holds and 1 otherwise, naming the first violation; it is
meant for cron and for CI against a restored backup. ``checkpoint`` signs the entries written
since the last checkpoint (run it every few minutes); ``expire-holds`` is the expiry sweep.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db import create_engine
from backend.settings import Settings

__all__ = ["ledger"]

T = TypeVar("T")


def _run(settings: Settings, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    from ledger.retry import in_transaction

    async def main() -> T:
        engine = create_engine(settings.database_url, null_pool=True)
        try:
            return await in_transaction(engine, work)
        finally:
            await engine.dispose()

    return asyncio.run(main())


@click.group()
def ledger() -> None:
    """The double-entry ledger."""


@ledger.command("verify")
@click.option("--limit", default=20, show_default=True, help="Violations to list per check.")
def verify_command(limit: int) -> None:
    """Check every ledger invariant and the signed checkpoints; exit 1 on the first violation."""
    from ledger.checkpoints import public_key_of
    from ledger.verify import VerifyReport, verify

    settings = Settings.from_env()
    trusted = {public_key_of(settings.secrets.ledger_signing_key), *settings.ledger_retired_public_keys}

    async def work(conn: AsyncConnection) -> VerifyReport:
        return await verify(conn, trusted, limit=limit)

    report = _run(settings, work)
    summary = (
        f"{report.accounts} accounts, {report.entries} entries, {report.postings} postings, "
        f"{report.checkpoints} checkpoints"
    )
    if report.ok:
        click.echo(f"ledger verify: OK ({summary})")
        return
    click.echo(f"ledger verify: FAILED: {report.violations[0]}", err=True)
    for violation in report.violations[1:]:
        click.echo(f"  also: {violation}", err=True)
    click.echo(f"ledger verify: {len(report.violations)} violation(s) in {summary}", err=True)
    sys.exit(1)


@ledger.command("checkpoint")
def checkpoint_command() -> None:
    """Sign the entries written since the last checkpoint."""
    from ledger.checkpoints import Checkpoint, create_checkpoint

    settings = Settings.from_env()

    async def work(conn: AsyncConnection) -> Checkpoint | None:
        return await create_checkpoint(conn, settings.secrets.ledger_signing_key)

    checkpoint = _run(settings, work)
    if checkpoint is None:
        click.echo("ledger checkpoint: nothing new to sign")
        return
    click.echo(
        f"ledger checkpoint {checkpoint.seq}: {checkpoint.entry_count} entries, transactions "
        f"{checkpoint.tx_from}..{checkpoint.tx_to - 1}, digest {checkpoint.digest.hex()}"
    )


@ledger.command("public-key")
def public_key_command() -> None:
    """Print the public key of KORPU_LEDGER_SIGNING_KEY (for KORPU_LEDGER_RETIRED_PUBLIC_KEYS)."""
    import base64

    from ledger.checkpoints import public_key_of

    settings = Settings.from_env()
    click.echo(base64.urlsafe_b64encode(public_key_of(settings.secrets.ledger_signing_key)).decode())


@ledger.command("expire-holds")
@click.option("--batch", default=500, show_default=True, help="Holds expired per transaction.")
def expire_holds_command(batch: int) -> None:
    """Expire every hold whose expiry has passed."""
    from ledger.journal import expire_holds

    settings = Settings.from_env()
    now = datetime.now(UTC)
    total = 0
    while True:

        async def work(conn: AsyncConnection) -> int:
            return len(await expire_holds(conn, now, limit=batch))

        expired = _run(settings, work)
        total += expired
        if expired < batch:
            break
    click.echo(f"ledger expire-holds: {total} hold(s) expired")
