"""ledger: check the balance of a transaction's entries together, once, at commit (PostgreSQL).

The deferred constraint trigger ``ledger_entries_balance`` fires once per entry at commit. Until
now each firing summed its own entry's postings: with group commit writing dozens of entries per
transaction, those per-entry look-ups cost a quarter of the ledger's throughput. Now the first
firing checks every entry its transaction wrote in one set-based query and notes, in a
transaction-local setting, the highest entry ``seq`` it covered; later firings for entries at or
below it return at once. An entry inserted later in the same transaction (after ``SET CONSTRAINTS
... IMMEDIATE``) has a higher ``seq`` (one sequence, increasing within a session) and is checked
again, and an entry whose ``tx_id`` is not its transaction's is checked on its own, as before.

The setting is a cache of a check already made, not a permission: a session that forges it could as
well disable the trigger, which the application's role never does; ``korpu ledger verify``
recomputes every entry's balance from the rows either way (invariant 2 in docs/ledger.md).

SQLite is unchanged (its insert trigger checks each entry when it is written).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ONCE_PER_TRANSACTION = """
CREATE OR REPLACE FUNCTION ledger_check_entry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_tx bigint := pg_current_xact_id()::text::bigint;
  v_checked bigint := coalesce(nullif(current_setting('ledger.balanced_through', true), ''), '0')::bigint;
  v_bad record;
  v_last bigint;
BEGIN
  IF NEW.tx_id = v_tx AND NEW.seq <= v_checked THEN
    RETURN NULL;  -- checked together with the other entries of this transaction
  END IF;
  SELECT q.id, q.legs, q.unbalanced INTO v_bad
    FROM (SELECT e.id, coalesce(sum(g.legs), 0) AS legs, count(*) FILTER (WHERE g.net <> 0) AS unbalanced
            FROM ledger_entries e
            LEFT JOIN LATERAL (
                 SELECT count(*) AS legs, sum(CASE p.side WHEN 'debit' THEN p.amount ELSE -p.amount END) AS net
                   FROM ledger_postings p WHERE p.entry_seq = e.seq GROUP BY p.currency, p.phase) g ON true
           WHERE (NEW.tx_id = v_tx AND e.tx_id = v_tx AND e.seq > v_checked) OR e.seq = NEW.seq
           GROUP BY e.id) q
   WHERE q.legs < 2 OR q.unbalanced > 0
   LIMIT 1;
  IF FOUND THEN
    IF v_bad.legs < 2 THEN
      RAISE EXCEPTION 'entry % refused: it has % postings, an entry needs at least two', v_bad.id, v_bad.legs
        USING ERRCODE = 'LA004';
    END IF;
    RAISE EXCEPTION 'entry % refused: debits and credits differ in some currency', v_bad.id
      USING ERRCODE = 'LA005';
  END IF;
  IF NEW.tx_id = v_tx THEN
    SELECT max(e.seq) INTO v_last FROM ledger_entries e WHERE e.tx_id = v_tx;
    PERFORM set_config('ledger.balanced_through', v_last::text, true);
  END IF;
  RETURN NULL;
END $$"""

_ONE_ENTRY_AT_A_TIME = """
CREATE OR REPLACE FUNCTION ledger_check_entry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_legs bigint;
  v_unbalanced bigint;
BEGIN
  SELECT coalesce(sum(g.legs), 0), count(*) FILTER (WHERE g.net <> 0) INTO v_legs, v_unbalanced
    FROM (SELECT count(*) AS legs, sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) AS net
            FROM ledger_postings WHERE entry_seq = NEW.seq GROUP BY currency, phase) g;
  IF v_legs < 2 THEN
    RAISE EXCEPTION 'entry % refused: it has % postings, an entry needs at least two', NEW.id, v_legs
      USING ERRCODE = 'LA004';
  END IF;
  IF v_unbalanced > 0 THEN
    RAISE EXCEPTION 'entry % refused: debits and credits differ in some currency', NEW.id
      USING ERRCODE = 'LA005';
  END IF;
  RETURN NULL;
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_ONCE_PER_TRANSACTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_ONE_ENTRY_AT_A_TIME)
