"""Reconciliation runs: a partner's statement file checked against a closed window, stored with its report.

One run per ``(window, file content)``: uploading the same bytes again returns the first run and
changes nothing. Every item of the report is kept; each one that is not ``matched`` opens an
exception for the back office, which someone resolves with a note.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.money import Money
from ledger.settlement.camt053 import parse_camt053
from ledger.settlement.reconcile import ItemKind, ReconciliationItem, ReconciliationReport, reconcile
from ledger.settlement.statements import (
    Direction,
    InvalidStatement,
    ParsedStatement,
    StatementLine,
    parse_statement_csv,
)
from ledger.settlement.tables import reconciliation_exceptions, reconciliation_items, reconciliation_runs
from ledger.settlement.windows import Window, WindowNotOpen, statement_of, time_ordered_id

__all__ = [
    "ExceptionNotFound",
    "ReconciliationRun",
    "RunNotFound",
    "StatementFormat",
    "get_run",
    "list_exceptions",
    "parse_statement_file",
    "reconcile_window",
    "resolve_exception",
]

StatementFormat = Literal["csv", "camt053"]


class RunNotFound(Exception):
    code = "reconciliation_not_found"
    status = 404


class ExceptionNotFound(Exception):
    code = "reconciliation_exception_not_found"
    status = 404


@dataclass(frozen=True, slots=True)
class ReconciliationRun:
    """One reconciliation of one uploaded file."""

    id: str
    """``rc_...``."""
    partner_id: str
    """Who uploaded."""
    window_id: str
    """Which window it was checked against."""
    statement_id: str
    """The partner's own statement id."""
    format: StatementFormat
    """``csv`` or ``camt053``."""
    content_sha256: str
    """Hash of the uploaded bytes: the same file twice is one run."""
    summary: dict[str, int]
    """Count of items per kind."""
    created_at: datetime
    """When it ran."""

    @classmethod
    def from_row(cls, row: RowMapping) -> ReconciliationRun:
        created = row["created_at"]
        return cls(
            id=row["id"],
            partner_id=row["partner_id"],
            window_id=row["window_id"],
            statement_id=row["statement_id"],
            format=row["format"],
            content_sha256=row["content_sha256"],
            summary=dict(row["summary"]),
            created_at=created
            if created.tzinfo
            else created.replace(tzinfo=datetime.now().astimezone().tzinfo),
        )

    @property
    def is_clean(self) -> bool:
        return all(count == 0 for kind, count in self.summary.items() if kind != ItemKind.MATCHED.value)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "windowId": self.window_id,
            "statementId": self.statement_id,
            "format": self.format,
            "contentSha256": self.content_sha256,
            "summary": self.summary,
            "clean": self.is_clean,
            "createdAt": self.created_at.isoformat(),
        }


def parse_statement_file(content: bytes, fmt: StatementFormat) -> ParsedStatement:
    """Read an uploaded statement in ``fmt``."""
    if fmt == "camt053":
        return parse_camt053(content)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidStatement("a CSV statement is UTF-8 text") from None
    return parse_statement_csv(text)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


_by_content = select(reconciliation_runs).where(
    reconciliation_runs.c.window_id == bindparam("window_id"),
    reconciliation_runs.c.content_sha256 == bindparam("sha"),
)


async def reconcile_window(
    conn: AsyncConnection,
    window: Window,
    content: bytes,
    fmt: StatementFormat,
    *,
    now: datetime,
) -> tuple[ReconciliationRun, bool]:
    """Reconcile ``content`` against ``window``; return the run and whether this call created it."""
    sha = hashlib.sha256(content).hexdigest()
    existing = (await conn.execute(_by_content, {"window_id": window.id, "sha": sha})).mappings().first()
    if existing is not None:
        return ReconciliationRun.from_row(existing), False
    if window.closed_at is None:
        raise WindowNotOpen(f"window {window.id} is still open; reconcile it once it is closed")
    theirs = parse_statement_file(content, fmt)
    if theirs.currency != window.currency:
        raise InvalidStatement(f"the statement is in {theirs.currency}, the window in {window.currency}")
    ours = await statement_of(conn, window, account=window.id, account_name="")
    report = reconcile(ours.lines, theirs.lines)
    run_id = time_ordered_id("rc_")
    values = {
        "id": run_id,
        "partner_id": window.partner_id,
        "window_id": window.id,
        "statement_id": theirs.statement_id[:35],
        "format": fmt,
        "content_sha256": sha,
        "currency": window.currency,
        "summary": report.summary,
        "created_at": now,
    }
    try:
        async with conn.begin_nested():
            await conn.execute(insert(reconciliation_runs).values(**values))
    except IntegrityError:  # the same file, uploaded at the same moment, won the race
        row = (await conn.execute(_by_content, {"window_id": window.id, "sha": sha})).mappings().one()
        return ReconciliationRun.from_row(row), False
    await _store_items(conn, run_id, window, report, now)
    row = (
        (await conn.execute(select(reconciliation_runs).where(reconciliation_runs.c.id == run_id)))
        .mappings()
        .one()
    )
    return ReconciliationRun.from_row(row), True


def _side(line: StatementLine | None, prefix: str) -> dict[str, Any]:
    return {
        f"{prefix}_amount_minor": line.amount.minor_units if line else None,
        f"{prefix}_currency": line.amount.currency if line else None,
        f"{prefix}_direction": line.direction.value if line else None,
        f"{prefix}_booked_on": line.booked_on if line else None,
        f"{prefix}_entry_id": (line.entry_id[:64] or None) if line else None,
    }


async def _store_items(
    conn: AsyncConnection, run_id: str, window: Window, report: ReconciliationReport, now: datetime
) -> None:
    if not report.items:
        return
    await conn.execute(
        insert(reconciliation_items),
        [
            {
                "run_id": run_id,
                "item_no": number,
                "kind": item.kind.value,
                "reference": item.reference,
                **_side(item.ours, "our"),
                **_side(item.theirs, "their"),
            }
            for number, item in enumerate(report.items, start=1)
        ],
    )
    exceptions = [
        {
            "id": time_ordered_id("rx_"),
            "run_id": run_id,
            "item_no": number,
            "partner_id": window.partner_id,
            "kind": item.kind.value,
            "reference": item.reference,
            "status": "open",
            "opened_at": now,
        }
        for number, item in enumerate(report.items, start=1)
        if item.is_exception
    ]
    if exceptions:
        await conn.execute(insert(reconciliation_exceptions), exceptions)


def _line(row: RowMapping, prefix: str) -> StatementLine | None:
    if row[f"{prefix}_amount_minor"] is None:
        return None
    return StatementLine(
        reference=row["reference"],
        amount=Money.from_minor(row[f"{prefix}_amount_minor"], row[f"{prefix}_currency"]),
        direction=Direction(row[f"{prefix}_direction"]),
        booked_on=row[f"{prefix}_booked_on"],
        entry_id=row[f"{prefix}_entry_id"] or "",
    )


async def get_run(
    conn: AsyncConnection, run_id: str, partner_id: str | None = None
) -> tuple[ReconciliationRun, ReconciliationReport]:
    """A run and its full report (``partner_id`` restricts it to that partner's runs)."""
    row = (
        (await conn.execute(select(reconciliation_runs).where(reconciliation_runs.c.id == run_id)))
        .mappings()
        .first()
    )
    if row is None or (partner_id is not None and row["partner_id"] != partner_id):
        raise RunNotFound(f"no reconciliation {run_id}")
    items = (
        await conn.execute(
            select(reconciliation_items)
            .where(reconciliation_items.c.run_id == run_id)
            .order_by(reconciliation_items.c.item_no)
        )
    ).mappings()
    report = ReconciliationReport(
        tuple(
            ReconciliationItem(
                ItemKind(item["kind"]), item["reference"], _line(item, "our"), _line(item, "their")
            )
            for item in items
        )
    )
    return ReconciliationRun.from_row(row), report


async def list_exceptions(
    conn: AsyncConnection,
    *,
    status: str = "open",
    partner_id: str | None = None,
    limit: int = 50,
    after: str = "",
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of reconciliation exceptions in ``status``, oldest first, and the next cursor."""
    query = (
        select(reconciliation_exceptions, reconciliation_runs.c.window_id)
        .join(reconciliation_runs, reconciliation_runs.c.id == reconciliation_exceptions.c.run_id)
        .where(reconciliation_exceptions.c.status == status, reconciliation_exceptions.c.id > after)
        .order_by(reconciliation_exceptions.c.id)
        .limit(limit + 1)
    )
    if partner_id is not None:
        query = query.where(reconciliation_exceptions.c.partner_id == partner_id)
    rows = (await conn.execute(query)).mappings().all()
    page = [
        {
            "id": row["id"],
            "runId": row["run_id"],
            "windowId": row["window_id"],
            "partnerId": row["partner_id"],
            "kind": row["kind"],
            "reference": row["reference"],
            "status": row["status"],
            "openedAt": _utc(row["opened_at"]).isoformat(),
            "resolvedBy": row["resolved_by"],
            "resolutionNote": row["resolution_note"],
        }
        for row in rows[:limit]
    ]
    return page, (page[-1]["id"] if len(rows) > limit else None)


async def resolve_exception(
    conn: AsyncConnection, exception_id: str, *, resolved_by: str, note: str, now: datetime
) -> None:
    """Close an open exception with a note saying what was done."""
    result = await conn.execute(
        update(reconciliation_exceptions)
        .where(reconciliation_exceptions.c.id == exception_id, reconciliation_exceptions.c.status == "open")
        .values(status="resolved", resolved_at=now, resolved_by=resolved_by[:80], resolution_note=note[:500])
    )
    if not result.rowcount:
        raise ExceptionNotFound(f"no open reconciliation exception {exception_id}")
