"""transfers: tables of the transfers capability (a placeholder until that capability fills it in).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
