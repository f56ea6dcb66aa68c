"""The orchestration of a remittance: one request, one database transaction.

``create`` runs in a transaction of its own (rerun on a deadlock). In that one transaction: the
idempotency claim, the quote consumed, the recipient's payout details copied, the checks (limits,
screening, monitoring), the transfer and its whole timeline (one row, built in memory and never
read back), the payout instruction (whose delivery is an outbox row), the idempotency record, and
last the pending ledger entry that reserves the sender's money, behind a per-process gate
(:mod:`backend.transfers.gate`) so that hot ledger accounts are held only from that write to the
commit. Either all of it exists or none of it. With a :class:`~backend.group_commit.GroupCommit`,
the creations waiting at the same moment share one such transaction instead, their rows written by
one ``INSERT`` and their holds by one ledger call (group commit), with the same all-or-nothing
outcome for each transfer.

The service is also the partner capability's :class:`PayoutOutcomeHandler` (a confirmed payout
posts the hold, a failed one voids it) and compliance's ``TransferDecisionSink`` (an officer's
release sends the held transfer on, a block returns the money).
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.chart import customer_wallet, partner_payable
from backend.compliance_refs import payee_account, payee_ref
from backend.deferred_inserts import deferred_inserts, insert_row
from backend.group_commit import GroupCommit, post_last, prefetched
from backend.idempotency import claim, fingerprint, store_reply
from backend.identity.keys import PersonalData
from backend.identity.principal import CustomerPrincipal
from backend.identity.profiles import create_customer, find_customer_by_phone, load_profile
from backend.identity.recipients import PayoutInstruction, payout_instruction
from backend.metrics import TRANSFERS
from backend.outbox.events import OutboxEvent, enqueue
from backend.partners.payouts import (
    Beneficiary,
    PartnerRoute,
    Payout,
    PayoutKind,
    PayoutRequest,
    create_payout,
)
from backend.quotes import QuoteService
from backend.transfers import repository as repo
from backend.transfers.checks import CheckOutcome, PartiesScreener, run_checks
from backend.transfers.entries import AccountOpener, remittance_entry
from backend.transfers.gate import Enter, LedgerGate, run_gated
from backend.transfers.model import (
    PayoutMismatch,
    TimelineEvent,
    Transfer,
    TransferNotCancellable,
    TransferNotFound,
    TransferStatus,
)
from backend.transfers.prefetch import CreationRequest, PayingPartner, Prefetched, paying_partner
from backend.transfers.tables import transfers as transfers_table
from backend.transfers.views import transfer_json
from compliance.cases import open_alert
from compliance.kyc import limits_lock_key
from compliance.monitoring import RuleCache, TransferFacts, record_event
from compliance.privacy import BlindIndex, Sealer
from compliance.screening import Subject
from fx.quotes import consume_quote
from ledger.errors import InsufficientFunds, UnknownAccount
from ledger.journal import post_pending
from ledger.model import EntryRequest, LedgerRequest, PostPendingRequest, VoidPendingRequest
from ledger.money import Money

__all__ = ["LEDGER_SLOTS", "NoPartner", "TransferService"]

logger = logging.getLogger("korpu.transfers")

LEDGER_SLOTS = 2
"""Transactions per process between their ledger writes and their commit (see the gate)."""

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


@dataclass(frozen=True, slots=True)
class _Dispatch:
    """What handing a transfer to its payout needs to know of it."""

    id: str
    customer_id: int
    recipient_id: int
    payout_method: str
    hold_entry_id: str
    partner_id: str | None
    receive_amount: Money

    @classmethod
    def of(cls, row: Any) -> _Dispatch:
        """From a transfer row (a mapping read from the table, or the one about to be inserted)."""
        return cls(
            id=row["id"],
            customer_id=row["customer_id"],
            recipient_id=row["recipient_id"],
            payout_method=row["payout_method"],
            hold_entry_id=row["hold_entry_id"],
            partner_id=row["partner_id"],
            receive_amount=Money.from_minor(row["receive_minor"], row["receive_currency"]),
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
        group_commit: GroupCommit | None = None,
        ledger_slots: int = LEDGER_SLOTS,
        rules: RuleCache | None = None,
    ) -> None:
        self._engine = engine
        self._personal = personal
        self._sealer = sealer
        self._index = blind_index
        self._quotes = quotes
        self._screen = screen
        self._group_commit = group_commit
        self._gate = LedgerGate(ledger_slots)
        self._accounts = AccountOpener()
        self._rules = rules or RuleCache()

    @property
    def group_commit(self) -> GroupCommit | None:
        """The group commit creations go through (``None``: each in its own transaction)."""
        return self._group_commit

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

        async def unit(conn: AsyncConnection, enter: Enter) -> _Created:
            # Outside a prefetching batch, nothing was read ahead: every look-up below reads.
            ahead: Prefetched = prefetched(conn) or Prefetched()
            replay = await claim(
                conn,
                scope,
                idempotency_key,
                request_hash,
                sealer=self._sealer,
                ahead=ahead.claims,
            )
            if replay is not None:
                return _Created(replay.status_code, replay.body, [], replayed=True)
            assert idempotency_key is not None
            # The payout, outbox events, transfer, timeline and reply: one INSERT (PostgreSQL).
            async with deferred_inserts(conn):
                created, opened, reservation = await self._create_in(
                    conn, principal, quote_id, recipient_id, purpose, convert, now, ahead
                )
                body = transfer_json(created)
                await store_reply(
                    conn, scope, idempotency_key, request_hash, 201, body, now=now, sealer=self._sealer
                )
            if reservation is not None:
                await enter()
                await reservation.post(conn)
            return _Created(201, body, opened)

        async def alone() -> _Created:
            return await run_gated(self._engine, self._gate, unit)

        if self._group_commit is None:
            result = await alone()
        else:
            # The batch orders its own ledger writes: no gate to wait for.
            request = CreationRequest(
                principal.customer_id, scope, idempotency_key, quote_id, recipient_id, now
            )
            result = await self._group_commit.run(
                principal.customer_id, functools.partial(unit, enter=_no_gate), alone, request=request
            )
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
        ahead: Prefetched,
    ) -> tuple[Transfer, list[str], _Reservation | None]:
        """Everything of a new transfer but the ledger entry, which the returned reservation posts
        last: a hot account's shard is then locked for the end of the transaction only. ``ahead``:
        what a group commit's prefetch read for the batch (what is missing is read here)."""
        quote = ahead.take_quote(quote_id) or await consume_quote(conn, quote_id, now)
        if quote.customer_id is not None and quote.customer_id != str(principal.customer_id):
            raise _quote_not_found(quote_id)
        payee = ahead.payees.get((principal.customer_id, recipient_id)) or (
            await payout_instruction(conn, self._personal, principal.customer_id, recipient_id)
        )
        corridor = quote.corridor
        if payee.method != quote.payout_method or payee.country != corridor.receive_country:
            raise PayoutMismatch(
                f"the quote pays by {quote.payout_method} in {corridor.receive_country}; this recipient is "
                f"paid by {payee.method} in {payee.country}"
            )
        transfer_id = str(uuid.uuid4())
        customer_ref = f"customer:{principal.customer_id}"
        # The sender's limits lock is taken with the profile read (one round trip, not two); the
        # checks' history read comes after it.
        profile = ahead.senders.get(principal.customer_id) or (
            await load_profile(
                conn, self._personal, principal.customer_id, advisory_lock=limits_lock_key(customer_ref)
            )
        )
        sender_name = (
            " ".join(part for part in (profile.given_name, profile.family_name) if part) or "unknown"
        )
        recipient_name = f"{payee.given_name} {payee.family_name}"
        account = payee_account(payee.iban, payee.card_number, payee.wallet_phone, recipient_name)
        # The same payee reached by any sender has one ref (fan-in rules and screening need it).
        recipient_ref = payee_ref(self._index, payee.method, account)
        facts = TransferFacts(
            transfer_ref=transfer_id,
            customer_ref=customer_ref,
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
            rules=await self._rules.get(conn),
            total_to_pay=quote.total_to_pay,
            sender=(facts.customer_ref, Subject(sender_name, date_of_birth=profile.birth_date)),
            recipient=(recipient_ref, Subject(recipient_name)),
            screen=self._screen,
            convert=convert,
            now=now,
            sender_locked=True,
        )
        recipient_customer_id: int | None = None
        partner_id: str | None = None
        partner: PayingPartner | None = None
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
            partner = ahead.partner or await self._partner(conn)
            partner_id, partner_code = partner.id, partner.code
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
        timeline = [TimelineEvent(_S.CREATED, now, None)]
        if checks.decision == "block":
            await self._record_block(conn, transfer_id, checks, now)
            timeline.append(TimelineEvent(_S.CANCELLED, now, "compliance_blocked"))
            return await self._insert(conn, row, snapshot, timeline), [], None

        hold_id = uuid.uuid4()
        entry = remittance_entry(
            hold_id,
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
        # The sender's wallet is left out: it exists if it ever held money, and a missing one is an
        # empty one (the reservation says so), which saves a look-up per sender and process.
        sender_wallet = customer_wallet(principal.customer_id, corridor.send_currency)
        opened = await self._accounts.ensure(
            conn, [(str(leg[0]), leg[2].currency) for leg in entry.postings if str(leg[0]) != sender_wallet]
        )
        row["hold_entry_id"] = str(hold_id)
        timeline.append(TimelineEvent(_S.FUNDS_RESERVED, now, None))
        await record_event(conn, facts, now, insert_row=insert_row)
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
            status = _S.UNDER_REVIEW
        else:
            status, row["payout_id"] = await self._send_on(
                conn,
                _Dispatch.of(row),
                payee,
                now,
                credit_later=True,
                new_partner=partner.route if partner is not None else None,
            )
        timeline.append(TimelineEvent(status, now, None))
        transfer = await self._insert(conn, row, snapshot, timeline)
        await self._notify(conn, transfer_id, principal.customer_id, status, now, first=True)
        reservation = _Reservation(entry, sender_wallet, credit_wallet=status is _S.PAID_OUT, now=now)
        return transfer, opened, reservation

    async def _insert(
        self,
        conn: AsyncConnection,
        row: dict[str, Any],
        recipient: dict[str, Any],
        timeline: list[TimelineEvent],
    ) -> Transfer:
        """Store a new transfer as it ends its creation (one row, its whole timeline in one statement)
        and return it as its sender will see it, without reading it back."""
        row["status"] = timeline[-1].status.value
        row["failure_code"] = timeline[-1].code
        await repo.insert_transfer(conn, row, timeline)
        return repo.transfer_from_values(row, recipient, tuple(timeline))

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

    async def _partner(self, conn: AsyncConnection) -> PayingPartner:
        partner = await paying_partner(conn)
        if partner is None:
            raise NoPartner("No partner bank can pay out right now; try again later.")
        return partner

    async def _send_on(
        self,
        conn: AsyncConnection,
        transfer: _Dispatch,
        payee: PayoutInstruction | None,
        now: datetime,
        *,
        credit_later: bool = False,
        new_partner: PartnerRoute | None = None,
    ) -> tuple[TransferStatus, str | None]:
        """Hand the transfer to its payout: a wallet is credited at once (``paid_out``; with
        ``credit_later`` the caller posts the hold itself), a bank gets an instruction
        (``sent_to_partner``, with the payout id). Writes nothing to the transfer row.
        ``new_partner``: the transfer is being created (it can have no payout yet) and its
        partner's row was read in this transaction."""
        if transfer.payout_method == "wallet":
            if not credit_later:
                await _credit_wallet(conn, uuid.UUID(transfer.hold_entry_id), transfer.id, now)
            return _S.PAID_OUT, None
        if payee is None:
            payee = await payout_instruction(
                conn, self._personal, transfer.customer_id, transfer.recipient_id
            )
        beneficiary = Beneficiary(
            name=f"{payee.given_name} {payee.family_name}",
            account_type="iban" if payee.iban else "card" if payee.card_number else "name",
            account=payee.iban or payee.card_number or f"{payee.given_name} {payee.family_name}",
            country=payee.country,
        )
        assert transfer.partner_id is not None
        payout_id = await create_payout(
            conn,
            PayoutRequest(
                kind=PayoutKind.PAYOUT,
                partner_id=transfer.partner_id,
                reference=transfer.id.replace("-", ""),
                amount=transfer.receive_amount,
                beneficiary=beneficiary,
            ),
            sealer=self._sealer,
            now=now,
            partner=new_partner,
            new_reference=new_partner is not None,
        )
        return _S.SENT_TO_PARTNER, payout_id

    async def _dispatch(self, conn: AsyncConnection, row: Any, now: datetime) -> TransferStatus | None:
        """Send an existing transfer (released by an officer) on; its new status, or ``None`` if it had
        moved on meanwhile."""
        status, payout_id = await self._send_on(conn, _Dispatch.of(row), None, now)
        if payout_id is not None:
            await conn.execute(
                transfers_table.update().where(transfers_table.c.id == row["id"]).values(payout_id=payout_id)
            )
        moved = await repo.set_status(conn, row["id"], [_S.FUNDS_RESERVED, _S.UNDER_REVIEW], status, now)
        return status if moved else None

    async def _notify(
        self,
        conn: AsyncConnection,
        transfer_id: str,
        customer_id: int,
        status: TransferStatus,
        now: datetime,
        *,
        first: bool = False,
    ) -> None:
        """Tell the sender's phone the new status (through the outbox: no personal data in it);
        ``first`` for the transfer's first notice, in the transaction that creates it."""
        await enqueue(
            conn,
            OutboxEvent(
                "transfer",
                transfer_id,
                "transfer.status",
                f"push:{customer_id}",
                {"template": f"transfer.{status.value}", "params": {"transferId": transfer_id}},
            ),
            now=now,
            first=first,
        )

    async def _notify_as_is(
        self, conn: AsyncConnection, transfer_id: str, customer_id: int, now: datetime
    ) -> None:
        """Notify the status the transfer has now (when another change got there first)."""
        row = await repo.find_by_id(conn, transfer_id)
        assert row is not None
        await self._notify(conn, transfer_id, customer_id, _S(row["status"]), now)

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
            await self._notify(conn, transfer_id, customer_id, _S.CANCELLED, now)
            return await repo.load(conn, self._sealer, transfer_id)

    async def _release_hold(self, conn: AsyncConnection, row: Any, why: str) -> None:
        """Void the transfer's hold as the last ledger write of the work (under group commit, with
        the batch's other ledger requests in its one ledger call: a batch that locked one sender's
        wallet here and others' at its end could deadlock with another batch doing the same)."""
        if row["hold_entry_id"]:
            await post_last(
                conn,
                VoidPendingRequest(
                    id=uuid.uuid4(),
                    hold_id=uuid.UUID(row["hold_entry_id"]),
                    metadata={"transfer": row["id"], "why": why},
                    reference=row["id"],
                ),
            )

    # --- PayoutOutcomeHandler (partner capability) ---------------------------------------------

    async def on_confirmed(self, conn: AsyncConnection, payout: Payout) -> None:
        now = datetime.now(UTC)
        expected = [_S.SENT_TO_PARTNER, _S.FUNDS_RESERVED]
        row = await repo.move_by_payout(conn, payout.id, expected, _S.PAID_OUT, now)
        if row is not None:
            TRANSFERS.labels(status=_S.PAID_OUT.value).inc()
            await self._notify(conn, row["id"], row["customer_id"], _S.PAID_OUT, now)
        else:
            row = await repo.find_by_payout(conn, payout.id)
            if row is None:
                logger.warning("confirmed payout has no transfer", extra={"payoutId": payout.id})
                return
            await self._notify_as_is(conn, row["id"], row["customer_id"], now)
        # The ledger last: its hot shards are held from here to the commit only (under group
        # commit, posted with the batch's other confirmations in one ledger call).
        await post_last(
            conn,
            PostPendingRequest(
                id=uuid.uuid4(),
                hold_id=uuid.UUID(row["hold_entry_id"]),
                metadata={"transfer": row["id"], "payout": payout.id},
                reference=row["id"],
                at=now,
            ),
        )

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
        refunded = await repo.set_status(
            conn, row["id"], [_S.FAILED], _S.REFUNDED, now, failure_code="payout_failed"
        )
        TRANSFERS.labels(status=_S.REFUNDED.value).inc()
        if refunded:
            await self._notify(conn, row["id"], row["customer_id"], _S.REFUNDED, now)
        else:
            await self._notify_as_is(conn, row["id"], row["customer_id"], now)

    # --- TransferDecisionSink (compliance) -----------------------------------------------------

    async def on_release(self, conn: AsyncConnection, transfer_ref: str) -> None:
        row = await repo.find_by_id(conn, transfer_ref)
        if row is None or row["status"] != _S.UNDER_REVIEW.value:
            return
        now = datetime.now(UTC)
        status = await self._dispatch(conn, row, now)
        if status is not None:
            await self._notify(conn, transfer_ref, row["customer_id"], status, now)
        else:
            await self._notify_as_is(conn, transfer_ref, row["customer_id"], now)

    async def on_hold(self, conn: AsyncConnection, transfer_ref: str) -> None:
        """An officer keeps the transfer held: it stays under review, funds stay reserved."""

    async def on_block(self, conn: AsyncConnection, transfer_ref: str) -> None:
        row = await repo.find_by_id(conn, transfer_ref)
        if row is None or row["status"] not in (_S.UNDER_REVIEW.value, _S.FUNDS_RESERVED.value):
            return
        now = datetime.now(UTC)
        await self._release_hold(conn, row, "blocked by compliance")
        if await repo.set_status(
            conn, transfer_ref, [_S(row["status"])], _S.REFUNDED, now, failure_code="compliance_blocked"
        ):
            await self._notify(conn, transfer_ref, row["customer_id"], _S.REFUNDED, now)
        else:
            await self._notify_as_is(conn, transfer_ref, row["customer_id"], now)


@dataclass(frozen=True, slots=True)
class _Reservation:
    """The ledger writes of a new transfer, posted as the last statements of its transaction."""

    entry: EntryRequest
    """The pending entry that reserves the sender's money."""
    sender_wallet: str
    """The account it takes the money from (not opened beforehand)."""
    credit_wallet: bool
    """A wallet payout: post the hold at once, crediting the recipient's wallet."""
    now: datetime
    """The creation's time."""

    async def post(self, conn: AsyncConnection) -> None:
        """Post the entry as the transfer's last ledger write (kept for the batch's one ledger call
        under group commit, where a refusal reruns the creation alone and ends up here). A wallet
        payout's hold is posted right after it, in the same ledger call."""
        requests: list[LedgerRequest] = [self.entry]
        if self.credit_wallet:
            transfer_id = str(self.entry.reference)
            requests.append(
                PostPendingRequest(
                    id=uuid.uuid4(),
                    hold_id=self.entry.id,
                    metadata={"transfer": transfer_id},
                    reference=transfer_id,
                    at=self.now,
                )
            )
        try:
            await post_last(conn, *requests)
        except UnknownAccount as missing:
            if self.sender_wallet not in str(missing):
                raise
            raise InsufficientFunds(f"account {self.sender_wallet} has insufficient funds") from None


async def _credit_wallet(conn: AsyncConnection, hold_id: uuid.UUID, transfer_id: str, now: datetime) -> None:
    await post_pending(
        conn, hold_id, uuid.uuid4(), metadata={"transfer": transfer_id}, reference=transfer_id, now=now
    )


async def _no_gate() -> None:
    """A group commit orders its own ledger writes: nothing to wait for."""


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
