"""Where a benchmark's CPU went: each process role's CPU time over the measured window (Linux /proc).

The whole-flow load saturates the machine, so the rate is set by what each transfer costs all the
processes together: the server creating and confirming it, PostgreSQL, the outbox worker, the mock
bank. :func:`cpu_snapshot` reads the user and system time of the stack's processes (with the
server's worker processes) and of every PostgreSQL process on the machine;
:func:`cpu_ms_per_transfer` turns two snapshots into milliseconds of CPU per transfer created, and
:func:`postgres_bound_ratio` says what ratio to pgbench PostgreSQL's share alone would allow.
A process that ends inside the window takes its time with it, so the figures are a lower bound.
Where /proc is missing (not Linux), both return nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from backend.bench_e2e.stack import Stack

__all__ = [
    "ROLES",
    "CpuSnapshot",
    "cpu_ms_per_transfer",
    "cpu_snapshot",
    "postgres_bound_ratio",
    "process_ticks",
]

ROLES = ("server", "worker", "bank")
"""The stack's processes, by the name :class:`~backend.bench_e2e.stack.Stack` gives them."""

CpuSnapshot = dict[str, dict[int, int]]
"""Clock ticks of CPU time used so far, per role, per process id."""

_PROC = Path("/proc")


def process_ticks(pid: int) -> int | None:
    """Clock ticks of CPU time (user and system) process ``pid`` has used; ``None`` once it is gone."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime
    return None


def _postgres_pids() -> Iterable[int]:
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().startswith(("postgres", "postmaster")):
                    yield int(entry.name)


def cpu_snapshot(stack: Stack) -> CpuSnapshot:
    """CPU ticks used so far by the server (with its worker processes), the outbox worker, the mock
    bank and every PostgreSQL process."""
    if not _PROC.is_dir():
        return {}
    pids: dict[str, list[int]] = {"postgres": list(_postgres_pids())}
    for role in ROLES:
        process = stack.processes.get(role)
        if process is None or process.popen is None or not process.running:
            continue
        pids[role] = [process.popen.pid, *stack.children(role)]
    snapshot: CpuSnapshot = {}
    for role, members in pids.items():
        snapshot[role] = {pid: ticks for pid in members if (ticks := process_ticks(pid)) is not None}
    return snapshot


def cpu_ms_per_transfer(before: CpuSnapshot, after: CpuSnapshot, transfers: int) -> dict[str, float]:
    """Milliseconds of CPU per transfer, per role, between two snapshots (a process that appeared in
    between counts from zero)."""
    if not before or not after or transfers <= 0:
        return {}
    per_tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    figures: dict[str, float] = {}
    for role, now in after.items():
        earlier = before.get(role, {})
        used = sum(ticks - earlier.get(pid, 0) for pid, ticks in now.items())
        figures[role] = round(used * per_tick_ms / transfers, 2)
    figures["total"] = round(sum(figures.values()), 2)
    return figures


def postgres_bound_ratio(
    pgbench_machine_ms: float | None, pgbench_client_ms: float | None, postgres_ms: float | None
) -> float | None:
    """The ratio to pgbench that PostgreSQL's own work per transfer allows, whatever the servers
    cost: PostgreSQL's CPU per TPC-B transaction (the machine's, less pgbench's own) over its CPU
    per transfer. It is the ratio the run would show if both loads had the machine's cores for
    PostgreSQL alone (servers, workers and load generators on machines of their own); ``None``
    when a figure is missing."""
    if not pgbench_machine_ms or pgbench_client_ms is None or not postgres_ms:
        return None
    return round((pgbench_machine_ms - pgbench_client_ms) / postgres_ms, 3)
