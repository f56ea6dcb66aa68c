"""Screening both parties of a transfer with the process's :class:`~compliance.screening.Screener`.

Fail safe: when no list is loaded yet the transfer is held for review, never waved through.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.metrics import SCREENING_SECONDS
from backend.transfers.checks import ScreeningVerdict
from compliance.screening import Screener, ScreeningNotReady, Subject, screen_subject

__all__ = ["ScreenerParties"]

_RANK = {"clear": 0, "review": 1, "hit": 2}


class ScreenerParties:
    """A :class:`~backend.transfers.checks.PartiesScreener` over one Screener."""

    def __init__(self, screener: Screener) -> None:
        self._screener = screener

    async def __call__(
        self, conn: AsyncConnection, sender: tuple[str, Subject], recipient: tuple[str, Subject]
    ) -> ScreeningVerdict:
        decision = "clear"
        reasons: list[dict[str, Any]] = []
        for role, (ref, subject) in (("sender", sender), ("recipient", recipient)):
            try:
                with SCREENING_SECONDS.time():
                    result, _ = await screen_subject(conn, self._screener, ref, subject, trigger="transfer")
            except ScreeningNotReady:
                return ScreeningVerdict(
                    "review", [{"reason": "no sanctions list is loaded; held until screening can run"}]
                )
            if _RANK[result.decision] > _RANK[decision]:
                decision = result.decision
            reasons += [{**reason, "party": role} for reason in result.alert_reasons()]
        return ScreeningVerdict(decision, reasons)  # type: ignore[arg-type]
