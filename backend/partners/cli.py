"""``korpu partners``, ``korpu worker``, ``korpu outbox`` and ``korpu settlement``: the operators' tools
for partner banks, the outbox and settlement. Secrets are printed once and never logged."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db import create_engine
from backend.event_loop import run_async
from backend.settings import Settings
from compliance.audit import record_audit

__all__ = ["outbox", "partners", "settlement", "worker"]

T = TypeVar("T")
CLI_ACTOR = "system:cli"


def _run(settings: Settings, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction against the configured database."""

    async def main() -> T:
        engine = create_engine(settings.database_url, null_pool=True)
        try:
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except Exception as exc:
        code = getattr(exc, "code", None)
        if isinstance(code, str):  # a domain error: say it in one line
            click.echo(f"korpu: error: {exc}", err=True)
            sys.exit(1)
        raise


def _keys(settings: Settings) -> Any:
    from backend.partners.credentials import PartnerSecrets
    from compliance.privacy import Sealer

    return PartnerSecrets(settings.secrets.secret_key, Sealer(settings.secrets.data_keys))


@click.group()
def partners() -> None:
    """Partner banks: create, keys, webhook secrets, the mock bank."""


@partners.command("create")
@click.option("--code", required=True, help="Short stable name, e.g. kapital.")
@click.option("--name", required=True, help="Display name.")
@click.option("--mode", type=click.Choice(["pull", "push"]), default="pull", show_default=True)
@click.option("--payout-url", default=None, help="Where push instructions go (push mode).")
@click.option("--webhook-url", default=None, help="Where webhooks go.")
@click.option("--period-hours", type=int, default=24, show_default=True, help="Settlement window length.")
def create(
    code: str, name: str, mode: str, payout_url: str | None, webhook_url: str | None, period_hours: int
) -> None:
    """Add a partner bank; prints its API key and webhook secret once."""
    from backend.partners.service import NewPartner, create_partner

    settings = Settings.from_env()
    new = NewPartner(code, name, mode, payout_url, webhook_url, period_hours)  # type: ignore[arg-type]

    async def work(conn: AsyncConnection) -> Any:
        created = await create_partner(conn, new, _keys(settings))
        await record_audit(
            conn, CLI_ACTOR, "partner.created", "partner", created[0].id, details={"code": code}
        )
        return created

    partner, key, webhook_secret = _run(settings, work)
    click.echo(f"partner {partner.id} ({partner.code}) created; these secrets are shown once:")
    click.echo(f"api key id:     {key.key_id}")
    click.echo(f"api secret:     {key.secret}")
    click.echo(f"webhook secret: {webhook_secret}")


@partners.command("rotate-key")
@click.argument("key_id")
@click.option(
    "--grace-hours", type=float, default=24, show_default=True, help="How long the old key still works."
)
def rotate(key_id: str, grace_hours: float) -> None:
    """Issue a successor of KEY_ID; prints the new secret once."""
    from backend.partners.service import rotate_key

    settings = Settings.from_env()

    async def work(conn: AsyncConnection) -> Any:
        issued = await rotate_key(conn, key_id, _keys(settings), grace=timedelta(hours=grace_hours))
        await record_audit(
            conn,
            CLI_ACTOR,
            "partner.key_rotated",
            "partner_key",
            key_id,
            details={"successor": issued.key_id},
        )
        return issued

    issued = _run(settings, work)
    click.echo(
        f"old key {key_id} expires at {issued.expires_at.isoformat() if issued.expires_at else 'never'}"
    )
    click.echo(f"api key id:     {issued.key_id}")
    click.echo(f"api secret:     {issued.secret}")


@partners.command("revoke-key")
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Stop accepting KEY_ID at once."""
    from backend.partners.service import revoke_key

    async def work(conn: AsyncConnection) -> None:
        await revoke_key(conn, key_id)
        await record_audit(conn, CLI_ACTOR, "partner.key_revoked", "partner_key", key_id)

    _run(Settings.from_env(), work)
    click.echo(f"key {key_id} revoked")


@partners.command("rotate-webhook-secret")
@click.argument("code")
@click.option(
    "--grace-hours", type=float, default=24, show_default=True, help="How long we also sign with the old one."
)
def rotate_webhook(code: str, grace_hours: float) -> None:
    """A new webhook secret for partner CODE; prints it once."""
    from backend.partners.service import get_partner_by_code, rotate_webhook_secret

    settings = Settings.from_env()

    async def work(conn: AsyncConnection) -> str:
        partner = await get_partner_by_code(conn, code)
        secret = await rotate_webhook_secret(
            conn, partner.id, _keys(settings), grace=timedelta(hours=grace_hours)
        )
        await record_audit(conn, CLI_ACTOR, "partner.webhook_secret_rotated", "partner", partner.id)
        return secret

    click.echo(f"webhook secret: {_run(settings, work)}")


@partners.command("list")
def list_partners() -> None:
    """Partner banks and their keys (no secrets)."""
    from backend.partners.service import Partner, list_keys
    from backend.partners.tables import partners as partners_table

    async def work(conn: AsyncConnection) -> list[dict[str, Any]]:
        rows = (await conn.execute(select(partners_table).order_by(partners_table.c.code))).mappings()
        found = [Partner.from_row(row) for row in rows]
        return [{**p.to_json(), "keys": await list_keys(conn, p.id)} for p in found]

    click.echo(json.dumps(_run(Settings.from_env(), work), indent=2))


@partners.command("mock-bank")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8100, show_default=True)
@click.option(
    "--api-url", default="http://127.0.0.1:8000", show_default=True, help="The Körpü API it calls back."
)
@click.option(
    "--partner",
    "code",
    default="kapital-demo",
    show_default=True,
    help="Dev only: read this partner's credentials from the local database.",
)
@click.option("--key-id", default=None, help="API key id (instead of --partner).")
@click.option("--secret", envvar="KORPU_MOCK_BANK_SECRET", default=None, help="API secret.")
@click.option(
    "--webhook-secret", envvar="KORPU_MOCK_BANK_WEBHOOK_SECRET", default=None, help="whsec_ secret."
)
@click.option("--poll", type=float, default=None, help="Pull mode: poll for pending payouts every N seconds.")
@click.option(
    "--callback-attempts", type=int, default=5, show_default=True, help="Tries to report each outcome to us."
)
def mock_bank(
    host: str,
    port: int,
    api_url: str,
    code: str,
    key_id: str | None,
    secret: str | None,
    webhook_secret: str | None,
    poll: float | None,
    callback_attempts: int,
) -> None:
    """Run the mock partner bank on HOST:PORT (tests and demos only)."""
    from backend.partners.mock_bank import MockBank, MockBankConfig, run_mock_bank

    settings = Settings.from_env()
    if not (key_id and secret and webhook_secret):
        if settings.env == "prod":
            click.echo(
                "korpu: error: give --key-id, --secret and --webhook-secret (no local look-up in prod)",
                err=True,
            )
            sys.exit(2)
        key_id, secret, webhook_secret = _run(settings, lambda conn: _dev_credentials(conn, settings, code))
    bank = MockBank(
        MockBankConfig(api_url, key_id, secret, webhook_secret, callback_attempts=callback_attempts)
    )
    click.echo(f"mock bank for {code} on http://{host}:{port} (payouts: /payouts, webhooks: /webhooks)")
    run_async(run_mock_bank(bank, host, port, poll))


async def _dev_credentials(conn: AsyncConnection, settings: Settings, code: str) -> tuple[str, str, str]:
    from backend.partners.service import get_partner_by_code, webhook_secrets
    from backend.partners.tables import partner_api_keys

    partner = await get_partner_by_code(conn, code)
    key_id = (
        await conn.execute(
            select(partner_api_keys.c.id)
            .where(
                partner_api_keys.c.partner_id == partner.id,
                partner_api_keys.c.revoked_at.is_(None),
                partner_api_keys.c.expires_at.is_(None),
            )
            .order_by(partner_api_keys.c.created_at.desc())
        )
    ).scalar()
    if key_id is None:
        raise click.ClickException(f"partner {code} has no active key")
    keys = _keys(settings)
    return key_id, keys.api_secret(key_id), (await webhook_secrets(conn, partner.id, keys))[0]


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver one batch and exit.")
@click.option("--batch-size", type=int, default=64, show_default=True, help="Deliveries under way at once.")
@click.option(
    "--max-attempts", type=int, default=24, show_default=True, help="Attempts before dead-lettering."
)
def worker(once: bool, batch_size: int, max_attempts: int) -> None:
    """Deliver outbox events (webhooks, payout instructions, push notifications); many may run at once."""
    from backend.outbox.worker import WorkerConfig
    from backend.worker import run_worker

    config = WorkerConfig(batch_size=batch_size, max_attempts=max_attempts)
    done = run_async(run_worker(Settings.from_env(), config, once=once))
    if once:
        click.echo(f"{done} event(s) attempted")


@click.group()
def outbox() -> None:
    """The outbox: counts, dead letters, re-drive."""


@outbox.command("list")
@click.option(
    "--status", type=click.Choice(["pending", "delivered", "dead"]), default="dead", show_default=True
)
@click.option("--limit", type=int, default=50, show_default=True)
def outbox_list(status: str, limit: int) -> None:
    """Events in STATUS (dead letters by default), and the counts per status."""
    from backend.outbox.admin import count_by_status, list_events

    async def work(conn: AsyncConnection) -> dict[str, Any]:
        page, _ = await list_events(conn, status, limit=limit)
        return {"counts": await count_by_status(conn), "items": [e.to_json() for e in page]}

    click.echo(json.dumps(_run(Settings.from_env(), work), indent=2))


@outbox.command("redrive")
@click.argument("event_id")
def outbox_redrive(event_id: str) -> None:
    """Queue the dead event EVENT_ID again (same webhook-id, fresh attempts)."""
    from backend.outbox.admin import redrive

    async def work(conn: AsyncConnection) -> None:
        await redrive(conn, event_id)
        await record_audit(conn, CLI_ACTOR, "outbox.redriven", "outbox_event", event_id)

    _run(Settings.from_env(), work)
    click.echo(f"event {event_id} queued again")


@click.group()
def settlement() -> None:
    """Settlement windows, statements and reconciliation."""


@settlement.command("windows")
@click.option("--status", type=click.Choice(["OPEN", "CLOSED", "SETTLED"]), default=None)
def settlement_windows(status: str | None) -> None:
    """Every window (all partners)."""
    from ledger.settlement.windows import list_windows

    async def work(conn: AsyncConnection) -> list[dict[str, Any]]:
        page, _ = await list_windows(conn, status=status, limit=1000)
        return [{**w.to_json(), "partnerId": w.partner_id} for w in page]

    click.echo(json.dumps(_run(Settings.from_env(), work), indent=2))


@settlement.command("close")
@click.option("--window", "window_id", default=None, help="Close this OPEN window now.")
@click.option("--due", is_flag=True, help="Close every window whose period has ended (run from cron).")
def settlement_close(window_id: str | None, due: bool) -> None:
    """Close a window by hand, or every due window on schedule."""
    from backend.partners.settlement import close_by_hand, close_on_schedule

    if bool(window_id) == due:
        raise click.UsageError("give either --window ID or --due")

    async def work(conn: AsyncConnection) -> list[dict[str, Any]]:
        if window_id:
            closed, _ = await close_by_hand(conn, window_id, closed_by=CLI_ACTOR)
            await record_audit(conn, CLI_ACTOR, "settlement.window_closed", "settlement_window", window_id)
            return [closed.to_json()]
        return [w.to_json() for w in await close_on_schedule(conn)]

    click.echo(json.dumps(_run(Settings.from_env(), work), indent=2))


@settlement.command("settle")
@click.argument("window_id")
@click.option("--reference", required=True, help="Reference of the payment that settled the net amount.")
def settlement_settle(window_id: str, reference: str) -> None:
    """Mark the CLOSED window WINDOW_ID as settled."""
    from backend.clock import utcnow
    from ledger.settlement.windows import settle_window

    async def work(conn: AsyncConnection) -> dict[str, Any]:
        window = await settle_window(conn, window_id, reference=reference, settled_by=CLI_ACTOR, now=utcnow())
        await record_audit(
            conn,
            CLI_ACTOR,
            "settlement.window_settled",
            "settlement_window",
            window_id,
            details={"reference": reference},
        )
        return window.to_json()

    click.echo(json.dumps(_run(Settings.from_env(), work), indent=2))


@settlement.command("statement")
@click.argument("window_id")
@click.option("--format", "fmt", type=click.Choice(["csv", "camt053"]), default="camt053", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File (default stdout).",
)
def settlement_statement(window_id: str, fmt: str, output: Path | None) -> None:
    """Write the statement of a closed window as CSV or camt.053.001.08."""
    from backend.partners.settlement import statement_for
    from ledger.settlement.camt053 import write_camt053
    from ledger.settlement.statements import statement_to_csv
    from ledger.settlement.windows import get_window

    async def work(conn: AsyncConnection) -> bytes:
        window = await get_window(conn, window_id)
        statement, _ = await statement_for(conn, window)
        if fmt == "csv":
            return statement_to_csv(statement).encode()
        return write_camt053(statement, message_id=f"KORPU-{window.id}"[:35], sequence_number=window.sequence)

    document = _run(Settings.from_env(), work)
    if output is None:
        click.echo(document.decode(), nl=False)
    else:
        output.write_bytes(document)
        click.echo(f"statement written to {output}")


@settlement.command("reconcile")
@click.argument("window_id")
@click.argument("statement_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["auto", "csv", "camt053"]), default="auto", show_default=True
)
def settlement_reconcile(window_id: str, statement_file: Path, fmt: str) -> None:
    """Reconcile a partner's STATEMENT_FILE against WINDOW_ID; prints the report as JSON."""
    from backend.partners.settlement import reconcile_upload
    from ledger.settlement.reconciliation import get_run
    from ledger.settlement.windows import get_window

    content = statement_file.read_bytes()
    if fmt == "auto":
        fmt = "camt053" if content.lstrip().startswith(b"<") else "csv"

    async def work(conn: AsyncConnection) -> dict[str, Any]:
        window = await get_window(conn, window_id)
        run, created = await reconcile_upload(conn, window.partner_id, window_id, content, fmt)  # type: ignore[arg-type]
        _, report = await get_run(conn, run.id)
        return {**run.to_json(), "new": created, "items": report.to_json()["items"]}

    click.echo(json.dumps(_run(Settings.from_env(), work), indent=2))
