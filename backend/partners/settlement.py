"""Settlement as the partner capability runs it: windows opened where there is activity, closed by hand
or on schedule with a ``settlement.window_closed`` webhook, statements named after the partner, and
reconciliation uploads answered with a ``reconciliation.completed`` webhook, each in one transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.clock import utcnow
from backend.outbox.events import OutboxEvent, enqueue
from backend.partners.positions import default_source
from backend.partners.service import Partner, get_partner
from backend.partners.tables import partner_payouts, partners
from ledger.settlement.reconciliation import ReconciliationRun, StatementFormat, reconcile_window
from ledger.settlement.source import PositionSource
from ledger.settlement.statements import Statement
from ledger.settlement.tables import settlement_windows
from ledger.settlement.windows import (
    IN_FLIGHT_ALLOWANCE,
    Window,
    close_due_windows,
    close_window,
    get_window,
    open_window,
    statement_of,
)

__all__ = ["close_by_hand", "close_on_schedule", "ensure_windows", "reconcile_upload", "statement_for"]


async def ensure_windows(
    conn: AsyncConnection, *, now: datetime, source: PositionSource | None = None
) -> list[Window]:
    """Open a window for every partner and currency that has instructions but no window yet."""
    source = source or default_source()
    pairs = (
        await conn.execute(select(partner_payouts.c.partner_id, partner_payouts.c.currency).distinct())
    ).all()
    existing = set(
        (await conn.execute(select(settlement_windows.c.partner_id, settlement_windows.c.currency))).all()
    )
    opened = []
    for partner_id, currency in pairs:
        if (partner_id, currency) not in existing:
            opened.append(await open_window(conn, partner_id, currency, source, now=now))
    return opened


async def _announce_close(conn: AsyncConnection, window: Window) -> None:
    partner = await get_partner(conn, window.partner_id)
    if partner.webhook_url:
        await enqueue(
            conn,
            OutboxEvent(
                "settlement_window",
                window.id,
                "settlement.window_closed",
                f"webhook:{partner.id}",
                window.to_json(),
            ),
        )


async def close_by_hand(
    conn: AsyncConnection,
    window_id: str,
    *,
    closed_by: str,
    cutoff: datetime | None = None,
    source: PositionSource | None = None,
) -> tuple[Window, Window]:
    """Close an OPEN window now (cut-off: now minus the in-flight allowance) and announce it."""
    cutoff = cutoff or utcnow() - IN_FLIGHT_ALLOWANCE
    closed, successor = await close_window(
        conn, window_id, source or default_source(), cutoff=cutoff, closed_by=closed_by
    )
    await _announce_close(conn, closed)
    return closed, successor


async def close_on_schedule(
    conn: AsyncConnection, *, now: datetime | None = None, source: PositionSource | None = None
) -> list[Window]:
    """Open missing windows, then close every window whose partner's period has ended; announce each."""
    moment = now or utcnow()
    source = source or default_source()
    # A new window opens a little in the past, like a cut-off: a movement timestamped just before the
    # opening but committed after it would belong to neither its opening balance nor its lines.
    await ensure_windows(conn, now=moment - IN_FLIGHT_ALLOWANCE, source=source)
    periods = {
        row.id: timedelta(hours=row.settlement_period_hours)
        for row in (await conn.execute(select(partners.c.id, partners.c.settlement_period_hours))).all()
    }
    closed = await close_due_windows(conn, source, periods, now=moment)
    for window in closed:
        await _announce_close(conn, window)
    return closed


def statement_account(partner: Partner, currency: str) -> str:
    return f"KORPU-{partner.code}-{currency}"[:34]


async def statement_for(conn: AsyncConnection, window: Window) -> tuple[Statement, Partner]:
    partner = await get_partner(conn, window.partner_id)
    statement = await statement_of(
        conn, window, account=statement_account(partner, window.currency), account_name=partner.name
    )
    return statement, partner


async def reconcile_upload(
    conn: AsyncConnection, partner_id: str, window_id: str, content: bytes, fmt: StatementFormat
) -> tuple[ReconciliationRun, bool]:
    """Reconcile a partner's upload against its closed window; announce a new run by webhook."""
    window = await get_window(conn, window_id, partner_id)
    run, created = await reconcile_window(conn, window, content, fmt, now=utcnow())
    if created:
        partner = await get_partner(conn, partner_id)
        if partner.webhook_url:
            await enqueue(
                conn,
                OutboxEvent(
                    "reconciliation",
                    run.id,
                    "reconciliation.completed",
                    f"webhook:{partner_id}",
                    run.to_json(),
                ),
            )
    return run, created
