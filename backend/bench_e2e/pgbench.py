"""The reference of the end-to-end figure: pgbench's TPC-B on the same PostgreSQL, in the same run.

``pgbench -i -s 10`` builds the TPC-B tables in a database of their own, then ``pgbench -M prepared
-c 16 -j 2 -T seconds`` measures transactions per second; the database is dropped afterwards.

It also reads what a TPC-B transaction costs in CPU: the whole machine's busy time over the run
(``/proc/stat``) and pgbench's own (its rusage), per transaction. pgbench keeps both cores busy, so
0.25 of its rate leaves each transfer four times the machine's CPU of one TPC-B transaction: the
budget the end-to-end figure's CPU per transfer is compared with (docs/performance.md).
"""

from __future__ import annotations

import os
import re
import resource
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from backend.bench_e2e.stack import PG_ADMIN, psql

__all__ = ["PgbenchResult", "children_cpu_seconds", "find_pgbench", "machine_busy_seconds", "run_pgbench"]

_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
_LATENCY = re.compile(r"^latency average = ([0-9.]+) ms", re.MULTILINE)
_PROCESSED = re.compile(r"^number of transactions actually processed: ([0-9]+)", re.MULTILINE)
_STAT = Path("/proc/stat")


@dataclass(frozen=True, slots=True)
class PgbenchResult:
    tps: float
    latency_ms: float
    command: str
    machine_cpu_ms: float | None = None
    """The whole machine's busy CPU per transaction (every process, pgbench's own included)."""
    client_cpu_ms: float | None = None
    """pgbench's own CPU per transaction; the rest of ``machine_cpu_ms`` is PostgreSQL's (and
    whatever else the shared machine ran)."""


def machine_busy_seconds() -> float | None:
    """CPU time the machine has spent busy since boot (all cores), from ``/proc/stat``."""
    try:
        fields = _STAT.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU time used so far by this process's children that have ended and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
        busy_before, client_before = machine_busy_seconds(), children_cpu_seconds()
        done = subprocess.run(  # noqa: S603
            [pgbench, *PG_ADMIN, *options, database],
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 120,
        )
        busy_after, client_after = machine_busy_seconds(), children_cpu_seconds()
    finally:
        psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    tps, latency = _TPS.search(done.stdout), _LATENCY.search(done.stdout)
    if tps is None or latency is None:
        raise RuntimeError(f"unexpected pgbench output: {done.stdout[-500:]}")
    command = f"pgbench -i -s {scale}; pgbench {' '.join(options)}"
    processed = _PROCESSED.search(done.stdout)
    machine_ms = client_ms = None
    if processed is not None and int(processed.group(1)) and busy_before is not None and busy_after:
        transactions = int(processed.group(1))
        machine_ms = round((busy_after - busy_before) * 1000 / transactions, 3)
        client_ms = round((client_after - client_before) * 1000 / transactions, 3)
    return PgbenchResult(float(tps.group(1)), float(latency.group(1)), command, machine_ms, client_ms)
