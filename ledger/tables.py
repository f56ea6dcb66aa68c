"""The ledger's tables (SQLAlchemy Core), with their own ``MetaData``.

``ledger_accounts``
    One row per account: identity (``code``, ``currency``, ``normal_side``, flags, ``shards``) that a
    trigger keeps immutable, and four counters (debits and credits, each posted and pending). CHECK
    constraints keep counters non-negative and enforce the balance-limit flags, so no code path,
    however wrong, can overdraw a flagged account.
``ledger_account_shards``
    For a hot account (``shards > 1``) the counters live here, one row per shard, and the account's
    counters are the account row plus the sum of its shards. Concurrent transactions update
    different shard rows instead of queueing on one row lock. A hold may be taken on one shard and
    released on another, so only a shard's posted counters are kept non-negative.
``ledger_entries``
    Append-only journal entries. ``seq`` is the internal order, ``id`` the client-supplied
    idempotency key, ``request_hash`` the digest of the request that created it, ``pending_id`` the
    hold that a post/void/expire entry resolves (unique: a hold resolves once), ``tx_id`` the
    writing transaction (checkpoints partition the journal by it).
``ledger_postings``
    Append-only legs: account, currency, side, phase (``posted``, ``pending`` or ``released``) and a
    positive amount in minor units. An account's counters are sums of its postings by side and phase.
``ledger_open_holds``
    Holds not yet posted, voided or expired, with their expiry: a small working set for the expiry
    sweep and the lock a resolution takes. Derived state, checked by ``verify``.
``ledger_checkpoints``
    Append-only signed checkpoints: a hash chain over the journal, signed with Ed25519.

Triggers (append-only, balance per entry, currency per posting, immutable account identity) are in
migration ``0002_ledger`` for both dialects; the tables here declare everything else.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from ledger.sqltypes import NAMING_CONVENTION, UtcDateTime

__all__ = [
    "NAMING_CONVENTION",
    "UtcDateTime",
    "account_shards",
    "accounts",
    "checkpoints",
    "entries",
    "metadata",
    "open_holds",
    "postings",
]

metadata = MetaData(naming_convention=NAMING_CONVENTION)
"""Tables owned by the ledger."""


# Autoincrementing keys: SQLite only autoincrements an INTEGER PRIMARY KEY.
_SERIAL = BigInteger().with_variant(Integer(), "sqlite")
_JSON = JSON().with_variant(JSONB(), "postgresql")
_COUNTERS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")


def _counter_columns() -> list[Column[int]]:
    return [Column(name, BigInteger, nullable=False, server_default="0") for name in _COUNTERS]


def _non_negative(names: tuple[str, ...] = _COUNTERS) -> list[CheckConstraint]:
    return [CheckConstraint(f"{name} >= 0", name=f"{name}_non_negative") for name in names]


accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", _SERIAL, primary_key=True, autoincrement=True),
    Column("code", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("normal_side", String(6), nullable=False),
    Column("debits_must_not_exceed_credits", Boolean, nullable=False),
    Column("credits_must_not_exceed_debits", Boolean, nullable=False),
    Column("shards", SmallInteger, nullable=False, server_default="1"),
    *_counter_columns(),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("code"),
    UniqueConstraint("id", "currency"),
    CheckConstraint("normal_side IN ('debit', 'credit')", name="normal_side"),
    CheckConstraint("shards BETWEEN 1 AND 256", name="shards_range"),
    CheckConstraint(
        "NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)", name="one_limit"
    ),
    CheckConstraint(
        "shards = 1 OR NOT (debits_must_not_exceed_credits OR credits_must_not_exceed_debits)",
        name="limited_accounts_unsharded",
    ),
    CheckConstraint(
        "NOT debits_must_not_exceed_credits OR debits_posted + debits_pending <= credits_posted",
        name="debits_within_credits",
    ),
    CheckConstraint(
        "NOT credits_must_not_exceed_debits OR credits_posted + credits_pending <= debits_posted",
        name="credits_within_debits",
    ),
    *_non_negative(),
)

account_shards = Table(
    "ledger_account_shards",
    metadata,
    Column("account_id", BigInteger, ForeignKey("ledger_accounts.id"), primary_key=True),
    Column("shard", SmallInteger, primary_key=True),
    *_counter_columns(),
    # Only posted counters: a hold taken on one shard may be released on another, so a shard's
    # pending counters can dip below zero while the account's total cannot (verify checks it).
    *_non_negative(("debits_posted", "credits_posted")),
)

entries = Table(
    "ledger_entries",
    metadata,
    Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    Column("id", Uuid, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("pending_id", Uuid, ForeignKey("ledger_entries.id"), nullable=True),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("reference", String(200), nullable=True),
    Column("metadata", _JSON, nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("effective_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("tx_id", BigInteger, nullable=False),
    UniqueConstraint("id"),
    CheckConstraint(
        "kind IN ('standard', 'pending', 'post_pending', 'void_pending', 'expire_pending')", name="kind"
    ),
    CheckConstraint(
        "(kind IN ('standard', 'pending')) = (pending_id IS NULL)", name="resolutions_name_their_hold"
    ),
    CheckConstraint("expires_at IS NULL OR kind = 'pending'", name="only_holds_expire"),
    # Partial: most entries have no hold to resolve or no reference, and need no index entry.
    Index(
        "uq_ledger_entries_pending_id",
        "pending_id",
        unique=True,
        postgresql_where=text("pending_id IS NOT NULL"),
        sqlite_where=text("pending_id IS NOT NULL"),
    ),
    Index(
        "ix_ledger_entries_reference",
        "reference",
        postgresql_where=text("reference IS NOT NULL"),
        sqlite_where=text("reference IS NOT NULL"),
    ),
    Index(None, "tx_id"),
)

postings = Table(
    "ledger_postings",
    metadata,
    Column("id", _SERIAL, primary_key=True, autoincrement=True),
    Column(
        "entry_seq",
        BigInteger,
        # Deferred so that SQLite can write an entry's postings before the entry, whose insert
        # trigger then checks them (SQLite has no deferred triggers).
        ForeignKey("ledger_entries.seq", deferrable=True, initially="DEFERRED"),
        nullable=False,
    ),
    # No foreign key to ledger_accounts: on PostgreSQL its check would share-lock the account row
    # of every hot account on every posting. A trigger checks the account and its currency instead.
    Column("account_id", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("side", String(6), nullable=False),
    Column("phase", String(8), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("side IN ('debit', 'credit')", name="side"),
    CheckConstraint("phase IN ('posted', 'pending', 'released')", name="phase"),
    Index(None, "entry_seq"),
    Index("ix_ledger_postings_account_time", "account_id", "created_at", "id"),
)

open_holds = Table(
    "ledger_open_holds",
    metadata,
    Column("hold_id", Uuid, ForeignKey("ledger_entries.id"), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=True),
    Index(None, "expires_at"),
)

checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    Column("tx_from", BigInteger, nullable=False),
    Column("tx_to", BigInteger, nullable=False),
    Column("entry_count", BigInteger, nullable=False),
    Column("digest", LargeBinary(32), nullable=False),
    Column("previous_digest", LargeBinary(32), nullable=False),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("tx_from"),
    CheckConstraint("tx_to >= tx_from", name="range"),
)
