"""The back office for partner operations: operators see dead letters and re-drive them, resolve
reconciliation exceptions, close and settle windows; other roles are refused; every change is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.outbox.events import OutboxEvent, enqueue
from backend.outbox.tables import outbox_events
from backend.partners.payouts import confirm_payout
from backend.partners.settlement import close_by_hand, ensure_windows
from backend.settings import Settings
from compliance.audit import audit_events
from ledger.money import Money
from ledger.settlement.camt053 import write_camt053
from ledger.settlement.reconciliation import reconcile_window
from ledger.settlement.statements import Direction, Statement, StatementLine
from ledger.settlement.windows import get_window
from tests.partner_support import make_partner, make_payout
from tests.settlement_support import LedgerBookings


async def audit_actions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(audit_events.c.action).order_by(audit_events.c.id))).scalars())


async def test_only_operators_reach_the_partner_back_office(http: AsyncClient, make_staff: Any) -> None:
    assert (await http.get("/backoffice/v1/outbox")).status_code == 401
    officer = await make_staff("officer")
    assert (await http.get("/backoffice/v1/outbox", headers=officer)).status_code == 403
    operator = await make_staff("operator")
    response = await http.get("/backoffice/v1/outbox", headers=operator)
    assert response.status_code == 200
    assert response.json()["counts"] == {"pending": 0, "delivered": 0, "dead": 0}


async def test_an_operator_redrives_a_dead_letter(
    http: AsyncClient, make_staff: Any, engine: AsyncEngine
) -> None:
    async with engine.begin() as conn:
        event_id = await enqueue(conn, OutboxEvent("payout", "po_1", "payout.confirmed", "webhook:ptn_1"))
        await conn.execute(
            update(outbox_events).values(status="dead", attempts=8, last_error="partner answered 500")
        )
    operator = await make_staff("operator")
    dead = (await http.get("/backoffice/v1/outbox", headers=operator)).json()
    assert [(e["id"], e["lastError"]) for e in dead["items"]] == [(event_id, "partner answered 500")]

    response = await http.post(f"/backoffice/v1/outbox/{event_id}/redrive", headers=operator)
    assert response.status_code == 200, response.text
    again = await http.post(f"/backoffice/v1/outbox/{event_id}/redrive", headers=operator)
    assert (again.status_code, again.json()["code"]) == (409, "event_not_dead")
    async with engine.connect() as conn:
        row = (await conn.execute(select(outbox_events))).mappings().one()
    assert (row["id"], row["status"], row["attempts"]) == (event_id, "pending", 0)
    assert "outbox.redriven" in await audit_actions(engine)


async def test_an_operator_resolves_reconciliation_exceptions_and_settles_the_window(
    http: AsyncClient, make_staff: Any, engine: AsyncEngine, settings: Settings
) -> None:
    partner, _, _ = await make_partner(engine, settings)
    payout_id = await make_payout(engine, settings, partner.id, "TR-1", "100.00")
    await make_payout(engine, settings, partner.id, "TR-2", "5.00", currency="USD")  # never confirmed
    books = LedgerBookings(partner.code)
    async with engine.begin() as conn:
        opened = await ensure_windows(conn, now=datetime.now(UTC) - timedelta(minutes=2))
        window = next(w for w in opened if w.currency == "AZN")
        idle = next(w for w in opened if w.currency == "USD")
        await confirm_payout(conn, partner.id, payout_id, books)
    async with engine.begin() as conn:
        closed, _ = await close_by_hand(conn, window.id, closed_by="test", cutoff=datetime.now(UTC))
        assert closed.closing == Money("100.00", "AZN")
        theirs = Statement(
            "KAP-1",
            "ACC",
            "Kapital",
            "AZN",
            window.opened_at,
            datetime.now(UTC),
            Money("0.00", "AZN"),
            (StatementLine("TR-1", Money("99.00", "AZN"), Direction.CREDIT, books.booked_on["TR-1"]),),
            datetime.now(UTC),
        )
        await reconcile_window(
            conn, closed, write_camt053(theirs, message_id="m"), "camt053", now=datetime.now(UTC)
        )
    operator = await make_staff("operator")

    exceptions = (await http.get("/backoffice/v1/reconciliation/exceptions", headers=operator)).json()[
        "items"
    ]
    assert [(e["kind"], e["reference"], e["partnerId"]) for e in exceptions] == [
        ("amount_mismatch", "TR-1", partner.id)
    ]
    short = await http.post(
        f"/backoffice/v1/reconciliation/exceptions/{exceptions[0]['id']}/resolve",
        headers=operator,
        json={"note": ""},
    )
    assert short.status_code == 400
    resolved = await http.post(
        f"/backoffice/v1/reconciliation/exceptions/{exceptions[0]['id']}/resolve",
        headers=operator,
        json={"note": "bank charged a 1.00 fee; agreed by phone"},
    )
    assert resolved.status_code == 200
    assert (await http.get("/backoffice/v1/reconciliation/exceptions", headers=operator)).json()[
        "items"
    ] == []

    settled = await http.post(
        f"/backoffice/v1/settlement/windows/{window.id}/settle",
        headers=operator,
        json={"reference": "SWIFT-REF-1"},
    )
    assert settled.status_code == 200, settled.text
    assert settled.json()["status"] == "SETTLED"
    windows = (
        await http.get(
            "/backoffice/v1/settlement/windows", headers=operator, params={"partnerId": partner.id}
        )
    ).json()["items"]
    assert sorted((w["currency"], w["status"]) for w in windows) == [
        ("AZN", "OPEN"),
        ("AZN", "SETTLED"),
        ("USD", "OPEN"),
    ]
    # A close by hand cuts a little in the past (in-flight allowance): the USD window opened long enough ago.
    closing = await http.post(f"/backoffice/v1/settlement/windows/{idle.id}/close", headers=operator)
    assert closing.status_code == 200, closing.text
    async with engine.connect() as conn:
        assert (await get_window(conn, idle.id)).status == "CLOSED"
    actions = await audit_actions(engine)
    assert {
        "reconciliation.exception_resolved",
        "settlement.window_settled",
        "settlement.window_closed",
    } <= set(actions)
