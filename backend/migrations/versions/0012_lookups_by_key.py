"""Look-ups by key that scanned whole tables: the transfer of a payout and the postings check's
entry (PostgreSQL plans; the other statements found with them changed in code, ``ledger/store_pg.py``,
``ledger/store_pg_at_once.py``, ``backend/partners/auth.py``).

Found with ``auto_explain`` during ``korpu bench e2e`` (docs/performance.md, "Plans that scanned"):

- A partner's confirmation (or failure) finds its transfer by ``payout_id``, which had no index:
  every payout outcome read the whole ``transfers`` table. Now ``ix_transfers_payout``.
- The postings check (statement trigger ``ledger_postings_check``) joined each new posting's entry
  through a ``LATERAL`` subquery that the planner flattened into a hash join over a sequential scan
  of ``ledger_entries`` whenever its statistics said the table was small, and kept that plan (the
  service uses generic plans, ``backend/db.py``) while the journal grew. ``LIMIT 1`` keeps the
  subquery a per-posting probe of the entry's primary key, whatever the statistics say.

SQLite is unchanged (its planner probes the indexes already).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_POSTINGS_CHECK_TEMPLATE = """
CREATE OR REPLACE FUNCTION ledger_check_postings() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_entry bigint;
  v_bad record;
BEGIN
  SELECT n.entry_seq INTO v_entry
    FROM (SELECT DISTINCT entry_seq FROM new_postings) n
    LEFT JOIN LATERAL (SELECT e.tx_id FROM ledger_entries e WHERE e.seq = n.entry_seq{limit}) e ON true
   WHERE e.tx_id IS DISTINCT FROM pg_current_xact_id()::text::bigint
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'posting refused: entry % was not written by this transaction', v_entry
      USING ERRCODE = 'LA002';
  END IF;
  SELECT n.account_id, n.currency INTO v_bad
    FROM (SELECT DISTINCT account_id, currency FROM new_postings) n
    LEFT JOIN LATERAL (SELECT true AS ok FROM ledger_accounts a
                        WHERE a.id = n.account_id AND a.currency = n.currency LIMIT 1) a ON true
   WHERE a.ok IS NULL
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'posting refused: no account % in %', v_bad.account_id, v_bad.currency
      USING ERRCODE = 'LA003';
  END IF;
  RETURN NULL;
END $$"""


def upgrade() -> None:
    op.create_index("ix_transfers_payout", "transfers", ["payout_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTINGS_CHECK_TEMPLATE.format(limit=" LIMIT 1"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTINGS_CHECK_TEMPLATE.format(limit=""))
    op.drop_index("ix_transfers_payout", table_name="transfers")
