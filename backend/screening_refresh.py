"""Keep each process's sanctions index in step with the lists stored in the database.

``korpu compliance`` stores list snapshots; every app process screens with its own in-memory
:class:`~compliance.screening.Screener`. Without loading, a process screens against nothing, and
the transfer flow (fail safe) holds every transfer for review. At startup the app loads the
current lists, then checks every :data:`REFRESH_SECONDS` whether a newer snapshot was stored
(one cheap query of the list versions) and swaps the new index in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from litestar import Litestar

from compliance.screening import refresh_screener

__all__ = ["REFRESH_SECONDS", "start_screening_refresh", "stop_screening_refresh"]

REFRESH_SECONDS = 60.0
"""How often a process looks for newer stored lists."""
_TASK = "screening_refresh_task"

logger = logging.getLogger("korpu.screening")


async def _refresh(app: Litestar) -> None:
    async with app.state.engine.connect() as conn:
        if await refresh_screener(conn, app.state.screener):
            logger.info("screening lists loaded", extra={"lists": sorted(app.state.screener.list_versions)})


async def _keep_refreshing(app: Litestar) -> None:
    while True:
        await asyncio.sleep(REFRESH_SECONDS)
        try:
            await _refresh(app)
        except Exception:  # a database blip must not end the loop; the next round tries again
            logger.warning("screening lists not refreshed", exc_info=True)


async def start_screening_refresh(app: Litestar) -> None:
    """Startup hook: load the stored lists now, and keep looking for newer ones."""
    try:
        await _refresh(app)
    except Exception:  # the process still serves; transfers are held until the lists load
        logger.warning("screening lists not loaded at startup", exc_info=True)
    app.state[_TASK] = asyncio.create_task(_keep_refreshing(app))


async def stop_screening_refresh(app: Litestar) -> None:
    """Shutdown hook: stop the refresh loop."""
    task = app.state.get(_TASK)
    if isinstance(task, asyncio.Task):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
