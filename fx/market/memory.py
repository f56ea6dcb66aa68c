"""Measuring what reading an RPW workbook costs in memory, each measurement in a fresh process.

Peak resident memory of a child process that does nothing but read the file is the honest figure:
it counts openpyxl, lxml and Python alike, which ``tracemalloc`` would not. It is read from Linux's
``VmHWM`` (the high-water mark of this process image) rather than ``ru_maxrss``, which keeps the
peak of the parent the child was forked from.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ReadMeasurement", "measure_read"]


@dataclass(frozen=True, slots=True)
class ReadMeasurement:
    """One read of one workbook."""

    rows: int
    """Service rows read."""
    peak_rss_mib: float
    """Peak resident memory of the reading process, MiB (Python itself included)."""
    seconds: float
    """Wall time of the read."""


def _read_in_child(path: str, streaming: bool) -> tuple[int, int, float]:
    started = time.perf_counter()
    if streaming:
        from fx.market.workbook import read_rpw_workbook

        rows = sum(1 for _ in read_rpw_workbook(Path(path)))
    else:
        from openpyxl import load_workbook

        from fx.market.workbook import DATASET_SHEET

        workbook = load_workbook(path, read_only=False, data_only=True)
        rows = workbook[DATASET_SHEET].max_row - 1
        workbook.close()
    return rows, _peak_kib(), time.perf_counter() - started


def _peak_kib() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_read(path: Path, *, streaming: bool = True) -> ReadMeasurement:
    """Read ``path`` in a fresh process, streaming (our importer) or loaded whole (the reference)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        rows, max_rss_kib, seconds = pool.apply(_read_in_child, (str(path), streaming))
    return ReadMeasurement(rows=rows, peak_rss_mib=round(max_rss_kib / 1024, 1), seconds=round(seconds, 2))
