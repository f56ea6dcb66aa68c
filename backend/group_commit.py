"""Group commit: the money-moving requests that arrive together share one transaction.

A transfer's creation is about a dozen statements, and two of them carry most of PostgreSQL's
work: the one ``INSERT`` of its rows (:mod:`backend.deferred_inserts`) and the ledger hold
(:mod:`ledger.store_pg_at_once`), each a large statement whose start-up costs as much as its
rows. Around them come ``BEGIN``, ``COMMIT`` and the client's handling of a transaction. A
partner's confirmation likewise ends with a ledger post. :class:`GroupCommit` runs the units of
work that are waiting at the same moment in one transaction on one connection:

1. with a ``prefetch`` (for creations: :mod:`backend.transfers.prefetch`), the reads every unit
   starts with are made once for the whole batch, one statement each over all units' keys;
2. each unit runs its reads and checks in turn (for a creation: idempotency claim, quote,
   recipient, sender's profile and limits lock, monitoring history, ...), taking what the
   prefetch read for it; with ``defer_inserts`` the rows it writes are only collected, and the
   ledger request it gives :func:`post_last` is kept rather than posted;
3. all units' rows are written by one ``INSERT``, then all ledger requests by one ledger call
   (one statement when they are new entries and holds that are all accepted), then the
   transaction commits;
4. only then do callers get their results.

One batch per process does steps 1-3 at a time (its turn); its ``COMMIT`` (a WAL flush) runs
while the next batch, which takes everything queued meanwhile, does its work. Batches are then
as large as the traffic allows (about four creations a transaction at 16 requests in flight,
against two when two batches worked side by side), and the work paid per batch, not per
request, shrinks with them.

Invariants this keeps, each held by ``tests/test_group_commit.py`` and checked together under
random traffic, failures and deadlocks by ``tests/test_group_commit_simulation.py``:

* **All or nothing per request.** A unit that raises, or whose ledger request is refused, aborts
  the batch before anything of it is written; the batch is rerun without it and the unit then
  runs alone (the ``alone`` its caller gave: for a creation,
  :func:`backend.transfers.gate.run_gated`), where its caller gets its own outcome. A deadlock or
  serialization failure reruns the whole batch.
* **One unit per key per batch.** A sender's checks read their history under their limits lock;
  two of their transfers in one transaction would each miss the other's (their rows are
  collected, not yet written). A second unit with the same key (the sender; for a confirmation,
  the payout) waits for the next batch.
* **No deadlock between batches.** Units run in order of their key (the sender), and a prefetch
  takes senders' locks in sender order, so two batches take them in the same order. Every ledger
  request of a batch goes in its one ledger call (:func:`post_last`), which locks accounts in id
  order and picks free shards of hot accounts without waiting: a batch that locked one wallet
  mid-batch and others at its end could wait for a batch doing the same the other way round
  (``tests/test_group_commit_deadlocks.py``).
* **No waiting when idle.** A unit that finds no batch working runs at once, in a batch of one
  (which reads for itself: no prefetch); only while a batch works do units queue, and the next
  batch takes all of them (up to ``max_batch``, one per key).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.deferred_inserts import deferred_inserts
from ledger.errors import LedgerError
from ledger.journal import post_entries
from ledger.model import LedgerRequest
from ledger.retry import backoff, is_retryable

__all__ = ["GroupCommit", "GroupCommitConfig", "Prefetch", "Unit", "post_last", "prefetched"]

T = TypeVar("T")

Unit = Callable[[AsyncConnection], Awaitable[T]]
"""A request's work in the batch's transaction; its result goes to its caller after the commit."""
Prefetch = Callable[[AsyncConnection, list[Any]], Awaitable[Any]]
"""Reads for a whole batch, before its units run: given the ``request`` of each unit that gave
one, in the batch's order (only when two or more did); what it returns, the units find with
:func:`prefetched`."""

_STAGED = "korpu.group_commit.staged"
"""Key in the batch connection's ``info`` of the ledger requests its units gave :func:`post_last`."""
_CURRENT = "korpu.group_commit.unit"
"""Key in the batch connection's ``info`` of the unit running now."""
_PREFETCHED = "korpu.group_commit.prefetched"
"""Key in the batch connection's ``info`` of what the batch's prefetch returned."""


def prefetched(conn: AsyncConnection) -> Any | None:
    """What the prefetch of the batch running on ``conn`` read (``None`` outside a batch or
    without a prefetch): a unit takes what it needs from it and reads anything else itself."""
    return conn.info.get(_PREFETCHED)


async def post_last(conn: AsyncConnection, *requests: LedgerRequest) -> None:
    """Post ``requests``, in order, as the last ledger write of the caller's work.

    In a transaction of its own this posts them at once, in one ledger call, and raises the first
    refused request's :class:`LedgerError` (the caller's transaction then rolls back). In a
    :class:`GroupCommit` batch they are kept and posted with every other unit's, in the order
    given, in one ledger call after all of them have run; a refusal then reruns the unit alone,
    where it is raised. Either way a transaction takes its ledger locks in one ordered step: two
    that each locked an account in one statement and waited for the other's in a second could
    deadlock.
    """
    staged: list[tuple[Any, LedgerRequest]] | None = conn.info.get(_STAGED)
    if staged is not None:
        staged.extend((conn.info[_CURRENT], request) for request in requests)
        return
    for outcome in await post_entries(conn, requests):
        if isinstance(outcome, LedgerError):
            raise outcome


@dataclass(frozen=True, slots=True)
class GroupCommitConfig:
    """How :class:`GroupCommit` groups units of work."""

    max_batch: int = 16
    """Most units in one transaction."""
    max_in_flight: int = 2
    """Batches under way at once, each on its own connection: one doing its work (its turn), the
    others committing."""
    max_attempts: int = 10
    """Runs of a batch that keeps hitting deadlocks or serialization failures before it fails."""
    defer_inserts: bool = True
    """Collect the units' rows into one ``INSERT`` (:mod:`backend.deferred_inserts`): only for work
    that never reads back a row it wrote."""


@dataclass(eq=False, slots=True)
class _Queued(Generic[T]):
    key: Any
    unit: Unit[T]
    alone: Callable[[], Awaitable[T]]
    request: Any
    future: asyncio.Future[T] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class _UnitFailed(Exception):
    """A unit raised, or the ledger refused its request: rerun the others without it."""

    def __init__(self, queued: _Queued[Any]) -> None:
        super().__init__("a unit of the batch failed")
        self.queued = queued


class GroupCommit:
    """Runs concurrent units of work in shared transactions; see the module docstring.

    ``on_commit``, when given, is told the size of each committed batch (the metrics' histogram);
    ``on_rerun`` each time a batch is run again after a deadlock or serialization failure.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        config: GroupCommitConfig | None = None,
        *,
        on_commit: Callable[[int], None] | None = None,
        on_rerun: Callable[[], None] | None = None,
        prefetch: Prefetch | None = None,
    ) -> None:
        self._engine = engine
        self._config = config or GroupCommitConfig()
        self._on_commit = on_commit
        self._on_rerun = on_rerun
        self._prefetch = prefetch
        self._queue: deque[_Queued[Any]] = deque()
        self._in_flight = 0
        self._turn = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        """Transactions committed (for measurement and tests)."""
        self.units = 0
        """Units committed in them."""
        self.reruns = 0
        """Batches run again after a deadlock or serialization failure."""

    async def run(
        self, key: Any, unit: Unit[T], alone: Callable[[], Awaitable[T]], *, request: Any = None
    ) -> T:
        """Run ``unit`` in the next batch and return its result once the batch has committed.

        ``key`` names what must not appear twice in one batch (the sender, the payout). ``alone``
        runs the same work in a transaction of its own; it gives the caller its outcome when the
        unit cannot commit with others (it raised, or the ledger refused its request). ``request``
        is what the prefetch is given for this unit.
        """
        queued: _Queued[T] = _Queued(key, unit, alone, request)
        self._queue.append(queued)
        self._start()
        return await queued.future

    @property
    def waiting(self) -> int:
        """Units queued for a batch slot."""
        return len(self._queue)

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
                await self._run()
        finally:
            self._in_flight -= 1

    def _take(self) -> list[_Queued[Any]]:
        """Everything queued (up to ``max_batch``), one unit per key, in key order."""
        take = self._config.max_batch
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

    async def _run(self) -> None:
        """Take a batch when its turn comes and commit it (less the units that cannot commit with
        others); settle every unit."""
        batch: list[_Queued[Any]] = []
        alone: list[_Queued[Any]] = []
        attempt = 0
        take = True
        while take or batch:
            try:
                results = await self._attempt(batch, take=take)
            except _UnitFailed as failed:
                batch.remove(failed.queued)
                alone.append(failed.queued)
                continue
            except Exception as error:
                attempt += 1
                if is_retryable(error) and attempt < self._config.max_attempts:
                    self.reruns += 1
                    if self._on_rerun is not None:
                        self._on_rerun()
                    await backoff(attempt)
                    continue
                # Not a unit's own failure (those are caught above): each unit alone finds out.
                alone.extend(batch)
                break
            finally:
                take = False
            if not batch:
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

    async def _attempt(self, batch: list[_Queued[Any]], *, take: bool) -> list[Any]:
        """One run of ``batch`` (with ``take``, first filled from the queue when its turn comes):
        its work during its turn, its commit after, while the next batch works."""
        async with AsyncExitStack() as connected:
            async with self._turn:
                if take:
                    batch.extend(self._take())
                    self._start()
                if not batch:
                    return []
                # Taken in the turn: a batch waiting for its turn holds no pooled connection.
                conn = await connected.enter_async_context(self._engine.connect())
                transaction = await conn.begin()
                results = await self._work(conn, batch)
            await transaction.commit()
        return results

    async def _work(self, conn: AsyncConnection, batch: Sequence[_Queued[Any]]) -> list[Any]:
        staged: list[tuple[_Queued[Any], LedgerRequest]] = []
        results: list[Any] = []
        async with self._staging(conn, staged):
            requests = [queued.request for queued in batch if queued.request is not None]
            # A unit alone reads for itself: as many statements, fewer of them.
            if self._prefetch is not None and len(requests) > 1:
                conn.info[_PREFETCHED] = await self._prefetch(conn, requests)
            for queued in batch:
                conn.info[_CURRENT] = queued
                try:
                    results.append(await queued.unit(conn))
                except Exception as error:
                    if is_retryable(error):
                        raise
                    raise _UnitFailed(queued) from error
        if staged:
            outcomes = await post_entries(conn, [request for _, request in staged])
            for (queued, _), outcome in zip(staged, outcomes, strict=True):
                if isinstance(outcome, LedgerError):
                    raise _UnitFailed(queued) from outcome
        return results

    @asynccontextmanager
    async def _staging(
        self, conn: AsyncConnection, staged: list[tuple[_Queued[Any], LedgerRequest]]
    ) -> AsyncIterator[None]:
        """Units' ledger requests kept in ``staged`` (and their rows collected) while it is open."""
        conn.info[_STAGED] = staged
        try:
            async with AsyncExitStack() as stack:
                if self._config.defer_inserts:
                    await stack.enter_async_context(deferred_inserts(conn))
                yield
        finally:
            # The info dict belongs to the pooled connection: never leave the markers behind.
            conn.info.pop(_STAGED, None)
            conn.info.pop(_CURRENT, None)
            conn.info.pop(_PREFETCHED, None)


def _settle(queued: _Queued[Any], ok: bool, value: Any) -> None:
    if queued.future.done():  # the caller gave up waiting
        return
    if ok:
        queued.future.set_result(value)
    else:
        queued.future.set_exception(value)
