"""Where our pilot's actual costs come from: a small interface over completed transfers.

The policy indicators need, for every completed pilot transfer, its corridor, quarter, amount in
USD and total cost % (RPW definition). The transfers capability owns those rows; it provides a
:class:`PilotCostSource` (a query over its table) and the application passes it in. Until then,
:class:`NoPilotCosts` says there are none, and tests use :class:`StaticPilotCosts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from fx.market.indicators import PilotTransferCost

__all__ = ["NoPilotCosts", "PilotCostSource", "StaticPilotCosts"]


class PilotCostSource(Protocol):
    """Completed pilot transfers with their RPW total cost."""

    async def completed_transfer_costs(
        self,
        connection: AsyncConnection,
        *,
        source_country: str | None = None,
        destination_country: str | None = None,
    ) -> Sequence[PilotTransferCost]:
        """Completed transfers, optionally of one corridor (ISO alpha-3 codes)."""
        ...


class NoPilotCosts:
    """No completed transfers yet (the default until the transfers capability provides a source)."""

    async def completed_transfer_costs(
        self,
        connection: AsyncConnection,
        *,
        source_country: str | None = None,
        destination_country: str | None = None,
    ) -> Sequence[PilotTransferCost]:
        return ()


class StaticPilotCosts:
    """A fixed list of transfers (tests, demos)."""

    def __init__(self, rows: Sequence[PilotTransferCost]) -> None:
        self.rows = tuple(rows)

    async def completed_transfer_costs(
        self,
        connection: AsyncConnection,
        *,
        source_country: str | None = None,
        destination_country: str | None = None,
    ) -> Sequence[PilotTransferCost]:
        return tuple(
            row
            for row in self.rows
            if (source_country is None or row.source_country == source_country)
            and (destination_country is None or row.destination_country == destination_country)
        )
