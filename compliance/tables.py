"""The tables of the compliance capability (KYC, monitoring, alerts and cases) on their own MetaData.

Screening keeps its tables elsewhere; nothing here has a foreign key to another capability's
tables: customer, recipient, transfer and staff references are opaque strings validated in code.
The case history (``compliance_case_actions``) and the monitoring rule versions are append-only:
the database itself refuses UPDATE and DELETE on them (triggers made by migration 0006).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
)

from ledger.sqltypes import NAMING_CONVENTION

__all__ = [
    "APPEND_ONLY_TABLES",
    "alerts",
    "case_actions",
    "cases",
    "kyc_documents",
    "kyc_submissions",
    "metadata",
    "monitoring_events",
    "monitoring_rule_versions",
    "release_requests",
    "reviewed_transfers",
]

metadata = MetaData(naming_convention=NAMING_CONVENTION)
"""Tables owned by ``compliance`` (except screening)."""

# BIGINT identity on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the auto-incrementing rowid.
Id = BigInteger().with_variant(Integer(), "sqlite")
Ref = String(64)
Timestamp = DateTime(timezone=True)

kyc_submissions = Table(
    "kyc_submissions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("customer_ref", Ref, nullable=False),
    Column("target_tier", SmallInteger, nullable=False),
    Column("status", String(16), nullable=False),
    # Equal to customer_ref while the submission awaits review, NULL after: one pending per customer.
    Column("pending_customer_ref", Ref, nullable=True, unique=True),
    # Tier 2: address and source of funds as sealed JSON.
    Column("details_sealed", LargeBinary, nullable=True),
    Column("submitted_at", Timestamp, nullable=False),
    Column("reviewed_at", Timestamp, nullable=True),
    Column("reviewed_by", Ref, nullable=True),
    Column("rejection_reason", Text, nullable=True),
    CheckConstraint("status IN ('submitted', 'approved', 'rejected')", name="status"),
    CheckConstraint("target_tier IN (1, 2)", name="target_tier"),
    Index("ix_kyc_submissions_status_id", "status", "id"),
    Index("ix_kyc_submissions_customer_ref_id", "customer_ref", "id"),
)

kyc_documents = Table(
    "kyc_documents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("submission_id", Id, ForeignKey("kyc_submissions.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("issuing_country", String(2), nullable=True),
    Column("number_sealed", LargeBinary, nullable=True),
    # Blind index of the normalised document number: finds one passport used by two customers.
    Column("number_index", String(64), nullable=True, index=True),
    Column("image_sealed", LargeBinary, nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

monitoring_rule_versions = Table(
    "monitoring_rule_versions",
    metadata,
    Column("name", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("action", String(8), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("params", JSON, nullable=False),
    Column("changed_by", Ref, nullable=False),
    Column("reason", Text, nullable=False),
    Column("changed_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("name", "version"),
    CheckConstraint("action IN ('review', 'block')", name="action"),
)

monitoring_events = Table(
    "monitoring_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("transfer_ref", Ref, nullable=False, unique=True),
    Column("customer_ref", Ref, nullable=False),
    Column("recipient_ref", Ref, nullable=False),
    Column("base_amount_minor", BigInteger, nullable=False),
    Column("base_currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("country", String(2), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_monitoring_events_customer_ref_created_at", "customer_ref", "created_at"),
    Index("ix_monitoring_events_recipient_ref_created_at", "recipient_ref", "created_at"),
)

cases = Table(
    "compliance_cases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("customer_ref", Ref, nullable=False),
    Column("status", String(16), nullable=False),
    # Equal to customer_ref while the case is not closed: at most one open case per customer.
    Column("open_customer_ref", Ref, nullable=True, unique=True),
    Column("resolution", String(16), nullable=True),
    Column("reported_at", Timestamp, nullable=True),
    Column("opened_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("closed_at", Timestamp, nullable=True),
    CheckConstraint("status IN ('open', 'on_hold', 'escalated', 'closed')", name="status"),
    Index("ix_compliance_cases_status_id", "status", "id"),
    Index("ix_compliance_cases_customer_ref_id", "customer_ref", "id"),
)

alerts = Table(
    "compliance_alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", Id, ForeignKey("compliance_cases.id"), nullable=False, index=True),
    Column("customer_ref", Ref, nullable=False),
    Column("transfer_ref", Ref, nullable=True, index=True),
    Column("source", String(16), nullable=False),
    Column("outcome", String(8), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("status", String(8), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    CheckConstraint("source IN ('monitoring', 'screening')", name="source"),
    CheckConstraint("outcome IN ('review', 'block')", name="outcome"),
    CheckConstraint("status IN ('open', 'closed')", name="status"),
    Index("ix_compliance_alerts_status_id", "status", "id"),
)

reviewed_transfers = Table(
    "compliance_transfers",
    metadata,
    Column("transfer_ref", Ref, primary_key=True),
    Column("case_id", Id, ForeignKey("compliance_cases.id"), nullable=False, index=True),
    Column("customer_ref", Ref, nullable=False),
    Column("state", String(16), nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    CheckConstraint("state IN ('in_review', 'held', 'blocked', 'released')", name="state"),
)

release_requests = Table(
    "compliance_release_requests",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("transfer_ref", Ref, nullable=False, index=True),
    Column("case_id", Id, ForeignKey("compliance_cases.id"), nullable=False),
    # Equal to transfer_ref while pending: one pending release per transfer.
    Column("pending_transfer_ref", Ref, nullable=True, unique=True),
    Column("status", String(16), nullable=False),
    Column("requested_by", Ref, nullable=False),
    Column("request_reason", Text, nullable=False),
    Column("requested_at", Timestamp, nullable=False),
    Column("decided_by", Ref, nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("decided_at", Timestamp, nullable=True),
    CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
    Index("ix_compliance_release_requests_status_id", "status", "id"),
)

case_actions = Table(
    "compliance_case_actions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", Id, ForeignKey("compliance_cases.id"), nullable=False, index=True),
    Column("transfer_ref", Ref, nullable=True),
    Column("action", String(32), nullable=False),
    Column("actor", Ref, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

APPEND_ONLY_TABLES = ("compliance_case_actions", "monitoring_rule_versions")
"""Tables whose rows the database refuses to change or delete."""
