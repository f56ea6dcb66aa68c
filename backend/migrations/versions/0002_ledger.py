"""ledger: accounts, shards, entries, postings, open holds, checkpoints, and the triggers that make
the database itself refuse a broken ledger, on SQLite and on PostgreSQL.

Invariants and where they are enforced (see docs/ledger.md):
- entries, postings and checkpoints are append-only: UPDATE, DELETE (and on PostgreSQL TRUNCATE)
  are refused by triggers;
- an entry has two or more postings and balances per currency and phase: PostgreSQL checks it at
  commit with a deferred constraint trigger; SQLite, which has no deferred triggers, has the
  postings written first and checks them when the entry row is inserted (the postings' foreign key
  to their entry is deferred, so postings without an entry cannot commit);
- postings cannot be added to an entry written by an earlier transaction;
- amounts are positive integers (CHECK, and on SQLite a type check); a posting's currency is its
  account's (trigger);
- counters are non-negative and the balance-limit flags hold (CHECK constraints on accounts);
- an account's identity (code, currency, normal side, flags, shards) never changes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
COUNTERS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
APPEND_ONLY = ("ledger_entries", "ledger_postings", "ledger_checkpoints")


def _counters(
    table: str, non_negative: tuple[str, ...] = COUNTERS
) -> list[sa.Column[int] | sa.CheckConstraint]:
    columns = [sa.Column(name, sa.BigInteger(), nullable=False, server_default="0") for name in COUNTERS]
    checks = [
        sa.CheckConstraint(f"{name} >= 0", name=f"ck_{table}_{name}_non_negative") for name in non_negative
    ]
    return columns + checks


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(200), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("normal_side", sa.String(6), nullable=False),
        sa.Column("debits_must_not_exceed_credits", sa.Boolean(), nullable=False),
        sa.Column("credits_must_not_exceed_debits", sa.Boolean(), nullable=False),
        sa.Column("shards", sa.SmallInteger(), nullable=False, server_default="1"),
        *_counters("ledger_accounts"),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_accounts"),
        sa.UniqueConstraint("code", name="uq_ledger_accounts_code"),
        sa.UniqueConstraint("id", "currency", name="uq_ledger_accounts_id_currency"),
        sa.CheckConstraint("normal_side IN ('debit', 'credit')", name="ck_ledger_accounts_normal_side"),
        sa.CheckConstraint("shards BETWEEN 1 AND 256", name="ck_ledger_accounts_shards_range"),
        sa.CheckConstraint(
            "NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)",
            name="ck_ledger_accounts_one_limit",
        ),
        sa.CheckConstraint(
            "shards = 1 OR NOT (debits_must_not_exceed_credits OR credits_must_not_exceed_debits)",
            name="ck_ledger_accounts_limited_accounts_unsharded",
        ),
        sa.CheckConstraint(
            "NOT debits_must_not_exceed_credits OR debits_posted + debits_pending <= credits_posted",
            name="ck_ledger_accounts_debits_within_credits",
        ),
        sa.CheckConstraint(
            "NOT credits_must_not_exceed_debits OR credits_posted + credits_pending <= debits_posted",
            name="ck_ledger_accounts_credits_within_debits",
        ),
    )
    op.create_table(
        "ledger_account_shards",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        # A hold may be released on another shard than the one it was taken on: only posted counters
        # stay non-negative per shard.
        *_counters("ledger_account_shards", ("debits_posted", "credits_posted")),
        sa.PrimaryKeyConstraint("account_id", "shard", name="pk_ledger_account_shards"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name="fk_ledger_account_shards_account_id_ledger_accounts"
        ),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("seq", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("pending_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", TIMESTAMP, nullable=True),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("effective_at", TIMESTAMP, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("tx_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ledger_entries"),
        sa.UniqueConstraint("id", name="uq_ledger_entries_id"),
        sa.ForeignKeyConstraint(
            ["pending_id"], ["ledger_entries.id"], name="fk_ledger_entries_pending_id_ledger_entries"
        ),
        sa.CheckConstraint(
            "kind IN ('standard', 'pending', 'post_pending', 'void_pending', 'expire_pending')",
            name="ck_ledger_entries_kind",
        ),
        sa.CheckConstraint(
            "(kind IN ('standard', 'pending')) = (pending_id IS NULL)",
            name="ck_ledger_entries_resolutions_name_their_hold",
        ),
        sa.CheckConstraint(
            "expires_at IS NULL OR kind = 'pending'", name="ck_ledger_entries_only_holds_expire"
        ),
    )
    op.create_index(
        "uq_ledger_entries_pending_id",
        "ledger_entries",
        ["pending_id"],
        unique=True,
        postgresql_where=sa.text("pending_id IS NOT NULL"),
        sqlite_where=sa.text("pending_id IS NOT NULL"),
    )
    op.create_index(
        "ix_ledger_entries_reference",
        "ledger_entries",
        ["reference"],
        postgresql_where=sa.text("reference IS NOT NULL"),
        sqlite_where=sa.text("reference IS NOT NULL"),
    )
    op.create_index("ix_ledger_entries_tx_id", "ledger_entries", ["tx_id"])
    op.create_table(
        "ledger_postings",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("entry_seq", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("side", sa.String(6), nullable=False),
        sa.Column("phase", sa.String(8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_postings"),
        sa.ForeignKeyConstraint(
            ["entry_seq"],
            ["ledger_entries.seq"],
            name="fk_ledger_postings_entry_seq_ledger_entries",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.CheckConstraint("amount > 0", name="ck_ledger_postings_amount_positive"),
        sa.CheckConstraint("side IN ('debit', 'credit')", name="ck_ledger_postings_side"),
        sa.CheckConstraint("phase IN ('posted', 'pending', 'released')", name="ck_ledger_postings_phase"),
    )
    op.create_index("ix_ledger_postings_entry_seq", "ledger_postings", ["entry_seq"])
    op.create_index("ix_ledger_postings_account_time", "ledger_postings", ["account_id", "created_at", "id"])
    op.create_table(
        "ledger_open_holds",
        sa.Column("hold_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("hold_id", name="pk_ledger_open_holds"),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["ledger_entries.id"], name="fk_ledger_open_holds_hold_id_ledger_entries"
        ),
    )
    op.create_index("ix_ledger_open_holds_expires_at", "ledger_open_holds", ["expires_at"])
    op.create_table(
        "ledger_checkpoints",
        sa.Column("seq", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("tx_from", sa.BigInteger(), nullable=False),
        sa.Column("tx_to", sa.BigInteger(), nullable=False),
        sa.Column("entry_count", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("previous_digest", sa.LargeBinary(32), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("signature", sa.LargeBinary(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ledger_checkpoints"),
        sa.UniqueConstraint("tx_from", name="uq_ledger_checkpoints_tx_from"),
        sa.CheckConstraint("tx_to >= tx_from", name="ck_ledger_checkpoints_range"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL:
            op.execute(statement)
    else:
        for statement in SQLITE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for function in POSTGRESQL_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function} CASCADE")
    for table in (
        "ledger_checkpoints",
        "ledger_open_holds",
        "ledger_postings",
        "ledger_entries",
        "ledger_account_shards",
        "ledger_accounts",
    ):
        op.drop_table(table)


# --------------------------------------------------------------------------------------------------
# SQLite

_SQLITE_IDENTITY_CHANGED = " OR ".join(
    f"OLD.{column} IS NOT NEW.{column}"
    for column in (
        "id",
        "code",
        "currency",
        "normal_side",
        "debits_must_not_exceed_credits",
        "credits_must_not_exceed_debits",
        "shards",
        "created_at",
    )
)

SQLITE = [
    *(
        f"""CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); END"""
        for table in APPEND_ONLY
        for operation in ("UPDATE", "DELETE")
    ),
    f"""CREATE TRIGGER ledger_accounts_identity BEFORE UPDATE ON ledger_accounts
    WHEN {_SQLITE_IDENTITY_CHANGED}
    BEGIN SELECT RAISE(ABORT, 'an account''s code, currency, normal side, flags and shards never change'); END""",
    """CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts
    BEGIN SELECT RAISE(ABORT, 'ledger accounts are never deleted'); END""",
    """CREATE TRIGGER ledger_account_shards_identity BEFORE UPDATE ON ledger_account_shards
    WHEN OLD.account_id IS NOT NEW.account_id OR OLD.shard IS NOT NEW.shard
    BEGIN SELECT RAISE(ABORT, 'an account shard never moves'); END""",
    """CREATE TRIGGER ledger_account_shards_no_delete BEFORE DELETE ON ledger_account_shards
    BEGIN SELECT RAISE(ABORT, 'account shards are never deleted'); END""",
    # Postings come first, then their entry (see the module docstring).
    """CREATE TRIGGER ledger_postings_check BEFORE INSERT ON ledger_postings
    BEGIN
      SELECT RAISE(ABORT, 'posting refused: postings are written before their entry, never added to one')
       WHERE EXISTS (SELECT 1 FROM ledger_entries WHERE seq = NEW.entry_seq);
      SELECT RAISE(ABORT, 'posting refused: the amount must be an integer of minor units')
       WHERE typeof(NEW.amount) <> 'integer';
      SELECT RAISE(ABORT, 'posting refused: no such account, or the currency is not the account''s')
       WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts WHERE id = NEW.account_id AND currency = NEW.currency);
    END""",
    """CREATE TRIGGER ledger_entries_check BEFORE INSERT ON ledger_entries
    BEGIN
      SELECT RAISE(ABORT, 'entry refused: seq must follow the journal and tx_id equal seq')
       WHERE NEW.seq IS NULL OR NEW.tx_id IS NOT NEW.seq
          OR NEW.seq <= (SELECT coalesce(max(seq), 0) FROM ledger_entries);
      SELECT RAISE(ABORT, 'entry refused: an entry needs at least two postings')
       WHERE (SELECT count(*) FROM ledger_postings WHERE entry_seq = NEW.seq) < 2;
      SELECT RAISE(ABORT, 'entry refused: debits and credits differ in some currency')
       WHERE EXISTS (
         SELECT 1 FROM ledger_postings WHERE entry_seq = NEW.seq GROUP BY currency, phase
         HAVING sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) <> 0);
    END""",
]

# --------------------------------------------------------------------------------------------------
# PostgreSQL

POSTGRESQL_FUNCTIONS = (
    "ledger_assert(boolean, text)",
    "ledger_refuse_change()",
    "ledger_check_postings()",
    "ledger_check_entry()",
)

_PG_IDENTITY_CHANGED = " OR ".join(
    f"OLD.{column} IS DISTINCT FROM NEW.{column}"
    for column in (
        "id",
        "code",
        "currency",
        "normal_side",
        "debits_must_not_exceed_credits",
        "credits_must_not_exceed_debits",
        "shards",
        "created_at",
    )
)

POSTGRESQL = [
    """CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% refused on %: ledger rows are never changed or removed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'LA001';
    END $$""",
    *(
        f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"""
        for table in APPEND_ONLY
    ),
    *(
        f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"""
        for table in (*APPEND_ONLY, "ledger_accounts", "ledger_account_shards")
    ),
    f"""CREATE TRIGGER ledger_accounts_identity BEFORE UPDATE ON ledger_accounts
    FOR EACH ROW WHEN ({_PG_IDENTITY_CHANGED}) EXECUTE FUNCTION ledger_refuse_change()""",
    """CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()""",
    """CREATE TRIGGER ledger_account_shards_identity BEFORE UPDATE ON ledger_account_shards
    FOR EACH ROW WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.shard IS DISTINCT FROM NEW.shard)
    EXECUTE FUNCTION ledger_refuse_change()""",
    """CREATE TRIGGER ledger_account_shards_no_delete BEFORE DELETE ON ledger_account_shards
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()""",
    # Postings join an entry written by this same transaction, on an account of their currency.
    # Checked once per INSERT statement over all its rows (the journal writes a whole batch's
    # postings in one statement), not once per row.
    """CREATE FUNCTION ledger_check_postings() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      v_entry bigint;
      v_bad record;
    BEGIN
      -- Each distinct entry and account once, by primary key (LATERAL ... LIMIT 1 keeps the
      -- planner from hashing whole tables).
      SELECT n.entry_seq INTO v_entry
        FROM (SELECT DISTINCT entry_seq FROM new_postings) n
        LEFT JOIN LATERAL (SELECT true AS ok FROM ledger_entries e
                            WHERE e.seq = n.entry_seq AND e.tx_id = pg_current_xact_id()::text::bigint
                            LIMIT 1) e ON true
       WHERE e.ok IS NULL
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
    END $$""",
    """CREATE TRIGGER ledger_postings_check AFTER INSERT ON ledger_postings
    REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_postings()""",
    # Lets a single statement abort itself when a consistency check inside it fails.
    """CREATE FUNCTION ledger_assert(p_ok boolean, p_message text) RETURNS boolean
    LANGUAGE plpgsql AS $$
    BEGIN
      IF p_ok IS NOT TRUE THEN
        RAISE EXCEPTION '%', p_message USING ERRCODE = 'LA006';
      END IF;
      RETURN true;
    END $$""",
    # Counter updates rewrite these rows all day: leave room on each page for HOT updates.
    "ALTER TABLE ledger_accounts SET (fillfactor = 50)",
    "ALTER TABLE ledger_account_shards SET (fillfactor = 50)",
    # At commit: every entry written has two or more postings, balanced per currency and phase.
    """CREATE FUNCTION ledger_check_entry() RETURNS trigger LANGUAGE plpgsql AS $$
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
    END $$""",
    """CREATE CONSTRAINT TRIGGER ledger_entries_balance AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry()""",
]
