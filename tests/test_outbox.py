"""The transactional outbox: events exist only if their transaction commits, arrive in order per stream,
are retried with backoff, dead-lettered and re-driven with the same id, and many workers never
deliver one event at the same time."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.clock import utcnow
from backend.outbox.admin import EventNotDead, count_by_status, list_events, redrive
from backend.outbox.delivery import DeliveryDeferred, DeliveryFailed, Dispatcher
from backend.outbox.events import OutboxEvent, StoredEvent, enqueue
from backend.outbox.tables import outbox_events
from backend.outbox.worker import OutboxWorker, WorkerConfig, backoff_delay
from tests.statements import statements_run

FAST = WorkerConfig(base_delay_seconds=0, max_attempts=3, poll_interval_seconds=0.01)


class Recorder:
    """A receiver that records what it got and fails on demand."""

    def __init__(self) -> None:
        self.received: list[StoredEvent] = []
        self.failures: dict[str, int] = {}
        self.down = False

    async def deliver(self, event: StoredEvent) -> None:
        if self.down:
            raise DeliveryFailed("receiver answered 503")
        if self.failures.get(event.id, 0) > 0:
            self.failures[event.id] -= 1
            raise DeliveryFailed("receiver answered 500")
        self.received.append(event)


def worker(engine: AsyncEngine, recorder: Recorder, config: WorkerConfig = FAST) -> OutboxWorker:
    return OutboxWorker(engine, Dispatcher({"webhook": recorder}), config)


async def add(engine: AsyncEngine, aggregate: str, topic: str, destination: str = "webhook:ptn_1") -> str:
    async with engine.begin() as conn:
        return await enqueue(conn, OutboxEvent("transfer", aggregate, topic, destination, {"n": topic}))


async def drain(w: OutboxWorker, rounds: int = 20) -> None:
    for _ in range(rounds):
        if not await w.run_once():
            return


async def test_an_event_of_a_rolled_back_transaction_is_never_delivered(engine: AsyncEngine) -> None:
    class Boom(Exception):
        pass

    async def enqueue_then_fail() -> None:
        async with engine.begin() as conn:
            await enqueue(conn, OutboxEvent("transfer", "tr_1", "transfer.created", "webhook:ptn_1"))
            raise Boom

    with pytest.raises(Boom):
        await enqueue_then_fail()
    recorder = Recorder()
    await drain(worker(engine, recorder))
    assert recorder.received == []


async def test_a_stream_is_delivered_in_sequence_even_when_its_head_fails_first(engine: AsyncEngine) -> None:
    first = await add(engine, "tr_1", "transfer.created")
    await add(engine, "tr_1", "transfer.paid")
    await add(engine, "tr_1", "transfer.settled")
    await add(engine, "tr_2", "transfer.created")  # another stream is not held back
    recorder = Recorder()
    recorder.failures[first] = 2
    await drain(worker(engine, recorder))
    by_stream = defaultdict(list)
    for event in recorder.received:
        by_stream[event.aggregate_id].append((event.sequence, event.topic))
    assert by_stream["tr_1"] == [(1, "transfer.created"), (2, "transfer.paid"), (3, "transfer.settled")]
    assert recorder.received[0].aggregate_id == "tr_2"  # delivered while tr_1 was retrying
    assert [e.attempts for e in recorder.received if e.id == first] == [3]


async def test_retry_delays_grow_exponentially_with_jitter_and_a_ceiling() -> None:
    config = WorkerConfig(base_delay_seconds=2, max_delay_seconds=60)
    rng = random.Random(7)
    for attempts, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (10, 60)]:
        delays = [backoff_delay(attempts, config, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 100  # jittered, so retries of many events do not stampede


async def test_a_failed_attempt_is_scheduled_later_with_its_error_kept(engine: AsyncEngine) -> None:
    event_id = await add(engine, "tr_1", "transfer.created")
    recorder = Recorder()
    recorder.down = True
    before = utcnow()
    await worker(engine, recorder, WorkerConfig(base_delay_seconds=30)).run_once()
    async with engine.connect() as conn:
        row = (
            (await conn.execute(select(outbox_events).where(outbox_events.c.id == event_id))).mappings().one()
        )
    assert row["status"] == "pending"
    assert row["attempts"] == 1
    assert row["last_error"] == "receiver answered 503"
    next_at = row["next_attempt_at"].replace(tzinfo=before.tzinfo)
    assert before + timedelta(seconds=14) < next_at < before + timedelta(seconds=31)


async def test_after_n_failures_an_event_is_dead_its_stream_waits_and_redrive_delivers_it_with_the_same_id(
    engine: AsyncEngine,
) -> None:
    head = await add(engine, "tr_1", "transfer.created")
    await add(engine, "tr_1", "transfer.paid")
    recorder = Recorder()
    recorder.down = True
    w = worker(engine, recorder)
    await drain(w)
    async with engine.connect() as conn:
        dead, _ = await list_events(conn, "dead")
        assert [(e.id, e.attempts, e.last_error) for e in dead] == [(head, 3, "receiver answered 503")]
        assert await count_by_status(conn) == {"pending": 1, "delivered": 0, "dead": 1}

    recorder.down = False
    await drain(w)
    assert recorder.received == []  # the later event waits behind the dead one

    async with engine.begin() as conn:
        await redrive(conn, head)
        with pytest.raises(EventNotDead):
            await redrive(conn, head)
    await drain(w)
    assert [e.topic for e in recorder.received] == ["transfer.created", "transfer.paid"]
    assert recorder.received[0].id == head
    async with engine.connect() as conn:
        assert await count_by_status(conn) == {"pending": 0, "delivered": 2, "dead": 0}


async def test_an_unknown_channel_is_dead_at_once(engine: AsyncEngine) -> None:
    await add(engine, "tr_1", "transfer.created", destination="carrier-pigeon:ptn_1")
    await drain(worker(engine, Recorder()))
    async with engine.connect() as conn:
        dead, _ = await list_events(conn, "dead")
    assert [(e.attempts, e.last_error) for e in dead] == [(1, "no handler for channel 'carrier-pigeon'")]


async def test_a_deferred_delivery_costs_no_attempt(engine: AsyncEngine) -> None:
    event_id = await add(engine, "tr_1", "transfer.created")

    class OpenCircuit:
        async def deliver(self, event: StoredEvent) -> None:
            raise DeliveryDeferred("circuit open", utcnow() + timedelta(seconds=30))

    await OutboxWorker(engine, Dispatcher({"webhook": OpenCircuit()}), FAST).run_once()
    async with engine.connect() as conn:
        row = (
            (await conn.execute(select(outbox_events).where(outbox_events.c.id == event_id))).mappings().one()
        )
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 0, "circuit open")
    assert await worker(engine, Recorder()).run_once() == 0  # not due yet


async def test_an_outcome_recorded_after_the_lease_was_lost_is_ignored(engine: AsyncEngine) -> None:
    event_id = await add(engine, "tr_1", "transfer.created")
    slow_worker = worker(engine, Recorder())
    (claimed,) = await slow_worker.claim()
    # The lease ends and another worker takes the event over.
    async with engine.begin() as conn:
        await conn.execute(update(outbox_events).values(locked_until=utcnow() - timedelta(seconds=1)))
    other = Recorder()
    assert await worker(engine, other).run_once() == 1
    await slow_worker._deliver(claimed)  # the first worker finally reports
    async with engine.connect() as conn:
        row = (
            (await conn.execute(select(outbox_events).where(outbox_events.c.id == event_id))).mappings().one()
        )
    assert (row["status"], row["attempts"]) == ("delivered", 2)
    assert [e.id for e in other.received] == [event_id]


async def test_deliveries_that_finish_together_are_marked_delivered_in_one_statement(
    engine: AsyncEngine,
) -> None:
    """Each mark was a commit of its own (a wait for the disk); a busy worker now commits once for
    the deliveries that finish together, and each is still marked only once it is delivered."""
    ids = [await add(engine, f"tr_{n}", "transfer.created") for n in range(8)]
    async with statements_run(engine) as sent:
        assert await worker(engine, Recorder()).run_once() == 8
    marks = [s for s in sent if s.upper().startswith("UPDATE OUTBOX_EVENTS SET STATUS")]
    assert len(marks) == 1
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(outbox_events.c.id, outbox_events.c.status, outbox_events.c.locked_by))
        ).all()
    assert sorted(rows) == sorted((event_id, "delivered", None) for event_id in ids)


async def test_a_failed_mark_leaves_the_events_leased_for_redelivery(engine: AsyncEngine) -> None:
    event_id = await add(engine, "tr_1", "transfer.created")
    recorder = Recorder()
    first = worker(engine, recorder)

    async def broken_write(*_: Any) -> None:
        raise ConnectionError("database went away")

    first._delivered._write = broken_write  # type: ignore[method-assign]
    assert await first.run_once() == 1  # the failure is logged, not raised
    async with engine.begin() as conn:
        row = (
            (await conn.execute(select(outbox_events).where(outbox_events.c.id == event_id))).mappings().one()
        )
        assert (row["status"], row["locked_by"]) == ("pending", first.worker_id)
        await conn.execute(update(outbox_events).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert await worker(engine, recorder).run_once() == 1  # delivered again, same id, once the lease ends
    assert [e.id for e in recorder.received] == [event_id, event_id]


@pytest.mark.parametrize("mode", ["rounds", "continuous"])
async def test_several_workers_never_deliver_one_event_at_the_same_time(
    engine: AsyncEngine, mode: str
) -> None:
    streams, per_stream = 12, 4
    async with engine.begin() as conn:
        for s in range(streams):
            for n in range(per_stream):
                await enqueue(conn, OutboxEvent("transfer", f"tr_{s}", f"t{n}", "webhook:ptn_1"))

    in_flight: set[str] = set()
    overlaps: list[str] = []
    deliveries: dict[str, int] = defaultdict(int)
    order: dict[str, list[int]] = defaultdict(list)

    class SlowReceiver:
        async def deliver(self, event: StoredEvent) -> None:
            if event.id in in_flight:
                overlaps.append(event.id)
            in_flight.add(event.id)
            await asyncio.sleep(0.005)
            in_flight.discard(event.id)
            deliveries[event.id] += 1
            order[event.aggregate_id].append(event.sequence)

    config = WorkerConfig(batch_size=5, poll_interval_seconds=0.01)
    workers = [
        OutboxWorker(engine, Dispatcher({"webhook": SlowReceiver()}), config, worker_id=f"w{i}")
        for i in range(4)
    ]

    async def rounds(w: OutboxWorker) -> None:
        idle = 0
        while idle < 3:
            idle = idle + 1 if not await w.run_once() else 0
            await asyncio.sleep(0)

    async def continuous(w: OutboxWorker) -> None:
        stop = asyncio.Event()
        running = asyncio.ensure_future(w.run(stop))
        while sum(deliveries.values()) < streams * per_stream and not running.done():
            await asyncio.sleep(0.01)
        stop.set()
        await running

    run = rounds if mode == "rounds" else continuous
    await asyncio.wait_for(asyncio.gather(*(run(w) for w in workers)), timeout=50)
    assert overlaps == []
    assert len(deliveries) == streams * per_stream
    assert set(deliveries.values()) == {1}
    assert all(seqs == list(range(1, per_stream + 1)) for seqs in order.values())


async def test_a_slow_delivery_holds_up_only_its_own_slot(engine: AsyncEngine) -> None:
    """A running worker keeps claiming while one receiver hangs: later events are delivered meanwhile."""
    await add(engine, "tr_slow", "transfer.created")
    release = asyncio.Event()
    delivered: list[str] = []

    class OneSlowReceiver:
        async def deliver(self, event: StoredEvent) -> None:
            if event.aggregate_id == "tr_slow":
                await release.wait()
            delivered.append(event.aggregate_id)

    w = OutboxWorker(
        engine,
        Dispatcher({"webhook": OneSlowReceiver()}),
        WorkerConfig(batch_size=4, poll_interval_seconds=0.01),
    )
    stop = asyncio.Event()
    running = asyncio.ensure_future(w.run(stop))
    try:
        await asyncio.sleep(0.1)  # the slow one is under way
        for n in range(3):
            await add(engine, f"tr_{n}", "transfer.created")

        async def others_delivered() -> None:
            while len(delivered) < 3:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(others_delivered(), timeout=10)
        assert sorted(delivered) == ["tr_0", "tr_1", "tr_2"]  # while tr_slow still hangs
    finally:
        release.set()
        stop.set()
        await asyncio.wait_for(running, timeout=10)
    assert delivered[-1] == "tr_slow"

    async with engine.connect() as conn:
        statuses = (await conn.execute(select(outbox_events.c.status))).scalars().all()
    assert statuses == ["delivered"] * 4


async def test_the_outbox_lag_gauge_shows_the_oldest_undelivered_event(
    http: Any, engine: AsyncEngine
) -> None:
    async with engine.begin() as conn:
        await enqueue(
            conn, OutboxEvent("transfer", "tr_1", "t", "webhook:ptn_1"), now=utcnow() - timedelta(seconds=90)
        )
    metrics = (await http.get("/metrics")).text
    (line,) = [x for x in metrics.splitlines() if x.startswith("korpu_outbox_lag_seconds ")]
    assert 89 < float(line.split()[1]) < 200
