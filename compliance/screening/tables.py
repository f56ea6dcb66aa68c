"""Tables of the screening capability, with their own MetaData.

Design choice: a list version is stored as one row holding the parsed snapshot as a compressed
canonical-JSON blob with its SHA-256, not as one row per entry. A snapshot is immutable and always
used whole (the index is rebuilt from it in memory), so one INSERT makes a version appear
atomically, a reload verifies the checksum in one read, and a 9,000-entry list costs ~300 kB instead
of tens of thousands of rows per version. What the back office shows about a matched entry (its
key, name, list version) is copied into each screening result.

Personal data: results and cleared matches refer to the subject by ``subject_ref`` (e.g.
``customer:42``) and a keyed fingerprint of the subject's data; the subject's name is not stored
here. List entries are public data.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql.naming import conv

from ledger.sqltypes import NAMING_CONVENTION

__all__ = [
    "cleared_matches",
    "list_versions",
    "metadata",
    "rescreen_jobs",
    "screening_results",
]

metadata = MetaData(naming_convention=NAMING_CONVENTION)
"""Tables owned by :mod:`compliance.screening`."""

_ID = BigInteger().with_variant(Integer(), "sqlite")

list_versions = Table(
    "screening_list_versions",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("list_name", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("source_format", String(16), nullable=False),
    Column("source_label", String(255), nullable=True),
    Column("published", String(64), nullable=True),
    Column("entry_count", Integer, nullable=False),
    Column("checksum", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("loaded_by", String(128), nullable=True),
    UniqueConstraint("list_name", "version"),
    CheckConstraint("version >= 1", name="version_positive"),
    CheckConstraint("entry_count >= 1", name="entry_count_positive"),
)
"""One row per accepted version of a list; the highest version of a list is current."""

screening_results = Table(
    "screening_results",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("subject_ref", String(128), nullable=False),
    Column("subject_fingerprint", String(64), nullable=False),
    Column("screened_at", DateTime(timezone=True), nullable=False),
    Column("trigger", String(32), nullable=False),
    Column("decision", String(8), nullable=False),
    Column("top_score", Numeric(5, 4), nullable=False),
    Column("top_entry_key", String(160), nullable=True),
    Column("list_versions", Text, nullable=False),
    Column("matches", Text, nullable=False),
    Column("rescreen_job_id", BigInteger, nullable=True),
    CheckConstraint("decision IN ('clear', 'review', 'hit')", name="decision_known"),
    Index("ix_screening_results_subject", "subject_ref", "id"),
    Index("ix_screening_results_job", "rescreen_job_id"),
)
"""Every screening, with the list versions it used and its matches (JSON)."""

cleared_matches = Table(
    "screening_cleared_matches",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("subject_ref", String(128), nullable=False),
    Column("entry_key", String(160), nullable=False),
    Column("subject_fingerprint", String(64), nullable=False),
    Column("entry_fingerprint", String(64), nullable=False),
    Column("cleared_by", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("cleared_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint(
        "subject_ref",
        "entry_key",
        "subject_fingerprint",
        "entry_fingerprint",
        name=conv("uq_screening_cleared_matches_subject_entry"),
    ),
)
"""An officer's "not this person": holds while neither the subject's nor the entry's data change."""

rescreen_jobs = Table(
    "screening_rescreen_jobs",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("status", String(16), nullable=False),
    Column("list_versions", Text, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("subjects_done", Integer, nullable=False),
    Column("reviews", Integer, nullable=False),
    Column("hits", Integer, nullable=False),
    Column("error", Text, nullable=True),
    CheckConstraint("status IN ('running', 'done', 'failed')", name="status_known"),
)
"""Progress of re-screening all customers and recipients after a list update."""
