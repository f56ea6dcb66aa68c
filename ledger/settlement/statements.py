"""Statements of a settlement account: lines, balances, and the CSV form.

A statement obeys one equation, checked on construction: ``opening + credits - debits = closing``.
Balances are signed from the account's point of view (positive = credit balance, i.e. what Körpü
owes the partner); lines carry an unsigned amount and a direction, as in ISO 20022.

The CSV form is one table with a ``row_type`` column (``OPENING``, ``ENTRY``, ``CLOSING``) so that a
statement round-trips through a spreadsheet and a partner can send the same layout back.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from ledger.money import InvalidAmount, Money

__all__ = [
    "CSV_COLUMNS",
    "Direction",
    "InvalidStatement",
    "ParsedStatement",
    "Statement",
    "StatementLine",
    "parse_amount",
    "parse_statement_csv",
    "statement_to_csv",
    "sum_lines",
]

MAX_REFERENCE_LENGTH = 35
"""ISO 20022 ``Max35Text``: references longer than this cannot travel in camt.053."""


class InvalidStatement(ValueError):
    """A statement file or value that breaks the format or the balance equation."""

    code = "invalid_statement"
    status = 422


class Direction(StrEnum):
    """ISO 20022 ``CreditDebitCode``."""

    CREDIT = "CRDT"
    DEBIT = "DBIT"


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One booked movement on a settlement account."""

    reference: str
    """The business reference both sides know (our payout reference); at most 35 characters."""
    amount: Money
    """Unsigned amount; the sign is :attr:`direction`."""
    direction: Direction
    """Credit (increases what Körpü owes the partner) or debit."""
    booked_on: date
    """Booking date, the date both sides compare."""
    description: str = ""
    """Free text for people, never personal data."""
    entry_id: str = ""
    """The account servicer's own id of the movement (our ledger entry or payout id)."""

    def __post_init__(self) -> None:
        if not self.reference or len(self.reference) > MAX_REFERENCE_LENGTH:
            raise InvalidStatement(
                f"a reference has 1 to {MAX_REFERENCE_LENGTH} characters: {self.reference!r}"
            )
        if not self.amount.is_positive():
            raise InvalidStatement(
                f"line {self.reference}: amounts are positive, the direction gives the sign"
            )

    @property
    def signed(self) -> Money:
        return self.amount if self.direction is Direction.CREDIT else -self.amount


def sum_lines(lines: Iterable[StatementLine], currency: str) -> tuple[Money, Money]:
    """The total credits and total debits of ``lines``, all of which must be in ``currency``."""
    credits = Money.zero(currency)
    debits = Money.zero(currency)
    for line in lines:
        if line.amount.currency != currency:
            raise InvalidStatement(f"line {line.reference} is in {line.amount.currency}, not {currency}")
        if line.direction is Direction.CREDIT:
            credits += line.amount
        else:
            debits += line.amount
    return credits, debits


@dataclass(frozen=True, slots=True)
class Statement:
    """A complete statement of one settlement window: opening, lines, closing."""

    statement_id: str
    """Unique id of this statement (the window id); at most 35 characters."""
    account: str
    """Account identification, e.g. ``KORPU-kapital-demo-AZN``; at most 34 characters."""
    account_name: str
    """The partner's name, for people."""
    currency: str
    """ISO 4217 code of every amount on the statement."""
    period_start: datetime
    """Start of the window (inclusive, UTC)."""
    period_end: datetime
    """End of the window (exclusive, UTC)."""
    opening: Money
    """Signed balance at :attr:`period_start`."""
    lines: tuple[StatementLine, ...]
    """Booked movements in booking order."""
    created_at: datetime
    """When the statement was produced."""
    credits: Money = field(init=False)
    """Sum of credit lines."""
    debits: Money = field(init=False)
    """Sum of debit lines."""

    def __post_init__(self) -> None:
        if self.opening.currency != self.currency:
            raise InvalidStatement(f"opening balance is in {self.opening.currency}, not {self.currency}")
        if not 0 < len(self.statement_id) <= MAX_REFERENCE_LENGTH or not 0 < len(self.account) <= 34:
            raise InvalidStatement("statement id has 1 to 35 characters and account id 1 to 34")
        credits, debits = sum_lines(self.lines, self.currency)
        object.__setattr__(self, "credits", credits)
        object.__setattr__(self, "debits", debits)

    @property
    def closing(self) -> Money:
        """``opening + credits - debits``."""
        return self.opening + self.credits - self.debits


@dataclass(frozen=True, slots=True)
class ParsedStatement:
    """A statement read from a file a partner sent: the balances are optional, the lines are not."""

    statement_id: str
    """The id the partner gave its statement."""
    currency: str
    """Currency of every line."""
    lines: tuple[StatementLine, ...]
    """The partner's booked movements."""
    opening: Money | None = None
    """Opening balance, when the file has one."""
    closing: Money | None = None
    """Closing balance, when the file has one."""

    def __post_init__(self) -> None:
        credits, debits = sum_lines(self.lines, self.currency)
        if self.opening is not None and self.closing is not None:
            expected = self.opening + credits - debits
            if expected != self.closing:
                raise InvalidStatement(
                    f"statement {self.statement_id} does not add up: opening {self.opening} + credits "
                    f"{credits} - debits {debits} = {expected}, but its closing balance is {self.closing}"
                )


CSV_COLUMNS = (
    "statement_id",
    "account",
    "currency",
    "row_type",
    "reference",
    "booking_date",
    "direction",
    "amount",
    "description",
    "entry_id",
)


def _balance_row(statement: Statement, row_type: str, balance: Money, on: date) -> list[str]:
    direction = Direction.DEBIT if balance.amount < 0 else Direction.CREDIT
    return [
        statement.statement_id,
        statement.account,
        statement.currency,
        row_type,
        "",
        on.isoformat(),
        direction.value,
        str(abs(balance.amount)),
        "",
        "",
    ]


def statement_to_csv(statement: Statement) -> str:
    """The statement as CSV (RFC 4180, ``\\r\\n`` line ends, header row first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerow(_balance_row(statement, "OPENING", statement.opening, statement.period_start.date()))
    for line in statement.lines:
        writer.writerow(
            [
                statement.statement_id,
                statement.account,
                statement.currency,
                "ENTRY",
                line.reference,
                line.booked_on.isoformat(),
                line.direction.value,
                str(line.amount.amount),
                _neutralise_formula(line.description),
                line.entry_id,
            ]
        )
    writer.writerow(_balance_row(statement, "CLOSING", statement.closing, statement.period_end.date()))
    return buffer.getvalue()


def _neutralise_formula(text: str) -> str:
    # A cell starting with = + - @ runs as a formula in spreadsheet software (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def parse_statement_csv(text: str) -> ParsedStatement:
    """Read a statement in the CSV layout of :func:`statement_to_csv` (balance rows optional)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [
        c
        for c in ("row_type", "reference", "booking_date", "direction", "amount", "currency")
        if c not in (reader.fieldnames or ())
    ]
    if missing:
        raise InvalidStatement(f"the CSV lacks the column(s) {', '.join(missing)}")
    statement_ids: set[str] = set()
    currencies: set[str] = set()
    lines: list[StatementLine] = []
    balances: dict[str, Money] = {}
    for number, row in enumerate(reader, start=2):
        try:
            row_type = (row["row_type"] or "").strip().upper()
            currency = (row["currency"] or "").strip().upper()
            currencies.add(currency)
            statement_ids.add((row.get("statement_id") or "").strip())
            amount = Money(parse_amount(row["amount"] or ""), currency)
            direction = Direction((row["direction"] or "").strip().upper())
            if row_type in ("OPENING", "CLOSING"):
                if row_type in balances:
                    raise InvalidStatement(f"more than one {row_type} row")
                balances[row_type] = amount if direction is Direction.CREDIT else -amount
            elif row_type == "ENTRY":
                lines.append(
                    StatementLine(
                        reference=(row["reference"] or "").strip(),
                        amount=amount,
                        direction=direction,
                        booked_on=date.fromisoformat((row["booking_date"] or "").strip()),
                        description=(row.get("description") or "").strip(),
                        entry_id=(row.get("entry_id") or "").strip(),
                    )
                )
            else:
                raise InvalidStatement(f"row_type must be OPENING, ENTRY or CLOSING, not {row_type!r}")
        except InvalidStatement as exc:
            raise InvalidStatement(f"CSV line {number}: {exc}") from None
        except (ValueError, InvalidAmount) as exc:
            raise InvalidStatement(f"CSV line {number}: {exc}") from None
    return _parsed(statement_ids, currencies, lines, balances.get("OPENING"), balances.get("CLOSING"))


def parse_amount(text: str) -> Decimal:
    """A plain decimal amount as files write it (``1234.50``); no exponents, signs or separators."""
    cleaned = text.strip()
    if not cleaned or not all(ch.isdigit() or ch == "." for ch in cleaned) or cleaned.count(".") > 1:
        raise InvalidStatement(f"not a plain decimal amount: {text!r}")
    return Decimal(cleaned)


def _parsed(
    statement_ids: set[str],
    currencies: set[str],
    lines: Sequence[StatementLine],
    opening: Money | None,
    closing: Money | None,
) -> ParsedStatement:
    if len(currencies) != 1:
        raise InvalidStatement("a statement has exactly one currency")
    if len(statement_ids) != 1 or not next(iter(statement_ids)):
        raise InvalidStatement("every row carries the same, non-empty statement_id")
    return ParsedStatement(
        statement_id=statement_ids.pop(),
        currency=currencies.pop(),
        lines=tuple(lines),
        opening=opening,
        closing=closing,
    )
