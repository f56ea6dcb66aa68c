"""Drive ``POST /v1/transfers`` with wrk (a C load generator, far lighter than the server it loads).

wrk runs the package's ``send.lua`` over a plan file (see :func:`backend.bench_e2e.world.write_plan`)
and keeps ``connections`` requests in flight for ``seconds``; :func:`run_wrk` returns what its
``done()`` printed. Debian's ``wrk`` is installed with apt-get when missing (the bench machine is
ours; nothing else is fetched).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["WrkResult", "ensure_wrk", "run_wrk"]


@dataclass(frozen=True, slots=True)
class WrkResult:
    """What one wrk run measured."""

    seconds: float
    requests: int
    created: int
    """Requests answered 201."""
    errors: int
    """Every request that was not a 201: 4xx, 5xx, socket errors and timeouts."""
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    exhausted: bool
    """A wrk thread ran out of planned transfers before the time was up (the rate is then low)."""
    raw: dict[str, Any]

    @property
    def transfers_per_second(self) -> float:
        return self.created / self.seconds if self.seconds else 0.0

    @property
    def error_rate(self) -> float:
        attempts = self.requests + self.raw["socketErrors"] + self.raw["timeouts"]
        return self.errors / attempts if attempts else 0.0


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package if it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)  # noqa: S607
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and apt-get could not install it")
    return found


def _script(workdir: Path) -> Path:
    path = workdir / "send.lua"
    path.write_text(resources.files("backend.bench_e2e").joinpath("send.lua").read_text())
    return path


def run_wrk(
    url: str,
    plan: Path,
    *,
    run_id: str,
    seconds: int,
    connections: int,
    threads: int,
    workdir: Path,
) -> WrkResult:
    """Load ``url`` with the plan for ``seconds``; raises if wrk fails or prints no result."""
    argv = [
        ensure_wrk(),
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(_script(workdir)),
        url,
        "--",
        str(plan),
        run_id,
        str(threads),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=seconds + 120)  # noqa: S603
    (workdir / "wrk.out").write_text(done.stdout + done.stderr)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout[-500:]}")
    raw: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
    return WrkResult(
        seconds=raw["durationUs"] / 1e6,
        requests=raw["requests"],
        created=raw["created"],
        errors=raw["requests"] - raw["created"] + raw["socketErrors"] + raw["timeouts"],
        p50_ms=raw["p50Us"] / 1000,
        p90_ms=raw["p90Us"] / 1000,
        p99_ms=raw["p99Us"] / 1000,
        max_ms=raw["maxUs"] / 1000,
        exhausted=raw["threadsExhausted"] > 0,
        raw=raw,
    )
