"""The partners an outbox worker delivers to, with their signing secrets, kept for a few seconds.

Every payout instruction and every webhook needs its partner's URLs and webhook secrets; read from
the database each time, that was a statement (and the secrets' decryption) per delivery, two or
three per transfer, for rows that change a few times a year. A worker keeps what it read for
``lifetime_seconds`` (5 s): a partner's new URL or rotated secret reaches its deliveries at most
that much later. A rotation keeps the previous secret valid for a grace period of hours
(:func:`backend.partners.service.rotate_webhook_secret`), so messages signed during those seconds
still verify.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import reading
from backend.partners.credentials import PartnerSecrets
from backend.partners.service import Partner, partner_for_delivery

__all__ = ["PartnerDirectory"]


@dataclass(slots=True)
class PartnerDirectory:
    """Partners and their signing secrets by id, each read at most once per ``lifetime_seconds``."""

    engine: AsyncEngine
    """Where partners live."""
    keys: PartnerSecrets
    """Opens the webhook secrets."""
    lifetime_seconds: float = 5.0
    """How long a partner read from the database is used before it is read again."""
    clock: Callable[[], float] = time.monotonic
    """Seconds, for the lifetime (tests pass their own)."""
    _known: dict[str, tuple[float, Partner, list[str]]] = field(default_factory=dict, init=False, repr=False)

    async def get(self, partner_id: str) -> tuple[Partner, list[str]]:
        """The partner and the secrets to sign a message to it; raises ``PartnerNotFound``."""
        now = self.clock()
        known = self._known.get(partner_id)
        if known is not None and known[0] > now:
            return known[1], known[2]
        async with reading(self.engine) as conn:
            partner, secrets = await partner_for_delivery(conn, partner_id, self.keys)
        self._known[partner_id] = (now + self.lifetime_seconds, partner, secrets)
        return partner, secrets
