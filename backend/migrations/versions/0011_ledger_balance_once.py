"""ledger: check the balance of a transaction's entries together, once, at commit (PostgreSQL).

The deferred constraint trigger ``ledger_entries_balance`` fires once per entry at commit. Until
now each firing summed its own entry's postings: with group commit writing dozens of entries per
transaction, those per-entry look-ups cost a quarter of the ledger's throughput. Now the first
firing checks every entry its transaction wrote, from its own ``seq`` up to the sequence's last
value, in one set-based query, and notes that range in a transaction-local setting; later firings
for entries inside it return at once. An entry inserted later in the same transaction (after ``SET
CONSTRAINTS ... IMMEDIATE``) draws a higher ``seq`` from the sequence, falls outside the range and
is checked again, and an entry whose ``tx_id`` is not its transaction's is checked on its own, as
before. What this cannot see: an entry inserted with a hand-picked ``seq`` inside an already
checked range after an early ``SET CONSTRAINTS ... IMMEDIATE`` (raw SQL, which the journal never
writes); ``korpu ledger verify`` finds it.

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

# Per entry of the given set: its legs and how many (currency, phase) groups do not net to zero.
_ENTRY_SUMS = """
    SELECT e.id, e.seq, coalesce(sum(g.legs), 0) AS legs, count(*) FILTER (WHERE g.net <> 0) AS unbalanced
      FROM ledger_entries e
      LEFT JOIN LATERAL (
           SELECT count(*) AS legs, sum(CASE p.side WHEN 'debit' THEN p.amount ELSE -p.amount END) AS net
             FROM ledger_postings p WHERE p.entry_seq = e.seq GROUP BY p.currency, p.phase) g ON true
     WHERE {where}
     GROUP BY e.id, e.seq"""

# The transaction's entries are looked up in a range of ``seq`` bounded on both sides, from the
# firing entry (the first of the transaction's entries to fire, so the lowest not yet checked) to
# the sequence's last value, then filtered by ``tx_id``. Both bounds are parameters of a cached
# plan: a one-sided bound, or ``tx_id`` alone, can be costed as a large share of the journal (a
# bulk load of 50,000 entries in one transaction made the planner scan the whole journal), a range
# bounded on both sides cannot.
_ONCE_PER_TRANSACTION = f"""
CREATE OR REPLACE FUNCTION ledger_check_entry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_tx bigint := pg_current_xact_id()::text::bigint;
  v_range text[] := string_to_array(nullif(current_setting('ledger.balanced_seqs', true), ''), ':');
  v_low bigint := NEW.seq;
  v_high bigint;
  v_bad_id uuid;
  v_bad_legs bigint;
BEGIN
  IF NEW.tx_id = v_tx AND v_range IS NOT NULL
     AND NEW.seq BETWEEN v_range[1]::bigint AND v_range[2]::bigint THEN
    RETURN NULL;  -- checked together with the other entries of this transaction
  END IF;
  IF NEW.tx_id = v_tx THEN
    SELECT greatest(s.last_value, NEW.seq) INTO v_high FROM ledger_entries_seq_seq s;
    SELECT q.id, q.legs INTO v_bad_id, v_bad_legs
      FROM ({_ENTRY_SUMS.format(where="e.seq BETWEEN v_low AND v_high AND e.tx_id = v_tx")}) q
     WHERE q.legs < 2 OR q.unbalanced > 0
     ORDER BY q.seq
     LIMIT 1;
  ELSE
    SELECT q.id, q.legs INTO v_bad_id, v_bad_legs
      FROM ({_ENTRY_SUMS.format(where="e.seq = NEW.seq")}) q
     WHERE q.legs < 2 OR q.unbalanced > 0;
  END IF;
  IF v_bad_id IS NOT NULL THEN
    IF v_bad_legs < 2 THEN
      RAISE EXCEPTION 'entry % refused: it has % postings, an entry needs at least two', v_bad_id, v_bad_legs
        USING ERRCODE = 'LA004';
    END IF;
    RAISE EXCEPTION 'entry % refused: debits and credits differ in some currency', v_bad_id
      USING ERRCODE = 'LA005';
  END IF;
  IF NEW.tx_id = v_tx THEN
    PERFORM set_config('ledger.balanced_seqs', v_low || ':' || v_high, true);
  END IF;
  RETURN NULL;
END $$"""

# The entry of each new posting is looked up by its primary key alone (a plan that searched by
# ``tx_id`` instead, as the planner chose on a journal without statistics, made a large insert
# quadratic); its ``tx_id`` is then compared.
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
        op.execute(_POSTINGS_CHECK)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_ONE_ENTRY_AT_A_TIME)
        op.execute(_POSTINGS_CHECK_BEFORE)
