"""Wallets: balances and history from the ledger, top-ups and cash-outs through a partner bank.

A top-up asks the partner to collect money from the customer (at a branch or by bank transfer,
quoting our reference); when the partner confirms, one entry moves the amount from the partner's
receivable to the wallet. A cash-out first reserves the amount (a pending entry from the wallet
to the partner's payable), then asks the partner to pay it to the customer's own bank account or
card; the partner's confirmation posts the hold, a failure voids it.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.chart import customer_wallet, partner_payable, partner_receivable
from backend.group_commit import post_last
from backend.idempotency import claim, fingerprint, store_reply
from backend.identity.keys import PersonalData
from backend.identity.profiles import load_profile
from backend.partners.payouts import Beneficiary, Payout, PayoutKind, PayoutRequest, create_payout
from backend.partners.tables import partners
from backend.transfers.entries import AccountOpener
from backend.transfers.tables import wallet_operations
from compliance.privacy import Sealer
from ledger.balances import balance, history
from ledger.journal import post_entry
from ledger.model import (
    Balance,
    EntryRequest,
    HistoryItem,
    HistoryPage,
    Phase,
    PostPendingRequest,
    Side,
    VoidPendingRequest,
)
from ledger.money import Money
from ledger.tables import accounts

__all__ = ["CashoutDestination", "WalletOperation", "WalletService"]

CASHOUT_HOLD = timedelta(days=7)
_HISTORY_SCAN_PAGES = 5
"""Ledger pages read at most to fill one page of posted items."""


class NoWallet(Exception):
    code = "wallet_not_found"
    status = 404


class NoPartnerForWallet(Exception):
    code = "no_payout_partner"
    status = 503


@dataclass(frozen=True, slots=True)
class CashoutDestination:
    """The customer's own account the cash-out goes to (personal data: only passed to the partner)."""

    account_type: str
    """``iban`` or ``card``."""
    account: str
    """The IBAN or card number, already validated."""


@dataclass(frozen=True, slots=True)
class WalletOperation:
    id: str
    kind: str
    amount: Money
    status: str
    reference: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "amount": self.amount.to_json(),
            "status": self.status,
            "reference": self.reference,
            "createdAt": self.created_at.isoformat(),
        }


_wallet_accounts = select(accounts.c.code, accounts.c.currency).where(
    accounts.c.code.like(bindparam("prefix"))
)
_active_partner = (
    select(partners.c.id, partners.c.code, partners.c.name)
    .where(partners.c.status == "active")
    .order_by(partners.c.created_at, partners.c.id)
    .limit(1)
)
_operation_by_payout = select(wallet_operations).where(
    wallet_operations.c.payout_id == bindparam("payout_id")
)
_finish_operation = (
    update(wallet_operations)
    .where(wallet_operations.c.id == bindparam("op_id"), wallet_operations.c.status == "pending")
    .values(status=bindparam("new_status"), updated_at=bindparam("now"))
)


class WalletService:
    def __init__(self, engine: AsyncEngine, *, personal: PersonalData, sealer: Sealer) -> None:
        self._engine = engine
        self._personal = personal
        self._sealer = sealer
        self._accounts = AccountOpener()

    async def balances(self, customer_id: int) -> list[Balance]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(_wallet_accounts, {"prefix": f"customer:{customer_id}:wallet:%"})
            ).all()
            return [await balance(conn, row.code) for row in sorted(rows, key=lambda r: r.currency)]

    async def history(
        self, customer_id: int, currency: str, *, limit: int, cursor: str | None
    ) -> HistoryPage:
        """Money that moved (posted postings), newest first. Holds show in the balance as pending,
        and the ledger's bookkeeping of a hold (its release) is not the customer's history."""
        async with self._engine.connect() as conn:
            code = customer_wallet(customer_id, currency)
            if not (await conn.execute(_wallet_accounts, {"prefix": code})).first():
                raise NoWallet(f"no {currency} wallet")
            items: list[HistoryItem] = []
            next_cursor = cursor
            for _ in range(_HISTORY_SCAN_PAGES):
                page = await history(conn, code, limit=limit, cursor=next_cursor)
                items += [item for item in page.items if item.phase is Phase.POSTED]
                next_cursor = page.next_cursor
                if len(items) >= limit or next_cursor is None:
                    break
            return HistoryPage(items=items[:limit], next_cursor=next_cursor)

    async def top_up(
        self, customer_id: int, amount: Money, *, idempotency_key: str | None
    ) -> tuple[int, dict[str, Any]]:
        """Ask a partner to collect ``amount`` for this wallet; the reply says how to pay."""
        return await self._operation(customer_id, "topup", amount, None, idempotency_key)

    async def cash_out(
        self, customer_id: int, amount: Money, destination: CashoutDestination, *, idempotency_key: str | None
    ) -> tuple[int, dict[str, Any]]:
        """Reserve ``amount`` and ask a partner to pay it to the customer's own account."""
        return await self._operation(customer_id, "cashout", amount, destination, idempotency_key)

    async def _operation(
        self,
        customer_id: int,
        kind: str,
        amount: Money,
        destination: CashoutDestination | None,
        idempotency_key: str | None,
    ) -> tuple[int, dict[str, Any]]:
        scope = f"customer:{customer_id}"
        body = {"kind": kind, "amount": amount.to_json(), "to": destination.account if destination else None}
        request_hash = fingerprint("POST", f"/v1/wallet/{kind}s", body)
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            replay = await claim(conn, scope, idempotency_key, request_hash)
            if replay is not None:
                return replay.status_code, replay.body
            assert idempotency_key is not None
            partner = (await conn.execute(_active_partner)).first()
            if partner is None:
                raise NoPartnerForWallet("No partner bank is available for wallet operations right now.")
            profile = await load_profile(conn, self._personal, customer_id)
            holder = " ".join(p for p in (profile.given_name, profile.family_name) if p) or "Wallet holder"
            operation_id = str(uuid.uuid4())
            reference = "KRP" + secrets.token_hex(6).upper()
            wallet = customer_wallet(customer_id, amount.currency)
            hold_id: str | None = None
            if kind == "cashout":
                assert destination is not None
                payable = partner_payable(partner.code, amount.currency)
                opened = await self._accounts.ensure(
                    conn, [(wallet, amount.currency), (payable, amount.currency)]
                )
                hold = await post_entry(
                    conn,
                    EntryRequest(
                        id=uuid.uuid4(),
                        postings=[(wallet, Side.DEBIT, amount), (payable, Side.CREDIT, amount)],
                        pending=True,
                        expires_at=now + CASHOUT_HOLD,
                        metadata={"walletOperation": operation_id},
                        reference=reference,
                    ),
                )
                hold_id = str(hold.id)
                beneficiary = Beneficiary(holder, destination.account_type, destination.account)
            else:
                opened = await self._accounts.ensure(conn, [(wallet, amount.currency)])
                beneficiary = Beneficiary(holder, "wallet", reference)
            payout_id = await create_payout(
                conn,
                PayoutRequest(
                    kind=PayoutKind.CASHOUT if kind == "cashout" else PayoutKind.TOPUP,
                    partner_id=partner.id,
                    reference=reference,
                    amount=amount,
                    beneficiary=beneficiary,
                ),
                sealer=self._sealer,
                now=now,
            )
            await conn.execute(
                insert(wallet_operations).values(
                    id=operation_id,
                    customer_id=customer_id,
                    kind=kind,
                    currency=amount.currency,
                    amount_minor=amount.minor_units,
                    status="pending",
                    partner_id=partner.id,
                    payout_id=payout_id,
                    hold_entry_id=hold_id,
                    reference=reference,
                    created_at=now,
                    updated_at=now,
                )
            )
            operation = WalletOperation(operation_id, kind, amount, "pending", reference, now)
            reply = {**operation.to_json(), "partner": partner.name}
            if kind == "topup":
                reply["instructions"] = (
                    f"Pay {amount} at any {partner.name} branch or by bank transfer, "
                    f"quoting reference {reference}."
                )
            await store_reply(conn, scope, idempotency_key, request_hash, 201, reply, now=now)
        self._accounts.remember(opened)
        return 201, reply

    async def on_payout_outcome(self, conn: AsyncConnection, payout: Payout, confirmed: bool) -> None:
        """The partner confirmed or failed a top-up or cash-out (in the payout's transaction)."""
        row = (await conn.execute(_operation_by_payout, {"payout_id": payout.id})).mappings().first()
        if row is None:
            return
        now = datetime.now(UTC)
        amount = Money.from_minor(row["amount_minor"], row["currency"])
        wallet = customer_wallet(row["customer_id"], row["currency"])
        partner_code = (
            await conn.execute(select(partners.c.code).where(partners.c.id == row["partner_id"]))
        ).scalar_one()
        if row["kind"] == "topup" and confirmed:
            receivable = partner_receivable(partner_code, row["currency"])
            opened = await self._accounts.ensure(conn, [(receivable, row["currency"])])
            # post_last: under group commit, with the batch's other ledger requests in one call
            # (one ordered step of locks: a batch posting wallets one unit after the other could
            # deadlock with another process's batch posting them in another order).
            await post_last(
                conn,
                EntryRequest(
                    id=uuid.uuid5(uuid.NAMESPACE_URL, f"korpu:topup:{row['id']}"),
                    postings=[(receivable, Side.DEBIT, amount), (wallet, Side.CREDIT, amount)],
                    metadata={"walletOperation": row["id"], "payout": payout.id},
                    reference=row["reference"],
                ),
            )
            self._accounts.remember(opened)
        elif row["kind"] == "cashout" and row["hold_entry_id"]:
            hold = uuid.UUID(row["hold_entry_id"])
            resolve = PostPendingRequest if confirmed else VoidPendingRequest
            await post_last(
                conn,
                resolve(
                    id=uuid.uuid4(), hold_id=hold, metadata={"payout": payout.id}, reference=row["reference"]
                ),
            )
        await conn.execute(
            _finish_operation,
            {"op_id": row["id"], "new_status": "completed" if confirmed else "failed", "now": now},
        )
