"""Settlement statements and their files: the balance equation, CSV, camt.053.001.08 checked against the
official XSD, and the reconciliation matcher with every kind of discrepancy."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ledger.money import Money
from ledger.settlement.camt053 import CAMT053_NAMESPACE, parse_camt053, write_camt053
from ledger.settlement.reconcile import ItemKind, reconcile
from ledger.settlement.statements import (
    Direction,
    InvalidStatement,
    Statement,
    StatementLine,
    parse_statement_csv,
    statement_to_csv,
)

XSD = Path(__file__).parent / "data" / "iso20022" / "camt.053.001.08.xsd"
START = datetime(2026, 11, 2, tzinfo=UTC)
END = START + timedelta(days=1)


@pytest.fixture(scope="module")
def camt_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def line(
    reference: str, amount: str, direction: Direction = Direction.CREDIT, day: int = 2, currency: str = "AZN"
) -> StatementLine:
    return StatementLine(
        reference, Money(amount, currency), direction, date(2026, 11, day), "payout", f"e-{reference}"
    )


def statement(lines: list[StatementLine], opening: str = "1000.00") -> Statement:
    return Statement(
        statement_id="sw_0001",
        account="KORPU-kapital-demo-AZN",
        account_name="Kapital Demo",
        currency="AZN",
        period_start=START,
        period_end=END,
        opening=Money(opening, "AZN"),
        lines=tuple(lines),
        created_at=END,
    )


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2)
lines_strategy = st.lists(
    st.builds(
        lambda i, a, d: StatementLine(f"ref-{i}", Money(a, "AZN"), d, date(2026, 11, 2)),
        st.integers(0, 10_000),
        amounts,
        st.sampled_from(list(Direction)),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(
    opening=st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2), lines=lines_strategy
)
def test_closing_is_opening_plus_credits_minus_debits(opening: Decimal, lines: list[StatementLine]) -> None:
    result = statement(lines, opening=str(opening))
    credits = sum((x.amount.amount for x in lines if x.direction is Direction.CREDIT), Decimal(0))
    debits = sum((x.amount.amount for x in lines if x.direction is Direction.DEBIT), Decimal(0))
    assert result.closing == Money(opening + credits - debits, "AZN")
    assert result.closing == result.opening + result.credits - result.debits


@settings(max_examples=40, deadline=None)
@given(
    opening=st.decimals(min_value=Decimal("-1e6"), max_value=Decimal("1e6"), places=2), lines=lines_strategy
)
def test_csv_round_trip_keeps_every_line_and_balance(opening: Decimal, lines: list[StatementLine]) -> None:
    original = statement(lines, opening=str(opening))
    parsed = parse_statement_csv(statement_to_csv(original))
    assert parsed.opening == original.opening
    assert parsed.closing == original.closing
    assert [(x.reference, x.amount, x.direction, x.booked_on) for x in parsed.lines] == [
        (x.reference, x.amount, x.direction, x.booked_on) for x in original.lines
    ]


def test_csv_statement_reads_as_a_spreadsheet_user_expects() -> None:
    text = statement_to_csv(statement([line("TR-1", "150.00"), line("SETTLE-1", "400.00", Direction.DEBIT)]))
    rows = text.splitlines()
    assert rows[0].startswith("statement_id,account,currency,row_type,reference")
    assert rows[1].split(",")[3:8] == ["OPENING", "", "2026-11-02", "CRDT", "1000.00"]
    assert rows[-1].split(",")[3:8] == ["CLOSING", "", "2026-11-03", "CRDT", "750.00"]


def test_a_negative_balance_is_a_debit_balance_in_csv_and_camt() -> None:
    overdrawn = statement([line("SETTLE-9", "1500.00", Direction.DEBIT)], opening="1000.00")
    assert overdrawn.closing == Money("-500.00", "AZN")
    assert statement_to_csv(overdrawn).splitlines()[-1].split(",")[6:8] == ["DBIT", "500.00"]
    parsed = parse_camt053(write_camt053(overdrawn, message_id="m-1"))
    assert parsed.closing == Money("-500.00", "AZN")


def test_csv_whose_balances_do_not_add_up_is_refused() -> None:
    text = statement_to_csv(statement([line("TR-1", "150.00")])).replace("1150.00", "1150.01")
    with pytest.raises(InvalidStatement, match="does not add up"):
        parse_statement_csv(text)


def test_csv_cells_that_look_like_formulas_are_neutralised() -> None:
    evil = StatementLine("TR-1", Money("1.00", "AZN"), Direction.CREDIT, date(2026, 11, 2), "=HYPERLINK(1)")
    assert "'=HYPERLINK(1)" in statement_to_csv(statement([evil]))


@settings(max_examples=25, deadline=None)
@given(
    opening=st.decimals(min_value=Decimal("-1e6"), max_value=Decimal("1e6"), places=2), lines=lines_strategy
)
def test_camt053_validates_against_the_official_schema_and_round_trips(
    camt_schema: etree.XMLSchema, opening: Decimal, lines: list[StatementLine]
) -> None:
    original = statement(lines, opening=str(opening))
    document = write_camt053(original, message_id="KORPU-sw_0001", sequence_number=1)
    camt_schema.assertValid(etree.fromstring(document))
    parsed = parse_camt053(document)
    assert parsed.statement_id == "sw_0001"
    assert (parsed.opening, parsed.closing) == (original.opening, original.closing)
    assert [(x.reference, x.amount, x.direction, x.booked_on) for x in parsed.lines] == [
        (x.reference, x.amount, x.direction, x.booked_on) for x in original.lines
    ]


def test_camt053_carries_the_balances_and_totals_a_bank_reads(camt_schema: etree.XMLSchema) -> None:
    document = write_camt053(
        statement([line("TR-1", "150.00"), line("SETTLE-1", "400.00", Direction.DEBIT)]), message_id="m-1"
    )
    root = etree.fromstring(document)
    ns = {"c": CAMT053_NAMESPACE}
    balances = {
        b.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=ns): (
            b.findtext("c:Amt", namespaces=ns),
            b.findtext("c:CdtDbtInd", namespaces=ns),
        )
        for b in root.iterfind(".//c:Bal", ns)
    }
    assert balances == {"OPBD": ("1000.00", "CRDT"), "CLBD": ("750.00", "CRDT")}
    assert root.findtext(".//c:TxsSummry/c:TtlNtries/c:NbOfNtries", namespaces=ns) == "2"
    assert root.findtext(".//c:TxsSummry/c:TtlNtries/c:TtlNetNtry/c:Amt", namespaces=ns) == "250.00"
    assert root.findtext(".//c:TxsSummry/c:TtlNtries/c:TtlNetNtry/c:CdtDbtInd", namespaces=ns) == "DBIT"
    assert root.findtext(".//c:Ntry/c:NtryDtls/c:TxDtls/c:Refs/c:EndToEndId", namespaces=ns) == "TR-1"


def test_camt053_of_another_version_is_refused() -> None:
    document = write_camt053(statement([line("TR-1", "1.00")]), message_id="m-1")
    older = document.replace(b"camt.053.001.08", b"camt.053.001.02")
    with pytest.raises(InvalidStatement, match=r"only camt\.053\.001\.08 is accepted"):
        parse_camt053(older)


def test_camt053_with_a_doctype_is_refused() -> None:
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        + (write_camt053(statement([]), message_id="m-1").split(b"?>", 1)[1])
    )
    with pytest.raises(InvalidStatement, match="DOCTYPE"):
        parse_camt053(hostile)


def test_camt053_pending_entries_are_not_booked_lines() -> None:
    document = write_camt053(statement([line("TR-1", "1.00"), line("TR-2", "2.00")]), message_id="m-1")
    root = etree.fromstring(document)
    ns = {"c": CAMT053_NAMESPACE}
    root.findall(".//c:Ntry", ns)[1].find("c:Sts/c:Cd", ns).text = "PDNG"
    closing = next(b for b in root.iterfind(".//c:Bal", ns) if b.findtext(".//c:Cd", namespaces=ns) == "CLBD")
    closing.find("c:Amt", ns).text = "1001.00"  # the booked balance leaves the pending entry out
    parsed = parse_camt053(etree.tostring(root))
    assert [x.reference for x in parsed.lines] == ["TR-1"]


def test_reconciliation_reports_every_kind_of_discrepancy() -> None:
    ours = [
        line("TR-OK", "100.00"),
        line("TR-ONLY-OURS", "20.00"),
        line("TR-AMOUNT", "50.00"),
        line("TR-DATE", "70.00", day=2),
        line("TR-CCY", "10.00"),
        line("TR-SIGN", "5.00"),
    ]
    theirs = [
        line("TR-OK", "100.00"),
        line("TR-ONLY-THEIRS", "33.00"),
        line("TR-AMOUNT", "50.01"),
        line("TR-DATE", "70.00", day=3),
        line("TR-CCY", "10.00", currency="USD"),
        line("TR-SIGN", "5.00", Direction.DEBIT),
    ]
    report = reconcile(ours, theirs)
    kinds = {item.reference: item.kind for item in report.items}
    assert kinds == {
        "TR-OK": ItemKind.MATCHED,
        "TR-ONLY-OURS": ItemKind.MISSING_THEIRS,
        "TR-ONLY-THEIRS": ItemKind.MISSING_OURS,
        "TR-AMOUNT": ItemKind.AMOUNT_MISMATCH,
        "TR-DATE": ItemKind.DATE_MISMATCH,
        "TR-CCY": ItemKind.AMOUNT_MISMATCH,
        "TR-SIGN": ItemKind.AMOUNT_MISMATCH,
    }
    assert report.summary == {
        "matched": 1,
        "missing_ours": 1,
        "missing_theirs": 1,
        "amount_mismatch": 3,
        "date_mismatch": 1,
    }
    assert not report.is_clean
    assert len(report.exceptions) == 6
    document = json.loads(json.dumps(report.to_json()))
    mismatch = next(i for i in document["items"] if i["reference"] == "TR-AMOUNT")
    assert mismatch["ours"]["amount"] == {"amount": "50.00", "currency": "AZN"}
    assert mismatch["theirs"]["amount"] == {"amount": "50.01", "currency": "AZN"}
    csv_rows = report.to_csv().splitlines()
    assert csv_rows[0].startswith("kind,reference,our_amount")
    assert "missing_ours,TR-ONLY-THEIRS,,,,,33.00,AZN,CRDT,2026-11-02" in csv_rows


def test_repeated_references_pair_exactly_before_they_are_called_mismatches() -> None:
    ours = [line("SETTLE", "10.00"), line("SETTLE", "20.00"), line("SETTLE", "30.00")]
    theirs = [line("SETTLE", "30.00"), line("SETTLE", "10.00")]
    report = reconcile(ours, theirs)
    assert report.summary["matched"] == 2
    assert [(i.kind, i.ours.amount if i.ours else None) for i in report.exceptions] == [
        (ItemKind.MISSING_THEIRS, Money("20.00", "AZN"))
    ]


@settings(max_examples=60, deadline=None)
@given(ours=lines_strategy, theirs=lines_strategy)
def test_every_line_of_both_sides_lands_in_exactly_one_item(
    ours: list[StatementLine], theirs: list[StatementLine]
) -> None:
    report = reconcile(ours, theirs)
    assert sorted(map(id, (i.ours for i in report.items if i.ours))) == sorted(map(id, ours))
    assert sorted(map(id, (i.theirs for i in report.items if i.theirs))) == sorted(map(id, theirs))


@settings(max_examples=30, deadline=None)
@given(lines=lines_strategy)
def test_a_statement_reconciled_with_itself_is_clean(lines: list[StatementLine]) -> None:
    assert reconcile(lines, list(reversed(lines))).is_clean
