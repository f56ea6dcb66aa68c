"""What happens to the rest of the system when a partner confirms or fails a payout.

The transfer service implements :class:`PayoutOutcomeHandler` (post or void the ledger hold, refund,
tell the sender). Its methods run inside the same database transaction as the payout's status
change, on the same connection, so either both happen or neither does; they are called once per
payout, never for a repeated confirm or fail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

if TYPE_CHECKING:
    from backend.partners.payouts import Payout

__all__ = [
    "OutcomeHandlerMissing",
    "PayoutOutcomeHandler",
    "RecordingOutcomeHandler",
    "RefusingOutcomeHandler",
]

logger = logging.getLogger("korpu.partners.outcomes")


class PayoutOutcomeHandler(Protocol):
    """Reacts to the final outcome of a payout, top-up or cash-out, in the caller's transaction."""

    async def on_confirmed(self, conn: AsyncConnection, payout: Payout) -> None: ...

    async def on_failed(self, conn: AsyncConnection, payout: Payout, reason: str) -> None: ...


@dataclass
class RecordingOutcomeHandler:
    """Development and tests: remembers the outcomes and logs their ids."""

    confirmed: list[str] = field(default_factory=list)
    """Ids of confirmed payouts, in order."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """``(id, reason)`` of failed payouts, in order."""

    async def on_confirmed(self, conn: AsyncConnection, payout: Payout) -> None:
        self.confirmed.append(payout.id)
        logger.info("payout confirmed", extra={"payoutId": payout.id, "reference": payout.reference})

    async def on_failed(self, conn: AsyncConnection, payout: Payout, reason: str) -> None:
        self.failed.append((payout.id, reason))
        logger.info("payout failed", extra={"payoutId": payout.id, "reference": payout.reference})


class OutcomeHandlerMissing(Exception):
    """Production without a wired handler: refusing keeps the payout open instead of losing the posting."""

    code = "outcome_handler_missing"
    status = 503


class RefusingOutcomeHandler:
    """The production default until the transfer service is wired: every outcome is refused (503)."""

    async def on_confirmed(self, conn: AsyncConnection, payout: Payout) -> None:
        raise OutcomeHandlerMissing("payout outcomes cannot be booked yet; try again later")

    async def on_failed(self, conn: AsyncConnection, payout: Payout, reason: str) -> None:
        raise OutcomeHandlerMissing("payout outcomes cannot be booked yet; try again later")
