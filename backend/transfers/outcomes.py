"""Routes a partner's payout outcome to whoever asked for the payout: a transfer or a wallet operation."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.partners.payouts import Payout, PayoutKind
from backend.transfers.service import TransferService
from backend.transfers.wallet import WalletService

__all__ = ["PayoutOutcomes"]


class PayoutOutcomes:
    """The app's :class:`~backend.partners.outcomes.PayoutOutcomeHandler`."""

    def __init__(self, transfers: TransferService, wallets: WalletService) -> None:
        self._transfers = transfers
        self._wallets = wallets

    async def on_confirmed(self, conn: AsyncConnection, payout: Payout) -> None:
        if payout.kind is PayoutKind.PAYOUT:
            await self._transfers.on_confirmed(conn, payout)
        else:
            await self._wallets.on_payout_outcome(conn, payout, confirmed=True)

    async def on_failed(self, conn: AsyncConnection, payout: Payout, reason: str) -> None:
        if payout.kind is PayoutKind.PAYOUT:
            await self._transfers.on_failed(conn, payout, reason)
        else:
            await self._wallets.on_payout_outcome(conn, payout, confirmed=False)
