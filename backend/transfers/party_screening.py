"""Screening both parties of a transfer with the process's :class:`~compliance.screening.Screener`.

Fail safe: when no list is loaded yet the transfer is held for review, never waved through
(:func:`backend.screening.screen_parties` decides ``review`` then). The two screening records join
the new transfer's one ``INSERT`` (:mod:`backend.deferred_inserts`); nothing in the creation reads
them back.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.deferred_inserts import insert_row
from backend.metrics import SCREENING_SECONDS
from backend.screening import screen_parties
from backend.transfers.checks import ScreeningVerdict
from compliance.screening import Screener, Subject

__all__ = ["ScreenerParties"]


class ScreenerParties:
    """A :class:`~backend.transfers.checks.PartiesScreener` over one Screener."""

    def __init__(self, screener: Screener) -> None:
        self._screener = screener

    async def __call__(
        self, conn: AsyncConnection, sender: tuple[str, Subject], recipient: tuple[str, Subject]
    ) -> ScreeningVerdict:
        with SCREENING_SECONDS.time():
            screening = await screen_parties(conn, self._screener, sender, recipient, insert_row=insert_row)
        return ScreeningVerdict(screening.decision, screening.reasons)
