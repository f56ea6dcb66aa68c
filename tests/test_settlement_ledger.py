"""Settlement from the ledger, end to end over real HTTP: customers top up, send and cash out, the
partner bank confirms or fails each instruction, the window closes, and its statement (CSV and
camt.053) shows exactly the booked payouts, cash-outs and top-ups, agrees with the ledger's balances
of the partner's accounts, and reconciles line by line with the bank's own records."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.chart import partner_payable, partner_receivable
from backend.partners.positions import default_source
from backend.partners.settlement import close_by_hand
from backend.partners.tables import partners
from backend.settings import Settings
from ledger.accounts import open_account
from ledger.balances import balance
from ledger.errors import UnknownAccount
from ledger.journal import post_entry
from ledger.model import EntryRequest, Side
from ledger.money import Money
from ledger.settlement.camt053 import CAMT053_NAMESPACE, write_camt053
from ledger.settlement.reconciliation import list_exceptions
from ledger.settlement.statements import (
    Direction,
    Statement,
    StatementLine,
    parse_statement_csv,
    statement_to_csv,
)
from ledger.settlement.windows import Window, open_window
from ledger.tables import entries
from tests.transfer_support import World, transfer_world

XSD = Path(__file__).parent / "data" / "iso20022" / "camt.053.001.08.xsd"
IBAN = "AZ21NABZ00000000137010001944"
NS = {"c": CAMT053_NAMESPACE}


async def moment() -> datetime:
    """Now, strictly after everything committed so far and before anything booked next."""
    await asyncio.sleep(0.002)
    instant = datetime.now(UTC)
    await asyncio.sleep(0.002)
    return instant


async def ledger_position(engine: AsyncEngine, code: str, currency: str, at: datetime) -> Money:
    """What Körpü owes the partner by the ledger: its payable less its receivable, as of ``at``."""
    total = Money.zero(currency)
    async with engine.connect() as conn:
        for account, sign in ((partner_payable(code, currency), 1), (partner_receivable(code, currency), -1)):
            try:
                posted = (await balance(conn, account, as_of=at)).posted
            except UnknownAccount:
                continue
            total = total + posted if sign > 0 else total - posted
    return total


async def bank_records(world: World) -> list[StatementLine]:
    """The bank's own books: every instruction it confirmed, dated when it confirmed it."""
    response = await world.bank.get("/partner/v1/payouts", params={"status": "confirmed", "limit": 200})
    assert response.status_code == 200, response.text
    return [
        StatementLine(
            reference=item["reference"],
            amount=Money(item["amount"]["amount"], item["amount"]["currency"]),
            direction=Direction.DEBIT if item["kind"] == "topup" else Direction.CREDIT,
            booked_on=datetime.fromisoformat(item["completedAt"]).astimezone(UTC).date(),
            entry_id=f"BANK-{item['id']}"[:35],
        )
        for item in response.json()["items"]
    ]


def bank_statement(window: Window, lines: list[StatementLine]) -> Statement:
    ours = [line for line in lines if line.amount.currency == window.currency]
    assert window.closed_at is not None
    return Statement(
        statement_id=f"KAP-{window.sequence:04d}-{window.currency}",
        account="AZ-KAPITAL-KORPU-SETTLEMENT",
        account_name="Kapital",
        currency=window.currency,
        period_start=window.opened_at,
        period_end=window.closed_at,
        opening=window.opening,
        lines=tuple(sorted(ours, key=lambda line: line.reference)),
        created_at=window.closed_at,
    )


async def send(world: World, who: Any, amount: str, recipient_id: int) -> dict[str, Any]:
    quote = await world.quote(who, amount)
    response = await world.send(who, quote["id"], recipient_id)
    assert response.status_code == 201, response.text
    transfer: dict[str, Any] = response.json()
    assert transfer["status"] == "sent_to_partner"
    return {**transfer, "receive": Money(quote["receiveAmount"]["amount"], "AZN")}


async def test_a_window_statement_is_the_ledgers_view_and_reconciles_with_the_bank(
    engine: AsyncEngine, settings: Settings
) -> None:
    async with transfer_world(engine, settings) as world:
        async with engine.begin() as conn:
            partner_id, code = (await conn.execute(select(partners.c.id, partners.c.code))).one()
            start = await moment()
            azn = await open_window(conn, partner_id, "AZN", default_source(), now=start)
            rub = await open_window(conn, partner_id, "RUB", default_source(), now=start)
        assert (azn.opening, rub.opening) == (Money.zero("AZN"), Money.zero("RUB"))

        # A migrant in Russia tops up in roubles and sends twice; a third payout fails.
        sender = await world.customer()
        await world.fund(sender, "20000.00", "RUB")
        recipient_id = await world.recipient(sender, method="bank_account", iban=IBAN)
        first = await send(world, sender, "10000.00", recipient_id)
        second = await send(world, sender, "3000.00", recipient_id)
        await world.partner_pays_all()
        failed = await send(world, sender, "2000.00", recipient_id)
        await world.partner_pays_all(fail=True)
        # Someone in Azerbaijan tops up a manat wallet and cashes part of it out.
        local = await world.customer(name=("Aygün", "Quliyeva"))
        await world.fund(local, "100.00", "AZN")
        cashout = await world.http.post(
            "/v1/wallet/cashouts",
            json={"amount": {"amount": "40.00", "currency": "AZN"}, "iban": IBAN},
            headers={**local.headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert cashout.status_code == 201, cashout.text
        await world.partner_pays_all()
        # Körpü pays the bank part of what it owes: booked in the ledger alone, with no instruction.
        async with engine.begin() as conn:
            await open_account(conn, "test:nostro:AZN", "AZN", Side.CREDIT)
            await post_entry(
                conn,
                EntryRequest(
                    id=uuid.uuid4(),
                    postings=[
                        (partner_payable(code, "AZN"), Side.DEBIT, Money("50.00", "AZN")),
                        ("test:nostro:AZN", Side.CREDIT, Money("50.00", "AZN")),
                    ],
                    reference="SETTLE-0001",
                ),
            )
        # Sent, but not paid out by the cut-off: its money is only held, so it is no movement yet.
        late = await send(world, sender, "1000.00", recipient_id)

        cutoff = await moment()
        async with engine.begin() as conn:
            closed_azn, next_azn = await close_by_hand(conn, azn.id, closed_by="test", cutoff=cutoff)
            closed_rub, _ = await close_by_hand(conn, rub.id, closed_by="test", cutoff=cutoff)

        records = await bank_records(world)
        refs = {line.reference for line in records}
        payout_ref = {t["id"]: t["id"].replace("-", "") for t in (first, second, failed, late)}
        (topup_azn,) = (
            line.reference
            for line in records
            if line.direction is Direction.DEBIT and line.amount.currency == "AZN"
        )
        # The bank received our payment too.
        records.append(StatementLine("SETTLE-0001", Money("50.00", "AZN"), Direction.DEBIT, cutoff.date()))
        cashout_ref = cashout.json()["reference"]
        assert payout_ref[failed["id"]] not in refs and payout_ref[late["id"]] not in refs

        # The manat statement: the two payouts and the cash-out are credits, the top-up a debit.
        csv_response = await world.bank.get(f"/partner/v1/settlement/windows/{azn.id}/statement.csv")
        assert csv_response.status_code == 200, csv_response.text
        statement = parse_statement_csv(csv_response.text)
        assert sorted(
            (line.reference, line.direction, line.amount, line.description) for line in statement.lines
        ) == sorted(
            [
                (payout_ref[first["id"]], Direction.CREDIT, first["receive"], "payout"),
                (payout_ref[second["id"]], Direction.CREDIT, second["receive"], "payout"),
                (topup_azn, Direction.DEBIT, Money("100.00", "AZN"), "topup"),
                (cashout_ref, Direction.CREDIT, Money("40.00", "AZN"), "cashout"),
                ("SETTLE-0001", Direction.DEBIT, Money("50.00", "AZN"), ""),
            ]
        )
        async with engine.connect() as conn:
            ledger_ids = set((await conn.execute(select(entries.c.id))).scalars())
        assert {uuid.UUID(line.entry_id) for line in statement.lines} <= ledger_ids
        credits = first["receive"] + second["receive"] + Money("40.00", "AZN")
        debits = Money("150.00", "AZN")
        assert (closed_azn.credits, closed_azn.debits) == (credits, debits)
        assert statement.opening == Money.zero("AZN")
        assert statement.closing == closed_azn.closing == credits - debits
        assert closed_azn.closing == await ledger_position(engine, code, "AZN", cutoff)
        assert closed_rub.closing == Money("-20000.00", "RUB")
        assert closed_rub.closing == await ledger_position(engine, code, "RUB", cutoff)

        xml = await world.bank.get(f"/partner/v1/settlement/windows/{azn.id}/statement.xml")
        document = etree.fromstring(xml.content)
        etree.XMLSchema(etree.parse(str(XSD))).assertValid(document)
        assert sorted(
            e.findtext("c:NtryRef", namespaces=NS) for e in document.iterfind(".//c:Ntry", NS)
        ) == sorted(line.reference for line in statement.lines)
        summary = document.find(".//c:TxsSummry", NS)
        assert summary is not None
        assert Decimal(summary.findtext("c:TtlCdtNtries/c:Sum", namespaces=NS) or "") == credits.amount
        assert Decimal(summary.findtext("c:TtlDbtNtries/c:Sum", namespaces=NS) or "") == Decimal("150.00")

        # The bank's own statement of the window matches ours line by line.
        theirs = bank_statement(closed_azn, records)
        clean = await world.bank.post(
            f"/partner/v1/settlement/windows/{azn.id}/reconciliations",
            content=write_camt053(theirs, message_id="KAP-MSG-1"),
            headers={"content-type": "application/xml"},
        )
        assert clean.status_code == 201, clean.text
        assert clean.json()["summary"]["matched"] == 5 and clean.json()["clean"] is True
        rub_upload = await world.bank.post(
            f"/partner/v1/settlement/windows/{rub.id}/reconciliations",
            content=statement_to_csv(bank_statement(closed_rub, records)).encode(),
            headers={"content-type": "text/csv"},
        )
        assert (rub_upload.json()["summary"]["matched"], rub_upload.json()["clean"]) == (1, True)

        # A bank that booked the second payout a cent short and believes the failed one was paid.
        short = next(line for line in theirs.lines if line.reference == payout_ref[second["id"]])
        wrong = [
            *(line for line in theirs.lines if line is not short),
            StatementLine(
                short.reference, short.amount - Money("0.01", "AZN"), short.direction, short.booked_on
            ),
            StatementLine(payout_ref[failed["id"]], Money("1.00", "AZN"), Direction.CREDIT, short.booked_on),
        ]
        discrepant = Statement(
            "KAP-0001-AZN-B",
            theirs.account,
            "Kapital",
            "AZN",
            theirs.period_start,
            theirs.period_end,
            theirs.opening,
            tuple(wrong),
            theirs.created_at,
        )
        report = await world.bank.post(
            f"/partner/v1/settlement/windows/{azn.id}/reconciliations",
            content=statement_to_csv(discrepant).encode(),
            headers={"content-type": "text/csv"},
        )
        assert report.status_code == 201, report.text
        assert report.json()["summary"] == {
            "matched": 4,
            "missing_ours": 1,
            "missing_theirs": 0,
            "amount_mismatch": 1,
            "date_mismatch": 0,
        }
        async with engine.connect() as conn:
            exceptions, _ = await list_exceptions(conn, partner_id=partner_id)
        assert sorted((e["kind"], e["reference"]) for e in exceptions) == sorted(
            [("amount_mismatch", payout_ref[second["id"]]), ("missing_ours", payout_ref[failed["id"]])]
        )

        # The late payout is confirmed after the cut-off: it opens the next window's statement.
        await world.partner_pays_all()
        async with engine.begin() as conn:
            following, _ = await close_by_hand(conn, next_azn.id, closed_by="test", cutoff=await moment())
        assert following.opening == closed_azn.closing
        lines = await world.bank.get(f"/partner/v1/settlement/windows/{following.id}/statement.csv")
        assert [(line.reference, line.amount) for line in parse_statement_csv(lines.text).lines] == [
            (payout_ref[late["id"]], late["receive"])
        ]
        assert following.closing == await ledger_position(engine, code, "AZN", following.closed_at or cutoff)
