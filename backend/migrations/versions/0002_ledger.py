"""ledger: accounts, shards, entries, postings, open holds, checkpoints; the triggers that make the
database itself refuse a broken ledger, on SQLite and on PostgreSQL; the PostgreSQL batch function.

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
        sa.UniqueConstraint("pending_id", name="uq_ledger_entries_pending_id"),
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
    op.create_index("ix_ledger_entries_reference", "ledger_entries", ["reference"])
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
    "ledger_post_entries(jsonb)",
    "ledger_post_standard(jsonb, bigint, timestamptz, jsonb)",
    "ledger_resolve_hold(jsonb, bigint, timestamptz, jsonb)",
    "ledger_replay(uuid, text)",
    "ledger_limit_breach(bigint[], text[], text[], bigint[])",
    "ledger_apply(bigint[], integer[], text[], text[], bigint[], jsonb, bigint)",
    "ledger_refuse_change()",
    "ledger_check_posting()",
    "ledger_check_entry()",
)

_RESULT_COLUMNS = """OUT o_status text, OUT o_detail text, OUT o_seq bigint, OUT o_created_at timestamptz,
    OUT o_effective_at timestamptz, OUT o_expires_at timestamptz, OUT o_postings jsonb"""

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
    # A posting joins an entry written by this same transaction, on an account of its currency.
    """CREATE FUNCTION ledger_check_posting() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM 1 FROM ledger_entries WHERE seq = NEW.entry_seq AND tx_id = pg_current_xact_id()::text::bigint;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'posting refused: entry % was not written by this transaction', NEW.entry_seq
          USING ERRCODE = 'LA002';
      END IF;
      PERFORM 1 FROM ledger_accounts WHERE id = NEW.account_id AND currency = NEW.currency;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'posting refused: no account % in %', NEW.account_id, NEW.currency
          USING ERRCODE = 'LA003';
      END IF;
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER ledger_postings_check BEFORE INSERT ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION ledger_check_posting()""",
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
    # The stored entry with this id: replayed if the request hash matches, a conflict if not.
    f"""CREATE FUNCTION ledger_replay(p_id uuid, p_hash text, {_RESULT_COLUMNS})
    LANGUAGE plpgsql AS $$
    DECLARE
      v_hash text;
    BEGIN
      SELECT e.seq, e.request_hash, e.created_at, e.effective_at, e.expires_at
        INTO o_seq, v_hash, o_created_at, o_effective_at, o_expires_at
        FROM ledger_entries e WHERE e.id = p_id;
      IF NOT FOUND THEN
        RETURN;
      END IF;
      IF v_hash IS DISTINCT FROM p_hash THEN
        o_status := 'entry_conflict';
        o_detail := format('entry %s was already posted with other content', p_id);
        o_seq := NULL;
        RETURN;
      END IF;
      o_status := 'replayed';
      SELECT jsonb_agg(jsonb_build_array(p.account_id, a.code, p.side, p.phase, p.amount, p.currency) ORDER BY p.id)
        INTO o_postings
        FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
       WHERE p.entry_seq = o_seq;
    END $$""",
    # The code of the first account whose balance limit these legs would break, or NULL.
    """CREATE FUNCTION ledger_limit_breach(p_acc bigint[], p_side text[], p_phase text[], p_amount bigint[])
    RETURNS text LANGUAGE sql STABLE AS $$
      SELECT a.code FROM ledger_accounts a
        JOIN (SELECT u.acc,
                     coalesce(sum(u.amount) FILTER (WHERE u.side = 'debit' AND u.phase = 'posted'), 0) AS dp,
                     coalesce(sum(u.amount) FILTER (WHERE u.side = 'credit' AND u.phase = 'posted'), 0) AS cp,
                     coalesce(sum(CASE u.phase WHEN 'pending' THEN u.amount WHEN 'released' THEN -u.amount END)
                              FILTER (WHERE u.side = 'debit'), 0) AS dq,
                     coalesce(sum(CASE u.phase WHEN 'pending' THEN u.amount WHEN 'released' THEN -u.amount END)
                              FILTER (WHERE u.side = 'credit'), 0) AS cq
                FROM unnest(p_acc, p_side, p_phase, p_amount) AS u(acc, side, phase, amount)
               GROUP BY u.acc) d ON d.acc = a.id
       WHERE (a.debits_must_not_exceed_credits
              AND a.debits_posted + d.dp + a.debits_pending + d.dq > a.credits_posted + d.cp)
          OR (a.credits_must_not_exceed_debits
              AND a.credits_posted + d.cp + a.credits_pending + d.cq > a.debits_posted + d.dp)
       ORDER BY a.id LIMIT 1
    $$""",
    # Add the legs to the counters: the account row of an ordinary account, this transaction's
    # shard row of a hot one.
    """CREATE FUNCTION ledger_apply(p_acc bigint[], p_nshards integer[], p_side text[], p_phase text[],
                                    p_amount bigint[], p_shards jsonb, p_tx bigint)
    RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
      v_expected integer;
      v_updated integer;
      v_total integer := 0;
    BEGIN
      SELECT count(DISTINCT acc) INTO v_expected FROM unnest(p_acc) AS acc;
      IF 1 = ANY(p_nshards) THEN
        WITH d AS (
          SELECT u.acc,
                 coalesce(sum(u.amount) FILTER (WHERE u.side = 'debit' AND u.phase = 'posted'), 0) AS dp,
                 coalesce(sum(u.amount) FILTER (WHERE u.side = 'credit' AND u.phase = 'posted'), 0) AS cp,
                 coalesce(sum(CASE u.phase WHEN 'pending' THEN u.amount WHEN 'released' THEN -u.amount END)
                          FILTER (WHERE u.side = 'debit'), 0) AS dq,
                 coalesce(sum(CASE u.phase WHEN 'pending' THEN u.amount WHEN 'released' THEN -u.amount END)
                          FILTER (WHERE u.side = 'credit'), 0) AS cq
            FROM unnest(p_acc, p_nshards, p_side, p_phase, p_amount) AS u(acc, nshards, side, phase, amount)
           WHERE u.nshards = 1 GROUP BY u.acc)
        UPDATE ledger_accounts a
           SET debits_posted = a.debits_posted + d.dp, credits_posted = a.credits_posted + d.cp,
               debits_pending = a.debits_pending + d.dq, credits_pending = a.credits_pending + d.cq
          FROM d WHERE a.id = d.acc;
        GET DIAGNOSTICS v_updated = ROW_COUNT;
        v_total := v_total + v_updated;
      END IF;
      IF 1 < ANY(p_nshards) THEN
        WITH d AS (
          SELECT u.acc, max(u.nshards) AS nshards,
                 coalesce(sum(u.amount) FILTER (WHERE u.side = 'debit' AND u.phase = 'posted'), 0) AS dp,
                 coalesce(sum(u.amount) FILTER (WHERE u.side = 'credit' AND u.phase = 'posted'), 0) AS cp,
                 coalesce(sum(CASE u.phase WHEN 'pending' THEN u.amount WHEN 'released' THEN -u.amount END)
                          FILTER (WHERE u.side = 'debit'), 0) AS dq,
                 coalesce(sum(CASE u.phase WHEN 'pending' THEN u.amount WHEN 'released' THEN -u.amount END)
                          FILTER (WHERE u.side = 'credit'), 0) AS cq
            FROM unnest(p_acc, p_nshards, p_side, p_phase, p_amount) AS u(acc, nshards, side, phase, amount)
           WHERE u.nshards > 1 GROUP BY u.acc)
        UPDATE ledger_account_shards s
           SET debits_posted = s.debits_posted + d.dp, credits_posted = s.credits_posted + d.cp,
               debits_pending = s.debits_pending + d.dq, credits_pending = s.credits_pending + d.cq
          FROM d
         WHERE s.account_id = d.acc
           AND s.shard = coalesce((p_shards ->> d.acc::text)::smallint, (p_tx % d.nshards)::smallint);
        GET DIAGNOSTICS v_updated = ROW_COUNT;
        v_total := v_total + v_updated;
      END IF;
      IF v_total <> v_expected THEN
        RAISE EXCEPTION 'ledger counters: % accounts to update, % updated', v_expected, v_total
          USING ERRCODE = 'LA006';
      END IF;
    END $$""",
    # A standard entry or a hold. Every check comes before the first write.
    f"""CREATE FUNCTION ledger_post_standard(p_item jsonb, p_tx bigint, p_now timestamptz, p_shards jsonb,
                                             {_RESULT_COLUMNS})
    LANGUAGE plpgsql AS $$
    DECLARE
      v_id uuid := (p_item ->> 'id')::uuid;
      v_phase text := CASE p_item ->> 'k' WHEN 'pending' THEN 'pending' ELSE 'posted' END;
      v_acc bigint[];
      v_code text[];
      v_acur text[];
      v_nshards integer[];
      v_side text[];
      v_amount bigint[];
      v_cur text[];
      v_asked text[];
      v_phases text[];
      v_bad text;
    BEGIN
      SELECT r.o_status, r.o_detail, r.o_seq, r.o_created_at, r.o_effective_at, r.o_expires_at, r.o_postings
        INTO o_status, o_detail, o_seq, o_created_at, o_effective_at, o_expires_at, o_postings
        FROM ledger_replay(v_id, p_item ->> 'h') r;
      IF o_status IS NOT NULL THEN
        RETURN;
      END IF;
      SELECT array_agg(a.id ORDER BY l.ord), array_agg(a.code ORDER BY l.ord),
             array_agg(a.currency ORDER BY l.ord), array_agg(a.shards::integer ORDER BY l.ord),
             array_agg(l.leg ->> 2 ORDER BY l.ord), array_agg((l.leg ->> 3)::bigint ORDER BY l.ord),
             array_agg(l.leg ->> 4 ORDER BY l.ord), array_agg(coalesce(l.leg ->> 0, l.leg ->> 1) ORDER BY l.ord)
        INTO v_acc, v_code, v_acur, v_nshards, v_side, v_amount, v_cur, v_asked
        FROM jsonb_array_elements(p_item -> 'p') WITH ORDINALITY AS l(leg, ord)
        LEFT JOIN LATERAL (
          SELECT x.id, x.code, x.currency, x.shards FROM ledger_accounts x WHERE x.code = l.leg ->> 0
          UNION ALL
          SELECT x.id, x.code, x.currency, x.shards FROM ledger_accounts x WHERE x.id = (l.leg ->> 1)::bigint
        ) a ON true;
      FOR i IN 1 .. cardinality(v_acc) LOOP
        IF v_acc[i] IS NULL THEN
          o_status := 'unknown_account';
          o_detail := format('no account %s', v_asked[i]);
          RETURN;
        END IF;
        IF v_acur[i] <> v_cur[i] THEN
          o_status := 'currency_mismatch';
          o_detail := format('account %s is in %s, not %s', v_code[i], v_acur[i], v_cur[i]);
          RETURN;
        END IF;
      END LOOP;
      v_phases := array_fill(v_phase, ARRAY[cardinality(v_acc)]);
      v_bad := ledger_limit_breach(v_acc, v_side, v_phases, v_amount);
      IF v_bad IS NOT NULL THEN
        o_status := 'insufficient_funds';
        o_detail := format('account %s has insufficient funds', v_bad);
        RETURN;
      END IF;
      INSERT INTO ledger_entries AS e
             (id, kind, pending_id, expires_at, reference, metadata, request_hash, effective_at, created_at, tx_id)
      VALUES (v_id, p_item ->> 'k', NULL, (p_item ->> 'x')::timestamptz, p_item ->> 'r',
              coalesce(p_item -> 'm', '{{}}'::jsonb), p_item ->> 'h',
              coalesce((p_item ->> 'e')::timestamptz, p_now), p_now, p_tx)
      ON CONFLICT (id) DO NOTHING
      RETURNING e.seq, e.created_at, e.effective_at, e.expires_at
           INTO o_seq, o_created_at, o_effective_at, o_expires_at;
      IF o_seq IS NULL THEN
        -- Written by a concurrent transaction since the check above.
        SELECT r.o_status, r.o_detail, r.o_seq, r.o_created_at, r.o_effective_at, r.o_expires_at, r.o_postings
          INTO o_status, o_detail, o_seq, o_created_at, o_effective_at, o_expires_at, o_postings
          FROM ledger_replay(v_id, p_item ->> 'h') r;
        RETURN;
      END IF;
      PERFORM ledger_apply(v_acc, v_nshards, v_side, v_phases, v_amount, p_shards, p_tx);
      INSERT INTO ledger_postings (entry_seq, account_id, currency, side, phase, amount, created_at)
      SELECT o_seq, u.acc, u.cur, u.side, v_phase, u.amount, p_now
        FROM unnest(v_acc, v_cur, v_side, v_amount) WITH ORDINALITY AS u(acc, cur, side, amount, ord)
       ORDER BY u.ord;
      IF v_phase = 'pending' THEN
        INSERT INTO ledger_open_holds (hold_id, expires_at) VALUES (v_id, o_expires_at);
      END IF;
      o_status := 'created';
      SELECT jsonb_agg(jsonb_build_array(u.acc, u.code, u.side, v_phase, u.amount, u.cur) ORDER BY u.ord)
        INTO o_postings
        FROM unnest(v_acc, v_code, v_side, v_amount, v_cur) WITH ORDINALITY AS u(acc, code, side, amount, cur, ord);
    END $$""",
    # Post (in full or in part), void or expire a hold. Every check comes before the first write.
    f"""CREATE FUNCTION ledger_resolve_hold(p_item jsonb, p_tx bigint, p_now timestamptz, p_shards jsonb,
                                            {_RESULT_COLUMNS})
    LANGUAGE plpgsql AS $$
    DECLARE
      v_id uuid := (p_item ->> 'id')::uuid;
      v_hold_id uuid := (p_item ->> 'hold')::uuid;
      v_kind text := p_item ->> 'k';
      v_at timestamptz := coalesce((p_item ->> 't')::timestamptz, p_now);
      v_hold record;
      v_by record;
      v_acc bigint[];
      v_code text[];
      v_nshards integer[];
      v_side text[];
      v_amount bigint[];
      v_cur text[];
      v_post bigint[];
      v_n integer;
      v_bad text;
      w_acc bigint[] := '{{}}';
      w_code text[] := '{{}}';
      w_nshards integer[] := '{{}}';
      w_side text[] := '{{}}';
      w_phase text[] := '{{}}';
      w_amount bigint[] := '{{}}';
      w_cur text[] := '{{}}';
    BEGIN
      SELECT r.o_status, r.o_detail, r.o_seq, r.o_created_at, r.o_effective_at, r.o_expires_at, r.o_postings
        INTO o_status, o_detail, o_seq, o_created_at, o_effective_at, o_expires_at, o_postings
        FROM ledger_replay(v_id, p_item ->> 'h') r;
      IF o_status IS NOT NULL THEN
        RETURN;
      END IF;
      SELECT e.seq, e.kind, e.expires_at INTO v_hold FROM ledger_entries e WHERE e.id = v_hold_id;
      IF NOT FOUND THEN
        o_status := 'hold_not_found';
        o_detail := format('no hold %s', v_hold_id);
        RETURN;
      END IF;
      IF v_hold.kind <> 'pending' THEN
        o_status := 'hold_not_pending';
        o_detail := format('entry %s is not a hold', v_hold_id);
        RETURN;
      END IF;
      PERFORM 1 FROM ledger_open_holds h WHERE h.hold_id = v_hold_id;
      IF NOT FOUND THEN
        SELECT e.kind, e.id INTO v_by FROM ledger_entries e WHERE e.pending_id = v_hold_id;
        o_status := 'hold_not_pending';
        o_detail := format('hold %s was already resolved by %s entry %s', v_hold_id, v_by.kind, v_by.id);
        RETURN;
      END IF;
      IF v_kind = 'post_pending' AND v_hold.expires_at IS NOT NULL AND v_hold.expires_at <= v_at THEN
        o_status := 'hold_expired';
        o_detail := format('hold %s expired at %s', v_hold_id, v_hold.expires_at);
        RETURN;
      END IF;
      IF v_kind = 'expire_pending' AND (v_hold.expires_at IS NULL OR v_hold.expires_at > v_at) THEN
        o_status := 'hold_not_expired';
        o_detail := format('hold %s has not expired', v_hold_id);
        RETURN;
      END IF;
      SELECT array_agg(p.account_id ORDER BY p.id), array_agg(a.code ORDER BY p.id),
             array_agg(a.shards::integer ORDER BY p.id), array_agg(p.side ORDER BY p.id),
             array_agg(p.amount ORDER BY p.id), array_agg(p.currency ORDER BY p.id)
        INTO v_acc, v_code, v_nshards, v_side, v_amount, v_cur
        FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
       WHERE p.entry_seq = v_hold.seq;
      v_n := cardinality(v_acc);
      IF v_kind <> 'post_pending' THEN
        v_post := array_fill(0::bigint, ARRAY[v_n]);
      ELSIF jsonb_typeof(p_item -> 'a') IS DISTINCT FROM 'array' THEN
        v_post := v_amount;
      ELSE
        IF jsonb_array_length(p_item -> 'a') <> v_n THEN
          o_status := 'invalid_amounts';
          o_detail := format('the hold has %s postings but %s amounts were given',
                             v_n, jsonb_array_length(p_item -> 'a'));
          RETURN;
        END IF;
        SELECT array_agg((x.a ->> 0)::bigint ORDER BY x.ord) INTO v_post
          FROM jsonb_array_elements(p_item -> 'a') WITH ORDINALITY AS x(a, ord);
        FOR i IN 1 .. v_n LOOP
          IF p_item -> 'a' -> (i - 1) ->> 1 <> v_cur[i] THEN
            o_status := 'invalid_amounts';
            o_detail := format('amount %s is in %s but the held posting is in %s',
                               i, p_item -> 'a' -> (i - 1) ->> 1, v_cur[i]);
            RETURN;
          END IF;
          IF v_post[i] > v_amount[i] THEN
            o_status := 'invalid_amounts';
            o_detail := format('amount %s is more than the %s minor units held', i, v_amount[i]);
            RETURN;
          END IF;
        END LOOP;
        IF EXISTS (SELECT 1 FROM unnest(v_cur, v_side, v_post) AS u(cur, side, amount) GROUP BY u.cur
                   HAVING sum(CASE u.side WHEN 'debit' THEN u.amount ELSE -u.amount END) <> 0) THEN
          o_status := 'invalid_amounts';
          o_detail := 'the partial amounts do not balance per currency';
          RETURN;
        END IF;
        IF NOT 0 < ANY(v_post) THEN
          o_status := 'invalid_amounts';
          o_detail := 'nothing to post: void the hold instead';
          RETURN;
        END IF;
      END IF;
      FOR i IN 1 .. v_n LOOP
        w_acc := w_acc || v_acc[i]; w_code := w_code || v_code[i]; w_nshards := w_nshards || v_nshards[i];
        w_side := w_side || v_side[i]; w_phase := w_phase || 'released'::text;
        w_amount := w_amount || v_amount[i]; w_cur := w_cur || v_cur[i];
      END LOOP;
      FOR i IN 1 .. v_n LOOP
        IF v_post[i] > 0 THEN
          w_acc := w_acc || v_acc[i]; w_code := w_code || v_code[i]; w_nshards := w_nshards || v_nshards[i];
          w_side := w_side || v_side[i]; w_phase := w_phase || 'posted'::text;
          w_amount := w_amount || v_post[i]; w_cur := w_cur || v_cur[i];
        END IF;
      END LOOP;
      v_bad := ledger_limit_breach(w_acc, w_side, w_phase, w_amount);
      IF v_bad IS NOT NULL THEN
        o_status := 'insufficient_funds';
        o_detail := format('account %s has insufficient funds', v_bad);
        RETURN;
      END IF;
      INSERT INTO ledger_entries AS e
             (id, kind, pending_id, expires_at, reference, metadata, request_hash, effective_at, created_at, tx_id)
      VALUES (v_id, v_kind, v_hold_id, NULL, p_item ->> 'r', coalesce(p_item -> 'm', '{{}}'::jsonb),
              p_item ->> 'h', p_now, p_now, p_tx)
      ON CONFLICT (id) DO NOTHING
      RETURNING e.seq, e.created_at, e.effective_at INTO o_seq, o_created_at, o_effective_at;
      IF o_seq IS NULL THEN
        SELECT r.o_status, r.o_detail, r.o_seq, r.o_created_at, r.o_effective_at, r.o_expires_at, r.o_postings
          INTO o_status, o_detail, o_seq, o_created_at, o_effective_at, o_expires_at, o_postings
          FROM ledger_replay(v_id, p_item ->> 'h') r;
        RETURN;
      END IF;
      DELETE FROM ledger_open_holds WHERE hold_id = v_hold_id;
      PERFORM ledger_apply(w_acc, w_nshards, w_side, w_phase, w_amount, p_shards, p_tx);
      INSERT INTO ledger_postings (entry_seq, account_id, currency, side, phase, amount, created_at)
      SELECT o_seq, u.acc, u.cur, u.side, u.phase, u.amount, p_now
        FROM unnest(w_acc, w_cur, w_side, w_phase, w_amount) WITH ORDINALITY AS u(acc, cur, side, phase, amount, ord)
       ORDER BY u.ord;
      o_status := 'created';
      SELECT jsonb_agg(jsonb_build_array(u.acc, u.code, u.side, u.phase, u.amount, u.cur) ORDER BY u.ord)
        INTO o_postings
        FROM unnest(w_acc, w_code, w_side, w_phase, w_amount, w_cur)
             WITH ORDINALITY AS u(acc, code, side, phase, amount, cur, ord);
    END $$""",
    # A batch of requests in one call. Locks are all taken first, in one global order (open holds
    # by id, ordinary accounts by id, then one shard per hot account by account id), so that
    # concurrent batches never deadlock; a hot account's shard is the first one no other
    # transaction holds, starting from one picked by this transaction's id.
    """CREATE FUNCTION ledger_post_entries(p_items jsonb)
    RETURNS TABLE (o_idx integer, o_status text, o_detail text, o_seq bigint, o_created_at timestamptz,
                   o_effective_at timestamptz, o_expires_at timestamptz, o_postings jsonb)
    LANGUAGE plpgsql AS $$
    DECLARE
      v_tx bigint := pg_current_xact_id()::text::bigint;
      v_now timestamptz := now();
      v_shards jsonb := '{}'::jsonb;
      v_holds uuid[];
      v_codes text[];
      v_ids bigint[];
      v_leg_ids bigint[];
      v_plain bigint[] := '{}';
      v_hot bigint[] := '{}';
      v_hot_shards integer[] := '{}';
      v_shard integer;
      v_account record;
      v_item jsonb;
      v_result record;
    BEGIN
      SELECT array_agg(DISTINCT (e ->> 'hold')::uuid) INTO v_holds
        FROM jsonb_array_elements(p_items) AS e WHERE e ? 'hold';
      IF v_holds IS NOT NULL THEN
        PERFORM 1 FROM ledger_open_holds h WHERE h.hold_id = ANY(v_holds) ORDER BY h.hold_id FOR UPDATE;
        SELECT array_agg(p.account_id) INTO v_ids
          FROM ledger_entries he JOIN ledger_postings p ON p.entry_seq = he.seq
         WHERE he.id = ANY(v_holds) AND he.kind = 'pending';
      END IF;
      SELECT array_agg(leg ->> 0) FILTER (WHERE leg ->> 0 IS NOT NULL),
             array_agg((leg ->> 1)::bigint) FILTER (WHERE leg ->> 1 IS NOT NULL)
        INTO v_codes, v_leg_ids
        FROM jsonb_array_elements(p_items) AS e,
             jsonb_array_elements(CASE WHEN e ? 'p' THEN e -> 'p' ELSE '[]'::jsonb END) AS leg;
      v_ids := coalesce(v_ids, '{}') || coalesce(v_leg_ids, '{}');
      FOR v_account IN
        SELECT a.id, a.shards FROM ledger_accounts a WHERE a.code = ANY(v_codes)
        UNION
        SELECT a.id, a.shards FROM ledger_accounts a WHERE a.id = ANY(v_ids)
        ORDER BY 1
      LOOP
        IF v_account.shards = 1 THEN
          v_plain := v_plain || v_account.id;
        ELSE
          v_hot := v_hot || v_account.id;
          v_hot_shards := v_hot_shards || v_account.shards::integer;
        END IF;
      END LOOP;
      IF cardinality(v_plain) > 0 THEN
        PERFORM 1 FROM ledger_accounts a WHERE a.id = ANY(v_plain) ORDER BY a.id FOR NO KEY UPDATE;
      END IF;
      FOR i IN 1 .. cardinality(v_hot) LOOP
        SELECT s.shard INTO v_shard FROM ledger_account_shards s
         WHERE s.account_id = v_hot[i]
         ORDER BY (s.shard - v_tx % v_hot_shards[i] + v_hot_shards[i]) % v_hot_shards[i]
         LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
          -- Every shard is busy: queue on this transaction's own one.
          v_shard := v_tx % v_hot_shards[i];
          PERFORM 1 FROM ledger_account_shards s
           WHERE s.account_id = v_hot[i] AND s.shard = v_shard FOR NO KEY UPDATE;
        END IF;
        v_shards := v_shards || jsonb_build_object(v_hot[i]::text, v_shard);
      END LOOP;
      FOR v_item, o_idx IN
        SELECT x.item, (x.ord - 1)::integer FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x(item, ord)
      LOOP
        IF v_item ? 'hold' THEN
          SELECT * INTO v_result FROM ledger_resolve_hold(v_item, v_tx, v_now, v_shards);
        ELSE
          SELECT * INTO v_result FROM ledger_post_standard(v_item, v_tx, v_now, v_shards);
        END IF;
        o_status := v_result.o_status;
        o_detail := v_result.o_detail;
        o_seq := v_result.o_seq;
        o_created_at := v_result.o_created_at;
        o_effective_at := v_result.o_effective_at;
        o_expires_at := v_result.o_expires_at;
        o_postings := v_result.o_postings;
        RETURN NEXT;
      END LOOP;
    END $$""",
]
