"""Tables of settlement: windows, the statement lines frozen at close, reconciliation runs and exceptions.

They live in their own ``MetaData`` (the ledger library must not import ``backend``); partner ids
are stored as plain strings and checked by the caller, since tables of different MetaData objects
have no foreign keys between them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from ledger.sqltypes import NAMING_CONVENTION

__all__ = [
    "metadata",
    "reconciliation_exceptions",
    "reconciliation_items",
    "reconciliation_runs",
    "settlement_metadata",
    "settlement_statement_lines",
    "settlement_windows",
]

settlement_metadata = MetaData(naming_convention=NAMING_CONVENTION)
"""Tables of settlement windows, statements and reconciliation."""

settlement_windows = Table(
    "settlement_windows",
    settlement_metadata,
    Column("id", String(40), primary_key=True),
    Column("partner_id", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("status", String(8), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("settled_at", DateTime(timezone=True)),
    Column("opening_minor", BigInteger, nullable=False),
    Column("credits_minor", BigInteger),
    Column("debits_minor", BigInteger),
    Column("closing_minor", BigInteger),
    Column("line_count", Integer),
    Column("closed_by", String(80)),
    Column("settled_by", String(80)),
    Column("settlement_reference", String(64)),
    UniqueConstraint("partner_id", "currency", "sequence"),
    CheckConstraint("status IN ('OPEN', 'CLOSED', 'SETTLED')", name="status"),
    CheckConstraint(
        "status = 'OPEN' OR (closed_at IS NOT NULL"
        " AND closing_minor = opening_minor + credits_minor - debits_minor)",
        name="closing_balance",
    ),
)

settlement_statement_lines = Table(
    "settlement_statement_lines",
    settlement_metadata,
    Column("window_id", String(40), ForeignKey("settlement_windows.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("reference", String(35), nullable=False),
    Column("direction", String(4), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("booked_on", Date, nullable=False),
    Column("description", String(140), nullable=False),
    Column("entry_id", String(64), nullable=False),
    CheckConstraint("direction IN ('CRDT', 'DBIT')", name="direction"),
    CheckConstraint("amount_minor > 0", name="amount_minor"),
)

reconciliation_runs = Table(
    "reconciliation_runs",
    settlement_metadata,
    Column("id", String(40), primary_key=True),
    Column("partner_id", String(40), nullable=False),
    Column("window_id", String(40), ForeignKey("settlement_windows.id"), nullable=False),
    Column("statement_id", String(35), nullable=False),  # The partner's own statement id.
    Column("format", String(8), nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("summary", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("window_id", "content_sha256"),
    CheckConstraint("format IN ('csv', 'camt053')", name="format"),
    Index("ix_reconciliation_runs_partner", "partner_id", "created_at"),
)

reconciliation_items = Table(
    "reconciliation_items",
    settlement_metadata,
    Column("run_id", String(40), ForeignKey("reconciliation_runs.id"), primary_key=True),
    Column("item_no", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("reference", String(35), nullable=False),
    Column("our_amount_minor", BigInteger),
    Column("our_currency", String(3)),
    Column("our_direction", String(4)),
    Column("our_booked_on", Date),
    Column("our_entry_id", String(64)),
    Column("their_amount_minor", BigInteger),
    Column("their_currency", String(3)),
    Column("their_direction", String(4)),
    Column("their_booked_on", Date),
    Column("their_entry_id", String(64)),
)

reconciliation_exceptions = Table(
    "reconciliation_exceptions",
    settlement_metadata,
    Column("id", String(40), primary_key=True),
    Column("run_id", String(40), ForeignKey("reconciliation_runs.id"), nullable=False),
    Column("item_no", Integer, nullable=False),
    Column("partner_id", String(40), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reference", String(35), nullable=False),
    Column("status", String(10), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolved_by", String(80)),
    Column("resolution_note", String(500)),
    UniqueConstraint("run_id", "item_no"),
    CheckConstraint("status IN ('open', 'resolved')", name="status"),
    Index("ix_reconciliation_exceptions_status", "status", "opened_at"),
)

# At most one OPEN window per partner and currency.
Index(
    "uq_settlement_windows_one_open",
    settlement_windows.c.partner_id,
    settlement_windows.c.currency,
    unique=True,
    sqlite_where=settlement_windows.c.status == "OPEN",
    postgresql_where=settlement_windows.c.status == "OPEN",
)

metadata = settlement_metadata
"""The name ``backend.schema.all_metadata`` looks for."""
