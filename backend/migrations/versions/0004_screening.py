"""screening: list versions (compressed snapshots), screening results, cleared matches, re-screen jobs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "screening_list_versions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("list_name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source_format", sa.String(16), nullable=False),
        sa.Column("source_label", sa.String(255), nullable=True),
        sa.Column("published", sa.String(64), nullable=True),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_screening_list_versions"),
        sa.UniqueConstraint("list_name", "version", name="uq_screening_list_versions_list_name_version"),
        sa.CheckConstraint("version >= 1", name="ck_screening_list_versions_version_positive"),
        sa.CheckConstraint("entry_count >= 1", name="ck_screening_list_versions_entry_count_positive"),
    )
    op.create_table(
        "screening_results",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("subject_ref", sa.String(128), nullable=False),
        sa.Column("subject_fingerprint", sa.String(64), nullable=False),
        sa.Column("screened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("top_score", sa.Numeric(5, 4), nullable=False),
        sa.Column("top_entry_key", sa.String(160), nullable=True),
        sa.Column("list_versions", sa.Text(), nullable=False),
        sa.Column("matches", sa.Text(), nullable=False),
        sa.Column("rescreen_job_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_screening_results"),
        sa.CheckConstraint(
            "decision IN ('clear', 'review', 'hit')", name="ck_screening_results_decision_known"
        ),
    )
    op.create_index("ix_screening_results_subject", "screening_results", ["subject_ref", "id"])
    op.create_index("ix_screening_results_job", "screening_results", ["rescreen_job_id"])
    op.create_table(
        "screening_cleared_matches",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("subject_ref", sa.String(128), nullable=False),
        sa.Column("entry_key", sa.String(160), nullable=False),
        sa.Column("subject_fingerprint", sa.String(64), nullable=False),
        sa.Column("entry_fingerprint", sa.String(64), nullable=False),
        sa.Column("cleared_by", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_screening_cleared_matches"),
        sa.UniqueConstraint(
            "subject_ref",
            "entry_key",
            "subject_fingerprint",
            "entry_fingerprint",
            name="uq_screening_cleared_matches_subject_entry",
        ),
    )
    op.create_table(
        "screening_rescreen_jobs",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("list_versions", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("subjects_done", sa.Integer(), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_screening_rescreen_jobs"),
        sa.CheckConstraint(
            "status IN ('running', 'done', 'failed')", name="ck_screening_rescreen_jobs_status_known"
        ),
    )


def downgrade() -> None:
    op.drop_table("screening_rescreen_jobs")
    op.drop_table("screening_cleared_matches")
    op.drop_index("ix_screening_results_job", table_name="screening_results")
    op.drop_index("ix_screening_results_subject", table_name="screening_results")
    op.drop_table("screening_results")
    op.drop_table("screening_list_versions")
