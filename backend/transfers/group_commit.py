"""Group commit of new transfers: the creations that arrive together share one transaction.

A transfer's creation is about a dozen statements, and two of them carry most of PostgreSQL's
work: the one ``INSERT`` of its rows (:mod:`backend.deferred_inserts`) and the ledger hold
(:mod:`ledger.store_pg_at_once`), each a large statement whose start-up costs as much as its
rows. Around them come ``BEGIN``, ``COMMIT`` and the client's handling of a transaction.
:class:`GroupCommit` runs the creations that are waiting at the same moment in one transaction
on one connection:

1. each unit runs its reads and checks in turn (idempotency claim, quote, recipient, sender's
   profile and limits lock, monitoring history, ...); the rows it writes are only collected, and
   its ledger hold is handed back rather than posted;
2. all units' rows are written by one ``INSERT``, then all holds by one ledger call (one
   statement when every hold is accepted), then the transaction commits;
3. only then do callers get their results.

Invariants this keeps, each held by ``tests/test_group_commit.py``:

* **All or nothing per transfer.** A unit that raises, or whose hold the ledger refuses, aborts
  the batch before anything of it is written; the batch is rerun without it and the unit then
  runs alone (:func:`backend.transfers.gate.run_gated`), where its caller gets its own outcome.
  A deadlock or serialization failure reruns the whole batch.
* **One transfer per sender per batch.** A sender's checks read their history under their
  limits lock; two of their transfers in one transaction would each miss the other's (their
  rows are collected, not yet written). A second one waits for the next batch.
* **No deadlock between batches.** Units run in order of their key (the sender), so two batches
  take senders' locks in the same order; the ledger locks accounts in id order and picks free
  shards of hot accounts without waiting.
* **No waiting when idle.** A unit that finds a batch slot free runs at once, in a batch of one;
  only while every slot is busy do units queue, and a slot then takes an even share of them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.deferred_inserts import deferred_inserts
from ledger.errors import LedgerError
from ledger.journal import post_entries
from ledger.model import Entry, EntryRequest
from ledger.retry import backoff, is_retryable

__all__ = ["GroupCommit", "GroupCommitConfig", "Staged", "Unit"]

T = TypeVar("T")


class Staged(Protocol):
    """The ledger part of a unit, posted by the batch after every unit's rows are written."""

    @property
    def entry(self) -> EntryRequest:
        """The hold (or entry) to post."""
        ...

    async def after(self, conn: AsyncConnection, posted: Entry) -> None:
        """Writes that need the posted entry (in the batch's transaction)."""
        ...


Unit = Callable[[AsyncConnection], Awaitable[tuple[T, Staged | None]]]
"""A creation's work in the batch's transaction: its result and what it asks the ledger for."""


@dataclass(frozen=True, slots=True)
class GroupCommitConfig:
    """How :class:`GroupCommit` groups creations."""

    max_batch: int = 16
    """Most units in one transaction."""
    max_in_flight: int = 2
    """Batches running at once, each on its own connection (one in the database while the next
    is prepared)."""
    max_attempts: int = 10
    """Runs of a batch that keeps hitting deadlocks or serialization failures before it fails."""


@dataclass(eq=False, slots=True)
class _Queued(Generic[T]):
    key: Any
    unit: Unit[T]
    alone: Callable[[], Awaitable[T]]
    future: asyncio.Future[T] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class _UnitFailed(Exception):
    """A unit raised, or the ledger refused its hold: rerun the others without it."""

    def __init__(self, queued: _Queued[Any]) -> None:
        super().__init__("a unit of the batch failed")
        self.queued = queued


class GroupCommit:
    """Runs concurrent creations in shared transactions; see the module docstring."""

    def __init__(
        self,
        engine: AsyncEngine,
        config: GroupCommitConfig | None = None,
        *,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        self._engine = engine
        self._config = config or GroupCommitConfig()
        self._on_commit = on_commit
        self._queue: deque[_Queued[Any]] = deque()
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        """Transactions committed (for measurement and tests)."""
        self.units = 0
        """Units committed in them."""
        # ``on_commit`` is told each committed batch's size (the metrics' histogram).

    async def run(self, key: Any, unit: Unit[T], alone: Callable[[], Awaitable[T]]) -> T:
        """Run ``unit`` in the next batch and return its result once the batch has committed.

        ``key`` names what must not appear twice in one batch (the sender). ``alone`` runs the
        same work in a transaction of its own; it gives the caller its outcome when the unit
        cannot commit with others (it raised, or its hold was refused).
        """
        queued: _Queued[T] = _Queued(key, unit, alone)
        self._queue.append(queued)
        self._start()
        return await queued.future

    async def close(self) -> None:
        """Wait until every queued unit has its result."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _start(self) -> None:
        while self._queue and self._in_flight < self._config.max_in_flight:
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self) -> None:
        try:
            while self._queue:
                # Let callers whose results were just settled queue their next unit first.
                await asyncio.sleep(0)
                batch = self._take()
                if batch:
                    self._start()
                    await self._run(batch)
        finally:
            self._in_flight -= 1

    def _take(self) -> list[_Queued[Any]]:
        """An even share of the queue over the batch slots, one unit per key, in key order."""
        share = max(1, -(-len(self._queue) // self._config.max_in_flight))
        take = min(share, self._config.max_batch)
        batch: list[_Queued[Any]] = []
        keys: set[Any] = set()
        kept: deque[_Queued[Any]] = deque()
        while self._queue and len(batch) < take:
            queued = self._queue.popleft()
            if queued.key in keys:
                kept.append(queued)
            else:
                keys.add(queued.key)
                batch.append(queued)
        self._queue.extendleft(reversed(kept))
        batch.sort(key=lambda queued: queued.key)
        return batch

    async def _run(self, batch: list[_Queued[Any]]) -> None:
        """Commit ``batch`` (less the units that cannot commit with others); settle every unit."""
        alone: list[_Queued[Any]] = []
        attempt = 0
        while batch:
            try:
                results = await self._attempt(batch)
            except _UnitFailed as failed:
                batch = [queued for queued in batch if queued is not failed.queued]
                alone.append(failed.queued)
                continue
            except Exception as error:
                attempt += 1
                if is_retryable(error) and attempt < self._config.max_attempts:
                    await backoff(attempt)
                    continue
                # Not a unit's own failure (those are caught above): each unit alone finds out.
                alone.extend(batch)
                break
            self.batches += 1
            self.units += len(batch)
            if self._on_commit is not None:
                self._on_commit(len(batch))
            for queued, value in zip(batch, results, strict=True):
                _settle(queued, True, value)
            break
        for queued in alone:
            try:
                value = await queued.alone()
            except Exception as error:
                _settle(queued, False, error)
            else:
                _settle(queued, True, value)

    async def _attempt(self, batch: Sequence[_Queued[Any]]) -> list[Any]:
        async with self._engine.begin() as conn:
            results: list[Any] = []
            staged: list[tuple[_Queued[Any], Staged]] = []
            async with deferred_inserts(conn):
                for queued in batch:
                    try:
                        value, stage = await queued.unit(conn)
                    except Exception as error:
                        if is_retryable(error):
                            raise
                        raise _UnitFailed(queued) from error
                    results.append(value)
                    if stage is not None:
                        staged.append((queued, stage))
            if staged:
                outcomes = await post_entries(conn, [stage.entry for _, stage in staged])
                for (queued, stage), outcome in zip(staged, outcomes, strict=True):
                    if isinstance(outcome, LedgerError):
                        raise _UnitFailed(queued) from outcome
                    await stage.after(conn, outcome)
        return results


def _settle(queued: _Queued[Any], ok: bool, value: Any) -> None:
    if queued.future.done():  # the caller gave up waiting
        return
    if ok:
        queued.future.set_result(value)
    else:
        queued.future.set_exception(value)
