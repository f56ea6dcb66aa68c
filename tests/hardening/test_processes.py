"""Many processes: ``korpu serve --workers 2`` on PostgreSQL and Redis, beside a ``korpu worker``.

The server runs as a real subprocess on a free loopback port with the secrets an operator would
give every process. The test checks that it answers, that the sign-in rate limit (20 codes a
minute per client address) holds across both workers because its counters live in Redis (and
counts the client a trusted load balancer names, not the balancer), that
``/metrics`` adds up the requests of both workers whichever one answers the scrape, that an outbox
worker runs against the same database, and that SIGTERM stops everything cleanly.

Needs KORPU_TEST_DATABASE_URL and KORPU_TEST_REDIS_URL (CI sets both)::

    KORPU_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
    KORPU_TEST_REDIS_URL=redis://127.0.0.1:6379/15 \\
    .venv/bin/python -m pytest tests/hardening/test_processes.py
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as redis

from backend.settings import Settings
from tests.server_support import free_port, wait_until_serving
from tests.signin import next_phone

REDIS_URL = os.environ.get("KORPU_TEST_REDIS_URL")
ROOT = Path(__file__).resolve().parents[2]
OTP_PER_MINUTE = 20  # mobile_api/auth.py: _OTP_PER_IP

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(not REDIS_URL, reason="KORPU_TEST_REDIS_URL is not set"),
]


def _environment(settings: Settings, database_url: str, var_dir: Path, port: int) -> dict[str, str]:
    """What an operator sets on every process: the same database, Redis and secrets everywhere."""
    keys = settings.secrets

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode()

    return {
        **{name: value for name, value in os.environ.items() if not name.startswith("KORPU_")},
        "KORPU_ENV": "test",
        "KORPU_DATABASE_URL": database_url,
        "KORPU_REDIS_URL": str(REDIS_URL),
        "KORPU_VAR_DIR": str(var_dir),
        "KORPU_PORT": str(port),
        "KORPU_DEV_SMS_INBOX": "1",
        "KORPU_DB_POOL_SIZE": "5",
        "KORPU_TRUSTED_PROXIES": "127.0.0.1",  # the test client stands in for the load balancer
        "KORPU_SECRET_KEY": b64(keys.secret_key),
        "KORPU_DATA_KEYS": ",".join(f"{version}:{b64(key)}" for version, key in keys.data_keys.items()),
        "KORPU_LEDGER_SIGNING_KEY": b64(keys.ledger_signing_key),
    }


async def _forget_rate_limits() -> None:
    """Counters another run left in the test Redis database would count against this one."""
    client = redis.from_url(str(REDIS_URL))
    try:
        async for key in client.scan_iter(match="korpu*rate_limit_auth_otp*"):
            await client.delete(key)
    finally:
        await client.aclose()


@pytest.fixture
async def server(
    engine: object, settings: Settings, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[str, subprocess.Popen[bytes], dict[str, str]]]:
    await _forget_rate_limits()
    port = free_port()
    env = _environment(settings, database_url, tmp_path / "var", port)
    process = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve", "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            await wait_until_serving(client, process)
        yield url, process, env
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _requests_served(metrics: str, path: str) -> float:
    """Sum of the request counter's samples for ``path`` in a Prometheus text scrape."""
    pattern = re.compile(r"^korpu_requests_total\{([^}]*)\}\s+([0-9.e+]+)$", re.MULTILINE)
    return sum(float(value) for labels, value in pattern.findall(metrics) if f'path="{path}"' in labels)


async def test_two_workers_share_rate_limits_and_metrics_and_stop_cleanly(
    server: tuple[str, subprocess.Popen[bytes], dict[str, str]], tmp_path: Path
) -> None:
    url, process, env = server
    attempts = OTP_PER_MINUTE + 10
    # A new connection per request, so the kernel hands them to both workers.
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=10, limits=fresh) as client:
        assert (await client.get("/ready")).json()["status"] == "ok"
        statuses = [
            (await client.post("/v1/auth/otp", json={"phone": next_phone()})).status_code
            for _ in range(attempts)
        ]
        assert statuses.count(200) == OTP_PER_MINUTE, statuses  # one limit for both processes
        assert statuses.count(429) == attempts - OTP_PER_MINUTE
        # Behind a trusted balancer, another client has a limit of its own.
        another = await client.post(
            "/v1/auth/otp", json={"phone": next_phone()}, headers={"X-Forwarded-For": "198.18.7.7"}
        )
        assert another.status_code == 200, another.text

        samples = Path(env["KORPU_VAR_DIR"]) / "prometheus"
        writers = {
            match.group(1)
            for match in map(re.compile(r"_(\d+)\.db$").search, map(str, samples.iterdir()))
            if match
        }
        assert len(writers) >= 2, f"only {writers} served requests"
        scrapes = [(await client.get("/metrics")).text for _ in range(6)]
        assert {_requests_served(text, "/v1/auth/otp") for text in scrapes} == {float(attempts + 1)}

    worker = subprocess.run(
        [sys.executable, "-m", "backend.cli", "worker", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert worker.returncode == 0, worker.stderr.decode()[-2000:]
    assert b"event(s) attempted" in worker.stdout

    children = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(process.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert len(children) >= 2  # the two workers (multiprocessing may add a resource tracker)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    # The workers are joined before the server exits; multiprocessing's resource tracker only sees
    # the end of its pipe once the server has gone, so it may take a moment longer to leave.
    deadline = time.monotonic() + 10
    while (alive := [pid for pid in children if _running(pid)]) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not alive, f"processes {alive} outlived the server"


def _running(pid: str) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its reaper counts as gone)."""
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except (FileNotFoundError, ProcessLookupError):
        return False
