"""The reads of a batch of new transfers, made once for the whole batch (group commit's prefetch).

Each new transfer starts with the same look-ups: its idempotency key (lock and stored reply), its
quote (consumed), its recipient's payout details, its sender's profile under the sender's limits
lock, and the partner bank that pays out. Under group commit (:mod:`backend.group_commit`) the
transfers of one batch share a transaction, so :class:`CreationPrefetch` makes each look-up one
statement over all of them (arrays of keys) before any of them runs: seven statements a batch
instead of six a transfer. Each transfer then takes its own results from :class:`Prefetched`.

What it keeps the same as one transfer reading for itself:

* **Order.** Idempotency locks are taken (without waiting) and their replies read before anything
  else; replays and keys in use consume no quote and take no lock. Senders' limits locks are taken
  in sender order, as a batch's units run, and before the monitoring history each transfer still
  reads for itself, so the history sees every committed transfer of the sender.
* **Outcomes.** Whatever is missing from a prefetch (an unknown or spent quote, another customer's
  recipient, an unknown sender) the transfer reads again itself, which raises the error the client
  gets. A quote is handed out once: a second transfer naming it reads it itself and finds it used.
* **All or nothing.** Everything happens in the batch's transaction: when a transfer fails, the
  batch rolls back (quotes consumed ahead included) and is run again without it.

PostgreSQL only, as group commit is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.idempotency import Claimed, claim_ahead
from backend.identity.keys import PersonalData
from backend.identity.profiles import Profile, load_profiles
from backend.identity.recipients import PayoutInstruction, payout_instructions
from backend.partners.payouts import PARTNER_ROUTE_COLUMNS, PartnerRoute
from backend.partners.tables import partners
from compliance.kyc import limits_lock_key
from fx.quotes import Quote, consume_quotes
from sqldirect import direct

__all__ = ["CreationPrefetch", "CreationRequest", "PayingPartner", "Prefetched", "paying_partner"]


@dataclass(frozen=True, slots=True)
class PayingPartner:
    """The partner bank a new transfer is paid out by."""

    code: str
    route: PartnerRoute

    @property
    def id(self) -> str:
        return self.route.id


_first_active_partner = direct(
    select(partners.c.id, partners.c.code, *PARTNER_ROUTE_COLUMNS)
    .where(partners.c.status == "active")
    .order_by(partners.c.created_at, partners.c.id)
    .limit(1)
)


async def paying_partner(conn: AsyncConnection) -> PayingPartner | None:
    """The partner that pays out new bank transfers (the first active one), if any."""
    row = await _first_active_partner.first(conn)
    if row is None:
        return None
    return PayingPartner(
        str(row.code), PartnerRoute(str(row.id), row.status, row.payout_mode, row.webhook_url)
    )


@dataclass(frozen=True, slots=True)
class CreationRequest:
    """What the prefetch needs to know of one new transfer."""

    customer_id: int
    """The sender."""
    scope: str
    """The idempotency scope (``customer:<id>``)."""
    idempotency_key: str | None
    """The client's Idempotency-Key."""
    quote_id: str
    """The quote it consumes."""
    recipient_id: int
    """The sender's recipient it pays."""
    now: datetime
    """The transfer's time (the quote's time of use)."""


@dataclass(slots=True)
class Prefetched:
    """A batch's prefetched reads; each transfer takes what is there for it."""

    claims: dict[tuple[str, str], Claimed] = field(default_factory=dict)
    """Idempotency keys claimed, for :func:`backend.idempotency.claim`'s ``ahead``."""
    quotes: dict[str, Quote] = field(default_factory=dict)
    """Quotes consumed in the batch's transaction, by id, until a transfer takes one."""
    payees: dict[tuple[int, int], PayoutInstruction] = field(default_factory=dict)
    """Payout details by ``(sender, recipient)``."""
    senders: dict[int, Profile] = field(default_factory=dict)
    """Senders' profiles, each read under that sender's limits lock."""
    partner: PayingPartner | None = None
    """The partner paying out bank transfers (``None``: none active; a transfer then reads again)."""

    def take_quote(self, quote_id: str) -> Quote | None:
        """The consumed quote ``quote_id``, handed out once."""
        return self.quotes.pop(quote_id, None)


class CreationPrefetch:
    """The group commit's prefetch for new transfers (see the module docstring)."""

    def __init__(self, personal: PersonalData) -> None:
        self._personal = personal

    async def __call__(self, conn: AsyncConnection, requests: list[CreationRequest]) -> Prefetched:
        claims = await claim_ahead(
            conn,
            [(request.scope, request.idempotency_key) for request in requests if request.idempotency_key],
        )
        fresh = [request for request in requests if _goes_ahead(claims, request)]
        if not fresh:
            return Prefetched(claims)
        quotes = await consume_quotes(conn, [(request.quote_id, request.now) for request in fresh])
        payees = await payout_instructions(
            conn, self._personal, [(request.customer_id, request.recipient_id) for request in fresh]
        )
        senders = sorted({request.customer_id for request in fresh})
        profiles = await load_profiles(
            conn,
            self._personal,
            senders,
            advisory_locks=[limits_lock_key(f"customer:{sender}") for sender in senders],
        )
        return Prefetched(claims, quotes, payees, profiles, await paying_partner(conn))


def _goes_ahead(claims: dict[tuple[str, str], Claimed], request: CreationRequest) -> bool:
    """The request will do its work: its key is claimed by this batch and has no stored reply."""
    claimed = claims.get((request.scope, request.idempotency_key or ""))
    return claimed is not None and claimed.acquired and claimed.stored is None
