"""Property-based: random sequences of open, post, hold, commit (full and partial), void, expire,
replay and batches keep every invariant, and balances equal those of a simple in-memory model."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db import create_engine
from ledger.accounts import open_account
from ledger.balances import balance
from ledger.errors import (
    EntryConflict,
    HoldExpired,
    HoldNotPending,
    InsufficientFunds,
    InvalidAmounts,
    LedgerError,
)
from ledger.journal import (
    expire_holds,
    post_entries,
    post_entries_at_once,
    post_entry,
    post_pending,
    void_pending,
)
from ledger.model import AccountFlags, Entry, EntryRequest, Side
from ledger.money import Money
from ledger.verify import verify

T = TypeVar("T")

DEBIT_LIMIT = AccountFlags(debits_must_not_exceed_credits=True)
CREDIT_LIMIT = AccountFlags(credits_must_not_exceed_debits=True)
# code: (currency, normal side, flags, shards)
ACCOUNTS: dict[str, tuple[str, Side, AccountFlags, int]] = {
    "bank:USD": ("USD", Side.DEBIT, AccountFlags(), 1),
    "bank:AZN": ("AZN", Side.DEBIT, AccountFlags(), 1),
    "customer:1:wallet:USD": ("USD", Side.CREDIT, DEBIT_LIMIT, 1),
    "customer:2:wallet:USD": ("USD", Side.CREDIT, DEBIT_LIMIT, 1),
    "customer:1:wallet:AZN": ("AZN", Side.CREDIT, DEBIT_LIMIT, 1),
    "customer:3:loan:USD": ("USD", Side.DEBIT, CREDIT_LIMIT, 1),
    "revenue:fees:USD": ("USD", Side.CREDIT, AccountFlags(), 4),
    "fx:position:USD": ("USD", Side.DEBIT, AccountFlags(), 3),
    "fx:position:AZN": ("AZN", Side.DEBIT, AccountFlags(), 3),
}
BY_CURRENCY = {
    currency: sorted(code for code, spec in ACCOUNTS.items() if spec[0] == currency)
    for currency in ("USD", "AZN")
}
DP, CP, DQ, CQ = range(4)


@dataclass
class Hold:
    request: EntryRequest
    legs: list[tuple[str, Side, int, str]]
    expires_at: datetime | None
    open: bool = True


@dataclass
class Model:
    counters: dict[str, list[int]] = field(default_factory=lambda: {code: [0, 0, 0, 0] for code in ACCOUNTS})

    def allows(self, changes: list[tuple[str, int, int]]) -> bool:
        """Whether adding ``(account, counter, amount)`` changes keeps every balance limit."""
        trial = {code: list(values) for code, values in self.counters.items()}
        for code, counter, amount in changes:
            trial[code][counter] += amount
        for code, values in trial.items():
            flags = ACCOUNTS[code][2]
            if flags.debits_must_not_exceed_credits and values[DP] + values[DQ] > values[CP]:
                return False
            if flags.credits_must_not_exceed_debits and values[CP] + values[CQ] > values[DP]:
                return False
        return True

    def apply(self, changes: list[tuple[str, int, int]]) -> None:
        for code, counter, amount in changes:
            self.counters[code][counter] += amount


def _changes(legs: list[tuple[str, Side, int, str]], phase: str) -> list[tuple[str, int, int]]:
    changes = []
    for code, side, amount, _ in legs:
        posted, pending = (DP, DQ) if side is Side.DEBIT else (CP, CQ)
        if phase == "posted":
            changes.append((code, posted, amount))
        elif phase == "pending":
            changes.append((code, pending, amount))
        else:
            changes.append((code, pending, -amount))
    return changes


pairs = st.lists(
    st.tuples(
        st.sampled_from(["USD", "AZN"]),
        st.integers(0, 100),
        st.integers(0, 100),
        st.integers(1, 5_000),
    ),
    min_size=1,
    max_size=3,
)


def _legs(drawn: list[tuple[str, int, int, int]]) -> list[tuple[str, Side, int, str]] | None:
    """Debit/credit pairs in one currency each; ``None`` if a pair would be one account to itself."""
    legs: list[tuple[str, Side, int, str]] = []
    for currency, debit_pick, credit_pick, units in drawn:
        codes = BY_CURRENCY[currency]
        debit, credit = codes[debit_pick % len(codes)], codes[credit_pick % len(codes)]
        if debit == credit:
            return None
        legs += [(debit, Side.DEBIT, units, currency), (credit, Side.CREDIT, units, currency)]
    return legs


def _request(legs: list[tuple[str, Side, int, str]], **options: Any) -> EntryRequest:
    return EntryRequest(
        id=uuid.uuid4(),
        postings=[(code, side, Money.from_minor(units, currency)) for code, side, units, currency in legs],
        **options,
    )


class LedgerMachine(RuleBasedStateMachine):
    """Drives the ledger and a dictionary model side by side; ``make_engine`` gives a fresh database."""

    make_engine: Callable[[asyncio.AbstractEventLoop], AsyncEngine]
    holds = Bundle("holds")
    posted = Bundle("posted")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine = type(self).make_engine(self.loop)
        self.model = Model()
        self.clock = datetime.now(UTC) + timedelta(days=1)
        self.all_holds: list[Hold] = []

        async def accounts(conn: AsyncConnection) -> None:
            for code, (currency, side, flags, shards) in ACCOUNTS.items():
                await open_account(conn, code, currency, side, flags, shards=shards)

        self._tx(accounts)

    def _tx(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        async def run() -> T:
            async with self.engine.begin() as conn:
                return await work(conn)

        return self.loop.run_until_complete(run())

    def teardown(self) -> None:
        try:

            async def check(conn: AsyncConnection) -> list[str]:
                return [str(violation) for violation in (await verify(conn)).violations]

            assert self._tx(check) == []
        finally:
            self.loop.run_until_complete(self.engine.dispose())
            self.loop.close()

    def _expect(
        self, legs: list[tuple[str, Side, int, str]], result: Entry | LedgerError, phase: str
    ) -> bool:
        changes = _changes(legs, phase)
        if self.model.allows(changes):
            assert isinstance(result, Entry), result
            self.model.apply(changes)
            return True
        assert isinstance(result, InsufficientFunds), result
        return False

    @rule(
        target=posted,
        drawn=pairs,
        reference=st.none() | st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20),
    )
    def post(self, drawn: list[tuple[str, int, int, int]], reference: str | None) -> Any:
        legs = _legs(drawn)
        if legs is None:
            return None
        request = _request(legs, reference=reference, metadata={"n": len(legs)})

        async def work(conn: AsyncConnection) -> Entry | LedgerError:
            return (await post_entries(conn, [request]))[0]

        result = self._tx(work)
        if self._expect(legs, result, "posted"):
            assert isinstance(result, Entry)
            return (request, result.seq)
        return None

    @rule(target=holds, drawn=pairs, minutes=st.none() | st.integers(1, 120))
    def hold(self, drawn: list[tuple[str, int, int, int]], minutes: int | None) -> Any:
        legs = _legs(drawn)
        if legs is None:
            return None
        expires_at = None if minutes is None else self.clock + timedelta(minutes=minutes)
        request = _request(legs, pending=True, expires_at=expires_at)

        async def work(conn: AsyncConnection) -> Entry | LedgerError:
            return (await post_entries(conn, [request]))[0]

        if not self._expect(legs, self._tx(work), "pending"):
            return None
        held = Hold(request, legs, expires_at)
        self.all_holds.append(held)
        return held

    @rule(drawn=st.lists(pairs, min_size=2, max_size=4))
    def post_batch(self, drawn: list[list[tuple[str, int, int, int]]]) -> None:
        batch = [legs for legs in map(_legs, drawn) if legs is not None]
        requests = [_request(legs) for legs in batch]
        # On PostgreSQL, first the one-statement path the Batcher takes (it writes nothing unless
        # every request is accepted), then the transactional one; SQLite has only the latter.
        results = self.loop.run_until_complete(post_entries_at_once(self.engine, requests))
        if results is None:

            async def work(conn: AsyncConnection) -> list[Entry | LedgerError]:
                return await post_entries(conn, requests)

            results = self._tx(work)
        for legs, result in zip(batch, results, strict=True):
            self._expect(legs, result, "posted")

    @rule(held=consumes(holds), fractions=st.none() | st.lists(st.integers(0, 4), min_size=3, max_size=3))
    def commit(self, held: Hold | None, fractions: list[int] | None) -> None:
        if held is None or not held.open:
            return
        amounts = None
        posted_legs = held.legs
        if fractions is not None:
            # A fraction per debit/credit pair keeps the partial amounts balanced.
            units = [held.legs[2 * i][2] * fractions[i % 3] // 4 for i in range(len(held.legs) // 2)]
            posted_legs = [
                (code, side, units[i // 2], cur) for i, (code, side, _, cur) in enumerate(held.legs)
            ]
            amounts = [Money.from_minor(units[i // 2], leg[3]) for i, leg in enumerate(held.legs)]

        async def work(conn: AsyncConnection) -> Entry | LedgerError:
            try:
                return await post_pending(conn, held.request.id, uuid.uuid4(), amounts, now=self.clock)
            except LedgerError as refusal:
                return refusal

        result = self._tx(work)
        if held.expires_at is not None and held.expires_at <= self.clock:
            assert isinstance(result, HoldExpired), result
            return
        if amounts is not None and not any(units for _, _, units, _ in posted_legs):
            assert isinstance(result, InvalidAmounts), result
            return
        changes = _changes(held.legs, "released") + _changes(
            [leg for leg in posted_legs if leg[2] > 0], "posted"
        )
        assert self.model.allows(changes)
        assert isinstance(result, Entry), result
        self.model.apply(changes)
        held.open = False

    @rule(held=consumes(holds))
    def void(self, held: Hold | None) -> None:
        if held is None or not held.open:
            return

        async def work(conn: AsyncConnection) -> Entry:
            return await void_pending(conn, held.request.id, uuid.uuid4())

        self._tx(work)
        self.model.apply(_changes(held.legs, "released"))
        held.open = False

    @precondition(lambda self: any(not held.open for held in self.all_holds))
    @rule(data=st.data())
    def resolve_again(self, data: st.DataObject) -> None:
        held = data.draw(st.sampled_from([held for held in self.all_holds if not held.open]))

        async def work(conn: AsyncConnection) -> None:
            with pytest.raises(HoldNotPending):
                await void_pending(conn, held.request.id, uuid.uuid4())

        self._tx(work)

    @rule(minutes=st.integers(1, 90))
    def expire(self, minutes: int) -> None:
        self.clock += timedelta(minutes=minutes)

        async def work(conn: AsyncConnection) -> list[Entry]:
            return await expire_holds(conn, self.clock)

        expired = {entry.pending_id for entry in self._tx(work)}
        due = [
            held for held in self.all_holds if held.open and held.expires_at and held.expires_at <= self.clock
        ]
        assert expired == {held.request.id for held in due}
        for held in due:
            self.model.apply(_changes(held.legs, "released"))
            held.open = False

    @rule(sent=posted, change=st.booleans())
    def replay(self, sent: tuple[EntryRequest, int] | None, change: bool) -> None:
        if sent is None:
            return
        request, seq = sent
        if change:
            request = EntryRequest(id=request.id, postings=request.postings, metadata={"other": True})

        async def work(conn: AsyncConnection) -> Entry | LedgerError:
            try:
                return await post_entry(conn, request)
            except LedgerError as refusal:
                return refusal

        result = self._tx(work)
        if change:
            assert isinstance(result, EntryConflict), result
        else:
            assert isinstance(result, Entry), result
            assert result.replayed
            assert result.seq == seq

    @rule(code=st.sampled_from(sorted(ACCOUNTS)))
    def reopen(self, code: str) -> None:
        currency, side, flags, shards = ACCOUNTS[code]

        async def work(conn: AsyncConnection) -> int:
            return (await open_account(conn, code, currency, side, flags, shards=shards)).shards

        assert self._tx(work) == shards

    @invariant()
    def balances_match_the_model(self) -> None:
        async def work(conn: AsyncConnection) -> dict[str, list[int]]:
            found = {}
            for code in ACCOUNTS:
                b = await balance(conn, code)
                found[code] = [
                    b.debits_posted.minor_units,
                    b.credits_posted.minor_units,
                    b.debits_pending.minor_units,
                    b.credits_pending.minor_units,
                ]
                if ACCOUNTS[code][2] != AccountFlags():
                    assert not b.available.amount < 0, (code, b.available)
            return found

        assert self._tx(work) == self.model.counters


async def _empty_ledger(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(
            text(
                "TRUNCATE ledger_checkpoints, ledger_open_holds, ledger_postings, ledger_entries, "
                "ledger_account_shards, ledger_accounts RESTART IDENTITY CASCADE"
            )
        )


def test_random_ledger_operations_keep_every_invariant(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    examples = iter(range(10**6))
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")

        def make_engine(loop: asyncio.AbstractEventLoop) -> AsyncEngine:
            path = tmp_path / f"example-{next(examples)}.sqlite3"
            shutil.copyfile(template, path)
            return create_engine(f"sqlite+aiosqlite:///{path}")

    else:
        url: str = request.getfixturevalue("pg_database")

        def make_engine(loop: asyncio.AbstractEventLoop) -> AsyncEngine:
            engine = create_engine(url, pool_size=2)
            loop.run_until_complete(_empty_ledger(engine))
            return engine

    LedgerMachine.make_engine = staticmethod(make_engine)  # type: ignore[method-assign,assignment]
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=20 if backend == "sqlite" else 12,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
