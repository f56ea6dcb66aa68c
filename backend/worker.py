"""The outbox worker process: the composition root of every delivery channel.

``korpu worker`` builds one :class:`~backend.outbox.worker.OutboxWorker` with the ``webhook``,
``payout`` and ``push`` channels over one shared HTTP session (:mod:`backend.http_post`), and runs
it until SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import create_engine
from backend.http_post import AiohttpPoster, Poster
from backend.logs import configure_logging
from backend.outbox.delivery import Dispatcher
from backend.outbox.push import DevPushProvider, PushHandler, PushProvider
from backend.outbox.worker import OutboxWorker, WorkerConfig
from backend.partners.credentials import PartnerSecrets
from backend.partners.delivery import PayoutPushHandler, WebhookHandler
from backend.partners.directory import PartnerDirectory
from backend.partners.http import HttpPolicy, PartnerHttpClient
from backend.settings import Settings
from compliance.privacy import Sealer

__all__ = ["build_dispatcher", "run_worker"]

logger = logging.getLogger("korpu.worker")


def build_dispatcher(
    engine: AsyncEngine,
    settings: Settings,
    poster: Poster,
    *,
    push: PushProvider | None = None,
    policy: HttpPolicy | None = None,
) -> Dispatcher:
    """Every channel the outbox delivers to."""
    keys = PartnerSecrets(settings.secrets.secret_key, Sealer(settings.secrets.data_keys))
    http = PartnerHttpClient(poster, policy)
    partners = PartnerDirectory(engine, keys)
    return Dispatcher(
        {
            "webhook": WebhookHandler(partners, http),
            "payout": PayoutPushHandler(engine, keys, http, partners),
            "push": PushHandler(push or DevPushProvider()),
        }
    )


async def run_worker(settings: Settings, config: WorkerConfig, *, once: bool = False) -> int:
    """Run one worker until stopped (or one round with ``once``); return events attempted in that round."""
    configure_logging(settings.log_level)
    # Deliveries hold a connection only around their short statements, not while the receiver
    # answers, so half as many connections as deliveries serve them; past that a delivery waits for
    # one rather than opening a connection for a moment (each a new PostgreSQL backend).
    engine = create_engine(settings.database_url, pool_size=max(4, config.batch_size // 2), max_overflow=0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        # One kept-alive connection per delivery under way (backend.http_post: aiohttp, for its cost).
        async with AiohttpPoster(connections=config.batch_size) as poster:
            worker = OutboxWorker(engine, build_dispatcher(engine, settings, poster), config)
            if once:
                return await worker.run_once()
            logger.info("outbox worker started", extra={"workerId": worker.worker_id})
            await worker.run(stop)
            return 0
    finally:
        await engine.dispose()
