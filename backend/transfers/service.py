"""The orchestration of a remittance: one request, one database transaction.

``create`` runs inside a ledger :class:`~ledger.batching.Batcher` unit, so under load many
transfers share a transaction and its commit while each caller gets its own answer. In that one
transaction: the idempotency claim, the quote consumed, the recipient's payout details copied,
the checks (limits, screening, monitoring), the pending ledger entry that reserves the sender's
money, the transfer and its timeline, the payout instruction (whose delivery is an outbox row)
and the idempotency record. Either all of it exists or none of it.

The service is also the partner capability's :class:`PayoutOutcomeHandler` (a confirmed payout
posts the hold, a failed one voids it) and compliance's ``TransferDecisionSink`` (an officer's
release sends the held transfer on, a block returns the money).
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.chart import customer_wallet, partner_payable
from backend.idempotency import claim, fingerprint, store_reply
from backend.identity.keys import PersonalData
from backend.identity.principal import CustomerPrincipal
from backend.identity.profiles import create_customer, find_customer_by_phone, load_profile
from backend.identity.recipients import payout_instruction
from backend.metrics import TRANSFERS
from backend.outbox.events import OutboxEvent, enqueue
from backend.partners.payouts import (
    Beneficiary,
    Payout,
    PayoutKind,
    PayoutRequest,
    create_payout,
)
from backend.partners.tables import partners
from backend.quotes import QuoteService
from backend.transfers import repository as repo
from backend.transfers.checks import CheckOutcome, PartiesScreener, run_checks
from backend.transfers.entries import AccountOpener, remittance_entry
from backend.transfers.model import (
    PayoutMismatch,
    Transfer,
    TransferNotCancellable,
    TransferNotFound,
    TransferStatus,
)
from backend.transfers.tables import transfers as transfers_table
from backend.transfers.views import transfer_json
from compliance.cases import open_alert
from compliance.monitoring import TransferFacts, record_event
from compliance.privacy import BlindIndex, Sealer
from compliance.screening import Subject
from fx.quotes import consume_quote
from ledger.batching import Batcher
from ledger.journal import post_entry, post_pending, void_pending
from ledger.money import Money

__all__ = ["NoPartner", "TransferService"]

logger = logging.getLogger("korpu.transfers")

HOLD_LIFETIME = timedelta(days=30)
"""How long reserved funds wait for a payout before the ledger's sweep may release them."""

_S = TransferStatus


class NoPartner(Exception):
    code = "no_payout_partner"
    status = 503


@dataclass(frozen=True, slots=True)
class _Created:
    status_code: int
    body: dict[str, Any]
    opened_accounts: list[str]
    replayed: bool = False


_active_partners = (
    select(partners.c.id, partners.c.code)
    .where(partners.c.status == "active")
    .order_by(partners.c.created_at, partners.c.id)
)


class TransferService:
    """Create, read and cancel transfers; react to payouts and compliance decisions."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        personal: PersonalData,
        sealer: Sealer,
        blind_index: BlindIndex,
        quotes: QuoteService,
        screen: PartiesScreener,
        batcher: Batcher | None = None,
    ) -> None:
        self._engine = engine
        self._personal = personal
        self._sealer = sealer
        self._index = blind_index
        self._quotes = quotes
        self._screen = screen
        self._batcher = batcher or Batcher(engine)
        self._accounts = AccountOpener()

    # --- sending ---------------------------------------------------------------------------------

    async def create(
        self,
        principal: CustomerPrincipal,
        *,
        quote_id: str,
        recipient_id: int,
        purpose: str,
        idempotency_key: str | None,
    ) -> tuple[int, dict[str, Any]]:
        """Send money; returns the HTTP status and the JSON body (replayed for a repeated key)."""
        scope = f"customer:{principal.customer_id}"
        request_hash = fingerprint(
            "POST", "/v1/transfers", {"quoteId": quote_id, "recipientId": recipient_id, "purpose": purpose}
        )
        convert = await self._quotes.converter()
        now = datetime.now(UTC)

        async def unit(conn: AsyncConnection) -> _Created:
            replay = await claim(conn, scope, idempotency_key, request_hash)
            if replay is not None:
                return _Created(replay.status_code, replay.body, [], replayed=True)
            assert idempotency_key is not None
            created, opened = await self._create_in(
                conn, principal, quote_id, recipient_id, purpose, convert, now
            )
            body = transfer_json(created)
            await store_reply(conn, scope, idempotency_key, request_hash, 201, body, now=now)
            return _Created(201, body, opened)

        result = await self._batcher.run(unit)
        self._accounts.remember(result.opened_accounts)
        if not result.replayed:
            TRANSFERS.labels(status=result.body.get("status", "unknown")).inc()
        return result.status_code, result.body

    async def _create_in(
        self,
        conn: AsyncConnection,
        principal: CustomerPrincipal,
        quote_id: str,
        recipient_id: int,
        purpose: str,
        convert: Any,
        now: datetime,
    ) -> tuple[Transfer, list[str]]:
        quote = await consume_quote(conn, quote_id, now)
        if quote.customer_id is not None and quote.customer_id != str(principal.customer_id):
            raise _quote_not_found(quote_id)
        payee = await payout_instruction(conn, self._personal, principal.customer_id, recipient_id)
        corridor = quote.corridor
        if payee.method != quote.payout_method or payee.country != corridor.receive_country:
            raise PayoutMismatch(
                f"the quote pays by {quote.payout_method} in {corridor.receive_country}; this recipient is "
                f"paid by {payee.method} in {payee.country}"
            )
        transfer_id = str(uuid.uuid4())
        profile = await load_profile(conn, self._personal, principal.customer_id)
        sender_name = (
            " ".join(part for part in (profile.given_name, profile.family_name) if part) or "unknown"
        )
        recipient_name = f"{payee.given_name} {payee.family_name}"
        account = payee.iban or payee.card_number or payee.wallet_phone or recipient_name
        # The same payee reached by any sender has one ref (fan-in rules need it); 160 bits of the
        # keyed hash fit the monitoring tables' 64-character refs.
        recipient_ref = "payee:" + self._index.digest(f"{payee.method}:{account}", "transfers.payee")[:40]
        facts = TransferFacts(
            transfer_ref=transfer_id,
            customer_ref=f"customer:{principal.customer_id}",
            recipient_ref=recipient_ref,
            amount=quote.total_to_pay,
            base_amount=convert(quote.total_to_pay, "USD"),
            country=corridor.receive_country,
            tier=principal.kyc_tier,
            origin_country=corridor.send_country,
        )
        checks = await run_checks(
            conn,
            facts=facts,
            total_to_pay=quote.total_to_pay,
            sender=(facts.customer_ref, Subject(sender_name, date_of_birth=profile.birth_date)),
            recipient=(recipient_ref, Subject(recipient_name)),
            screen=self._screen,
            convert=convert,
            now=now,
        )
        recipient_customer_id: int | None = None
        partner_id: str | None = None
        if payee.method == "wallet":
            assert payee.wallet_phone is not None
            recipient_customer_id = await find_customer_by_phone(conn, self._personal, payee.wallet_phone)
            if recipient_customer_id is None:
                # The first transfer to a phone number opens its wallet; signing up claims it.
                recipient_customer_id = await create_customer(
                    conn, self._personal, payee.wallet_phone, language=principal.language, now=now
                )
            payout_account = customer_wallet(recipient_customer_id, corridor.receive_currency)
        else:
            partner_id, partner_code = await self._partner(conn)
            payout_account = partner_payable(partner_code, corridor.receive_currency)
        snapshot = {
            "givenName": payee.given_name,
            "familyName": payee.family_name,
            "country": payee.country,
            "method": payee.method,
            "account": _masked(payee.method, payee.iban, payee.card_number, payee.wallet_phone),
        }
        row: dict[str, Any] = {
            "id": transfer_id,
            "customer_id": principal.customer_id,
            "recipient_id": recipient_id,
            "recipient_customer_id": recipient_customer_id,
            "quote_id": quote.id,
            "send_country": corridor.send_country,
            "receive_country": corridor.receive_country,
            "send_currency": corridor.send_currency,
            "receive_currency": corridor.receive_currency,
            "payout_method": str(quote.payout_method),
            "send_minor": quote.send_amount.minor_units,
            "fee_minor": quote.fee.minor_units,
            "total_minor": quote.total_to_pay.minor_units,
            "receive_minor": quote.receive_amount.minor_units,
            "fx_margin_minor": quote.fx_margin.minor_units,
            "mid_rate": str(quote.mid_rate),
            "rate": str(quote.rate),
            "total_cost_pct": str(quote.pricing.total_cost_pct),
            "purpose": purpose,
            "status": _S.CREATED.value,
            "hold_entry_id": None,
            "partner_id": partner_id,
            "payout_id": None,
            "recipient_sealed": self._sealer.seal_text(json.dumps(snapshot), repo.RECIPIENT_CONTEXT),
            "failure_code": None,
            "created_at": now,
            "updated_at": now,
        }
        await repo.insert_transfer(conn, row)
        await repo.add_event(conn, transfer_id, _S.CREATED, now)
        if checks.decision == "block":
            await self._record_block(conn, transfer_id, checks, now)
            return await repo.load(conn, self._sealer, transfer_id), []

        entry = remittance_entry(
            uuid.uuid4(),
            sender_id=principal.customer_id,
            total_to_pay=quote.total_to_pay,
            fee=quote.fee,
            send_amount=quote.send_amount,
            receive_amount=quote.receive_amount,
            fx_margin=quote.fx_margin,
            payout_account=payout_account,
            expires_at=now + HOLD_LIFETIME,
            metadata={"transfer": transfer_id, "corridor": corridor.code},
            reference=transfer_id,
        )
        opened = await self._accounts.ensure(conn, [(str(leg[0]), leg[2].currency) for leg in entry.postings])
        hold = await post_entry(conn, entry)
        await conn.execute(
            transfers_table.update()
            .where(transfers_table.c.id == transfer_id)
            .values(hold_entry_id=str(hold.id))
        )
        await repo.set_status(conn, transfer_id, [_S.CREATED], _S.FUNDS_RESERVED, now)
        await record_event(conn, facts, now)
        if checks.decision == "review":
            await open_alert(
                conn,
                facts.customer_ref,
                transfer_id,
                "screening" if checks.screening else "monitoring",
                checks.reasons,
                outcome="review",
                now=now,
            )
            await repo.set_status(
                conn, transfer_id, [_S.FUNDS_RESERVED], _S.UNDER_REVIEW, now, failure_code=None
            )
        else:
            await self._dispatch(conn, transfer_id, now)
        await self._notify(conn, transfer_id, principal.customer_id, now)
        return await repo.load(conn, self._sealer, transfer_id), opened

    async def _record_block(
        self, conn: AsyncConnection, transfer_id: str, checks: CheckOutcome, now: datetime
    ) -> None:
        await open_alert(
            conn,
            checks.facts.customer_ref,
            transfer_id,
            checks.source,
            checks.reasons,
            outcome="block",
            now=now,
        )
        await repo.set_status(
            conn, transfer_id, [_S.CREATED], _S.CANCELLED, now, failure_code="compliance_blocked"
        )

    async def _partner(self, conn: AsyncConnection) -> tuple[str, str]:
        row = (await conn.execute(_active_partners)).first()
        if row is None:
            raise NoPartner("No partner bank can pay out right now; try again later.")
        return str(row.id), str(row.code)

    async def _dispatch(self, conn: AsyncConnection, transfer_id: str, now: datetime) -> None:
        """Hand the transfer to its payout: a wallet is credited at once, a bank gets an instruction."""
        row = await repo.find_by_id(conn, transfer_id)
        assert row is not None
        if row["payout_method"] == "wallet":
            await post_pending(
                conn,
                uuid.UUID(row["hold_entry_id"]),
                uuid.uuid4(),
                metadata={"transfer": transfer_id},
                reference=transfer_id,
                now=now,
            )
            await repo.set_status(conn, transfer_id, [_S.FUNDS_RESERVED, _S.UNDER_REVIEW], _S.PAID_OUT, now)
            return
        payee = await payout_instruction(conn, self._personal, row["customer_id"], row["recipient_id"])
        beneficiary = Beneficiary(
            name=f"{payee.given_name} {payee.family_name}",
            account_type="iban" if payee.iban else "card" if payee.card_number else "name",
            account=payee.iban or payee.card_number or f"{payee.given_name} {payee.family_name}",
            country=payee.country,
        )
        payout_id = await create_payout(
            conn,
            PayoutRequest(
                kind=PayoutKind.PAYOUT,
                partner_id=row["partner_id"],
                reference=transfer_id.replace("-", ""),
                amount=Money.from_minor(row["receive_minor"], row["receive_currency"]),
                beneficiary=beneficiary,
            ),
            sealer=self._sealer,
            now=now,
        )
        await conn.execute(
            transfers_table.update().where(transfers_table.c.id == transfer_id).values(payout_id=payout_id)
        )
        await repo.set_status(
            conn, transfer_id, [_S.FUNDS_RESERVED, _S.UNDER_REVIEW], _S.SENT_TO_PARTNER, now
        )

    async def _notify(self, conn: AsyncConnection, transfer_id: str, customer_id: int, now: datetime) -> None:
        """Tell the sender's phone the new status (through the outbox: no personal data in it)."""
        row = await repo.find_by_id(conn, transfer_id)
        assert row is not None
        await enqueue(
            conn,
            OutboxEvent(
                "transfer",
                transfer_id,
                "transfer.status",
                f"push:{customer_id}",
                {"template": f"transfer.{row['status']}", "params": {"transferId": transfer_id}},
            ),
            now=now,
        )

    # --- reading and cancelling ------------------------------------------------------------------

    async def get(self, customer_id: int, transfer_id: str) -> Transfer:
        async with self._engine.connect() as conn:
            return await repo.load(conn, self._sealer, transfer_id, customer_id=customer_id)

    async def page(
        self, customer_id: int, *, limit: int, cursor: str | None
    ) -> tuple[list[Transfer], str | None]:
        after = repo.decode_cursor(cursor) if cursor else None
        if cursor and after is None:
            raise InvalidCursor("cursor is not one this API gave out")
        async with self._engine.connect() as conn:
            items = await repo.list_for_customer(
                conn, self._sealer, customer_id, limit=limit + 1, after=after
            )
        next_cursor = (
            repo.encode_cursor(items[limit - 1].created_at, items[limit - 1].id)
            if len(items) > limit
            else None
        )
        return items[:limit], next_cursor

    async def cancel(self, customer_id: int, transfer_id: str) -> Transfer:
        """Cancel before the partner has the payout: the hold is voided and the money is back."""
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            row = await repo.find_by_id(conn, transfer_id)
            if row is None or row["customer_id"] != customer_id:
                raise TransferNotFound(f"no transfer {transfer_id}")
            status = _S(row["status"])
            if status is _S.CANCELLED:
                return await repo.load(conn, self._sealer, transfer_id)
            if status not in (_S.CREATED, _S.FUNDS_RESERVED, _S.UNDER_REVIEW):
                raise TransferNotCancellable(
                    f"transfer {transfer_id} is {status.value} and can no longer be cancelled"
                )
            await self._release_hold(conn, row, "cancelled by sender")
            if not await repo.set_status(
                conn, transfer_id, [status], _S.CANCELLED, now, failure_code="cancelled_by_sender"
            ):
                raise TransferNotCancellable(f"transfer {transfer_id} changed while cancelling; look again")
            await self._notify(conn, transfer_id, customer_id, now)
            return await repo.load(conn, self._sealer, transfer_id)

    async def _release_hold(self, conn: AsyncConnection, row: Any, why: str) -> None:
        if row["hold_entry_id"]:
            await void_pending(
                conn,
                uuid.UUID(row["hold_entry_id"]),
                uuid.uuid4(),
                metadata={"transfer": row["id"], "why": why},
                reference=row["id"],
            )

    # --- PayoutOutcomeHandler (partner capability) ---------------------------------------------

    async def on_confirmed(self, conn: AsyncConnection, payout: Payout) -> None:
        row = await repo.find_by_payout(conn, payout.id)
        if row is None:
            logger.warning("confirmed payout has no transfer", extra={"payoutId": payout.id})
            return
        now = datetime.now(UTC)
        await post_pending(
            conn,
            uuid.UUID(row["hold_entry_id"]),
            uuid.uuid4(),
            metadata={"transfer": row["id"], "payout": payout.id},
            reference=row["id"],
            now=now,
        )
        if await repo.set_status(conn, row["id"], [_S.SENT_TO_PARTNER, _S.FUNDS_RESERVED], _S.PAID_OUT, now):
            TRANSFERS.labels(status=_S.PAID_OUT.value).inc()
        await self._notify(conn, row["id"], row["customer_id"], now)

    async def on_failed(self, conn: AsyncConnection, payout: Payout, reason: str) -> None:
        row = await repo.find_by_payout(conn, payout.id)
        if row is None:
            logger.warning("failed payout has no transfer", extra={"payoutId": payout.id})
            return
        now = datetime.now(UTC)
        if row["status"] == _S.CANCELLED.value:
            return  # the sender cancelled; the hold was already released
        await self._release_hold(conn, row, "payout failed")
        await repo.set_status(
            conn,
            row["id"],
            [_S.SENT_TO_PARTNER, _S.FUNDS_RESERVED],
            _S.FAILED,
            now,
            failure_code="payout_failed",
        )
        await repo.set_status(conn, row["id"], [_S.FAILED], _S.REFUNDED, now, failure_code="payout_failed")
        TRANSFERS.labels(status=_S.REFUNDED.value).inc()
        await self._notify(conn, row["id"], row["customer_id"], now)

    # --- TransferDecisionSink (compliance) -----------------------------------------------------

    async def on_release(self, conn: AsyncConnection, transfer_ref: str) -> None:
        row = await repo.find_by_id(conn, transfer_ref)
        if row is None or row["status"] != _S.UNDER_REVIEW.value:
            return
        now = datetime.now(UTC)
        await self._dispatch(conn, transfer_ref, now)
        await self._notify(conn, transfer_ref, row["customer_id"], now)

    async def on_hold(self, conn: AsyncConnection, transfer_ref: str) -> None:
        """An officer keeps the transfer held: it stays under review, funds stay reserved."""

    async def on_block(self, conn: AsyncConnection, transfer_ref: str) -> None:
        row = await repo.find_by_id(conn, transfer_ref)
        if row is None or row["status"] not in (_S.UNDER_REVIEW.value, _S.FUNDS_RESERVED.value):
            return
        now = datetime.now(UTC)
        await self._release_hold(conn, row, "blocked by compliance")
        await repo.set_status(
            conn, transfer_ref, [_S(row["status"])], _S.REFUNDED, now, failure_code="compliance_blocked"
        )
        await self._notify(conn, transfer_ref, row["customer_id"], now)


class InvalidCursor(ValueError):
    code = "invalid_cursor"
    status = 400


def _quote_not_found(quote_id: str) -> Exception:
    from fx.errors import QuoteNotFound

    return QuoteNotFound(f"no quote {quote_id}")


def _masked(method: str, iban: str | None, card: str | None, phone: str | None) -> str | None:
    if iban:
        return f"{iban[:4]}…{iban[-4:]}"
    if card:
        return f"•••• {card[-4:]}"
    if phone:
        return f"{phone[:4]}…{phone[-2:]}"
    return None
