"""The reference of the end-to-end figure: pgbench's TPC-B on the same PostgreSQL, in the same run.

``pgbench -i -s 10`` builds the TPC-B tables in a database of their own, then ``pgbench -M prepared
-c 16 -j 2 -T seconds`` measures transactions per second; the database is dropped afterwards.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from backend.bench_e2e.stack import PG_ADMIN, psql

__all__ = ["PgbenchResult", "find_pgbench", "run_pgbench"]

_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
_LATENCY = re.compile(r"^latency average = ([0-9.]+) ms", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class PgbenchResult:
    tps: float
    latency_ms: float
    command: str


def find_pgbench() -> str:
    """pgbench from PATH, else PostgreSQL 15's own folder."""
    for candidate in (shutil.which("pgbench"), "/usr/lib/postgresql/15/bin/pgbench"):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("pgbench not found (Debian: apt-get install postgresql-client-15)")


def run_pgbench(seconds: int = 30, *, scale: int = 10, clients: int = 16, threads: int = 2) -> PgbenchResult:
    """TPC-B at ``scale`` for ``seconds``; the scratch database is dropped whatever happens."""
    pgbench = find_pgbench()
    database = f"korpu_pgbench_{os.getpid()}_{secrets.token_hex(3)}"
    psql(f'CREATE DATABASE "{database}"')
    try:
        subprocess.run(  # noqa: S603
            [pgbench, *PG_ADMIN, "-i", "-q", "-s", str(scale), database],
            check=True,
            capture_output=True,
            timeout=600,
        )
        options = ["-M", "prepared", "-c", str(clients), "-j", str(threads), "-T", str(seconds)]
        done = subprocess.run(  # noqa: S603
            [pgbench, *PG_ADMIN, *options, database],
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 120,
        )
    finally:
        psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    tps, latency = _TPS.search(done.stdout), _LATENCY.search(done.stdout)
    if tps is None or latency is None:
        raise RuntimeError(f"unexpected pgbench output: {done.stdout[-500:]}")
    command = f"pgbench -i -s {scale}; pgbench {' '.join(options)}"
    return PgbenchResult(float(tps.group(1)), float(latency.group(1)), command)
