"""CPU-time profiles of a running server process, taken on a signal (``korpu bench e2e --profile``).

With ``KORPU_PROFILE_DIR`` set, every server process profiles itself between a ``SIGUSR1`` (start)
and a ``SIGUSR2`` (stop), and writes ``server-<pid>.pstats`` into that folder (:mod:`pstats`
format). Without it nothing is installed and the signals keep their default meaning.

The profiler's clock is the thread's CPU time, not the wall clock. On a machine whose cores the
database shares, a wall-clock profile charges a function for the time the kernel gave another
process while that function waited to run again: a query sent wakes its PostgreSQL backend, which
takes the core, and asyncpg's send path then looked like a fifth of the server's work
(docs/performance.md, session 12). Deterministic profiling still slows Python code more than C
code, so shares are an estimate of where CPU goes, not of how fast the server is.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["START_SIGNAL", "STOP_SIGNAL", "SignalProfiler", "install_signal_profiler", "profile_path"]

START_SIGNAL = signal.SIGUSR1
"""Starts profiling (a second start while running is ignored)."""
STOP_SIGNAL = signal.SIGUSR2
"""Stops profiling and writes the profile (ignored when not running)."""


def profile_path(directory: Path, pid: int | None = None) -> Path:
    """Where the process ``pid`` (default: this one) writes its profile in ``directory``."""
    return directory / f"server-{os.getpid() if pid is None else pid}.pstats"


@dataclass
class SignalProfiler:
    """One process's profiler: :meth:`start` and :meth:`stop` (which writes the file)."""

    directory: Path
    """The folder the profile is written to."""
    _profile: cProfile.Profile | None = field(default=None, init=False)

    def start(self) -> None:
        if self._profile is not None:
            return
        self._profile = cProfile.Profile(time.thread_time)
        self._profile.enable()

    def stop(self) -> Path | None:
        """Stop and write the profile; its path, or ``None`` when nothing was running."""
        profile, self._profile = self._profile, None
        if profile is None:
            return None
        profile.disable()
        self.directory.mkdir(parents=True, exist_ok=True)
        path = profile_path(self.directory)
        # Written beside, then renamed: a reader polling for the file never sees half of it.
        partial = path.with_suffix(".partial")
        profile.dump_stats(str(partial))
        partial.replace(path)
        return path


def install_signal_profiler(directory: Path, loop: asyncio.AbstractEventLoop | None = None) -> SignalProfiler:
    """Start and stop a :class:`SignalProfiler` on ``START_SIGNAL``/``STOP_SIGNAL`` in ``loop``
    (the running one by default), so that the profile covers the event loop's thread."""
    profiler = SignalProfiler(directory)
    loop = loop or asyncio.get_running_loop()
    loop.add_signal_handler(START_SIGNAL, profiler.start)
    loop.add_signal_handler(STOP_SIGNAL, profiler.stop)
    return profiler
