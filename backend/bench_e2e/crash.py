"""``korpu bench crash``: kill -9 the server and the outbox worker under load, then check the books.

The stack and the senders are made as for ``korpu bench e2e``. Then ``concurrency`` clients send
transfers for ``seconds`` while a chaos task, every ``seconds / kills``, ``kill -9``s in turn: one
uvicorn worker process (uvicorn starts a new one), the outbox worker (restarted a second later),
the whole server (restarted), and the server with the outbox worker (both restarted). Clients
behave like the mobile app: a request that got no answer (connection refused or reset, a 5xx, a
409 ``idempotency_key_in_use``) is retried with the same Idempotency-Key and body until it is
answered, and every 2xx is recorded (key, transfer id, quote). After the load the stack is left to
drain (outbox empty, every payout settled or still on its way), then
:func:`backend.bench_e2e.invariants.check_invariants` and ``korpu ledger verify`` decide.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.bench_e2e.e2e import drain, load_average, start_stack
from backend.bench_e2e.invariants import Acknowledged, check_invariants
from backend.bench_e2e.stack import Stack, StackConfig
from backend.bench_e2e.world import DEFAULT_LISTS, PlannedTransfer, make_quotes, prepare_senders, wait_funded
from backend.db import create_engine
from compliance.privacy import Sealer
from ledger.money import Money

__all__ = ["CrashConfig", "run_crash"]

CHAOS = ("server-worker", "outbox-worker", "server", "server+outbox-worker")
"""What each kill takes down, in turn."""


@dataclass(frozen=True, slots=True)
class CrashConfig:
    """One crash test."""

    stack: StackConfig
    """Server processes, pool size, log level."""
    seconds: int = 60
    """How long clients send transfers."""
    kills: int = 8
    """kill -9 events spread over the load (they cycle through :data:`CHAOS`)."""
    concurrency: int = 16
    """Clients sending at once."""
    senders: int = 40
    """Signed-in, funded senders."""
    transfers: int = 6000
    """Quotes made: the most transfers the run may send."""
    drain_seconds: int = 120
    """How long to wait after the load for the outbox and the bank to finish."""
    lists: tuple[str, ...] = DEFAULT_LISTS
    """Sanctions lists (``format:path``) both parties are screened against."""


@dataclass
class _Clients:
    """What the clients saw."""

    acknowledged: list[Acknowledged] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    """Why requests were sent again: ``connection``, a 5xx status, or ``409 idempotency_key_in_use``."""
    unanswered: int = 0


async def _send_one(
    http: httpx.AsyncClient, item: PlannedTransfer, seen: _Clients, give_up_at: float
) -> None:
    key = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {item.sender.access_token}", "Idempotency-Key": key}
    body = {"quoteId": item.quote_id, "recipientId": item.sender.recipient_id}
    while True:
        try:
            response = await http.post("/v1/transfers", json=body, headers=headers)
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code in (200, 201):
            transfer_id = str(response.json()["id"])
            seen.acknowledged.append(Acknowledged(key, item.sender.customer_id, transfer_id, item.quote_id))
            return
        retryable = response is None or response.status_code >= 500 or _in_use(response)
        if response is not None and not retryable:
            seen.refused[_code(response)] += 1
            return
        if time.monotonic() > give_up_at:
            seen.unanswered += 1
            return
        seen.retries["connection" if response is None else _code(response)] += 1
        await asyncio.sleep(random.uniform(0.1, 0.5))


def _in_use(response: httpx.Response) -> bool:
    return response.status_code == 409 and _code(response) == "idempotency_key_in_use"


def _code(response: httpx.Response) -> str:
    with contextlib.suppress(ValueError, KeyError, TypeError):
        return f"{response.status_code} {response.json()['code']}"
    return str(response.status_code)


async def _clients(
    url: str, planned: list[PlannedTransfer], config: CrashConfig, stop_at: float, give_up_at: float
) -> _Clients:
    seen = _Clients()
    queue = list(reversed(planned))

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=15) as http:
            while queue and time.monotonic() < stop_at:
                await _send_one(http, queue.pop(), seen, give_up_at)

    await asyncio.gather(*(client() for _ in range(config.concurrency)))
    return seen


async def _chaos(stack: Stack, config: CrashConfig, say: Any) -> list[dict[str, Any]]:
    done: list[dict[str, Any]] = []
    interval = config.seconds / (config.kills + 1)
    for number in range(config.kills):
        await asyncio.sleep(interval)
        what = CHAOS[number % len(CHAOS)]
        at = round(interval * (number + 1), 1)
        if what == "server-worker":
            victims = stack.children("server")
            if victims:
                os.kill(random.choice(victims), signal.SIGKILL)
        if what in ("outbox-worker", "server+outbox-worker"):
            stack.kill("worker")
        if what in ("server", "server+outbox-worker"):
            stack.kill("server")
        await asyncio.sleep(1.0)
        for name in ("worker", "server"):
            stack.start(name)
        await stack.wait_http(f"{stack.api_url}/ready", process="server", within=90)
        done.append({"at": at, "killed": what})
        say(f"{at:6.1f} s  kill -9 {what}; back up")
    return done


def _ledger_verify(stack: Stack) -> int:
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "ledger", "verify"],
        env=stack.env(),
        cwd=stack.workdir,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    (stack.workdir / "ledger-verify.out").write_text(done.stdout + done.stderr)
    return done.returncode


async def run_crash(config: CrashConfig, *, say: Any = print) -> dict[str, Any]:
    """Run the crash test; ``result["ok"]`` is whether every invariant held."""
    workdir = Path(tempfile.mkdtemp(prefix="korpu-crash-"))
    stack = Stack(config.stack, workdir)
    engine: AsyncEngine | None = None
    ok = False
    try:
        stack.create_database()
        engine = create_engine(stack.database_url, pool_size=4)
        await start_stack(stack, engine, config.lists, callback_attempts=60)
        senders = await prepare_senders(
            stack.api_url, engine, config.senders, Money(Decimal("400000.00"), "RUB")
        )
        await wait_funded(engine, config.senders)
        planned = await make_quotes(engine, stack.settings(), senders, config.transfers)
        say(f"prepared {len(senders)} senders and {len(planned)} quotes; load for {config.seconds} s")
        load_before = load_average()
        started = time.monotonic()
        stop_at = started + config.seconds
        clients = asyncio.create_task(_clients(stack.api_url, planned, config, stop_at, stop_at + 60))
        kills = await _chaos(stack, config, say)
        seen = await clients
        load_seconds = time.monotonic() - started
        left = await drain(engine, config.drain_seconds)
        async with httpx.AsyncClient(base_url=stack.bank_url, timeout=30) as bank:
            bank_payouts = (await bank.get("/_mock/payouts")).json()
        for name in ("server", "worker", "bank"):
            stack.stop(name)
        async with engine.connect() as conn:
            report = await check_invariants(
                conn, seen.acknowledged, bank_payouts, sealer=Sealer(stack.settings().secrets.data_keys)
            )
        verify_exit = _ledger_verify(stack)
        if verify_exit != 0:
            report.violations.append(f"korpu ledger verify exited {verify_exit}")
        result = {
            "ok": report.ok,
            "acknowledged": len(seen.acknowledged),
            "transfersPerSecond": round(len(seen.acknowledged) / load_seconds, 1),
            "refused": dict(seen.refused),
            "retries": dict(seen.retries),
            "unanswered": seen.unanswered,
            "kills": kills,
            "restarts": {name: p.starts - 1 for name, p in stack.processes.items()},
            "leftAfterDrain": left,
            "ledgerVerifyExit": verify_exit,
            "invariants": report.to_json(),
            "seconds": config.seconds,
            "concurrency": config.concurrency,
            "serverWorkers": config.stack.server_workers,
            "loadAverage": load_before,
        }
        ok = report.ok
        return result
    finally:
        if engine is not None:
            await engine.dispose()
        stack.close()
        if ok:
            stack.remove_workdir()
        else:
            say(f"logs kept in {workdir}")
