"""fx: tables of the fx capability (a placeholder until that capability fills it in).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
