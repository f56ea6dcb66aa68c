"""Prometheus metrics at ``/metrics``: request latency (Litestar's middleware) and business gauges.

With several server processes (``korpu serve --workers N``), ``korpu serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder under ``var/`` before the workers start, and the
endpoint aggregates every process's samples.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "GROUP_COMMIT_RERUNS",
    "GROUP_COMMIT_UNITS",
    "OUTBOX_LAG_SECONDS",
    "SCREENING_SECONDS",
    "TRANSFERS",
    "MetricsController",
    "prometheus_config",
    "scrape_hooks",
]

TRANSFERS = Counter("korpu_transfers_total", "Transfers reaching a status", ["status"])
SCREENING_SECONDS = Histogram(
    "korpu_screening_seconds",
    "Time to screen one name",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
)
GROUP_COMMIT_UNITS = Histogram(
    "korpu_group_commit_units",
    "Requests committed in one transaction by group commit (work: create, payout_outcome)",
    ["work"],
    buckets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64),
)
GROUP_COMMIT_RERUNS = Counter(
    "korpu_group_commit_reruns_total",
    "Group-commit batches run again after a deadlock or serialization failure (work: create, payout_outcome)",
    ["work"],
)
OUTBOX_LAG_SECONDS = Gauge(
    "korpu_outbox_lag_seconds", "Age of the oldest undelivered outbox event", multiprocess_mode="max"
)

scrape_hooks: list[Callable[[State], Awaitable[None]]] = []
"""Async functions run before each scrape to refresh gauges read from the database."""


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="korpu",
        prefix="korpu",
        group_path=True,  # label by route template, not by raw path: ids would explode cardinality
        exclude=["^/metrics", "^/health", "^/ready"],
    )


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False

    @get(include_in_schema=False)
    async def get(self, state: State) -> Response[Any]:  # type: ignore[override]
        for hook in scrape_hooks:
            await hook(state)
        return await PrometheusController.get.fn(self)  # type: ignore[no-any-return]
