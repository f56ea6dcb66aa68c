"""CPU-time profiles on a signal (``backend.profiling``, ``korpu bench e2e --profile``): a profile
counts CPU, not waiting; a real ``korpu serve`` writes one between the two signals; the phases the
benchmark reports still name functions of the code."""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import CodeType

import httpx
import pytest

from backend.bench_e2e.profile import PHASES, area, summarize
from backend.bench_e2e.stack import Stack, StackConfig
from backend.profiling import START_SIGNAL, STOP_SIGNAL, install_signal_profiler, profile_path
from backend.settings import Settings
from tests.server_support import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[1]


def _spin(seconds: float) -> None:
    """Busy in its own code for ``seconds`` of CPU (the clock read only now and then)."""
    end = time.thread_time() + seconds
    total = 0
    while time.thread_time() < end:
        for number in range(20_000):
            total += number * number


async def _wait_for(path: Path, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} was not written"
        await asyncio.sleep(0.02)


async def test_a_profile_counts_cpu_time_not_time_spent_waiting(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    install_signal_profiler(tmp_path, loop)
    try:
        os.kill(os.getpid(), START_SIGNAL)
        await asyncio.sleep(0.05)  # the handler runs on the loop
        _spin(0.15)
        await asyncio.sleep(0.6)  # waiting, as a request waits for PostgreSQL: no CPU
        os.kill(os.getpid(), STOP_SIGNAL)
        await _wait_for(profile_path(tmp_path))
    finally:
        loop.remove_signal_handler(START_SIGNAL)
        loop.remove_signal_handler(STOP_SIGNAL)
    summary = summarize([profile_path(tmp_path)])
    assert summary is not None
    # A wall clock would count the 0.6 s of waiting too.
    assert 0.1 <= summary["cpuSeconds"] < 0.45
    assert "_spin" in summary["ownTime"][0]["function"]
    # By part of the code: the test's own function leads, and the shares cover the whole profile.
    by_area = summary["ownTimeByArea"]
    assert next(iter(by_area)) == "tests"
    assert sum(by_area.values()) == pytest.approx(1.0, abs=0.01)


def test_functions_are_grouped_by_the_part_of_the_code_they_belong_to() -> None:
    import asyncpg

    from backend.transfers import service

    assert area(service.__file__) == "backend/transfers"
    assert area(str(ROOT / "backend" / "app.py")) == "backend (top level)"
    assert area(str(ROOT / "ledger" / "journal.py")) == "ledger"
    assert area(asyncpg.__file__) == "asyncpg"
    assert area(asyncio.__file__) == "Python standard library"
    assert area("~") == "C functions (built-ins, extensions)"


def test_no_profile_gives_no_summary() -> None:
    assert summarize([]) is None


def _code_names(code: CodeType) -> Iterator[str]:
    yield code.co_name
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            yield from _code_names(constant)


@pytest.mark.parametrize("phase", PHASES, ids=lambda phase: phase.label.strip())
def test_each_reported_phase_names_a_function_of_the_code(phase: object) -> None:
    from backend.bench_e2e.profile import Phase

    assert isinstance(phase, Phase)
    module = importlib.import_module(phase.module)
    assert module.__file__ is not None and module.__file__.endswith(phase.file_suffix)
    source = Path(module.__file__).read_text()
    names = set(_code_names(compile(source, module.__file__, "exec")))
    assert phase.function in names, f"{phase.module} has no function {phase.function}"


def test_the_profile_folder_reaches_the_servers_settings(tmp_path: Path) -> None:
    stack = Stack(StackConfig(profile_dir=tmp_path / "profiles"), tmp_path)
    assert Settings.from_env(stack.env()).profile_dir == tmp_path / "profiles"
    assert Stack(StackConfig(), tmp_path).settings().profile_dir is None


async def test_a_running_server_writes_its_profile_between_the_two_signals(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("KORPU_")},
        "KORPU_ENV": "test",
        "KORPU_VAR_DIR": str(tmp_path / "var"),
        "KORPU_PORT": str(port),
        "KORPU_PROFILE_DIR": str(tmp_path / "profiles"),
    }
    subprocess.run([sys.executable, "-m", "backend.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            await wait_until_serving(client, process)
            written = profile_path(tmp_path / "profiles", process.pid)
            process.send_signal(START_SIGNAL)
            for _ in range(50):
                assert (await client.get("/health")).status_code == 200
            assert not written.exists()  # nothing is written before the stop
            process.send_signal(STOP_SIGNAL)
            await _wait_for(written)
            # Still serving: the signals only start and stop the profiler.
            assert (await client.get("/health")).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    summary = summarize([written])
    assert summary is not None
    assert summary["cpuSeconds"] > 0
    # The requests were profiled (not only the moment of the signals).
    assert summary["phases"]["HTTP requests (outside the batches)"] is not None
