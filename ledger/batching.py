"""Group commit: many concurrent callers, one database transaction per batch, a result for each.

Concurrent callers hand the :class:`Batcher` a unit of work and wait for their own result. A unit
is either a ledger request (optionally followed by ``then``, the caller's other writes, such as an
idempotency record and an outbox row) or any async callable of the connection. While the batches
in flight are busy, new units queue; a free batch slot takes its even share of what is queued (up
to ``max_batch``), so two batches overlap: one in the database while the next is prepared. Under
load each database transaction, its round trips and its commit (fsync) therefore serve many
callers, as TigerBeetle batches transfers; when idle, a unit runs at once.

Inside a batch's transaction:

1. all ledger requests go to :func:`ledger.journal.post_entries` together (on PostgreSQL one round
   trip); a refused request (insufficient funds, a conflict, ...) gets its own error and writes
   nothing, so it needs no savepoint and does not disturb the others;
2. each accepted request's ``then`` runs; if one raises, the transaction is rolled back and the
   batch is rerun without that unit, which then runs alone so that its caller gets its own
   outcome;
3. each generic unit runs under its own SAVEPOINT: its failure rolls back only its own writes.

Callers get their results only after the commit. A serialization failure or deadlock reruns the
whole batch; any other failure of the batch as a whole (for example a constraint checked at
commit) reruns each unit alone, so only the culprit sees the error. Units may therefore run more
than once and must not have effects outside the database; entry ids make ledger requests
idempotent, and ``then`` should be too (its rows keyed by the same idempotency key).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.errors import LedgerError
from ledger.journal import post_entries, post_entries_at_once
from ledger.model import Entry, LedgerRequest
from ledger.retry import backoff, is_retryable

__all__ = ["Batcher", "BatcherConfig", "Then", "Work"]

T = TypeVar("T")
Work = Callable[[AsyncConnection], Awaitable[T]]
"""A generic unit: any writes in the batch's transaction, under its own savepoint."""
Then = Callable[[AsyncConnection, Entry], Awaitable[T]]
"""The caller's writes that commit with its entry (idempotency record, outbox row, ...)."""


@dataclass(frozen=True, slots=True)
class BatcherConfig:
    """How a :class:`Batcher` groups work."""

    max_batch: int = 64
    """Most units in one database transaction."""
    max_in_flight: int | None = None
    """Batches running at once, each on its own connection; ``None``: 2 on PostgreSQL (one in the
    database while the next is prepared), 1 on SQLite (whose writers queue on one lock anyway)."""
    max_attempts: int = 10
    """Runs of a batch that keeps hitting serialization failures or deadlocks before it fails."""


@dataclass(eq=False, slots=True)
class _Unit:
    future: asyncio.Future[Any]
    request: LedgerRequest | None = None
    then: Then[Any] | None = None
    work: Work[Any] | None = None


class _ThenFailed(Exception):
    """A unit's ``then`` raised: the transaction must be rolled back and the unit run alone."""

    def __init__(self, unit: _Unit, error: BaseException) -> None:
        super().__init__(str(error))
        self.unit = unit
        self.error = error


@dataclass(slots=True)
class _Batch:
    units: list[_Unit]
    results: dict[int, tuple[bool, Any]] = field(default_factory=dict)
    """Per unit (by id): ``(ok, value or error)``."""


class Batcher:
    """Runs concurrent callers' units of work in shared transactions; see the module docstring."""

    def __init__(self, engine: AsyncEngine, config: BatcherConfig | None = None) -> None:
        self._engine = engine
        self._config = config or BatcherConfig()
        default_in_flight = 1 if engine.dialect.name == "sqlite" else 2
        self._max_in_flight = self._config.max_in_flight or default_in_flight
        self._queue: deque[_Unit] = deque()
        self._in_flight = 0
        self._waiting = 0
        self._gate = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        """Transactions committed (for measurement)."""
        self.units = 0
        """Units delivered (for measurement)."""

    async def post(self, request: LedgerRequest) -> Entry:
        """Post one ledger request in the next batch; raises its :class:`LedgerError` if refused."""
        entry, _ = await self._submit(_Unit(self._future(), request=request))
        return cast(Entry, entry)

    async def post_with(self, request: LedgerRequest, then: Then[T]) -> tuple[Entry, T]:
        """Post one ledger request and, if it is accepted, run ``then`` in the same transaction."""
        entry, value = await self._submit(_Unit(self._future(), request=request, then=then))
        return cast(Entry, entry), cast(T, value)

    async def run(self, work: Work[T]) -> T:
        """Run ``work`` in the next batch under its own savepoint; returns its result or raises."""
        _, value = await self._submit(_Unit(self._future(), work=work))
        return cast(T, value)

    async def close(self) -> None:
        """Wait until every submitted unit has its result."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @staticmethod
    def _future() -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    async def _submit(self, unit: _Unit) -> tuple[Any, Any]:
        self._queue.append(unit)
        self._waiting += 1
        self._start_drains()
        try:
            result: tuple[Any, Any] = await unit.future
        finally:
            self._waiting -= 1
        return result

    def _start_drains(self) -> None:
        """Start drain tasks for queued work while fewer than the allowed number run."""
        while self._queue and self._in_flight < self._max_in_flight:
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self) -> None:
        """Take a share of what is queued (up to ``max_batch``), run it, repeat while work is queued.

        The share is the callers waiting (queued or in a running batch) divided evenly over the
        batch slots: with two slots, one batch's Python work (planning, encoding, settling results)
        overlaps the other's time in the database, where a single batch would leave one side idle
        while the other works. A lone caller still runs at once, in a batch of one.
        """
        try:
            while self._queue:
                # Callers whose results were just settled are ready to run; let them queue their
                # next unit first, so the share is taken of everyone who is waiting.
                await asyncio.sleep(0)
                if not self._queue:
                    break
                # At least one: a caller that gave up waiting leaves its unit queued but no longer
                # counts as waiting, and its unit must still run (its result is then dropped).
                share = max(1, -(-self._waiting // self._max_in_flight))  # ceiling division
                take = min(share, len(self._queue), self._config.max_batch)
                units = [self._queue.popleft() for _ in range(take)]
                self._start_drains()
                await self._run(units)
        finally:
            self._in_flight -= 1

    async def _run(self, units: list[_Unit]) -> None:
        """Run ``units`` to completion: every unit's future gets its result or its error."""
        alone: list[_Unit] = []
        attempt = 0
        while units:
            batch = _Batch(units)
            try:
                await self._attempt(batch)
            except _ThenFailed as failed:
                if len(units) == 1:
                    _settle(failed.unit, False, failed.error)
                    units = []
                else:
                    units = [unit for unit in units if unit is not failed.unit]
                    alone.append(failed.unit)
                continue
            except Exception as error:
                attempt += 1
                retryable = is_retryable(error)
                if retryable and attempt < self._config.max_attempts:
                    await backoff(attempt)
                    continue
                if len(units) > 1 and not retryable:
                    alone.extend(units)  # find the culprit: each unit in a transaction of its own
                else:
                    for unit in units:
                        _settle(unit, False, error)
                units = []
                continue
            self.batches += 1
            for unit in units:
                ok, value = batch.results[id(unit)]
                _settle(unit, ok, value)
            units = []
        for unit in alone:
            await self._run([unit])

    async def _attempt(self, batch: _Batch) -> None:
        if all(unit.then is None and unit.work is None for unit in batch.units):
            # Plain ledger requests: on PostgreSQL, usually one statement in its own transaction.
            requests = [cast(LedgerRequest, unit.request) for unit in batch.units]
            outcomes = await post_entries_at_once(self._engine, requests)
            if outcomes is not None:
                for unit, outcome in zip(batch.units, outcomes, strict=True):
                    if isinstance(outcome, LedgerError):
                        batch.results[id(unit)] = (False, outcome)
                    else:
                        batch.results[id(unit)] = (True, (outcome, None))
                self.units += len(batch.units)
                return
        async with self._engine.connect() as conn:
            try:
                # Only one batch does its work at a time; the others are committing (waiting for
                # the log to reach the disk), so work and commits overlap like a pipeline.
                async with self._gate:
                    await conn.begin()
                    await self._work(conn, batch)
                await conn.commit()
            except BaseException:
                await conn.rollback()
                raise
        self.units += len(batch.units)

    async def _work(self, conn: AsyncConnection, batch: _Batch) -> None:
        ledger_units = [unit for unit in batch.units if unit.request is not None]
        generic_units = [unit for unit in batch.units if unit.work is not None]
        if ledger_units:
            outcomes = await post_entries(conn, [cast(LedgerRequest, unit.request) for unit in ledger_units])
            for unit, outcome in zip(ledger_units, outcomes, strict=True):
                if isinstance(outcome, LedgerError):
                    batch.results[id(unit)] = (False, outcome)
                elif unit.then is None:
                    batch.results[id(unit)] = (True, (outcome, None))
                else:
                    try:
                        value = await unit.then(conn, outcome)
                    except Exception as error:
                        if is_retryable(error):
                            raise
                        raise _ThenFailed(unit, error) from error
                    batch.results[id(unit)] = (True, (outcome, value))
        for unit in generic_units:
            work = cast(Work[Any], unit.work)
            try:
                async with conn.begin_nested():
                    value = await work(conn)
            except Exception as error:
                if is_retryable(error):
                    raise
                batch.results[id(unit)] = (False, error)
            else:
                batch.results[id(unit)] = (True, (None, value))


def _settle(unit: _Unit, ok: bool, value: Any) -> None:
    if unit.future.done():  # the caller gave up waiting
        return
    if ok:
        unit.future.set_result(value)
    else:
        unit.future.set_exception(value)
