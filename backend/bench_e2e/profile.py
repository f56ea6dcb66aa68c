"""Where the server's CPU went during the measured load (``korpu bench e2e --profile DIR``).

The benchmark sends the server's worker processes :data:`backend.profiling.START_SIGNAL` as the
measured load starts and :data:`backend.profiling.STOP_SIGNAL` as it ends
(:func:`signal_servers`); each writes a CPU-time profile (:mod:`backend.profiling`).
:func:`summarize` merges them into the share of the profiled CPU each phase of a transfer took
(:data:`PHASES`, cumulative: a phase includes what it calls), the share each part of the code
spent in its own functions (:func:`area`), and the functions that spent the most in their own code.

Cumulative figures are blurred where code awaits SQLAlchemy's asyncio API: it switches greenlets,
which :mod:`cProfile` does not see, so other tasks' work that runs meanwhile is counted inside
the awaiting function too (the phases of creation alone add up to about 103%, a whole-flow
profile's far more). Time in a function's own code is not blurred that way: read
``ownTimeByArea`` first.
"""

from __future__ import annotations

import os
import pstats
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.bench_e2e.stack import Stack
from backend.profiling import profile_path

__all__ = ["PHASES", "Phase", "area", "collect_profiles", "signal_servers", "summarize"]


@dataclass(frozen=True, slots=True)
class Phase:
    """A function whose cumulative CPU stands for one phase of serving a transfer."""

    label: str
    """How the summary names the phase."""
    module: str
    """The function's module, dotted (``backend.group_commit``)."""
    function: str
    """Its name as the profiler records it (``_drain``; a method without its class)."""

    @property
    def file_suffix(self) -> str:
        return self.module.replace(".", "/") + ".py"


PHASES: tuple[Phase, ...] = (
    Phase("HTTP requests (outside the batches)", "uvicorn.protocols.http.httptools_impl", "run_asgi"),
    Phase("  sign-in check (token, session read)", "backend.identity.guards", "_principal"),
    Phase("  the handler (parse, call, reply)", "litestar.routes.http", "_call_handler_function"),
    Phase("group-commit batches", "backend.group_commit", "_drain"),
    Phase("  reads ahead for the batch", "backend.transfers.prefetch", "__call__"),
    Phase("  each transfer's own work", "backend.transfers.service", "unit"),
    Phase("    checks: limits, screening, monitoring", "backend.transfers.checks", "run_checks"),
    Phase("    monitoring history read", "compliance.monitoring.history", "read_history"),
    Phase("    payout instruction", "backend.partners.payouts", "create_payout"),
    Phase("  the batch's one INSERT", "backend.deferred_inserts", "_write"),
    Phase("  the ledger call", "ledger.journal", "post_entries"),
)
"""The phases :func:`summarize` reports (tests check that each still names a function)."""


def signal_servers(stack: Stack, sig: int) -> list[int]:
    """Send ``sig`` to the server's worker processes (not to uvicorn's supervisor); their pids."""
    pids = stack.children("server")
    for pid in pids:
        os.kill(pid, sig)
    return pids


def collect_profiles(directory: Path, pids: Sequence[int], *, within: float = 15.0) -> list[Path]:
    """The profiles the processes ``pids`` wrote into ``directory`` (waiting up to ``within`` s)."""
    wanted = [profile_path(directory, pid) for pid in pids]
    deadline = time.monotonic() + within
    while not all(path.exists() for path in wanted) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [path for path in wanted if path.exists()]


_ROOT = Path(__file__).resolve().parents[2]


def area(filename: str) -> str:
    """The part of the code a profiled function's file belongs to: a package of this project
    (``backend`` one level down), an installed distribution, the standard library, or C."""
    if filename == "~" or filename.startswith("<"):
        return "C functions (built-ins, extensions)"
    path = Path(filename)
    if "site-packages" in path.parts:
        installed = path.parts[path.parts.index("site-packages") + 1 :]
        return installed[0].removesuffix(".py") if installed else "site-packages"
    try:
        parts = path.resolve().relative_to(_ROOT).parts
    except ValueError:
        return "Python standard library"
    if parts[0] == "backend":
        return f"backend/{parts[1]}" if len(parts) > 2 else "backend (top level)"
    return parts[0]


def _matches(key: tuple[str, int, str], phase: Phase) -> bool:
    filename, _, name = key
    return name == phase.function and filename.endswith(phase.file_suffix)


def summarize(paths: Iterable[Path], *, top: int = 12) -> dict[str, Any] | None:
    """Phases' shares of the profiled CPU, own CPU by part of the code, and the ``top`` functions
    by their own CPU; ``None`` when no profile was written."""
    found = [str(path) for path in paths]
    if not found:
        return None
    stats = pstats.Stats(*found)
    table: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(own for _, _, own, _, _ in table.values())
    if total <= 0:
        return None

    def share(seconds: float) -> float:
        return round(seconds / total, 3)

    phases: dict[str, float | None] = {}
    for phase in PHASES:
        cumulative = [entry[3] for key, entry in table.items() if _matches(key, phase)]
        phases[phase.label] = share(max(cumulative)) if cumulative else None
    by_own = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:top]
    by_area: dict[str, float] = {}
    for (filename, _, _), entry in table.items():
        part = area(filename)
        by_area[part] = by_area.get(part, 0.0) + entry[2]
    return {
        "note": "shares of the profiled CPU; a profiled run is several times slower, so its rate and "
        "CPU per transfer are not comparable with an unprofiled run's",
        "processes": len(found),
        "cpuSeconds": round(total, 2),
        "phases": phases,
        "ownTimeByArea": {
            name: share(seconds) for name, seconds in sorted(by_area.items(), key=lambda item: -item[1])
        },
        "ownTime": [
            {"function": f"{Path(key[0]).name}:{key[1]}({key[2]})", "share": share(entry[2])}
            for key, entry in by_own
        ],
        "files": found,
    }
