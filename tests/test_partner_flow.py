"""End to end with the mock partner bank on loopback: push payouts confirmed and failed by its rule,
signed webhooks, the partner going down and coming back (nothing lost, repeats keep their webhook-id),
pull mode, and the HTTP client's retries and circuit breaker."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.app import create_app
from backend.clock import utcnow
from backend.http_post import AiohttpPoster
from backend.outbox.admin import count_by_status
from backend.outbox.worker import OutboxWorker, WorkerConfig
from backend.partners.http import CallFailed, CircuitOpen, HttpPolicy, PartnerHttpClient
from backend.partners.mock_bank import MockBank, MockBankConfig
from backend.partners.outcomes import RecordingOutcomeHandler
from backend.partners.tables import partner_payouts
from backend.settings import Settings
from backend.worker import build_dispatcher
from tests.partner_support import make_partner, make_payout, serve

FAST_WORKER = WorkerConfig(base_delay_seconds=0, max_attempts=10)
FAST_HTTP = HttpPolicy(tries=1, connect_timeout_seconds=2, read_timeout_seconds=5, breaker_threshold=100)


@dataclass
class World:
    engine: AsyncEngine
    settings: Settings
    bank: MockBank
    partner_id: str
    outcomes: RecordingOutcomeHandler
    worker: OutboxWorker

    async def deliver_everything(self, rounds: int = 10) -> None:
        for _ in range(rounds):
            await self.bank.wait_idle()
            if not await self.worker.run_once():
                await self.bank.wait_idle()
                if not await self.worker.run_once():
                    return

    async def statuses(self) -> dict[str, str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(partner_payouts.c.reference, partner_payouts.c.status))
            return {reference: status for reference, status in rows}


async def _world(engine: AsyncEngine, settings: Settings, mode: str) -> AsyncIterator[World]:
    bank = MockBank(MockBankConfig(api_url="", key_id="", api_secret="", webhook_secret=""))
    async with serve(bank.app()) as bank_url:
        options = {"payout_mode": mode, "webhook_url": f"{bank_url}/webhooks"}
        if mode == "push":
            options["payout_url"] = f"{bank_url}/payouts"
        partner, key, webhook_secret = await make_partner(engine, settings, **options)
        app = create_app(settings, engine=engine)
        outcomes = RecordingOutcomeHandler()
        app.state.payout_outcomes = outcomes
        async with serve(app) as api_url, AiohttpPoster(connections=8) as poster:
            bank.config = MockBankConfig(
                api_url, key.key_id, key.secret, webhook_secret, callback_delay_seconds=0
            )
            worker = OutboxWorker(
                engine, build_dispatcher(engine, settings, poster, policy=FAST_HTTP), FAST_WORKER
            )
            yield World(engine, settings, bank, partner.id, outcomes, worker)
            await bank.wait_idle()
    await bank.aclose()


@pytest.fixture
async def push_world(engine: AsyncEngine, settings: Settings) -> AsyncIterator[World]:
    async for world in _world(engine, settings, "push"):
        yield world


@pytest.fixture
async def pull_world(engine: AsyncEngine, settings: Settings) -> AsyncIterator[World]:
    async for world in _world(engine, settings, "pull"):
        yield world


async def test_pushed_payouts_are_confirmed_or_failed_by_the_banks_rule(push_world: World) -> None:
    w = push_world
    ok = await make_payout(w.engine, w.settings, w.partner_id, "TR-OK", "100.00")
    bad = await make_payout(w.engine, w.settings, w.partner_id, "TR-BAD", "20.13")
    await w.deliver_everything()
    assert await w.statuses() == {"TR-OK": "confirmed", "TR-BAD": "failed"}
    assert w.outcomes.confirmed == [ok]
    assert w.outcomes.failed == [(bad, "beneficiary account closed")]
    assert w.bank.outcomes == {ok: "confirmed", bad: "failed: beneficiary account closed"}
    instructions = list(w.bank.instructions.values())
    assert {i["data"]["reference"] for i in instructions} == {"TR-OK", "TR-BAD"}
    assert instructions[0]["data"]["beneficiary"]["name"] == "Leyla Mammadova"  # unsealed only on the wire
    assert sorted(m["type"] for m in w.bank.webhooks.values()) == ["payout.confirmed", "payout.failed"]
    async with w.engine.connect() as conn:
        assert await count_by_status(conn) == {"pending": 0, "delivered": 4, "dead": 0}


async def test_a_partner_that_is_down_misses_nothing_and_sees_the_same_webhook_id_on_every_try(
    push_world: World,
) -> None:
    w = push_world
    w.bank.available = False
    payout_id = await make_payout(w.engine, w.settings, w.partner_id, "TR-1", "55.00")
    for _ in range(3):
        await w.worker.run_once()
    assert await w.statuses() == {"TR-1": "pending"}
    assert len(w.bank.seen_ids) == 3
    assert len(set(w.bank.seen_ids)) == 1  # one message, tried three times under one id

    w.bank.available = True
    await w.deliver_everything()
    assert await w.statuses() == {"TR-1": "confirmed"}
    assert w.outcomes.confirmed == [payout_id]
    assert list(w.bank.instructions) == [w.bank.seen_ids[0]]  # delivered, and kept, once
    # The crash test's evidence: three tries of one instruction count as one request to pay.
    assert w.bank.payout_report() == {
        payout_id: {"reference": "TR-1", "instructions": 1, "outcome": "confirmed"}
    }
    assert w.bank.state()["duplicatePayouts"] == []
    async with w.engine.connect() as conn:
        assert (await count_by_status(conn))["pending"] == 0


async def test_a_pull_partner_polls_and_settles(pull_world: World) -> None:
    w = pull_world
    ok = await make_payout(w.engine, w.settings, w.partner_id, "TR-OK", "10.00")
    bad = await make_payout(w.engine, w.settings, w.partner_id, "TR-BAD", "7.13")
    assert await w.bank.poll_once() == 2
    assert await w.bank.poll_once() == 0
    assert await w.statuses() == {"TR-OK": "confirmed", "TR-BAD": "failed"}
    assert (w.outcomes.confirmed, w.outcomes.failed) == ([ok], [(bad, "beneficiary account closed")])
    await w.deliver_everything()
    assert sorted(m["type"] for m in w.bank.webhooks.values()) == [
        "payout.confirmed",
        "payout.created",
        "payout.created",
        "payout.failed",
    ]


async def test_the_client_retries_transient_errors_then_succeeds() -> None:
    answers = iter([503, 502, 200])
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["webhook-id"])
        return httpx.Response(next(answers))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as raw:
        client = PartnerHttpClient(raw, HttpPolicy(tries=3, retry_base_seconds=0.001))
        response = await client.post("ptn_1", "https://bank.example/w", b"{}", {"webhook-id": "msg_1"})
    assert response == 200
    assert calls == ["msg_1"] * 3


async def test_a_client_error_is_not_retried_within_the_call() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(400)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as raw:
        client = PartnerHttpClient(raw, HttpPolicy(tries=3, retry_base_seconds=0.001))
        with pytest.raises(CallFailed, match="partner answered 400"):
            await client.post("ptn_1", "https://bank.example/w", b"{}", {})
    assert len(calls) == 1


async def test_the_circuit_opens_after_repeated_failures_and_a_trial_closes_it() -> None:
    up = False
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if not up:
            raise httpx.ConnectError("refused")
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as raw:
        client = PartnerHttpClient(raw, HttpPolicy(tries=1, breaker_threshold=3, breaker_cooldown_seconds=60))
        for _ in range(3):
            with pytest.raises(CallFailed, match="connection failed"):
                await client.post("ptn_1", "https://bank.example/w", b"{}", {})
        with pytest.raises(CircuitOpen):
            await client.post("ptn_1", "https://bank.example/w", b"{}", {})
        assert len(calls) == 3  # the open circuit did not call
        assert client.breaker.state("ptn_2", utcnow()) == "closed"  # other partners are unaffected

        # After the cool-down one trial call goes through; its success closes the circuit.
        assert client.breaker.state("ptn_1", utcnow() + timedelta(seconds=61)) == "half-open"
        client.breaker._circuits["ptn_1"].open_until = utcnow() - timedelta(seconds=1)
        up = True
        await client.post("ptn_1", "https://bank.example/w", b"{}", {})
        assert client.breaker.state("ptn_1", utcnow()) == "closed"


async def test_a_pushed_instruction_the_bank_accepted_is_marked_sent_until_it_answers(
    push_world: World,
) -> None:
    w = push_world
    w.bank.config = dataclasses.replace(w.bank.config, callback_delay_seconds=1.0)
    payout_id = await make_payout(w.engine, w.settings, w.partner_id, "TR-SLOW", "30.00")
    await w.worker.run_once()
    # Read from another connection: the mark is committed, not waiting in the worker's.
    assert await w.statuses() == {"TR-SLOW": "sent"}
    await w.deliver_everything()
    assert await w.statuses() == {"TR-SLOW": "confirmed"}
    assert w.outcomes.confirmed == [payout_id]
