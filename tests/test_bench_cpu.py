"""``korpu bench e2e`` reports the CPU each process role spent per transfer: the arithmetic, and a
real busy process seen through /proc."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.bench_e2e.cpu import cpu_ms_per_transfer, cpu_snapshot, postgres_bound_ratio
from backend.bench_e2e.pgbench import children_cpu_seconds, machine_busy_seconds
from backend.bench_e2e.stack import Process, Stack, StackConfig


def test_each_roles_cpu_time_is_divided_by_the_transfers() -> None:
    hz = os.sysconf("SC_CLK_TCK")
    before = {"server": {10: 100, 11: 50}, "postgres": {20: 10}}
    # Server process 10 used 2 s, 11 nothing; PostgreSQL backend 20 used 1 s and backend 21 (new) 1 s.
    after = {"server": {10: 100 + 2 * hz, 11: 50}, "postgres": {20: 10 + hz, 21: hz}}
    figures = cpu_ms_per_transfer(before, after, transfers=100)
    assert figures == {"server": 20.0, "postgres": 20.0, "total": 40.0}
    assert cpu_ms_per_transfer(before, after, transfers=0) == {}
    assert cpu_ms_per_transfer({}, after, transfers=100) == {}


def test_figures_keep_a_hundredth_of_a_millisecond() -> None:
    """PostgreSQL's share is about a millisecond a transfer: tenths would hide a 5% change."""
    hz = os.sysconf("SC_CLK_TCK")
    before = {"postgres": {20: 0}}
    after = {"postgres": {20: 107 * hz}}  # 107 s over 100,000 transfers: 1.07 ms each
    assert cpu_ms_per_transfer(before, after, transfers=100_000)["postgres"] == 1.07


def test_the_postgres_bound_ratio_compares_postgres_work_alone() -> None:
    """TPC-B cost the machine 0.34 ms, 0.07 of it pgbench's own: PostgreSQL 0.27 ms a transaction.
    At 1.08 ms of PostgreSQL a transfer, PostgreSQL alone allows a quarter of pgbench's rate."""
    assert postgres_bound_ratio(0.34, 0.07, 1.08) == 0.25
    assert postgres_bound_ratio(0.34, 0.07, 0.54) == 0.5
    assert postgres_bound_ratio(None, 0.07, 1.08) is None
    assert postgres_bound_ratio(0.34, None, 1.08) is None
    assert postgres_bound_ratio(0.34, 0.07, None) is None


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux /proc")
def test_a_busy_process_of_the_stack_shows_its_cpu(tmp_path: Path) -> None:
    stack = Stack(StackConfig(), tmp_path)
    busy = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
    busy += "time.sleep(30)"
    process = Process("worker", [sys.executable, "-c", busy], tmp_path / "worker.log")
    before = cpu_snapshot(stack)  # the worker is not running yet
    process.popen = subprocess.Popen(process.argv)
    stack.processes["worker"] = process
    try:
        time.sleep(1.5)
        after = cpu_snapshot(stack)
    finally:
        process.popen.kill()
        process.popen.wait()
    figures = cpu_ms_per_transfer(before, after, transfers=1)
    assert figures["worker"] >= 300  # about 400 ms of busy loop, counted from zero
    assert "postgres" in figures and "server" not in figures


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads Linux /proc")
def test_the_reference_counts_the_machines_and_its_clients_cpu() -> None:
    busy_before, children_before = machine_busy_seconds(), children_cpu_seconds()
    busy = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
    subprocess.run([sys.executable, "-c", busy], check=True)
    busy_after, children_after = machine_busy_seconds(), children_cpu_seconds()
    assert busy_before is not None and busy_after is not None
    assert children_after - children_before >= 0.35  # the child's busy loop, once it has ended
    assert busy_after - busy_before >= 0.35  # the machine was busy at least that long


def test_requests_per_commit_come_from_the_group_commit_histogram() -> None:
    """The benchmark reads the same exposition /metrics serves (several label values, other metrics)."""
    from prometheus_client import CollectorRegistry, Histogram, generate_latest

    from backend.bench_e2e.e2e import commit_totals, per_commit

    registry = CollectorRegistry()
    units = Histogram("korpu_group_commit_units", "units per commit", ["work"], registry=registry)
    Histogram("korpu_other", "another histogram", ["work"], registry=registry).labels(work="create").observe(
        99
    )
    for size in (1, 3):
        units.labels(work="create").observe(size)
    before = commit_totals(generate_latest(registry).decode())
    for size in (4, 4, 1):
        units.labels(work="create").observe(size)
    units.labels(work="payout_outcome").observe(5)
    after = commit_totals(generate_latest(registry).decode())
    assert before == {"create": (4.0, 2.0)}
    assert per_commit(before, after) == {"create": 3.0, "payout_outcome": 5.0}
    assert per_commit(after, after) == {"create": None, "payout_outcome": None}
