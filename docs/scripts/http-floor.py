"""The HTTP stack's floor: the server's CPU per request for ``GET /health`` (no database), through
the same ``korpu serve --workers 2`` and middleware as the transfer benchmark, with wrk keeping 16
requests in flight for 15 s after a 3-s warm-up. What a transfer costs the server beyond this is
its own work. Needs wrk and the PostgreSQL of the benchmark (127.0.0.1:5432, trust auth); makes
and drops its own database. Run from the repository root:

    .venv/bin/python docs/scripts/http-floor.py [PATH]

Session 12 (docs/performance.md): 6,353-7,051 requests/s, 0.2-0.3 ms of the server's CPU a
request (two runs), where a created transfer cost the server 4.5-5.6 ms the same hour.
"""

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

from backend.bench_e2e.cpu import cpu_ms_per_transfer, cpu_snapshot
from backend.bench_e2e.loadgen import ensure_wrk
from backend.bench_e2e.stack import Stack, StackConfig

SECONDS = 15


async def main(path: str) -> None:
    wrk = ensure_wrk()
    stack = Stack(StackConfig(), Path(tempfile.mkdtemp(prefix="korpu-floor-")))
    try:
        stack.create_database()
        stack.define("server", "serve", "--workers", "2")
        stack.start("server")
        await stack.wait_http(stack.api_url + "/health", process="server")
        url = stack.api_url + path
        # Blocking is fine: the server runs in its own processes and nothing else is on this loop.
        subprocess.run([wrk, "-t2", "-c16", "-d3", url], capture_output=True, check=True)  # noqa: ASYNC221, S603
        before = cpu_snapshot(stack)
        out = subprocess.run(  # noqa: ASYNC221, S603
            [wrk, "-t2", "-c16", f"-d{SECONDS}", url], capture_output=True, text=True, check=True
        ).stdout
        after = cpu_snapshot(stack)
        served = int(next(line for line in out.splitlines() if "requests in" in line).split()[0])
        per_request = cpu_ms_per_transfer(before, after, served)
        print(f"{path}: {served / SECONDS:.1f} requests/s, CPU ms per request {per_request}")
    finally:
        stack.close()
        stack.remove_workdir()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "/health"))
