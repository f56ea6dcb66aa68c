"""Delivery handlers: one per channel (``webhook``, ``payout``, ``push``), chosen by an event's destination.

A handler returns normally when the receiver has the event. It raises :class:`DeliveryFailed` to be
retried later with backoff (``permanent=True`` dead-letters at once, for an event that can never be
delivered as it stands), or :class:`DeliveryDeferred` when it did not even try (a circuit breaker is
open): the attempt is not counted and the event waits until the given time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from backend.outbox.events import StoredEvent

__all__ = ["DeliveryDeferred", "DeliveryFailed", "DeliveryHandler", "Dispatcher"]


class DeliveryFailed(Exception):
    """The receiver did not take the event; ``str(exc)`` is stored as ``last_error`` (no personal data)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class DeliveryDeferred(Exception):
    """Not attempted; try again at ``until`` without counting an attempt."""

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


class DeliveryHandler(Protocol):
    """Delivers events of one channel."""

    async def deliver(self, event: StoredEvent) -> None: ...


@dataclass(frozen=True, slots=True)
class Dispatcher:
    """Routes an event to the handler of its channel."""

    handlers: Mapping[str, DeliveryHandler]
    """Handler by channel name (the part of ``destination`` before the colon)."""

    async def deliver(self, event: StoredEvent) -> None:
        handler = self.handlers.get(event.channel)
        if handler is None:
            raise DeliveryFailed(f"no handler for channel {event.channel!r}", permanent=True)
        await handler.deliver(event)
