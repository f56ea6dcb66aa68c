"""Liveness and readiness probes for operators and load balancers."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State

from backend.db import reading
from backend.migrate import current_revision, head_revision

__all__ = ["HealthController"]


class HealthController(Controller):
    path = ""
    tags = ["operations"]

    @get("/health", summary="Alive", description="200 while the process serves requests.")
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @get(
        "/ready",
        summary="Ready",
        description="200 when the database answers and its migrations are current; 503 otherwise.",
    )
    async def ready(self, state: State) -> Response[dict[str, Any]]:
        head = head_revision()
        try:
            async with reading(state.engine) as connection:
                current = await current_revision(connection)
        except Exception:  # the probe reports, it does not raise
            return Response({"status": "unavailable", "database": "unreachable"}, status_code=503)
        if current != head:
            return Response(
                {
                    "status": "unavailable",
                    "database": "ok",
                    "migrations": "behind",
                    "current": current,
                    "head": head,
                },
                status_code=503,
            )
        return Response({"status": "ok", "database": "ok", "migrations": "current", "revision": current})
