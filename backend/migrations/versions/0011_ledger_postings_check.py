"""ledger: the postings check finds each posting's entry by its primary key alone (PostgreSQL).

The statement-level trigger ``ledger_postings_check`` makes sure that every new posting belongs to
an entry written by the same transaction. It looked the entry up by ``seq`` and ``tx_id`` together;
on a journal without fresh statistics, with the generic plans the service uses
(``backend/db.py``), the planner chose the ``tx_id`` index for that look-up, and an insert of
100,000 postings in one transaction (``korpu bench ledger --journal-postings``) ran for minutes,
quadratic in its size. Now the entry is probed by its primary key and its ``tx_id`` compared after.

Tried in the same session and left out: checking the balance of all of a transaction's entries in
one query at the first firing of the deferred constraint trigger, instead of one query per entry.
Alternating benchmark runs showed no difference (docs/performance.md), and the per-entry check
needs no marker of what was already checked.

SQLite is unchanged.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from alembic import op

revision = "0011"
down_revision = "0010"
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
    {entry_lookup}
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

_POSTINGS_CHECK = _POSTINGS_CHECK_TEMPLATE.format(
    entry_lookup="""LEFT JOIN LATERAL (SELECT e.tx_id FROM ledger_entries e WHERE e.seq = n.entry_seq) e ON true
   WHERE e.tx_id IS DISTINCT FROM pg_current_xact_id()::text::bigint"""
)

_POSTINGS_CHECK_BEFORE = _POSTINGS_CHECK_TEMPLATE.format(
    entry_lookup="""LEFT JOIN LATERAL (SELECT true AS ok FROM ledger_entries e
                        WHERE e.seq = n.entry_seq AND e.tx_id = pg_current_xact_id()::text::bigint
                        LIMIT 1) e ON true
   WHERE e.ok IS NULL"""
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTINGS_CHECK)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTINGS_CHECK_BEFORE)
