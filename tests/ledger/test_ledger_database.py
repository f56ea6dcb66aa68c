"""The database itself refuses a broken ledger, and ``korpu ledger verify`` catches what was forced
past it (rows altered with the triggers out of the way), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.checkpoints import create_checkpoint, public_key_of
from ledger.journal import post_entry
from ledger.verify import verify
from tests.ledger.helpers import ALICE, BANK, BOB, open_basic_accounts, transfer, tx, usd

_INSERT_POSTING = (
    "INSERT INTO ledger_postings (entry_seq, account_id, currency, side, phase, amount, created_at) "
)
ROOT = Path(__file__).resolve().parents[2]
SIGNING_KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


async def _some_entries(engine: AsyncEngine) -> None:
    await open_basic_accounts(engine)

    async def work(conn: AsyncConnection) -> None:
        await post_entry(conn, transfer(BANK, ALICE, usd("100.00")))
        await post_entry(conn, transfer(ALICE, BOB, usd("40.00")))
        await post_entry(conn, transfer(ALICE, BOB, usd("10.00"), pending=True))

    await tx(engine, work)


async def _raw_entry(conn: AsyncConnection, legs: list[tuple[int, str, str, object]]) -> None:
    """Write an entry with raw SQL, the way each dialect's journal does, bypassing every Python check."""
    now: object = datetime.now(UTC) if conn.dialect.name == "postgresql" else datetime.now(UTC).isoformat()
    if conn.dialect.name == "postgresql":
        seq = (
            await conn.execute(
                text(
                    "INSERT INTO ledger_entries"
                    " (id, kind, metadata, request_hash, effective_at, created_at, tx_id) VALUES"
                    " (:id, 'standard', '{}', 'raw', now(), now(), pg_current_xact_id()::text::bigint) "
                    "RETURNING seq"
                ),
                {"id": uuid.uuid4()},
            )
        ).scalar_one()
    else:
        seq = (await conn.execute(text("SELECT coalesce(max(seq), 0) + 1 FROM ledger_entries"))).scalar_one()
    for account_id, currency, side, amount in legs:
        await conn.execute(
            text(_INSERT_POSTING + "VALUES (:seq, :account, :currency, :side, 'posted', :amount, :now)"),
            {
                "seq": seq,
                "account": account_id,
                "currency": currency,
                "side": side,
                "amount": amount,
                "now": now,
            },
        )
    if conn.dialect.name == "sqlite":
        await conn.execute(
            text(
                "INSERT INTO ledger_entries"
                " (seq, id, kind, metadata, request_hash, effective_at, created_at, tx_id)"
                " VALUES (:seq, :id, 'standard', '{}', 'raw', :now, :now, :seq)"
            ),
            {"seq": seq, "id": uuid.uuid4().hex, "now": now},
        )


async def _ids(engine: AsyncEngine) -> dict[str, int]:
    async def work(conn: AsyncConnection) -> dict[str, int]:
        return {row.code: row.id for row in await conn.execute(text("SELECT id, code FROM ledger_accounts"))}

    return await tx(engine, work)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_postings SET amount = amount + 1",
        "DELETE FROM ledger_postings",
        "UPDATE ledger_entries SET reference = 'rewritten'",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_accounts SET currency = 'EUR'",
        "DELETE FROM ledger_accounts WHERE code = 'customer:2:wallet:USD'",
    ],
)
async def test_raw_changes_to_the_journal_are_refused(engine: AsyncEngine, statement: str) -> None:
    await _some_entries(engine)

    async def work(conn: AsyncConnection) -> None:
        with pytest.raises(DBAPIError, match=r"(?i)append-only|refused|never|immutable"):
            await conn.execute(text(statement))

    await tx(engine, work)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unbalanced", "(?i)balance|differ"),
        ("one_leg", "(?i)at least two"),
        ("zero", "(?i)amount_positive|check"),
        ("fraction", "(?i)integer|invalid input"),
        ("wrong_currency", "(?i)currency|no account"),
    ],
)
async def test_database_refuses_a_bad_entry_written_with_raw_sql(
    engine: AsyncEngine, case: str, message: str
) -> None:
    await open_basic_accounts(engine)
    ids = await _ids(engine)
    bank, alice = ids[BANK], ids[ALICE]
    legs: list[tuple[int, str, str, object]] = {
        "unbalanced": [(bank, "USD", "debit", 100), (alice, "USD", "credit", 99)],
        "one_leg": [(bank, "USD", "debit", 100)],
        "zero": [(bank, "USD", "debit", 0), (alice, "USD", "credit", 0)],
        "fraction": [(bank, "USD", "debit", "1.5"), (alice, "USD", "credit", "1.5")],
        "wrong_currency": [(bank, "AZN", "debit", 100), (alice, "AZN", "credit", 100)],
    }[case]
    with pytest.raises(DBAPIError, match=message):
        async with engine.begin() as conn:  # PostgreSQL checks the balance at commit
            await _raw_entry(conn, legs)


@pytest.mark.parametrize("checked_early", [False, True], ids=["at_commit", "after_an_early_check"])
async def test_a_bad_entry_among_good_ones_is_refused(engine: AsyncEngine, checked_early: bool) -> None:
    """The balance check covers every entry of the transaction, also one written after an early check."""
    await open_basic_accounts(engine)
    ids = await _ids(engine)
    bank, alice = ids[BANK], ids[ALICE]
    good = [(bank, "USD", "debit", 100), (alice, "USD", "credit", 100)]
    with pytest.raises(DBAPIError, match=r"(?i)balance|differ"):
        async with engine.begin() as conn:
            await _raw_entry(conn, good)
            await _raw_entry(conn, good)
            if checked_early and conn.dialect.name == "postgresql":
                await conn.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))  # the good ones pass here
                await conn.execute(text("SET CONSTRAINTS ALL DEFERRED"))
            await _raw_entry(conn, [(bank, "USD", "debit", 100), (alice, "USD", "credit", 99)])
            await _raw_entry(conn, good)

    async def count(conn: AsyncConnection) -> int:
        return int((await conn.execute(text("SELECT count(*) FROM ledger_entries"))).scalar_one())

    assert await tx(engine, count) == 0  # nothing of the transaction was kept


async def test_postings_cannot_be_added_to_an_existing_entry(engine: AsyncEngine) -> None:
    await _some_entries(engine)
    ids = await _ids(engine)
    with pytest.raises(DBAPIError, match=r"(?i)refused"):
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    _INSERT_POSTING + "VALUES (1, :a, 'USD', 'debit', 'posted', 5, :now),"
                    " (1, :b, 'USD', 'credit', 'posted', 5, :now)"
                ),
                {"a": ids[BANK], "b": ids[BOB], "now": datetime.now(UTC)},
            )


def _korpu(database_url: str, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KORPU_ENV": "test",
        "KORPU_DATABASE_URL": database_url,
        "KORPU_LEDGER_SIGNING_KEY": base64.urlsafe_b64encode(SIGNING_KEY).decode(),
        **extra_env,
    }
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _tamper(engine: AsyncEngine, statement: str) -> None:
    """Run ``statement`` with the ledger's triggers out of the way, as a privileged intruder could."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(text(statement))
        else:
            triggers = [
                row[0]
                for row in await conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'ledger_%'")
                )
            ]
            saved = {
                name: (
                    await conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name})
                ).scalar_one()
                for name in triggers
            }
            for name in triggers:
                await conn.execute(text(f"DROP TRIGGER {name}"))
            await conn.execute(text(statement))
            for sql in saved.values():
                await conn.execute(text(sql))


async def test_verify_command_catches_a_row_altered_behind_the_triggers(
    engine: AsyncEngine, database_url: str
) -> None:
    await _some_entries(engine)
    ok = _korpu(database_url, "ledger", "verify")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ledger verify: OK")

    await _tamper(
        engine,
        "UPDATE ledger_postings SET amount = amount + 1 WHERE id = (SELECT min(id) FROM ledger_postings)",
    )
    failed = _korpu(database_url, "ledger", "verify")
    assert failed.returncode == 1
    assert failed.stderr.startswith("ledger verify: FAILED: entry_balance: entry ")
    assert "account_counters: account bank:USD" in failed.stderr


async def test_checkpoints_catch_a_balanced_rewrite(engine: AsyncEngine, database_url: str) -> None:
    await _some_entries(engine)
    signed = _korpu(database_url, "ledger", "checkpoint")
    assert signed.returncode == 0, signed.stderr
    assert signed.stdout.startswith("ledger checkpoint 1: 3 entries")

    async def more(conn: AsyncConnection) -> None:
        await post_entry(conn, transfer(ALICE, BOB, usd("1.00")))

    async def sign(conn: AsyncConnection) -> None:
        second = await create_checkpoint(conn, SIGNING_KEY)
        assert second is not None
        assert second.entry_count == 1
        assert await create_checkpoint(conn, SIGNING_KEY) is None  # nothing new

    await tx(engine, more)
    await tx(engine, sign)

    async def check(conn: AsyncConnection) -> list[str]:
        return [str(violation) for violation in (await verify(conn, public_key_of(SIGNING_KEY))).violations]

    assert await tx(engine, check) == []
    # Rewrite the first transfer's amount on both legs and the counters to match: every sum still
    # holds, and only the signed checkpoint can tell.
    await _tamper(
        engine,
        "UPDATE ledger_postings SET amount = amount + 500 WHERE entry_seq = 1",
    )
    await _tamper(
        engine,
        "UPDATE ledger_accounts SET debits_posted = debits_posted + 500 WHERE code = 'bank:USD'",
    )
    await _tamper(
        engine,
        f"UPDATE ledger_accounts SET credits_posted = credits_posted + 500 WHERE code = '{ALICE}'",
    )
    violations = await tx(engine, check)
    assert violations
    assert all(violation.startswith("checkpoint: checkpoint 1:") for violation in violations)
    failed = _korpu(database_url, "ledger", "verify")
    assert failed.returncode == 1
    assert "FAILED: checkpoint: checkpoint 1: the 3 entries" in failed.stderr


async def test_checkpoint_signed_with_another_key_fails(engine: AsyncEngine) -> None:
    await _some_entries(engine)

    async def work(conn: AsyncConnection) -> list[str]:
        await create_checkpoint(conn, OTHER_KEY)
        return [str(violation) for violation in (await verify(conn, public_key_of(SIGNING_KEY))).violations]

    assert await tx(engine, work) == ["checkpoint: checkpoint 1: signed by a key that is not trusted"]


async def test_checkpoints_signed_before_a_key_rotation_still_verify(
    engine: AsyncEngine, database_url: str
) -> None:
    """Rotating the signing key keeps old checkpoints verifiable once the old public key is trusted."""
    await _some_entries(engine)
    await tx(engine, lambda conn: create_checkpoint(conn, OTHER_KEY))  # signed before the rotation

    async def more(conn: AsyncConnection) -> None:
        await post_entry(conn, transfer(BANK, ALICE, usd("5.00")))

    await tx(engine, more)
    await tx(engine, lambda conn: create_checkpoint(conn, SIGNING_KEY))  # the current key

    untrusted = _korpu(database_url, "ledger", "verify")
    assert untrusted.returncode == 1
    assert untrusted.stderr.startswith("ledger verify: FAILED: checkpoint: checkpoint 1: signed by a key")
    old_key = base64.urlsafe_b64encode(OTHER_KEY).decode()
    retired = _korpu(database_url, "ledger", "public-key", KORPU_LEDGER_SIGNING_KEY=old_key).stdout.strip()
    assert base64.urlsafe_b64decode(retired) == public_key_of(OTHER_KEY)
    trusted = _korpu(database_url, "ledger", "verify", KORPU_LEDGER_RETIRED_PUBLIC_KEYS=retired)
    assert trusted.returncode == 0, trusted.stderr
    assert "2 checkpoints" in trusted.stdout


async def test_expire_holds_command(engine: AsyncEngine, database_url: str) -> None:
    await _some_entries(engine)
    result = _korpu(database_url, "ledger", "expire-holds")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ledger expire-holds: 0 hold(s) expired"  # the hold has no expiry
