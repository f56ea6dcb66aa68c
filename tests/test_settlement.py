"""Settlement windows and reconciliation as a partner bank sees them: windows that tile time and chain
their balances, statements that add up (CSV, and camt.053 valid against the official schema), closes
by hand and on schedule, and reconciliation of uploaded statements with every kind of discrepancy.

Movements are real ledger postings (each confirmation books one, see tests/settlement_support.py), so
windows are cut at real moments taken between them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from lxml import etree
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.app import create_app
from backend.outbox.tables import outbox_events
from backend.partners.client import PartnerAuth
from backend.partners.payouts import PayoutKind, confirm_payout
from backend.partners.settlement import close_by_hand, close_on_schedule, ensure_windows, statement_for
from backend.settings import Settings
from ledger.money import Money
from ledger.settlement.camt053 import write_camt053
from ledger.settlement.reconciliation import list_exceptions
from ledger.settlement.statements import Direction, Statement, StatementLine, statement_to_csv
from ledger.settlement.windows import (
    IN_FLIGHT_ALLOWANCE,
    BalanceMismatch,
    WindowNotOpen,
    get_window,
    list_windows,
    settle_window,
)
from tests.partner_support import make_partner, make_payout, serve
from tests.settlement_support import LedgerBookings

XSD = Path(__file__).parent / "data" / "iso20022" / "camt.053.001.08.xsd"


async def moment() -> datetime:
    """Now, strictly after everything committed so far and before anything booked next."""
    await asyncio.sleep(0.002)
    instant = datetime.now(UTC)
    await asyncio.sleep(0.002)
    return instant


@dataclass
class Desk:
    engine: AsyncEngine
    settings: Settings
    partner_id: str
    client: httpx.AsyncClient
    books: LedgerBookings

    async def paid(self, reference: str, amount: str, kind: PayoutKind = PayoutKind.PAYOUT) -> str:
        payout_id = await make_payout(
            self.engine, self.settings, self.partner_id, reference, amount, kind=kind
        )
        async with self.engine.begin() as conn:
            await confirm_payout(conn, self.partner_id, payout_id, self.books)
        return payout_id

    async def close(self, window_id: str, cutoff: datetime | None = None) -> str:
        cutoff = cutoff or await moment()
        async with self.engine.begin() as conn:
            _, successor = await close_by_hand(conn, window_id, closed_by="test", cutoff=cutoff)
        return successor.id

    async def first_window(self, opened_at: datetime | None = None) -> str:
        async with self.engine.begin() as conn:
            (window,) = await ensure_windows(conn, now=opened_at or await moment())
        return window.id


@pytest.fixture
async def desk(engine: AsyncEngine, settings: Settings) -> AsyncIterator[Desk]:
    partner, key, _ = await make_partner(engine, settings, webhook_url="https://bank.example/webhooks")
    async with (
        serve(create_app(settings, engine=engine)) as url,
        httpx.AsyncClient(base_url=url, auth=PartnerAuth(key.key_id, key.secret)) as client,
    ):
        yield Desk(engine, settings, partner.id, client, LedgerBookings(partner.code))


async def test_windows_chain_their_balances_and_each_statement_adds_up(desk: Desk) -> None:
    await make_payout(desk.engine, desk.settings, desk.partner_id, "TR-0", "1.00")  # activity opens a window
    first = await desk.first_window()
    await desk.paid("TR-1", "100.00")
    await desk.paid("TR-2", "50.00", PayoutKind.CASHOUT)
    await desk.paid("TU-1", "30.00", PayoutKind.TOPUP)
    second = await desk.close(first)
    await desk.paid("TR-3", "10.00")
    await desk.close(second)

    response = await desk.client.get(f"/partner/v1/settlement/windows/{first}")
    assert response.status_code == 200, response.text
    closed = response.json()
    assert (closed["status"], closed["lineCount"]) == ("CLOSED", 3)
    assert closed["opening"] == {"amount": "0.00", "currency": "AZN"}
    assert closed["credits"]["amount"] == "150.00"
    assert closed["debits"]["amount"] == "30.00"
    assert closed["closing"]["amount"] == "120.00"
    nxt = (await desk.client.get(f"/partner/v1/settlement/windows/{second}")).json()
    assert nxt["opening"] == closed["closing"]
    assert nxt["openedAt"] == closed["closedAt"]
    assert nxt["closing"]["amount"] == "130.00"

    listing = (await desk.client.get("/partner/v1/settlement/windows", params={"currency": "AZN"})).json()
    assert [(w["sequence"], w["status"]) for w in listing["items"]] == [
        (1, "CLOSED"),
        (2, "CLOSED"),
        (3, "OPEN"),
    ]


async def test_statement_files_a_bank_can_load(desk: Desk) -> None:
    await make_payout(desk.engine, desk.settings, desk.partner_id, "TR-0", "1.00")
    first = await desk.first_window()
    await desk.paid("TR-1", "100.00")
    await desk.paid("TU-1", "30.00", PayoutKind.TOPUP)
    await desk.close(first)

    csv_response = await desk.client.get(f"/partner/v1/settlement/windows/{first}/statement.csv")
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    rows = [line.split(",") for line in csv_response.text.splitlines()]
    assert [r[3] for r in rows[1:]] == ["OPENING", "ENTRY", "ENTRY", "CLOSING"]
    assert rows[2][4:9] == ["TR-1", desk.books.booked_on["TR-1"].isoformat(), "CRDT", "100.00", "payout"]
    assert rows[3][4:9] == ["TU-1", desk.books.booked_on["TU-1"].isoformat(), "DBIT", "30.00", "topup"]
    assert rows[4][6:8] == ["CRDT", "70.00"]
    assert rows[1][1] == "KORPU-kapital-test-AZN"

    xml_response = await desk.client.get(f"/partner/v1/settlement/windows/{first}/statement.xml")
    assert xml_response.headers["content-type"].startswith("application/xml")
    document = etree.fromstring(xml_response.content)
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(document)
    ns = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"}
    assert document.findtext(".//c:Stmt/c:Id", namespaces=ns) == first
    assert document.findtext(".//c:Acct/c:Nm", namespaces=ns) == "Kapital-Test"
    assert [e.findtext("c:NtryRef", namespaces=ns) for e in document.iterfind(".//c:Ntry", ns)] == [
        "TR-1",
        "TU-1",
    ]


async def test_an_open_window_has_no_statement_yet(desk: Desk) -> None:
    await make_payout(desk.engine, desk.settings, desk.partner_id, "TR-0", "1.00")
    first = await desk.first_window()
    response = await desk.client.get(f"/partner/v1/settlement/windows/{first}/statement.csv")
    assert (response.status_code, response.json()["code"]) == (409, "window_not_open")


async def test_windows_close_on_schedule_period_by_period_and_are_announced(desk: Desk) -> None:
    await make_payout(desk.engine, desk.settings, desk.partner_id, "TR-0", "1.00")
    start = await moment() - timedelta(hours=30)  # so the payout falls in the second 24-hour window
    await desk.first_window(start)
    await desk.paid("TR-1", "100.00")
    async with desk.engine.begin() as conn:
        closed = await close_on_schedule(conn, now=start + timedelta(hours=49))
    assert [(w.sequence, w.closed_at) for w in closed] == [
        (1, start + timedelta(hours=24)),
        (2, start + timedelta(hours=48)),
    ]
    assert [w.closing for w in closed] == [Money("0.00", "AZN"), Money("100.00", "AZN")]
    async with desk.engine.connect() as conn:
        topics = (await conn.execute(select(outbox_events.c.topic))).scalars().all()
        assert topics.count("settlement.window_closed") == 2
        assert await close_on_schedule(conn, now=start + timedelta(hours=49)) == []  # nothing more is due


async def test_a_window_opened_on_schedule_starts_an_in_flight_allowance_back(desk: Desk) -> None:
    await make_payout(desk.engine, desk.settings, desk.partner_id, "TR-0", "1.00")
    run = await moment()
    async with desk.engine.begin() as conn:
        assert await close_on_schedule(conn, now=run) == []
        page, _ = await list_windows(conn, desk.partner_id, status="OPEN")
    assert [w.opened_at for w in page] == [run - IN_FLIGHT_ALLOWANCE]


@pytest.mark.postgres_only
async def test_a_movement_committed_after_its_window_closed_stops_the_next_close(desk: Desk) -> None:
    await make_payout(desk.engine, desk.settings, desk.partner_id, "TR-0", "1.00")
    first = await desk.first_window()
    await desk.paid("TR-1", "100.00")
    late = await make_payout(desk.engine, desk.settings, desk.partner_id, "TR-LATE", "9.00")
    async with desk.engine.connect() as slow:
        transaction = await slow.begin()
        # Booked (timestamped) now, but committed only after the window it belongs to has closed.
        await confirm_payout(slow, desk.partner_id, late, desk.books)
        second = await desk.close(first)
        await transaction.commit()
    async with desk.engine.connect() as conn:
        assert (await get_window(conn, first)).closing == Money("100.00", "AZN")
    with pytest.raises(BalanceMismatch):
        await desk.close(second)
    async with desk.engine.connect() as conn:
        assert (await get_window(conn, second)).status == "OPEN"


async def test_closing_twice_and_settling(desk: Desk) -> None:
    await make_payout(desk.engine, desk.settings, desk.partner_id, "TR-0", "1.00")
    first = await desk.first_window()
    cutoff = await moment()
    await desk.close(first, cutoff)
    with pytest.raises(WindowNotOpen):
        await desk.close(first, cutoff + timedelta(hours=1))
    async with desk.engine.begin() as conn:
        settled = await settle_window(
            conn, first, reference="SWIFT-123", settled_by="ops", now=cutoff + timedelta(days=1)
        )
    assert (settled.status, settled.settlement_reference) == ("SETTLED", "SWIFT-123")
    async with desk.engine.connect() as conn:
        page, _ = await list_windows(conn, desk.partner_id, status="OPEN")
    assert len(page) == 1


def _their_statement(ours: Statement) -> Statement:
    """The bank's own view of the window, with one discrepancy of every kind."""
    lines = {line.reference: line for line in ours.lines}
    theirs = [
        lines["TR-1"],  # matched
        StatementLine("TR-2", Money("50.01", "AZN"), Direction.CREDIT, lines["TR-2"].booked_on),  # amount
        StatementLine(
            "TR-3", lines["TR-3"].amount, Direction.CREDIT, lines["TR-3"].booked_on + timedelta(days=1)
        ),  # date
        StatementLine(
            "TR-X", Money("12.00", "AZN"), Direction.CREDIT, lines["TR-1"].booked_on
        ),  # ours missing
        # TR-4 is left out: missing on theirs
    ]
    return Statement(
        statement_id="KAP-STMT-0001",
        account="AZ-KAPITAL-SETTLEMENT",
        account_name="Kapital",
        currency="AZN",
        period_start=ours.period_start,
        period_end=ours.period_end,
        opening=ours.opening,
        lines=tuple(theirs),
        created_at=ours.created_at,
    )


async def test_reconciliation_reports_every_discrepancy_opens_exceptions_and_ignores_a_repeat(
    desk: Desk,
) -> None:
    await make_payout(desk.engine, desk.settings, desk.partner_id, "TR-0", "1.00")
    first = await desk.first_window()
    for n, amount in enumerate(["100.00", "50.00", "70.00", "5.00"], start=1):
        await desk.paid(f"TR-{n}", amount)
    await desk.close(first)
    async with desk.engine.connect() as conn:
        ours, _ = await statement_for(conn, await get_window(conn, first))
    theirs = _their_statement(ours)
    camt = write_camt053(theirs, message_id="KAP-MSG-1")
    path = f"/partner/v1/settlement/windows/{first}/reconciliations"

    uploaded = await desk.client.post(path, content=camt, headers={"content-type": "application/xml"})
    assert uploaded.status_code == 201, uploaded.text
    run = uploaded.json()
    assert run["summary"] == {
        "matched": 1,
        "missing_ours": 1,
        "missing_theirs": 1,
        "amount_mismatch": 1,
        "date_mismatch": 1,
    }
    assert run["clean"] is False
    assert run["statementId"] == "KAP-STMT-0001"

    again = await desk.client.post(path, content=camt, headers={"content-type": "application/xml"})
    assert again.status_code == 200
    assert again.json()["id"] == run["id"]
    async with desk.engine.connect() as conn:
        exceptions, _ = await list_exceptions(conn, partner_id=desk.partner_id)
    assert sorted((e["kind"], e["reference"]) for e in exceptions) == [
        ("amount_mismatch", "TR-2"),
        ("date_mismatch", "TR-3"),
        ("missing_ours", "TR-X"),
        ("missing_theirs", "TR-4"),
    ]

    report = (await desk.client.get(f"/partner/v1/settlement/reconciliations/{run['id']}")).json()
    mismatch = next(i for i in report["items"] if i["reference"] == "TR-2")
    assert (mismatch["ours"]["amount"]["amount"], mismatch["theirs"]["amount"]["amount"]) == (
        "50.00",
        "50.01",
    )
    report_csv = await desk.client.get(f"/partner/v1/settlement/reconciliations/{run['id']}/report.csv")
    booked = desk.books.booked_on["TR-4"].isoformat()
    assert f"missing_theirs,TR-4,5.00,AZN,CRDT,{booked},,,," in report_csv.text.splitlines()

    as_csv = await desk.client.post(
        path, content=statement_to_csv(theirs).encode(), headers={"content-type": "text/csv"}
    )
    assert as_csv.status_code == 201
    assert as_csv.json()["summary"] == run["summary"]


async def test_a_clean_statement_reconciles_clean(desk: Desk) -> None:
    await make_payout(desk.engine, desk.settings, desk.partner_id, "TR-0", "1.00")
    first = await desk.first_window()
    await desk.paid("TR-1", "100.00")
    await desk.close(first)
    statement = await desk.client.get(f"/partner/v1/settlement/windows/{first}/statement.xml")
    response = await desk.client.post(
        f"/partner/v1/settlement/windows/{first}/reconciliations",
        content=statement.content,
        headers={"content-type": "application/xml"},
    )
    assert response.json()["clean"] is True
    async with desk.engine.connect() as conn:
        assert (await list_exceptions(conn, partner_id=desk.partner_id))[0] == []


async def test_bad_uploads_are_refused_and_change_nothing(desk: Desk) -> None:
    await make_payout(desk.engine, desk.settings, desk.partner_id, "TR-0", "1.00")
    first = await desk.first_window()
    path = f"/partner/v1/settlement/windows/{first}/reconciliations"
    still_open = await desk.client.post(path, content=b"x", headers={"content-type": "text/csv"})
    assert (still_open.status_code, still_open.json()["code"]) == (409, "window_not_open")
    await desk.close(first)
    wrong_type = await desk.client.post(path, content=b"{}", headers={"content-type": "application/json"})
    assert wrong_type.status_code == 415
    garbage = await desk.client.post(path, content=b"<not-xml", headers={"content-type": "application/xml"})
    assert (garbage.status_code, garbage.json()["code"]) == (422, "invalid_statement")
    usd = (
        "statement_id,currency,row_type,reference,booking_date,direction,amount\r\n"
        "S1,USD,ENTRY,TR-1,2026-11-02,CRDT,1.00\r\n"
    )
    wrong_currency = await desk.client.post(path, content=usd.encode(), headers={"content-type": "text/csv"})
    assert wrong_currency.status_code == 422
    async with desk.engine.connect() as conn:
        assert (await list_exceptions(conn, partner_id=desk.partner_id))[0] == []
